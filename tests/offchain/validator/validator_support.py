"""Shared values of the validator unit tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.rounds.bundle import ReplayBundle
from trainer.data import Shard

POOL, ROUND, NODE_INDEX, NODE_COUNT = 3, 1, 0, 2
NODE = "0x" + "ab" * 20


@dataclass
class LocalRun:
    """A node's inner steps trained without hivemind (a checkpoint every two), as a bundle."""

    bundle: ReplayBundle
    root: str
    checkpoints: dict[str, Path]  # hash -> file
    shard: Shard
