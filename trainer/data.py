"""Training data: a deterministic example list, a held-out split, shards and batches.

Everything here is a pure function of the :class:`DataConfig` and the shard coordinates,
computed from SHA-256 orderings (no RNG whose algorithm could change between versions), so
every machine derives the same examples for the same ``(pool_id, round, node_index,
node_count)``:

* ``arithmetic``: every pair ``(a, b)`` with ``0 <= a, b <= max_operand`` ordered by
  ``sha256("pair:<seed>:<a>:<b>")``; the first ``num_examples`` pairs become ``"a+b=c"``.
* ``text``: the non-empty lines of a UTF-8 file, in file order.
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
from trainer.errors import TrainerConfigError

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


def load_texts(cfg: DataConfig) -> list[str]:
    """The example texts of the data set described by ``cfg``."""
    if cfg.source == "arithmetic":
        return generate_arithmetic(cfg)
    assert cfg.path is not None
    if not cfg.path.is_file():
        raise TrainerConfigError(f"Data file {cfg.path} does not exist.")
    lines = [ln.strip() for ln in cfg.path.read_text(encoding="utf-8").splitlines()]
    texts = [ln for ln in lines if ln]
    if len(texts) < 2:
        raise TrainerConfigError(f"Data file {cfg.path} has fewer than two non-empty lines.")
    return texts


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


def collate(sequences: Sequence[Sequence[int]], pad_id: int) -> Batch:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    return Batch(ids, mask, labels)


@dataclass(frozen=True)
class Shard:
    """A node's examples for one round, as token id sequences, with deterministic batches."""

    example_ids: tuple[int, ...]
    sequences: tuple[tuple[int, ...], ...]
    pad_id: int

    def __len__(self) -> int:
        return len(self.sequences)

    def batch(self, step: int, batch_size: int) -> Batch:
        """Batch number ``step`` (wrapping around the shard)."""
        if not self.sequences:
            raise TrainerConfigError("The shard is empty: more nodes than training examples.")
        n = len(self.sequences)
        rows = [self.sequences[(step * batch_size + j) % n] for j in range(batch_size)]
        return collate(rows, self.pad_id)

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Consecutive, non-wrapping batches covering the shard once (for evaluation)."""
        for start in range(0, len(self.sequences), batch_size):
            yield collate(self.sequences[start : start + batch_size], self.pad_id)


class TrainingData:
    """The data set of a pool: training pool, held-out split and shards."""

    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase) -> None:
        self.cfg = cfg
        self.texts = load_texts(cfg)
        self._tokenizer = tokenizer
        self._pad_id = int(
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
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
        ids = list(self._tokenizer(text, add_special_tokens=True)["input_ids"])
        ids = [*ids[: self.cfg.max_length - 1], int(self._tokenizer.eos_token_id)]
        return tuple(ids)

    def _subset(self, example_ids: Sequence[int]) -> Shard:
        seqs = tuple(self.encode(self.texts[i]) for i in example_ids)
        return Shard(tuple(example_ids), seqs, self._pad_id)

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
