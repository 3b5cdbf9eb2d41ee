"""Usefulness scoring of contributions (offchain/validator/usefulness.py) on a real tiny
model: an in-process DiLoCo round of three honest nodes, and its contributions rewritten by
the worker's contribution cheats (offchain/worker/contribution_cheats.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from offchain.validator import calibration as cal
from offchain.validator.reasons import Reason
from offchain.validator.scoring import round_seed, scored_outer_steps
from offchain.validator.usefulness import (
    UsefulnessScorer,
    contributions,
    heldout_batches,
    judge_usefulness,
    node_statistics,
    own_steps,
    scored_epochs,
)
from offchain.worker import contribution_cheats as cc
from offchain.worker.round_work import TrainedRound
from trainer.config import DilocoConfig, TrainConfig
from trainer.data import TrainingData
from trainer.errors import ReplayError
from trainer.inprocess import NodeRound, train_inprocess_round
from trainer.models import build_tokenizer
from trainer.replay import ReplayRecord, records_root

SEED = b"\x07" * 32


@pytest.fixture(scope="module")
def round_cfg() -> TrainConfig:
    return TrainConfig(max_epochs=3, max_local_steps=24, diloco=DilocoConfig(inner_steps=8))


@pytest.fixture(scope="module")
def data(round_cfg: TrainConfig) -> TrainingData:
    return TrainingData(round_cfg.data, build_tokenizer(round_cfg.model))


@pytest.fixture(scope="module")
def runs(
    round_cfg: TrainConfig, data: TrainingData, tmp_path_factory: pytest.TempPathFactory
) -> list[NodeRound]:
    """Three honest nodes of one DiLoCo round (3 outer steps of 8 inner steps)."""
    out = tmp_path_factory.mktemp("round")
    nodes = train_inprocess_round(round_cfg, nodes=3, out_root=out, data=data)
    for n in nodes:  # each node's round folder, as the worker leaves it
        bundle = {"records": [r.to_json() for r in n.records], "checkpoints": sorted(n.checkpoints)}
        (n.adapter_path.parent / cc.BUNDLE_FILE).write_text(json.dumps(bundle))
    return nodes


def _scorer(cfg: TrainConfig, data: TrainingData) -> UsefulnessScorer:
    return UsefulnessScorer(cfg, heldout_batches(data.heldout(), cfg.batch_size))


def _score_folder(scorer: UsefulnessScorer, folder: Path, run: NodeRound) -> list:  # type: ignore[type-arg]
    bundle = json.loads((folder / cc.BUNDLE_FILE).read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    files = lambda digest: folder / "checkpoints" / f"{digest.removeprefix('0x')}.safetensors"  # noqa: E731
    return scorer.score_node(records, run.shard, files, SEED)


def test_contributions_are_the_outer_steps(runs: list[NodeRound]) -> None:
    found = contributions(runs[0].records)
    assert [c.epoch for c in found] == [0, 1, 2]
    assert [c.steps for c in found] == [tuple(range(8 * e, 8 * e + 8)) for e in range(3)]
    first, last = runs[0].records[0], runs[0].records[7]
    assert (found[0].start, found[0].end) == (first.start, last.end)


def test_own_batches_are_a_public_deterministic_draw(runs: list[NodeRound]) -> None:
    c = contributions(runs[0].records)[1]
    drawn = own_steps(SEED, c, cal.USEFULNESS_OWN_BATCHES)
    assert drawn == own_steps(SEED, c, cal.USEFULNESS_OWN_BATCHES)
    assert len(drawn) == cal.USEFULNESS_OWN_BATCHES and set(drawn) <= set(c.steps)
    assert own_steps(SEED, c, 100) == list(c.steps)


def test_scored_outer_steps_are_a_public_draw_of_the_rounds_seed() -> None:
    block = "0x" + "ab" * 32
    seed = round_seed(block, 7, 3)
    assert seed == round_seed(block.upper().replace("0X", "0x"), 7, 3)  # deterministic
    drawn = scored_epochs(seed, 50, 5)
    assert drawn == scored_epochs(seed, 50, 5) and drawn == sorted(set(drawn))
    assert len(drawn) == 5 and all(0 <= e < 50 for e in drawn)
    others = {tuple(scored_epochs(round_seed(block, 7, r), 50, 5)) for r in range(4, 10)}
    assert len(others | {tuple(drawn)}) > 1  # another round, another draw
    assert scored_epochs(seed, 3, 5) == [0, 1, 2]  # a short round: all of them


def test_scored_outer_steps_are_sized_by_the_budget_never_below_the_minimum() -> None:
    seed = round_seed("0x" + "cd" * 32, 1, 1)

    def plan(h: int, outer: int, quorum: int) -> list[int]:
        cfg = TrainConfig(
            max_epochs=outer, max_local_steps=h * outer, diloco=DilocoConfig(inner_steps=h)
        )
        return scored_outer_steps(cfg, seed, quorum)

    for h, outer, quorum in ((8, 5, 2), (100, 5, 3), (500, 5, 3)):  # short: the minimum
        assert len(plan(h, outer, quorum)) == cal.USEFULNESS_MIN_OUTER_STEPS
    assert plan(8, 1, 3) == [0]  # never more than the round has
    for h, outer, quorum in ((500, 100, 3), (100, 200, 2), (500, 40, 1)):
        scored = plan(h, outer, quorum)
        steps = h * outer
        assert len(scored) > cal.USEFULNESS_MIN_OUTER_STEPS
        assert cal.usefulness_steps(len(scored), quorum) <= cal.USEFULNESS_BUDGET * steps
        # as many as the budget affords: one more would exceed it
        assert cal.usefulness_steps(len(scored) + 1, quorum) > cal.USEFULNESS_BUDGET * steps
    assert len(plan(500, 100, 3)) == cal.usefulness_count(100, trained_steps=50_000, quorum=3)


def test_every_node_is_scored_on_the_same_drawn_outer_steps(
    round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound]
) -> None:
    epochs = scored_outer_steps(round_cfg, round_seed("0x" + "01" * 32, 1, 1), quorum=2)
    assert len(epochs) == cal.USEFULNESS_MIN_OUTER_STEPS < 3  # 2 of the round's 3
    scorer = _scorer(round_cfg, data)
    scores = {
        i: scorer.score_node(r.records, r.shard, r.checkpoints.__getitem__, SEED, set(epochs))
        for i, r in enumerate(runs)
    }
    assert all([s.epoch for s in v] == epochs for v in scores.values())
    assert scorer.forward_batches <= 3 * len(epochs) * 16  # the draw bounds the work
    results = judge_usefulness(scores)
    assert all(r.ok for r in results.values()), [r.detail for r in results.values()]
    assert all(len(s.norm_ratios) == len(epochs) for s in node_statistics(scores).values())


def test_honest_nodes_pass_and_scores_are_deterministic(
    round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound]
) -> None:
    first = {i: _score_folder(_scorer(round_cfg, data), r.adapter_path.parent, r)
             for i, r in enumerate(runs)}  # fmt: skip
    again = {i: _score_folder(_scorer(round_cfg, data), r.adapter_path.parent, r)
             for i, r in enumerate(runs)}  # fmt: skip
    assert [(s.own, s.heldout, s.norm) for v in first.values() for s in v] == [
        (s.own, s.heldout, s.norm) for v in again.values() for s in v
    ]
    results = judge_usefulness(first)
    assert all(r.ok for r in results.values()), [r.detail for r in results.values()]
    for stats in node_statistics(first).values():
        assert stats.specificity > cal.USEFULNESS_MIN_SPECIFICITY
        assert stats.usefulness is not None and stats.usefulness > cal.USEFULNESS_MIN_RATIO
        assert len(stats.norm_ratios) == 3 and stats.copied_from is None
        assert min(stats.peer_cosines) > cal.USEFULNESS_MIN_PEER_COSINE


@pytest.mark.parametrize("kind", ["copygrad", "scalegrad", "lazygrad", "poison"])
def test_cheating_contributions_are_rejected_honest_ones_kept(
    kind: str, round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound], tmp_path: Path
) -> None:
    """Node 1 trained with the others, then commits other updates than its own."""
    folder = tmp_path / "node1"
    shutil.copytree(runs[1].adapter_path.parent, folder)
    trained = TrainedRound(
        adapter_path=folder / "adapter.safetensors", adapter_hash="0x" + "11" * 32,
        samples=24 * 8, loss=1.0, replay_root=runs[1].records_root,
    )  # fmt: skip
    if kind == "copygrad":
        faked = cc.copy_grad(trained, folder, runs[0].adapter_path.parent)
    elif kind == "scalegrad":
        faked = cc.scale_grad(trained, folder)
    elif kind == "lazygrad":
        faked = cc.scale_grad(trained, folder, factor=0.3)
    else:
        faked = cc.poison(trained, folder)
    assert faked.replay_root != runs[1].records_root  # the records commit the new updates
    scorer = _scorer(round_cfg, data)
    scores = {i: _score_folder(scorer, r.adapter_path.parent, r) for i, r in enumerate(runs)}
    scores[1] = _score_folder(scorer, folder, runs[1])
    results = judge_usefulness(scores)
    assert results[1].reason is Reason.CONTRIBUTION_NOT_USEFUL, results[1].detail
    assert results[0].ok and results[2].ok, (results[0].detail, results[2].detail)
    if kind == "copygrad":
        assert "copied another node's updates" in results[1].detail
        assert node_statistics(scores)[1].copied_from == "0"
    if kind == "poison":  # points away from every honest update of each outer step
        assert max(node_statistics(scores)[1].peer_cosines) < cal.USEFULNESS_MIN_PEER_COSINE


def test_without_peers_only_specificity_applies(
    round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound], tmp_path: Path
) -> None:
    folder = tmp_path / "node1"
    shutil.copytree(runs[1].adapter_path.parent, folder)
    trained = TrainedRound(
        adapter_path=folder / "adapter.safetensors", adapter_hash="0x" + "11" * 32,
        samples=24 * 8, loss=1.0, replay_root=runs[1].records_root,
    )  # fmt: skip
    cc.scale_grad(trained, folder)  # scaled 3x: only the peer-relative tests see it
    scorer = _scorer(round_cfg, data)
    two = {0: _score_folder(scorer, runs[0].adapter_path.parent, runs[0]),
           1: _score_folder(scorer, folder, runs[1])}  # fmt: skip
    stats = node_statistics(two)
    assert stats[1].usefulness is None and stats[1].norm_ratios == ()
    poisoned = tmp_path / "poisoned"
    shutil.copytree(runs[1].adapter_path.parent, poisoned)
    cc.poison(trained.model_copy(update={"adapter_path": poisoned / "adapter.safetensors"}),
              poisoned)  # fmt: skip
    two[1] = _score_folder(scorer, poisoned, runs[1])
    assert judge_usefulness(two)[1].reason is Reason.CONTRIBUTION_NOT_USEFUL


def test_records_off_the_pools_schedule_are_not_scored(
    round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound]
) -> None:
    """Every step its own outer step (as the lazy cheat's made-up records): more outer steps
    than the pool's rounds have, refused before any scoring work."""
    r = runs[0]
    split = [ReplayRecord(x.step, x.step, x.loss, x.projection, x.start, x.end) for x in r.records]
    with pytest.raises(ReplayError, match="outer steps"):
        _scorer(round_cfg, data).score_node(split, r.shard, r.checkpoints.__getitem__, SEED)


@pytest.mark.parametrize("kind", ["copygrad", "scalegrad", "poison"])
def test_worker_cheat_hook_rewrites_the_round_it_trained(
    kind: str, round_cfg: TrainConfig, data: TrainingData, runs: list[NodeRound], tmp_path: Path
) -> None:
    """``LORANET_CHEAT=<kind>``: the worker's training function, wrapped, trains (here: node
    1's round folder) and then commits other contributions; copygrad reads the other node's
    round from its data dir (``LORANET_CHEAT_COPY_FROM``)."""
    from offchain.worker import cheats

    victim_dir = tmp_path / "victim"
    marker = victim_dir / "rounds" / "0" / "0" / "trained.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(TrainedRound(
        adapter_path=runs[0].adapter_path, adapter_hash="0x" + "00" * 32, samples=192, loss=1.0,
        replay_root=runs[0].records_root,
    ).model_dump_json())  # fmt: skip

    def train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        shutil.copytree(runs[1].adapter_path.parent, out_dir, dirs_exist_ok=True)
        return TrainedRound(
            adapter_path=out_dir / "adapter.safetensors", adapter_hash="0x" + "11" * 32,
            samples=192, loss=1.0, replay_root=runs[1].records_root,
        )  # fmt: skip

    cheat = cheats.with_cheat(train, kind, node="0xN", copy_from=victim_dir, copy_wait_s=0)
    out = tmp_path / "mine"
    faked = cheat(0, 0, out)
    bundle = json.loads((out / cc.BUNDLE_FILE).read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    assert faked.replay_root == records_root(records) != runs[1].records_root
    scorer = _scorer(round_cfg, data)
    scores = {i: _score_folder(scorer, r.adapter_path.parent, r) for i, r in enumerate(runs)}
    scores[1] = _score_folder(scorer, out, runs[1])
    assert judge_usefulness(scores)[1].reason is Reason.CONTRIBUTION_NOT_USEFUL
