"""Three real hivemind peers on loopback train one round together (see conftest.trained_swarm).

Tolerance for "adapters agree": every peer's adapter within relative L2 distance 0.05 of
the element-wise median and cosine similarity >= 0.99 (peers of one run end close, not
necessarily bit-identical; see docs/trainer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from trainer.aggregate import adapter_agreement, aggregate_adapters
from trainer.artifacts import adapter_hash
from trainer.data import TrainingData
from trainer.evaluation import compare_base_and_adapter
from trainer.replay import (
    ReplayChecker,
    load_records,
    record_proof,
    records_root,
    verify_record,
)
from trainer.tokenizer import build_byte_tokenizer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

Outcome = Any  # conftest.SwarmOutcome


def test_peers_finish_together_at_the_same_epoch(trained_swarm: Outcome) -> None:
    assert trained_swarm.exit_codes == [0, 0, 0]
    max_epochs = trained_swarm.cfg.max_epochs
    assert [r.epochs for r in trained_swarm.results] == [max_epochs] * 3
    for r in trained_swarm.results:
        assert r.run_id == trained_swarm.run_id == "loranet_pool7_round0"
        assert r.steps >= max_epochs and r.samples == r.steps * trained_swarm.cfg.batch_size
        assert sorted(r.epoch_adapters) == list(range(max_epochs))
        assert adapter_hash(r.adapter_path) == r.adapter_hash


def test_progress_is_visible_to_a_third_peer(trained_swarm: Outcome) -> None:
    assert set(trained_swarm.observed_epochs) == {r.peer_id for r in trained_swarm.results}
    assert max(trained_swarm.observed_epochs.values()) >= 1


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
        # the validator picks steps; the node opens them against its root
        for step in [0, *rng.sample(range(1, len(records)), 2)]:
            record = records[step]
            assert verify_record(record, len(records), record_proof(records, step), r.records_root)
            verdict = checker.check(r.epoch_adapters[record.epoch], shard, step, record)
            assert verdict.accepted, verdict
    # node 2 submits node 0's records for its own shard and checkpoints: caught
    honest, _, _ = by_node[0]
    copier, _, copier_shard = by_node[2]
    for record in by_node[0][1][:3]:
        verdict = checker.check(
            copier.epoch_adapters[record.epoch], copier_shard, record.step, record
        )
        assert not verdict.accepted, verdict
    assert honest.records_root != copier.records_root


def test_time_and_traffic_are_measured(trained_swarm: Outcome) -> None:
    for r in trained_swarm.results:
        assert r.compute_seconds > 0 and r.averaging_seconds > 0
        # at least one all-reduce of the LoRA gradients (fp32) went out
        assert r.bytes_sent >= r.lora_parameters * 4 // 3
        assert r.lora_parameters < r.model_parameters / 10
