"""The usefulness check over one round's reports (:mod:`offchain.validator.usefulness`).

:func:`score_round` fetches, for every report whose replay bundle is the one it signed, the
checkpoints its records commit at the start and end of each of the round's scored outer steps
(:func:`scored_outer_steps`: a draw from the round's public seed, sized by the validation
budget, the same for every node and validator), scores each contribution on the node's own
batches (its shard: the chain's placement, else the bundle's) and on the
fixed held-out subset, and judges the reports against each other. Deterministic: the own
batches come from the round's public seed (no validator secret), the peer medians from every
scored report, so every validator reaches the same results from the same artifacts.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from offchain.rounds.bundle import ReplayBundle
from offchain.validator.calibration import usefulness_count
from offchain.validator.checks import fetch_checkpoint, replay_seed
from offchain.validator.errors import ArtifactUnavailable, FetchError
from offchain.validator.reasons import CheckResult, Reason
from offchain.validator.usefulness import (
    USEFULNESS,
    StepScore,
    UsefulnessScorer,
    heldout_batches,
    judge_usefulness,
    scored_epochs,
)
from trainer.collab import outer_steps
from trainer.config import TrainConfig
from trainer.data import TrainingData
from trainer.errors import TrainerError
from trainer.replay import ReplayChecker, ReplayRecord, records_root

if TYPE_CHECKING:
    from offchain.validator.verdict import Report, RoundInputs

logger = logging.getLogger(__name__)


def _hex(digest: str) -> str:
    return digest.lower().removeprefix("0x")


def round_seed(block_hash: str, pool_id: int, round: int) -> bytes:
    """The round's public seed of the scored outer steps: the same for every node and
    validator, unknown before the submission window closes (``block_hash``: the first block at
    or after ``submissionEnd``)."""
    return hashlib.sha256(f"{block_hash.lower()}:{pool_id}:{round}:usefulness".encode()).digest()


def scored_outer_steps(cfg: TrainConfig, seed: bytes, quorum: int) -> list[int]:
    """The outer steps of the pool's schedule whose contributions every report is scored on:
    as many as the usefulness budget affords over the ``quorum`` (at least the minimum),
    drawn from the round's ``seed`` (:func:`round_seed`)."""
    schedule = outer_steps(cfg)
    count = usefulness_count(len(schedule), trained_steps=sum(schedule), quorum=quorum)
    return scored_epochs(seed, len(schedule), count)


def score_round(
    reports: Sequence[Report],
    bundles: Mapping[int, ReplayBundle | None],
    inputs: RoundInputs,
    data: TrainingData,
    checker: ReplayChecker,
    shards: Mapping[int, tuple[int, int] | None],
    epochs: Sequence[int] | None = None,
) -> dict[int, CheckResult]:
    """Score every report's contributions (:mod:`offchain.validator.usefulness`) at the outer
    steps ``epochs`` (:func:`scored_outer_steps`; ``None``: all) and judge them against each
    other. A report whose bundle does not match it is not scored (and fails
    here too: its contributions are unknown); a committed checkpoint that cannot be fetched is
    inconclusive, one that does not hash to its name fails."""
    cfg = inputs.cfg
    scorer = UsefulnessScorer(
        cfg, heldout_batches(data.heldout(), cfg.batch_size), model=checker.model
    )
    scores: dict[int, list[StepScore]] = {}
    out: dict[int, CheckResult] = {}
    for r in reports:
        records = _committed_records(bundles[r.index], r)
        if records is None:
            detail = "no replay bundle matching the report: its contributions are unknown"
            out[r.index] = CheckResult.failed(USEFULNESS, Reason.CONTRIBUTION_NOT_USEFUL, detail)
            continue
        bundle = bundles[r.index]
        assert bundle is not None
        index, count = shards.get(r.index) or (bundle.node_index, bundle.node_count)
        if index < 0:  # not a member: the replay check rejects it; score its claimed shard
            index, count = bundle.node_index, bundle.node_count
        seed = replay_seed(inputs.seed_block_hash, r.pool_id, r.round, r.node)
        try:
            shard = data.shard(r.pool_id, r.round, index, count)
            scores[r.index] = scorer.score_node(
                records,
                shard,
                fetch_checkpoint(r.artifact_uri, inputs.source),
                seed,
                None if epochs is None else frozenset(epochs),
            )
        except ArtifactUnavailable as err:
            out[r.index] = CheckResult.failed(USEFULNESS, Reason.ARTIFACT_UNAVAILABLE, str(err))
        except (FetchError, TrainerError, KeyError, ValueError, RuntimeError) as err:
            detail = f"cannot score its contributions: {err}"
            out[r.index] = CheckResult.failed(USEFULNESS, Reason.CONTRIBUTION_NOT_USEFUL, detail)
    out.update(judge_usefulness(scores))
    return out


def _committed_records(bundle: ReplayBundle | None, report: Report) -> list[ReplayRecord] | None:
    """The bundle's records when they are the ones the report signed (same node and root)."""
    if bundle is None or bundle.node.lower() != report.node.lower():
        return None
    try:
        records = bundle.replay_records()
        root = records_root(records) if records else ""
        if not records or _hex(root) != _hex(report.replay_root):
            return None
    except (TrainerError, KeyError, ValueError, TypeError):
        return None
    return records
