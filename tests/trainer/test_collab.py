"""Three real hivemind peers on loopback train one DiLoCo round together (conftest.trained_swarm).

Tolerance for "adapters agree": every peer's adapter within relative L2 distance 0.05 of
the element-wise median and cosine similarity >= 0.99 (peers of one run end close, not
necessarily bit-identical; see docs/trainer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from offchain.validator.checks import segment_bounds
from trainer.aggregate import adapter_agreement, aggregate_adapters
from trainer.artifacts import adapter_hash, load_adapter_state
from trainer.data import TrainingData
from trainer.evaluation import compare_base_and_adapter
from trainer.replay import (
    ReplayChecker,
    load_records,
    record_proof,
    records_root,
    relative_distance,
    state_weights,
    verify_record,
)
from trainer.tokenizer import build_byte_tokenizer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

Outcome = Any  # conftest.SwarmOutcome


def test_every_outer_step_averages_all_three(trained_swarm: Outcome) -> None:
    assert trained_swarm.exit_codes == [0, 0, 0]
    cfg = trained_swarm.cfg
    for r in trained_swarm.results:
        assert r.run_id == trained_swarm.run_id == "loranet_pool7_round0"
        assert r.members == 3 and r.collaborative
        assert r.group_sizes == [3] * cfg.max_epochs
        assert r.steps == cfg.max_epochs * cfg.diloco.inner_steps
        assert r.samples == r.steps * cfg.batch_size
        assert adapter_hash(r.adapter_path) == r.adapter_hash
        # checkpoints: per outer step a start, one per checkpoint_every steps, an end
        assert len(r.checkpoints) >= cfg.max_epochs * 2


def test_progress_is_visible_to_a_third_peer(trained_swarm: Outcome) -> None:
    assert set(trained_swarm.observed_epochs) == {r.peer_id for r in trained_swarm.results}
    assert max(trained_swarm.observed_epochs.values()) == trained_swarm.cfg.max_epochs - 1


def test_adapters_agree_within_tolerance(trained_swarm: Outcome) -> None:
    paths = {r.peer_id: r.adapter_path for r in trained_swarm.results}
    for agreement in adapter_agreement(paths):
        assert agreement.relative_distance <= 0.05, agreement
        assert agreement.cosine >= 0.99, agreement


def test_eval_loss_after_training_is_clearly_below_base(trained_swarm: Outcome) -> None:
    paths = {r.peer_id: r.adapter_path for r in trained_swarm.results}
    mean = trained_swarm.out / "mean.safetensors"
    digest = aggregate_adapters(paths, mean)
    assert aggregate_adapters(paths, trained_swarm.out / "mean2.safetensors") == digest
    comparison = compare_base_and_adapter(trained_swarm.cfg, mean)
    assert comparison.adapted.loss < 0.75 * comparison.base.loss, comparison
    assert comparison.adapted.perplexity < comparison.base.perplexity


def test_records_are_committed_and_replay(trained_swarm: Outcome) -> None:
    cfg = trained_swarm.cfg
    data = TrainingData(cfg.data, build_byte_tokenizer())
    checker = ReplayChecker(cfg)
    rng = random.Random(0)
    by_node = {}
    for r in trained_swarm.results:
        records = load_records(r.records_path)
        assert records_root(records) == r.records_root
        shard = data.shard(r.pool_id, r.round, r.node_index, r.node_count)
        by_node[r.node_index] = (r, records, shard)
        # the validator picks steps; the node opens them; their segments replay (the last
        # one ends right before the final all-reduce)
        for step in [0, rng.randrange(1, len(records) - 1), len(records) - 1]:
            record = records[step]
            assert verify_record(record, len(records), record_proof(records, step), r.records_root)
            lo, hi = segment_bounds(records, step)
            verdict = checker.check_segment(
                r.checkpoints[record.start], r.checkpoints[record.end], shard, records[lo:hi]
            )
            assert verdict.accepted, verdict
    # every node started outer step 1 from the same averaged weights, up to the fp16 error of
    # the all-reduce (relative to how far outer step 0 moved them)
    h = cfg.diloco.inner_steps
    weights = {
        i: [state_weights(load_adapter_state(r.checkpoints[records[s].start])) for s in (0, h)]
        for i, (r, records, _) in by_node.items()
    }
    for i in (1, 2):
        assert relative_distance(weights[i][1], weights[0][1], weights[0][0]) < 1e-2
    # node 2 submits node 0's records for its own shard and checkpoints: caught
    honest, copier = by_node[0], by_node[2]
    for step in (0, cfg.diloco.inner_steps):
        lo, hi = segment_bounds(honest[1], step)
        own = copier[1][step]
        verdict = checker.check_segment(
            copier[0].checkpoints[own.start],
            copier[0].checkpoints[own.end],
            copier[2],
            honest[1][lo:hi],
        )
        assert not verdict.accepted, verdict
    assert honest[0].records_root != copier[0].records_root


def test_time_and_traffic_are_measured(trained_swarm: Outcome) -> None:
    for r in trained_swarm.results:
        assert r.compute_seconds > 0 and r.averaging_seconds > 0
        assert 0 < r.utilization < 1
        assert r.lora_parameters < r.model_parameters / 10
        assert r.wire_measured
        # each all-reduce sent at least the compressed payload (fp16: half the fp32 bound)
        assert r.wire_sync_sent >= 0.5 * r.allreduce_limit_bytes / 2
        assert r.wire_sent >= r.wire_sync_sent
