"""Examples to token ids and a loss mask (which tokens are trained on), cut to ``max_length``.

* text: ``tokenize(text)`` (with the tokenizer's special tokens, e.g. ``<s>``) + ``eos``, every
  token trained; a long text keeps its first ``max_length - 1`` tokens and its ``eos``.
* prompt/completion: ``tokenize(prompt)`` + ``tokenize(completion, no specials)`` + ``eos``,
  trained on the completion and ``eos``; when too long, the prompt's start and the
  completion's start are kept (at least half of ``max_length`` for the completion).
* chat: the messages rendered with the tokenizer's chat template (a ChatML template when the
  tokenizer has none), trained on the characters of each assistant turn: for turn ``i`` the
  span between ``render(messages[:i], add_generation_prompt=True)`` and
  ``render(messages[:i+1])`` — the answer and the template's end-of-turn marker, which teaches
  the model to stop. A token is trained when its first character lies in such a span (offsets
  from a fast tokenizer).

Every example keeps at least one trained token, so no batch has an undefined loss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainer.errors import DataFormatError
from trainer.examples import ChatExample, Example, PairExample, TextExample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

#: Used when a tokenizer ships no chat template (the built-in byte tokenizer, GPT-2).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

#: ``max_length=None``: 64 tokens for the arithmetic task, up to this many for files.
DEFAULT_FILE_MAX_LENGTH = 1024
DEFAULT_ARITHMETIC_MAX_LENGTH = 64


@dataclass(frozen=True)
class Encoded:
    """Token ids; ``mask[i]`` says whether token ``i`` is a training target (``None``: all)."""

    ids: tuple[int, ...]
    mask: tuple[bool, ...] | None
    truncated: bool


def resolve_max_length(
    max_length: int | None, source: str, tokenizer: PreTrainedTokenizerBase
) -> int:
    """The configured length, or the default for the source capped by the tokenizer's."""
    if max_length is not None:
        return max_length
    if source == "arithmetic":
        return DEFAULT_ARITHMETIC_MAX_LENGTH
    model_max = int(getattr(tokenizer, "model_max_length", 0) or 0)
    if 0 < model_max < DEFAULT_FILE_MAX_LENGTH:
        return max(model_max, 4)
    return DEFAULT_FILE_MAX_LENGTH


class Encoder:
    """Encodes examples for one tokenizer and ``max_length``."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        eos = tokenizer.eos_token_id
        if eos is None:
            raise DataFormatError("The tokenizer has no end-of-sequence token.")
        self.eos = int(eos)

    def _ids(self, text: str, *, specials: bool) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=specials)["input_ids"])

    def encode(self, example: Example) -> Encoded:
        if isinstance(example, TextExample):
            return self._text(example.text)
        if isinstance(example, PairExample):
            return self._pair(example)
        return self._chat(example)

    def _text(self, text: str) -> Encoded:
        ids = self._ids(text, specials=True)
        cut = len(ids) > self.max_length - 1
        return Encoded((*ids[: self.max_length - 1], self.eos), None, cut)

    def _pair(self, example: PairExample) -> Encoded:
        prompt = self._ids(example.prompt, specials=True)
        answer = [*self._ids(example.completion, specials=False), self.eos]
        limit = self.max_length
        cut = len(prompt) + len(answer) > limit
        if cut:
            keep = min(len(answer), max(limit // 2, limit - len(prompt)))
            prompt, answer = prompt[: limit - keep], answer[:keep]
        mask = (False,) * len(prompt) + (True,) * len(answer)
        return Encoded(tuple(prompt + answer), mask, cut)

    def render(self, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
        template = getattr(self.tokenizer, "chat_template", None) or FALLBACK_CHAT_TEMPLATE
        rendered: Any = self.tokenizer.apply_chat_template(
            messages,
            chat_template=template,
            tokenize=False,
            add_generation_prompt=generation_prompt,
        )
        return str(rendered)

    def _chat(self, example: ChatExample) -> Encoded:
        messages = [{"role": m.role, "content": m.content} for m in example.messages]
        text = self.render(messages, generation_prompt=False)
        spans: list[tuple[int, int]] = []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = self.render(messages[:i], generation_prompt=True) if i else ""
            upto = self.render(messages[: i + 1], generation_prompt=False)
            if not text.startswith(upto) or not upto.startswith(before):
                raise DataFormatError(
                    "The tokenizer's chat template does not render a conversation as the "
                    "concatenation of its turns; answer-only loss cannot be located."
                )
            spans.append((len(before), len(upto)))
        if not getattr(self.tokenizer, "is_fast", False):
            raise DataFormatError("Chat examples need a fast tokenizer (tokenizer.json).")
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        mask = [any(a <= start < b for a, b in spans) for start, _ in enc["offset_mapping"]]
        cut = len(ids) > self.max_length
        if cut:
            first = mask.index(True) if True in mask else 0
            start = 0 if first < self.max_length else first - self.max_length // 2
            ids = ids[start : start + self.max_length]
            mask = mask[start : start + self.max_length]
        if not any(mask):
            raise DataFormatError("A chat example has no assistant tokens after tokenization.")
        return Encoded(tuple(ids), tuple(mask), cut)
