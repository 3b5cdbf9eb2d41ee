"""Replay check: honest steps accepted; noisy, copied and fabricated records rejected."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch

from trainer.errors import ReplayError
from trainer.replay import ReplayChecker, ReplayRecord, cosine, replay_check

Nodes = tuple[Any, Any]  # two conftest.LocalRun: the same round trained by nodes 0 and 1


@pytest.fixture(scope="module")
def checker(two_local_nodes: Nodes) -> ReplayChecker:
    return ReplayChecker(two_local_nodes[0].cfg)


def test_honest_steps_are_accepted(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    for run in two_local_nodes:
        for record in run.records:
            verdict = checker.check(run.checkpoints[record.epoch], run.shard, record.step, record)
            assert verdict.accepted, verdict
            assert verdict.loss_rel_diff < 1e-5 and verdict.cosine > 0.9999


def test_replay_check_function_builds_its_own_model(
    two_local_nodes: Nodes,
) -> None:
    run = two_local_nodes[0]
    record = run.records[3]
    assert replay_check(run.cfg, run.checkpoints[record.epoch], run.shard, 3, record).accepted


def test_noisy_projection_is_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    gen = torch.Generator().manual_seed(0)
    for record in run.records[2:]:
        proj = torch.tensor(record.projection)
        noisy = proj + torch.randn(proj.shape, generator=gen) * proj.norm() / math.sqrt(len(proj))
        forged = ReplayRecord.make(record.step, record.epoch, record.loss, noisy)
        verdict = checker.check(run.checkpoints[record.epoch], run.shard, record.step, forged)
        assert not verdict.accepted and "cosine" in verdict.reason


def test_records_copied_from_another_node_are_rejected(
    checker: ReplayChecker, two_local_nodes: Nodes
) -> None:
    honest, copier = two_local_nodes
    for record in honest.records:  # the copier claims the honest node's records as its own
        verdict = checker.check(copier.checkpoints[record.epoch], copier.shard, record.step, record)
        assert not verdict.accepted, verdict


def test_fabricated_records_are_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    record = run.records[4]
    made_up = [
        ReplayRecord(4, record.epoch, record.loss * 0.9, record.projection),  # better loss
        ReplayRecord(4, record.epoch, record.loss, tuple(-x for x in record.projection)),
        ReplayRecord(4, record.epoch, float("nan"), record.projection),
        ReplayRecord(4, record.epoch, record.loss, (0.0,) * len(record.projection)),
        ReplayRecord(4, record.epoch, record.loss, (1.0,) * 3),  # wrong size
    ]
    for forged in made_up:
        verdict = checker.check(run.checkpoints[record.epoch], run.shard, 4, forged)
        assert not verdict.accepted, forged


def test_stale_checkpoint_is_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    # A node that did not apply the swarm's updates (trained on epoch 0 weights throughout).
    run = two_local_nodes[0]
    record = run.records[5]
    verdict = checker.check(run.checkpoints[0], run.shard, 5, record)
    assert not verdict.accepted


def test_record_for_another_step_is_an_error(
    checker: ReplayChecker, two_local_nodes: Nodes
) -> None:
    run = two_local_nodes[0]
    with pytest.raises(ReplayError, match="not step 2"):
        checker.check(run.checkpoints[0], run.shard, 2, run.records[1])


def test_cosine_edge_cases() -> None:
    assert cosine([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine([0.0, 0.0], [0.0, 0.0]) == 1.0
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert dataclasses.is_dataclass(ReplayRecord)
