"""Calibrated agreement tolerances, the replay draw's size and seeds, the execution mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from validator_support import NODE, POOL, ROUND, LocalRun

from offchain.rounds.bundle import ReplayBundle
from offchain.validator.calibration import (
    CEILING,
    HONEST_SPREAD,
    agreement_tolerance,
    budget_count,
    detection_probability,
    miss_probability,
    replay_budget_left,
    replay_count,
    usefulness_count,
    usefulness_steps,
)
from offchain.validator.checks import (
    check_agreement,
    check_execution_mode,
    check_replay,
    replay_secret,
    replay_seed,
    replay_segments,
)
from offchain.validator.reasons import Reason
from offchain.validator.verdict import Thresholds
from offchain.worker import cheats
from offchain.worker.round_work import TrainedRound
from trainer.artifacts import adapter_hash, load_adapter_state, save_adapter
from trainer.config import DilocoConfig, ModelConfig, TrainConfig
from trainer.replay import ReplayChecker

# -- agreement ----------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["none", "float16", "uint8"])
def test_calibrated_tolerance_sits_between_honest_spread_and_cheats(compression: str) -> None:
    tol = agreement_tolerance(TrainConfig(diloco=DilocoConfig(compression=compression)))
    assert HONEST_SPREAD[compression] * 9 < tol.max_distance <= CEILING < 0.3
    assert 0.998 < tol.min_cosine < 1.0 and compression in tol.source


def test_quantized_bases_get_more_margin_never_past_the_ceiling() -> None:
    plain = agreement_tolerance(TrainConfig())
    quant = agreement_tolerance(
        TrainConfig(model=ModelConfig(source="pretrained", path=Path("m"), quantization="4bit"))
    )
    assert plain.max_distance < quant.max_distance <= CEILING and "4bit" in quant.source


def test_operator_values_override_the_calibration() -> None:
    assert (
        Thresholds().agreement(TrainConfig())[1] == agreement_tolerance(TrainConfig()).max_distance
    )
    assert Thresholds(max_distance=0.5).agreement(TrainConfig())[1:] == (0.5, "set by the operator")


def _variant(base: Path, honest: Path, out: Path, factor: float, noise: float = 0.0) -> Path:
    import torch

    b, h = load_adapter_state(base), load_adapter_state(honest)
    update = {k: h[k] - b[k] for k in h}
    gen = torch.Generator().manual_seed(3)
    norm = torch.cat([v.reshape(-1) for v in update.values()]).norm()
    rnd = {k: torch.randn(v.shape, generator=gen) for k, v in update.items()}
    rnorm = torch.cat([v.reshape(-1) for v in rnd.values()]).norm()
    save_adapter({k: b[k] + factor * update[k] + rnd[k] * noise * norm / rnorm for k in h}, out)
    return out


def test_variants_inside_the_old_tolerances_fail_the_calibrated_ones(
    base: Path,
    make_adapter,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    honest = make_adapter("h-calib", scale=0.05, noise=0.0)
    twin = _variant(base, honest, tmp_path / "twin.safetensors", 1.0)
    tol = agreement_tolerance(TrainConfig())
    for name, factor, noise in (("lazy", 0.3, 0.0), ("big", 1.7, 0.0), ("drift", 1.0, 0.74)):
        odd = _variant(base, honest, tmp_path / f"{name}.safetensors", factor, noise)
        adapters = {0: honest, 1: twin, 2: odd}
        old = check_agreement(adapters, base, min_cosine=0.8, max_distance=0.75)
        assert all(r.ok for r in old.values()), name  # the old defaults let it through
        new = check_agreement(
            adapters, base, min_cosine=tol.min_cosine, max_distance=tol.max_distance
        )
        assert new[0].ok and new[1].ok, name
        assert new[2].reason is Reason.DISAGREES_WITH_MAJORITY, (name, new[2].detail)


# -- replay draw --------------------------------------------------------------------------------


def test_replay_count_meets_the_target_across_the_quorum() -> None:
    for segments in (10, 50, 250, 1000):
        for quorum in (1, 2, 3):
            k = replay_count(segments, skip_fraction=0.1, target=0.95, quorum=quorum)
            bad = max(1, round(0.1 * segments))
            assert detection_probability(segments, bad, k, quorum) >= 0.95
            assert k == 1 or detection_probability(segments, bad, k - 1, quorum) < 0.95
    # 10 % skipped, three validators: about ten segments each, whatever the round's length
    assert 8 <= replay_count(1000, skip_fraction=0.1, target=0.95, quorum=3) <= 10
    assert replay_count(3, skip_fraction=0.1, target=0.95, quorum=2) == 3  # all of a tiny round
    assert miss_probability(10, 0, 3) == 1.0 and miss_probability(10, 2, 9) == 0.0


def test_budget_caps_the_count_but_keeps_the_minimum() -> None:
    # 3 validators x 10 segments x 4 steps = 120 steps: 5 % of 2400
    assert budget_count(10, steps=2400, segment_steps=4, quorum=3, budget=0.05, minimum=2) == 10
    assert budget_count(10, steps=1200, segment_steps=4, quorum=3, budget=0.05, minimum=2) == 5
    assert budget_count(10, steps=12, segment_steps=4, quorum=3, budget=0.05, minimum=2) == 2
    assert budget_count(1, steps=12, segment_steps=4, quorum=3, budget=0.05, minimum=2) == 1


def test_replay_and_usefulness_share_the_total_budget() -> None:
    """The replay gets what the usefulness scoring leaves of the 5 %: their sum stays within
    it once a round is long enough for both minimums."""
    th = Thresholds()  # replay_budget 0.05: the total
    checkpoint_every = 4
    for h, outer, quorum in ((500, 5, 2), (500, 5, 3), (500, 40, 3), (100, 50, 2)):
        steps = h * outer
        scored = usefulness_count(outer, trained_steps=steps, quorum=quorum)
        reserved = usefulness_steps(scored, quorum)
        segments = steps // checkpoint_every
        k = th.segment_count(segments, steps, checkpoint_every, quorum, reserved)
        replayed = quorum * k * checkpoint_every
        assert (replayed + reserved) / steps <= th.replay_budget, (h, outer, quorum)
        assert k < th.segment_count(segments, steps, checkpoint_every, quorum) or k == (
            replay_count(segments, skip_fraction=0.1, target=0.95, quorum=quorum)
        )  # the usefulness share comes out of the replay's, unless the target fits anyway
    assert replay_budget_left(0.05, reserved_steps=60.0, steps=2000) == pytest.approx(0.02)
    assert replay_budget_left(0.05, reserved_steps=600.0, steps=2000) == 0.0
    # a short round: both minimums, over the budget (as the replay's minimum alone was)
    assert Thresholds().segment_count(10, 40, 4, 2, usefulness_steps(2, 2)) == 2


def test_each_validator_draws_its_own_segments() -> None:
    block = "0x" + "aa" * 32
    a, b = replay_secret(b"\x01" * 32), replay_secret(b"\x02" * 32)
    seed_a = replay_seed(block, POOL, ROUND, NODE, a)
    assert seed_a == replay_seed(block, POOL, ROUND, NODE, a)  # deterministic for its owner
    assert seed_a != replay_seed(block, POOL, ROUND, NODE, b)  # private to it
    assert seed_a != replay_seed(block, POOL, ROUND, NODE)  # not the public draw
    assert seed_a != replay_seed("0x" + "ab" * 32, POOL, ROUND, NODE, a)  # a later block
    draws = {
        tuple(replay_segments(replay_seed(block, POOL, r, NODE, a), 100, 10)) for r in range(5)
    }
    assert len(draws) == 5 and all(len(set(d)) == 10 for d in draws)


def test_partial_training_is_caught_on_its_faked_segment(
    cfg: TrainConfig, local_run: LocalRun, tmp_path: Path
) -> None:
    """The ``partial`` cheat fakes one of the three segments; replaying every segment catches
    it, and the honest bundle replays clean segment by segment."""
    args = {
        "node": NODE, "pool_id": POOL, "round": ROUND, "batch_size": cfg.batch_size,
        "steps": lambda n: [], "checkpoint": lambda digest: local_run.checkpoints[digest],
        "shard": lambda _i, _k: local_run.shard, "checker": ReplayChecker(cfg),
        "segments": lambda n: list(range(n)),
    }  # fmt: skip
    samples = len(local_run.bundle.records) * cfg.batch_size
    honest = check_replay(local_run.bundle, samples=samples, replay_root=local_run.root, **args)  # type: ignore[arg-type]
    assert honest.ok and "segments 0..1, 2..3, 4..5" in honest.detail, honest.detail

    out = tmp_path / "round"
    out.mkdir()
    (out / cheats.BUNDLE_FILE).write_text(local_run.bundle.model_dump_json())
    adapter = next(iter(local_run.checkpoints.values()))
    shutil.copyfile(adapter, out / "adapter.safetensors")
    trained = TrainedRound(
        adapter_path=out / "adapter.safetensors", adapter_hash=adapter_hash(adapter),
        samples=samples, loss=1.0, replay_root=local_run.root,
    )  # fmt: skip
    faked = cheats.partial(trained, out, seed=0)
    bundle = ReplayBundle.model_validate(json.loads((out / cheats.BUNDLE_FILE).read_text()))
    result = check_replay(bundle, samples=samples, replay_root=faked.replay_root, **args)  # type: ignore[arg-type]
    assert result.reason is Reason.REPLAY_MISMATCH, result.detail


# -- execution mode -----------------------------------------------------------------------------


def test_execution_mode_claims() -> None:
    assert check_execution_mode(1, "cpu", [0.0, 0.0], "cpu").ok  # custom: any hardware
    assert check_execution_mode(2, None, [], "cpu").ok  # remote API: the lowest rate
    assert check_execution_mode(0, "cuda", [3e-7, 0.0], "cpu").ok  # GPU numerics differ
    for claim in [(0, "cpu", [1e-7], "cpu"), (0, None, [], "cpu"), (7, "cpu", [], "cpu")]:
        assert check_execution_mode(*claim).reason is Reason.EXECUTION_MODE_FALSE, claim
    lie = check_execution_mode(0, "cuda", [0.0] * 12, "cpu")  # a CPU run, bit for bit
    assert lie.reason is Reason.EXECUTION_MODE_FALSE and "bit for bit" in lie.detail
    assert check_execution_mode(0, "cuda", [0.0] * 11, "cpu").ok  # too few steps to tell
    assert check_execution_mode(0, "cuda", [0.0] * 12, "cuda").ok  # a GPU replay may match


# -- samples ------------------------------------------------------------------------------------


def test_sample_claims_are_checked_tightly_by_default() -> None:
    """One outer step of slack (a DHT update the validator missed), no more: the old ratio of
    2.0 let a node claim twice what it published."""
    from offchain.validator.checks import check_samples

    cfg = TrainConfig(diloco=DilocoConfig(inner_steps=4), batch_size=8)
    th = Thresholds()
    published = 96
    ok = check_samples(
        published + 32, published, max_ratio=th.samples_max_ratio, slack=th.slack(cfg)
    )
    assert ok.ok
    for claimed in (published + 40, 2 * published):
        result = check_samples(
            claimed, published, max_ratio=th.samples_max_ratio, slack=th.slack(cfg)
        )
        assert result.reason is Reason.SAMPLES_INFLATED, claimed
