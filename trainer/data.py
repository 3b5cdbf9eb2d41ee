"""Training data: a deterministic example list, a held-out split, shards and batches.

Everything here is a pure function of the :class:`DataConfig` and the shard coordinates,
computed from SHA-256 orderings (no RNG whose algorithm could change between versions), so
every machine derives the same examples for the same ``(pool_id, round, node_index,
node_count)``:

* ``arithmetic``: every pair ``(a, b)`` with ``0 <= a, b <= max_operand`` ordered by
  ``sha256("pair:<seed>:<a>:<b>")``; the first ``num_examples`` pairs become ``"a+b=c"``.
* files (``text``, ``jsonl``, ``parquet``, a ``datasets`` folder): the examples of
  :mod:`trainer.examples`, in file order, tokenized with a loss mask by
  :mod:`trainer.encoding` (prompt/completion and chat examples train on the answer only).
* held-out split: the first ``ceil(heldout_fraction * n)`` examples in the order of
  ``sha256("heldout:<seed>:<index>")``; the rest is the training pool.
* shard: the training pool ordered by ``sha256("shard:<seed>:<pool>:<round>:<index>")`` and
  dealt round-robin: node ``i`` of ``k`` takes positions ``i, i + k, i + 2k, ...`` — disjoint,
  together the whole pool, sizes differing by at most one.
* batch ``s`` of a shard: its examples at positions ``s*B .. s*B+B-1`` modulo the shard size.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from trainer.config import DataConfig
from trainer.encoding import Encoded, Encoder, resolve_max_length
from trainer.errors import TrainerConfigError
from trainer.examples import Example, TextExample, canonical, load_examples

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


def _key(*parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def generate_arithmetic(cfg: DataConfig) -> list[str]:
    """``num_examples`` distinct additions ``"a+b=c"`` in a seeded, machine-independent order."""
    side = cfg.max_operand + 1
    if cfg.num_examples > side * side:
        raise TrainerConfigError(
            f"DataConfig asks for {cfg.num_examples} additions but operands up to "
            f"{cfg.max_operand} give only {side * side} distinct ones."
        )
    pairs = sorted(
        ((a, b) for a in range(side) for b in range(side)),
        key=lambda ab: _key("pair", cfg.seed, ab[0], ab[1]),
    )
    return [f"{a}+{b}={a + b}" for a, b in pairs[: cfg.num_examples]]


def load_data_examples(cfg: DataConfig) -> list[Example]:
    """The examples of the data set described by ``cfg``."""
    if cfg.source == "arithmetic":
        return [TextExample(t) for t in generate_arithmetic(cfg)]
    assert cfg.path is not None
    return load_examples(cfg.path, cfg.source)


def load_texts(cfg: DataConfig) -> list[str]:
    """Each example of the data set as one string (:func:`trainer.examples.canonical`)."""
    return [canonical(e) for e in load_data_examples(cfg)]


def shard_indices(
    pool_size: int, *, seed: int, pool_id: int, round: int, node_index: int, node_count: int
) -> list[int]:
    """Positions in the training pool that node ``node_index`` of ``node_count`` trains on."""
    if node_count < 1 or not 0 <= node_index < node_count:
        raise TrainerConfigError(
            f"Node index {node_index} is outside 0..{node_count - 1} (node_count {node_count})."
        )
    order = sorted(range(pool_size), key=lambda i: _key("shard", seed, pool_id, round, i))
    return order[node_index::node_count]


@dataclass(frozen=True)
class Batch:
    """Right-padded token ids, attention mask and labels (``-100`` on padding)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])


LossMask = tuple[bool, ...] | None


def collate(
    sequences: Sequence[Sequence[int]], pad_id: int, loss_masks: Sequence[LossMask] | None = None
) -> Batch:
    """Right-pad ``sequences``; labels are the ids where the loss mask (default: every real
    token) is set, ``-100`` elsewhere."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    targets = torch.zeros((len(sequences), width), dtype=torch.bool)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
        loss_mask = loss_masks[row] if loss_masks is not None else None
        if loss_mask is None:
            targets[row, : len(seq)] = True
        else:
            targets[row, : len(seq)] = torch.tensor(loss_mask, dtype=torch.bool)
    labels = ids.masked_fill(~targets, IGNORE_INDEX)
    return Batch(ids, mask, labels)


@dataclass(frozen=True)
class Shard:
    """A node's examples for one round, as token id sequences, with deterministic batches."""

    example_ids: tuple[int, ...]
    sequences: tuple[tuple[int, ...], ...]
    pad_id: int
    loss_masks: tuple[LossMask, ...] | None = None  # None: every token of every example

    def __len__(self) -> int:
        return len(self.sequences)

    def _masks(self, rows: Sequence[int]) -> list[LossMask] | None:
        return None if self.loss_masks is None else [self.loss_masks[r] for r in rows]

    def batch(self, step: int, batch_size: int) -> Batch:
        """Batch number ``step`` (wrapping around the shard)."""
        if not self.sequences:
            raise TrainerConfigError("The shard is empty: more nodes than training examples.")
        n = len(self.sequences)
        rows = [(step * batch_size + j) % n for j in range(batch_size)]
        return collate([self.sequences[r] for r in rows], self.pad_id, self._masks(rows))

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Consecutive, non-wrapping batches covering the shard once (for evaluation)."""
        for start in range(0, len(self.sequences), batch_size):
            rows = range(start, min(start + batch_size, len(self.sequences)))
            yield collate([self.sequences[r] for r in rows], self.pad_id, self._masks(rows))

    def head(self, count: int) -> Shard:
        """The first ``count`` examples (a fixed eval subset)."""
        masks = None if self.loss_masks is None else self.loss_masks[:count]
        return Shard(self.example_ids[:count], self.sequences[:count], self.pad_id, masks)


class TrainingData:
    """The data set of a pool: training pool, held-out split and shards."""

    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase) -> None:
        self.cfg = cfg
        self.examples = load_data_examples(cfg)
        self.texts = [canonical(e) for e in self.examples]
        self._tokenizer = tokenizer
        self._pad_id = int(
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
        self.max_length = resolve_max_length(cfg.max_length, cfg.source, tokenizer)
        self._encoder = Encoder(tokenizer, self.max_length)
        n = len(self.texts)
        n_heldout = max(1, math.ceil(cfg.heldout_fraction * n))
        order = sorted(range(n), key=lambda i: _key("heldout", cfg.seed, i))
        self.heldout_ids: tuple[int, ...] = tuple(sorted(order[:n_heldout]))
        self.train_ids: tuple[int, ...] = tuple(sorted(order[n_heldout:]))

    @property
    def fingerprint(self) -> str:
        """``0x`` + SHA-256 over the example texts: the data set's identity."""
        digest = hashlib.sha256()
        for text in self.texts:
            digest.update(text.encode())
            digest.update(b"\n")
        return "0x" + digest.hexdigest()

    def encode(self, text: str) -> tuple[int, ...]:
        """Token ids of a plain text example (``<s>`` ... ``</s>``, cut to ``max_length``)."""
        return self._encoder.encode(TextExample(text)).ids

    def _subset(self, example_ids: Sequence[int]) -> Shard:
        encoded: list[Encoded] = [self._encoder.encode(self.examples[i]) for i in example_ids]
        cut = sum(e.truncated for e in encoded)
        if cut:
            logger.warning(
                "%d of %d examples are longer than max_length=%d tokens and were cut",
                cut,
                len(encoded),
                self.max_length,
            )
        seqs = tuple(e.ids for e in encoded)
        masks = None if all(e.mask is None for e in encoded) else tuple(e.mask for e in encoded)
        return Shard(tuple(example_ids), seqs, self._pad_id, masks)

    def shard(self, pool_id: int, round: int, node_index: int, node_count: int) -> Shard:
        """The examples node ``node_index`` of ``node_count`` trains on in this round."""
        positions = shard_indices(
            len(self.train_ids),
            seed=self.cfg.seed,
            pool_id=pool_id,
            round=round,
            node_index=node_index,
            node_count=node_count,
        )
        return self._subset([self.train_ids[p] for p in positions])

    def heldout(self) -> Shard:
        """The held-out examples (never in any shard)."""
        return self._subset(self.heldout_ids)
