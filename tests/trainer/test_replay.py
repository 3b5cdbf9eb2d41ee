"""Replay check: honest segments accepted; noisy, copied, fabricated and stale ones rejected."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch

from trainer.errors import ReplayError
from trainer.replay import ReplayChecker, ReplayRecord, cosine, replay_check

Nodes = tuple[Any, Any]  # two conftest.LocalRun: inner steps of nodes 0 and 1 of one round


@pytest.fixture(scope="module")
def checker(two_local_nodes: Nodes) -> ReplayChecker:
    return ReplayChecker(two_local_nodes[0].cfg)


def segment_check(checker: ReplayChecker, run: Any, records: list[ReplayRecord]) -> Any:
    first = records[0]
    return checker.check_segment(
        run.checkpoints[first.start], run.checkpoints[first.end], run.shard, records
    )


def test_records_commit_to_their_segments(two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    assert [r.step for r in run.records] == list(range(6))
    # checkpoint_every=2: segments 0-1, 2-3, 4-5, chained end -> start
    assert [len(run.segment(s)) for s in (0, 2, 4)] == [2, 2, 2]
    assert run.records[1].end == run.records[2].start and run.records[3].end == run.records[4].start
    assert len(run.checkpoints) == 4


def test_honest_segments_are_accepted(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    for run in two_local_nodes:
        for step in (0, 2, 4):
            verdict = segment_check(checker, run, run.segment(step))
            assert verdict.accepted, verdict
            assert verdict.loss_rel_diff < 1e-5 and verdict.cosine > 0.9999


def test_single_step_at_its_start_checkpoint(two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    record = run.records[2]
    assert replay_check(run.cfg, run.checkpoints[record.start], run.shard, 2, record).accepted


def test_noisy_projection_is_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    gen = torch.Generator().manual_seed(0)
    honest = run.segment(2)
    proj = torch.tensor(honest[1].projection)
    noisy = proj + torch.randn(proj.shape, generator=gen) * proj.norm() / math.sqrt(len(proj))
    forged = dataclasses.replace(honest[1], projection=tuple(noisy.float().tolist()))
    verdict = segment_check(checker, run, [honest[0], forged])
    assert not verdict.accepted and "cosine" in verdict.reason


def test_records_copied_from_another_node_are_rejected(
    checker: ReplayChecker, two_local_nodes: Nodes
) -> None:
    honest, copier = two_local_nodes
    for step in (0, 2, 4):  # the copier claims the honest node's records on its own checkpoints
        records = honest.segment(step)
        start, end = copier.segment(step)[0].start, copier.segment(step)[0].end
        verdict = checker.check_segment(
            copier.checkpoints[start], copier.checkpoints[end], copier.shard, records
        )
        assert not verdict.accepted, verdict


def test_fabricated_records_are_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    a, b = run.segment(4)
    made_up = [
        dataclasses.replace(b, loss=b.loss * 0.9),  # better loss
        dataclasses.replace(b, projection=tuple(-x for x in b.projection)),
        dataclasses.replace(b, loss=float("nan")),
        dataclasses.replace(b, projection=(0.0,) * len(b.projection)),
        dataclasses.replace(b, projection=(1.0,) * 3),  # wrong size
    ]
    for forged in made_up:
        assert not segment_check(checker, run, [a, forged]).accepted, forged


def test_wrong_end_checkpoint_is_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    # claims its steps left the weights where they were (a lazy node) or jumped elsewhere
    run = two_local_nodes[0]
    records = run.segment(2)
    start = run.checkpoints[records[0].start]
    for end in (start, run.checkpoints[run.records[5].end]):
        verdict = checker.check_segment(start, end, run.shard, records)
        assert not verdict.accepted and "segment ends" in verdict.reason, verdict


def test_stale_start_checkpoint_is_rejected(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    # a node that never applied its updates: steps 4-5 replayed from the step-0 state
    run = two_local_nodes[0]
    records = run.segment(4)
    start, end = run.checkpoints[run.records[0].start], run.checkpoints[records[0].end]
    assert not checker.check_segment(start, end, run.shard, records).accepted


def test_malformed_segments_are_errors(checker: ReplayChecker, two_local_nodes: Nodes) -> None:
    run = two_local_nodes[0]
    with pytest.raises(ReplayError, match="not step 2"):
        checker.check(run.checkpoints[run.records[0].start], run.shard, 2, run.records[1])
    with pytest.raises(ReplayError, match="consecutive"):
        segment_check(checker, run, [run.records[0], run.records[2]])


def test_cosine_edge_cases() -> None:
    assert cosine([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine([0.0, 0.0], [0.0, 0.0]) == 1.0
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert dataclasses.is_dataclass(ReplayRecord)
