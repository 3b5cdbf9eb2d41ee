"""The cheat transformations (offchain/worker/cheats.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offchain.worker import cheats
from offchain.worker.round_work import TrainedRound
from trainer.artifacts import adapter_hash, load_adapter_state
from trainer.replay import ReplayRecord, records_root


def _trained(path: Path) -> TrainedRound:
    return TrainedRound(
        adapter_path=path, adapter_hash=adapter_hash(path), samples=48, loss=2.0,
        replay_root="0x" + "33" * 32,
    )  # fmt: skip


def test_inflate_claims_ten_times(base: Path) -> None:
    assert cheats.inflate(_trained(base)).samples == 480


def test_noise_keeps_shapes_changes_weights(base: Path, tmp_path: Path) -> None:
    faked = cheats.noise(_trained(base), tmp_path, seed=1)
    assert faked.adapter_hash == adapter_hash(faked.adapter_path) != adapter_hash(base)
    a, b = load_adapter_state(base), load_adapter_state(faked.adapter_path)
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_lazy_submits_the_base_with_made_up_records(base: Path, tmp_path: Path) -> None:
    faked = cheats.lazy(base, tmp_path, node="0xN", pool_id=1, round=0, steps=4, batch_size=8,
                        projection_dim=64)  # fmt: skip
    assert faked.adapter_hash == adapter_hash(base) and faked.samples == 32
    bundle = json.loads((tmp_path / cheats.BUNDLE_FILE).read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    assert records_root(records) == faked.replay_root


def test_copy_takes_another_nodes_round(base: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    out_dir = victim / "rounds" / "1" / "0"
    out_dir.mkdir(parents=True)
    (out_dir / "adapter.safetensors").write_bytes(base.read_bytes())
    trained = _trained(out_dir / "adapter.safetensors")
    (out_dir / "trained.json").write_text(trained.model_dump_json())
    (out_dir / cheats.BUNDLE_FILE).write_text(json.dumps({"node": "0xVictim"}))
    mine = tmp_path / "mine"
    mine.mkdir()
    faked = cheats.copy(victim, mine, node="0xMe", pool_id=1, round=0, wait_s=0)
    assert faked.adapter_hash == trained.adapter_hash and faked.samples == trained.samples
    assert json.loads((mine / cheats.BUNDLE_FILE).read_text())["node"] == "0xMe"
    with pytest.raises(cheats.CheatError, match="nothing to copy"):
        cheats.copy(victim, mine, node="0xMe", pool_id=1, round=5, wait_s=0)


def test_with_cheat_is_off_by_default_and_refuses_unknown_kinds() -> None:
    def train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        raise AssertionError

    assert cheats.with_cheat(train, "none", node="0xN") is train
    with pytest.raises(cheats.CheatError, match="unknown cheat"):
        cheats.with_cheat(train, "bribe", node="0xN")
    with pytest.raises(cheats.CheatError, match="COPY_FROM"):
        cheats.with_cheat(train, "copy", node="0xN")
    assert cheats.CheatSettings().cheat == "none"
