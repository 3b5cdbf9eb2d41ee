"""A byte-level tokenizer built locally and deterministically (nothing to download).

Vocabulary: four special tokens (``<pad>``, ``<s>``, ``</s>``, ``<unk>``) then the 256
byte symbols of GPT-2's byte-level alphabet in sorted order, no merges: every UTF-8 text
encodes, one token per byte, and decodes back exactly; ``add_special_tokens=True`` prepends
``<s>``. The same code gives the same ids on
every machine, so it needs no shipped file.
"""

from __future__ import annotations

import logging

from tokenizers import Tokenizer, decoders, models, processors
from tokenizers.pre_tokenizers import ByteLevel
from transformers import PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK)
BYTE_VOCAB_SIZE = len(SPECIAL_TOKENS) + 256


def build_byte_tokenizer() -> PreTrainedTokenizerFast:
    """Return the byte-level tokenizer (vocabulary size :data:`BYTE_VOCAB_SIZE`)."""
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for symbol in sorted(ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    core.pre_tokenizer = ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    # add_special_tokens=True prepends <s>, as LLaMA tokenizers do; the data appends </s>.
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, vocab[BOS])]
    )
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, pad_token=PAD, bos_token=BOS, eos_token=EOS, unk_token=UNK
    )
    assert len(tokenizer) == BYTE_VOCAB_SIZE
    return tokenizer
