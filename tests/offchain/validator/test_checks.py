"""Every check with honest and dishonest inputs."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from validator_support import NODE, POOL, ROUND, LocalRun

from offchain.artifacts import Fetcher, FetchLimits
from offchain.validator.checks import (
    check_agreement,
    check_artifact,
    check_eval,
    check_replay,
    check_samples,
    replay_seed,
    replay_steps,
)
from offchain.validator.errors import ArtifactUnavailable, FetchError
from offchain.validator.reasons import Reason
from trainer.artifacts import adapter_hash, load_adapter_state
from trainer.config import TrainConfig
from trainer.replay import ReplayChecker, records_root

# -- artifact -----------------------------------------------------------------------------------

FAST = FetchLimits(read_timeout_s=5, attempts=2, backoff_s=0.05, deadline_s=30)


@pytest.mark.parametrize("form", ["path", "file-uri", "http"])
def test_artifact_honest_by_every_uri_form(
    form: str, base: Path, tmp_path: Path, http_folder: tuple[Path, str]
) -> None:
    folder, url = http_folder
    shutil.copyfile(base, folder / "a.safetensors")
    uri = {"path": str(base), "file-uri": base.as_uri(), "http": f"{url}/a.safetensors"}[form]
    keys = list(load_adapter_state(base))
    result, path = check_artifact(uri, adapter_hash(base), tmp_path / "cache", expected_keys=keys)
    assert result.ok and path is not None and adapter_hash(path) == adapter_hash(base)


def test_artifact_missing_is_inconclusive(tmp_path: Path, http_folder: tuple[Path, str]) -> None:
    """A store that does not answer is not evidence: the report is not rejected."""
    fetcher = Fetcher(tmp_path / "cache", FAST, local_ok=True)
    for uri in (
        str(tmp_path / "nope.safetensors"),
        f"{http_folder[1]}/nope.safetensors",
        "http://127.0.0.1:9/down",
    ):
        result, path = check_artifact(uri, "0x" + "11" * 32, fetcher)
        assert result.reason is Reason.ARTIFACT_UNAVAILABLE and path is None
        assert result.inconclusive and not result.ok


def test_artifact_over_the_size_limit_is_inconclusive(base: Path, tmp_path: Path) -> None:
    fetcher = Fetcher(tmp_path / "cache", FetchLimits(max_bytes=100), local_ok=True)
    result, _ = check_artifact(str(base), adapter_hash(base), fetcher)
    assert result.inconclusive and "over the limit" in result.detail


def test_file_uri_of_a_public_chain_is_invalid(base: Path, tmp_path: Path) -> None:
    fetcher = Fetcher(tmp_path / "cache", FAST, local_ok=False)
    result, _ = check_artifact(base.as_uri(), adapter_hash(base), fetcher)
    assert result.reason is Reason.ARTIFACT_INVALID and not result.inconclusive
    assert "local chain" in result.detail


def test_artifact_that_is_not_a_regular_file(tmp_path: Path) -> None:
    for uri in ("/dev/zero", str(tmp_path), "file:///dev/urandom"):
        result, _ = check_artifact(uri, "0x" + "11" * 32, tmp_path / "cache")
        assert result.reason is Reason.ARTIFACT_UNAVAILABLE


def test_artifact_hash_mismatch(base: Path, tmp_path: Path, http_folder: tuple[Path, str]) -> None:
    """Fetched in full but other bytes than reported: a reject, not an abstention."""
    folder, url = http_folder
    shutil.copyfile(base, folder / "a")
    for uri in (str(base), f"{url}/a"):
        result, _ = check_artifact(uri, "0x" + "11" * 32, tmp_path / "cache")
        assert result.reason is Reason.ARTIFACT_HASH_MISMATCH and not result.inconclusive
    assert not any(p.name.startswith("11") for p in (tmp_path / "cache").iterdir())


def test_artifact_not_an_adapter(tmp_path: Path, base: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"definitely not safetensors")
    result, _ = check_artifact(str(junk), adapter_hash(junk), tmp_path)
    assert result.reason is Reason.ARTIFACT_INVALID
    result, _ = check_artifact(str(base), adapter_hash(base), tmp_path, expected_keys=["other"])
    assert result.reason is Reason.ARTIFACT_INVALID


def test_artifact_unsupported_scheme(tmp_path: Path) -> None:
    """No validator can read it, deterministically: the node's fault."""
    result, _ = check_artifact("ipfs://Qm", "0x" + "11" * 32, tmp_path)
    assert result.reason is Reason.ARTIFACT_INVALID and "scheme" in result.detail


# -- agreement ----------------------------------------------------------------------------------


def test_agreement_honest_peers_agree(base: Path, make_adapter: Callable[..., Path]) -> None:
    adapters = {i: make_adapter(f"h{i}", node=i) for i in range(3)}
    results = check_agreement(adapters, base, min_cosine=0.8, max_distance=0.75)
    assert all(r.ok for r in results.values()), results


@pytest.mark.parametrize("cheat", ["noise", "lazy", "other-direction"])
def test_agreement_rejects_the_odd_one(
    cheat: str, base: Path, make_adapter: Callable[..., Path]
) -> None:
    adapters = {i: make_adapter(f"h{i}", node=i) for i in range(3)}
    odd = {
        "noise": make_adapter("noise", direction=99, scale=0.5),
        "lazy": base,  # no update at all
        "other-direction": make_adapter("other", direction=42),
    }[cheat]
    results = check_agreement({**adapters, 9: odd}, base, min_cosine=0.8, max_distance=0.75)
    assert results[9].reason is Reason.DISAGREES_WITH_MAJORITY
    assert all(results[i].ok for i in range(3)), results


def test_agreement_needs_a_majority(base: Path, make_adapter: Callable[..., Path]) -> None:
    two = {0: make_adapter("h0"), 1: make_adapter("n", direction=5, scale=1.0)}
    assert all(r.ok for r in check_agreement(two, base, min_cosine=0.99, max_distance=0.1).values())


# -- eval ---------------------------------------------------------------------------------------


def test_eval_accepts_an_improvement_above_tolerance() -> None:
    assert check_eval(3.0, 2.5, 0.05).ok


@pytest.mark.parametrize(
    "adapted, tolerance",
    [(3.0, 0.0), (3.1, 0.0), (2.95, 0.05), (float("nan"), 0.0), (float("inf"), 0.0)],
)
def test_eval_rejects_no_or_small_improvement(adapted: float, tolerance: float) -> None:
    assert check_eval(3.0, adapted, tolerance).reason is Reason.EVAL_NOT_BETTER


# -- samples ------------------------------------------------------------------------------------


def test_samples_within_what_was_published() -> None:
    assert check_samples(48, 48, max_ratio=2.0).ok
    assert check_samples(48, 32, max_ratio=2.0).ok  # polling missed a few updates


def test_samples_unpublished() -> None:
    for published in (None, 0):
        assert check_samples(48, published, max_ratio=2.0).reason is Reason.SAMPLES_UNPUBLISHED


def test_samples_inflated() -> None:
    assert check_samples(480, 48, max_ratio=2.0).reason is Reason.SAMPLES_INFLATED
    assert check_samples(105, 48, max_ratio=2.0, slack=8).reason is Reason.SAMPLES_INFLATED


# -- replay -------------------------------------------------------------------------------------


def _replay(cfg: TrainConfig, run: LocalRun, bundle: object = None, **overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "node": NODE,
        "pool_id": POOL,
        "round": ROUND,
        "samples": len(run.bundle.records) * cfg.batch_size,
        "replay_root": run.root,
        "batch_size": cfg.batch_size,
        "steps": lambda n: list(range(n)),
        "checkpoint": lambda digest: run.checkpoints[digest],
        "shard": lambda _i, _k: run.shard,
        "checker": ReplayChecker(cfg),
    }
    args.update(overrides)
    return check_replay(run.bundle if bundle is None else bundle, **args)  # type: ignore[arg-type]


def test_replay_honest_every_step(cfg: TrainConfig, local_run: LocalRun) -> None:
    result = _replay(cfg, local_run)
    assert result.ok, result.detail


def test_replay_missing_bundle(cfg: TrainConfig, local_run: LocalRun) -> None:
    result = check_replay(
        None, node=NODE, pool_id=POOL, round=ROUND, samples=1, replay_root=local_run.root,
        batch_size=8, steps=lambda n: [], checkpoint=lambda d: Path(d),
        shard=lambda i, k: local_run.shard, checker=ReplayChecker(cfg),
    )  # fmt: skip
    assert result.reason is Reason.REPLAY_BUNDLE_MISSING


def test_replay_bundle_of_another_node(cfg: TrainConfig, local_run: LocalRun) -> None:
    result = _replay(cfg, local_run, node="0x" + "cd" * 20)
    assert result.reason is Reason.REPLAY_BUNDLE_MISMATCH


def test_replay_shard_must_be_the_nodes_place_on_chain(
    cfg: TrainConfig, local_run: LocalRun
) -> None:
    bundle = local_run.bundle
    own = (bundle.node_index, bundle.node_count)
    assert _replay(cfg, local_run, expected_shard=own).ok
    other = _replay(cfg, local_run, expected_shard=(own[0] + 1, own[1] + 1))
    assert other.reason is Reason.REPLAY_BUNDLE_MISMATCH and "members on chain" in other.detail
    stranger = _replay(cfg, local_run, expected_shard=(-1, 0))
    assert "not among the round's members" in stranger.detail


def test_replay_root_differs_from_the_signed_one(cfg: TrainConfig, local_run: LocalRun) -> None:
    result = _replay(cfg, local_run, replay_root="0x" + "22" * 32)
    assert result.reason is Reason.REPLAY_PROOF_INVALID


def test_replay_claimed_samples_beyond_the_records(cfg: TrainConfig, local_run: LocalRun) -> None:
    samples = 10 * len(local_run.bundle.records) * cfg.batch_size
    assert _replay(cfg, local_run, samples=samples).reason is Reason.REPLAY_BUNDLE_MISMATCH


def test_replay_made_up_records_fail(cfg: TrainConfig, local_run: LocalRun) -> None:
    """Records signed consistently (root matches) but not computed: the replay disagrees."""
    fake = [dataclasses.replace(r, loss=r.loss * 0.9) for r in local_run.bundle.replay_records()]
    bundle = local_run.bundle.model_copy(update={"records": [r.to_json() for r in fake]})
    result = _replay(cfg, local_run, bundle, replay_root=records_root(fake))
    assert result.reason is Reason.REPLAY_MISMATCH


def test_replay_checkpoint_unavailable(cfg: TrainConfig, local_run: LocalRun) -> None:
    def missing(digest: str) -> Path:
        raise FetchError(f"no checkpoint {digest}")

    assert _replay(cfg, local_run, checkpoint=missing).reason is Reason.REPLAY_BUNDLE_MISSING

    def unreachable(digest: str) -> Path:
        raise ArtifactUnavailable(f"cannot download checkpoint {digest}: connection refused")

    result = _replay(cfg, local_run, checkpoint=unreachable)
    assert result.reason is Reason.ARTIFACT_UNAVAILABLE and result.inconclusive


def test_replay_starts_from_the_base_adapter(
    cfg: TrainConfig, local_run: LocalRun, base: Path, make_adapter: Any
) -> None:
    assert _replay(cfg, local_run, base=base).ok
    other = make_adapter("other-start", direction=9)
    result = _replay(cfg, local_run, base=other)
    assert result.reason is Reason.REPLAY_MISMATCH and "base adapter" in result.detail


def test_replay_segment_with_a_forged_end(cfg: TrainConfig, local_run: LocalRun) -> None:
    """Claims steps 2-3 ended where they started (work not done): the end does not match."""
    records = local_run.bundle.replay_records()
    forged = [dataclasses.replace(r, end=r.start) if r.step in (2, 3) else r for r in records]
    bundle = local_run.bundle.model_copy(update={"records": [r.to_json() for r in forged]})
    result = _replay(cfg, local_run, bundle, replay_root=records_root(forged), steps=lambda n: [3])
    assert result.reason is Reason.REPLAY_MISMATCH and "segment ends" in result.detail


def test_replay_segment_longer_than_the_checkpoint_interval(
    cfg: TrainConfig, local_run: LocalRun
) -> None:
    """One checkpoint pair for all six steps would make the validator replay them all."""
    records = local_run.bundle.replay_records()
    forged = [dataclasses.replace(r, start=records[0].start, end=records[-1].end) for r in records]
    bundle = local_run.bundle.model_copy(update={"records": [r.to_json() for r in forged]})
    result = _replay(cfg, local_run, bundle, replay_root=records_root(forged))
    assert result.reason is Reason.REPLAY_BUNDLE_MISMATCH and "at most 2" in result.detail


def test_replay_steps_are_seeded_and_distinct() -> None:
    seed = replay_seed("0x" + "aa" * 32, POOL, ROUND, NODE)
    steps = replay_steps(seed, 50, 5)
    assert steps == replay_steps(seed, 50, 5)
    assert len(set(steps)) == 5 and all(0 <= s < 50 for s in steps)
    assert replay_steps(replay_seed("0x" + "ab" * 32, POOL, ROUND, NODE), 50, 5) != steps
    assert replay_steps(seed, 3, 5) == [0, 1, 2]
    assert replay_steps(seed, 0, 5) == []
