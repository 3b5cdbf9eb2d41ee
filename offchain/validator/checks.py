"""The checks of one work report, each a plain function (docs/validation.md).

Every check returns a :class:`CheckResult` whose ``reason`` is set when the report fails it:

* :func:`check_artifact` — the artifact behind the URI can be fetched and hashes to the reported
  hash (one that cannot be fetched is inconclusive, never a reject: :data:`reasons.INCONCLUSIVE`);
* :func:`check_agreement` — each adapter's update (adapter minus the round's base) is close to
  the element-wise median update of the round (cosine and relative distance);
* :func:`check_eval` — held-out loss with the adapter beats the round's base adapter by more
  than the domain's tolerance;
* :func:`check_samples` — the claimed samples are covered by the progress the node published
  in the pool's hivemind DHT;
* :func:`check_replay` — the published replay bundle matches the signed report (Merkle root
  over its records, sample count), the first checkpoint holds the round's base adapter, and
  the segments of randomly chosen steps replay from their committed start checkpoint to the
  same losses, gradient projections and end checkpoint on the node's deterministic batches.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import torch

from offchain.artifacts import (
    ArtifactHashMismatchError,
    ArtifactUnavailableError,
    ArtifactURIError,
    Fetcher,
)
from offchain.rounds.bundle import ReplayBundle
from offchain.rounds.fetch import as_fetcher, fetch
from offchain.validator.errors import ArtifactUnavailable, FetchError
from offchain.validator.reasons import CheckResult, Reason
from trainer.aggregate import adapter_agreement
from trainer.artifacts import adapter_hash, load_adapter_state, save_adapter
from trainer.config import TrainConfig
from trainer.data import Shard
from trainer.errors import TrainerError
from trainer.replay import (
    ReplayChecker,
    ReplayRecord,
    ReplayVerdict,
    record_proof,
    records_root,
    state_weights,
    verify_record,
)

logger = logging.getLogger(__name__)

ARTIFACT, AGREEMENT, EVAL, SAMPLES, REPLAY = "artifact", "agreement", "eval", "samples", "replay"
MODE = "mode"
#: ``IDomainRegistry.ExecutionMode``
LOCAL_GPU, CUSTOM, REMOTE_API = 0, 1, 2
#: replayed steps that must all match a CPU replay bit for bit before that counts as evidence
#: of a CPU run: on an H200 about half of a tiny model's steps still match exactly
#: (bench/gpu_mode_check.py), so an honest GPU run is misjudged with chance <= 0.5^12 = 2.4e-4
#: there, and practically never with a real model's wide matrix products
MIN_EXACT_STEPS = 12
MODE_NAMES = {LOCAL_GPU: "local GPU", CUSTOM: "custom", REMOTE_API: "remote API"}
MIN_AGREEMENT_REPORTS = 3  # a majority needs at least three adapters

K = TypeVar("K", str, int)


def _same_hash(a: str, b: str) -> bool:
    return a.lower().removeprefix("0x") == b.lower().removeprefix("0x")


def check_artifact(
    uri: str,
    reported_hash: str,
    cache: Fetcher | Path,
    *,
    expected_keys: Sequence[str] | None = None,
) -> tuple[CheckResult, Path | None]:
    """Fetch ``uri`` verified against ``reported_hash`` (bounded, retried, cached by hash),
    then load it as an adapter with the expected tensor names. Returns the result and the
    local path when it passed.

    Could not fetch -> ``ARTIFACT_UNAVAILABLE`` (inconclusive: the validator abstains);
    fetched bytes hash to something else -> ``ARTIFACT_HASH_MISMATCH``; a URI no validator
    can use (unknown scheme, ``file://`` off a local chain) or not an adapter ->
    ``ARTIFACT_INVALID``.
    """
    try:
        path = as_fetcher(cache).fetch(uri, reported_hash)
    except ArtifactUnavailableError as err:
        return CheckResult.failed(ARTIFACT, Reason.ARTIFACT_UNAVAILABLE, str(err)), None
    except ArtifactHashMismatchError as err:
        return CheckResult.failed(ARTIFACT, Reason.ARTIFACT_HASH_MISMATCH, str(err)), None
    except ArtifactURIError as err:
        return CheckResult.failed(ARTIFACT, Reason.ARTIFACT_INVALID, str(err)), None
    actual = adapter_hash(path)
    try:
        keys = list(load_adapter_state(path))
    except TrainerError as err:
        return CheckResult.failed(ARTIFACT, Reason.ARTIFACT_INVALID, str(err)), None
    if expected_keys is not None and sorted(keys) != sorted(expected_keys):
        detail = "artifact does not hold the pool's LoRA tensors"
        return CheckResult.failed(ARTIFACT, Reason.ARTIFACT_INVALID, detail), None
    return CheckResult.passed(ARTIFACT, f"hash {actual}"), path


def check_agreement(
    adapters: Mapping[K, Path],
    base: Path,
    *,
    min_cosine: float,
    max_distance: float,
) -> dict[K, CheckResult]:
    """Per key of ``adapters``: does its update agree with the round's median update?

    The update of an adapter is its weights minus the ``base`` adapter's; the comparison is
    ``trainer.aggregate.adapter_agreement`` (cosine and relative L2 distance to the
    element-wise median) over the updates. With fewer than three adapters there is no
    majority and every adapter passes (the other checks still apply).
    """
    if len(adapters) < MIN_AGREEMENT_REPORTS:
        detail = f"{len(adapters)} adapter(s): no majority to compare with"
        return {key: CheckResult.passed(AGREEMENT, detail) for key in adapters}
    base_state = load_adapter_state(base)
    with tempfile.TemporaryDirectory(prefix="loranet-agreement-") as tmp:
        deltas: dict[str, Path] = {}
        for i, (_key, path) in enumerate(sorted(adapters.items())):
            state = load_adapter_state(path)
            delta = {name: state[name] - base_state[name] for name in state}
            deltas[f"{i:04d}"] = Path(tmp) / f"{i:04d}.safetensors"
            save_adapter(delta, deltas[f"{i:04d}"])
        agreements = adapter_agreement(deltas)
    keys = [key for key, _ in sorted(adapters.items())]
    out = {}
    for key, agreement in zip(keys, agreements, strict=True):
        cos, dist = agreement.cosine, agreement.relative_distance
        detail = f"cosine {cos:.4f}, relative distance {dist:.4f} to the median update"
        if not math.isfinite(cos) or cos < min_cosine or dist > max_distance:
            out[key] = CheckResult.failed(AGREEMENT, Reason.DISAGREES_WITH_MAJORITY, detail)
        else:
            out[key] = CheckResult.passed(AGREEMENT, detail)
    return out


def check_eval(base_loss: float, adapted_loss: float, tolerance: float) -> CheckResult:
    """Accept when ``(base - adapted) / base > tolerance`` (held-out loss per token)."""
    if not math.isfinite(adapted_loss) or base_loss <= 0:
        return CheckResult.failed(EVAL, Reason.EVAL_NOT_BETTER, f"loss {adapted_loss}")
    improvement = (base_loss - adapted_loss) / base_loss
    detail = (
        f"held-out loss {adapted_loss:.4f} vs base {base_loss:.4f} "
        f"(improvement {improvement:.2%}, needs > {tolerance:.2%})"
    )
    if improvement > tolerance:
        return CheckResult.passed(EVAL, detail)
    return CheckResult.failed(EVAL, Reason.EVAL_NOT_BETTER, detail)


def check_samples(
    claimed: int, published: int | None, *, max_ratio: float, slack: int = 0
) -> CheckResult:
    """The claimed samples may exceed what the node published in the DHT by ``max_ratio``
    (polling misses some updates) plus ``slack``; nothing published means no proof of work."""
    if not published:
        detail = f"claims {claimed} samples but published no progress in the pool's DHT"
        return CheckResult.failed(SAMPLES, Reason.SAMPLES_UNPUBLISHED, detail)
    detail = f"claims {claimed} samples, published {published} (ratio {claimed / published:.2f})"
    if claimed > published * max_ratio + slack:
        return CheckResult.failed(SAMPLES, Reason.SAMPLES_INFLATED, detail)
    return CheckResult.passed(SAMPLES, detail)


def replay_seed(block_hash: str, pool_id: int, round: int, node: str, secret: bytes = b"") -> bytes:
    """Seed of a report's replay draw: unknown to the node until after the submission window
    (``block_hash`` is the first block at or after ``submissionEnd``). With the validator's
    ``secret`` (:func:`replay_secret`) each validator draws its own segments, which neither the
    node nor the other validators can predict."""
    text = f"{block_hash.lower()}:{pool_id}:{round}:{node.lower()}"
    if secret:
        return hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return hashlib.sha256(text.encode()).digest()


def replay_secret(private_key: bytes) -> bytes:
    """A validator's replay secret, derived from (and as private as) its account key."""
    return hashlib.sha256(b"loranet replay secret\n" + bytes(private_key)).digest()


def replay_steps(seed: bytes, n_records: int, count: int) -> list[int]:
    """``count`` distinct steps in ``[0, n_records)`` drawn from ``seed`` (sorted)."""
    if n_records <= 0:
        return []
    gen = torch.Generator().manual_seed(int.from_bytes(seed[:8], "big") & (2**63 - 1))
    order = torch.randperm(n_records, generator=gen).tolist()
    return sorted(int(s) for s in order[: min(count, n_records)])


def replay_segments(seed: bytes, n_segments: int, count: int) -> list[int]:
    """``count`` distinct segment indices in ``[0, n_segments)`` drawn from ``seed``."""
    return replay_steps(hashlib.sha256(b"segments" + seed).digest(), n_segments, count)


def segment_bounds(records: Sequence[ReplayRecord], step: int) -> tuple[int, int]:
    """``[lo, hi)``: the run of consecutive records around ``step`` that share its outer step
    and its start and end checkpoints (the segment a replay re-runs)."""
    key = (records[step].epoch, records[step].start, records[step].end)
    lo, hi = step, step + 1
    while lo > 0 and (records[lo - 1].epoch, records[lo - 1].start, records[lo - 1].end) == key:
        lo -= 1
    while hi < len(records) and (records[hi].epoch, records[hi].start, records[hi].end) == key:
        hi += 1
    return lo, hi


def all_segments(records: Sequence[ReplayRecord]) -> list[tuple[int, int]]:
    """Every segment ``[lo, hi)`` of the records, in order."""
    out: list[tuple[int, int]] = []
    step = 0
    while step < len(records):
        lo, hi = segment_bounds(records, step)
        out.append((lo, hi))
        step = hi
    return out


def check_replay(
    bundle: ReplayBundle | None,
    *,
    node: str,
    pool_id: int,
    round: int,
    samples: int,
    replay_root: str,
    batch_size: int,
    steps: Callable[[int], list[int]],
    checkpoint: Callable[[str], Path],
    shard: Callable[[int, int], Shard],
    checker: ReplayChecker,
    base: Path | None = None,
    expected_shard: tuple[int, int] | None = None,
    segments: Callable[[int], list[int]] | None = None,
) -> CheckResult:
    """Match the bundle with the signed report, then replay the segments of the steps
    ``steps(n)`` picks (``trainer.replay``: from the segment's start checkpoint, every step's
    loss and gradient projection, and the claimed end checkpoint).

    ``checkpoint(hash)`` fetches a checkpoint (hash-checked); ``shard(index, count)`` gives
    the node's deterministic shard of this pool and round; with ``base`` (the round's base
    adapter) the first checkpoint must hold exactly its weights. With ``segments(n)`` the draw
    is over the report's ``n`` segments (indices; each replayed whole) instead of its steps.
    With ``expected_shard`` (``(index, count)`` from the chain's round members,
    :mod:`offchain.pools.membership`) the bundle must name exactly that shard (a node cannot
    pick another member's data).
    """
    if bundle is None:
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISSING, "no replay bundle")
    if (bundle.node.lower(), bundle.pool_id, bundle.round) != (node.lower(), pool_id, round):
        detail = f"bundle is for node {bundle.node} pool {bundle.pool_id} round {bundle.round}"
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, detail)
    if bundle.batch_size != batch_size or not 0 <= bundle.node_index < bundle.node_count:
        detail = f"bundle batch {bundle.batch_size}, shard {bundle.node_index}/{bundle.node_count}"
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, detail)
    if expected_shard is not None and (bundle.node_index, bundle.node_count) != expected_shard:
        claimed = f"bundle trained shard {bundle.node_index}/{bundle.node_count}"
        if expected_shard[0] < 0:
            detail = f"{claimed}, but the node is not among the round's members on chain"
        else:
            index, count = expected_shard
            detail = f"{claimed}, the round's members on chain give {index}/{count}"
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, detail)
    try:
        records = bundle.replay_records()
        root = records_root(records)
    except (TrainerError, KeyError, ValueError, TypeError) as err:
        return CheckResult.failed(REPLAY, Reason.REPLAY_PROOF_INVALID, f"bad records: {err}")
    if not _same_hash(root, replay_root):
        detail = f"records hash to root {root}, the report signed {replay_root}"
        return CheckResult.failed(REPLAY, Reason.REPLAY_PROOF_INVALID, detail)
    if len(records) * batch_size != samples:
        detail = f"{len(records)} steps of {batch_size} samples, the report claims {samples}"
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, detail)
    if not records:
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, "no records")
    node_shard = shard(bundle.node_index, bundle.node_count)
    longest = checker.cfg.replay.checkpoint_every
    try:
        if base is not None and not _same_weights(checkpoint(records[0].start), base):
            detail = "the first checkpoint does not hold the round's base adapter"
            return CheckResult.failed(REPLAY, Reason.REPLAY_MISMATCH, detail)
        if segments is not None:
            bounds = all_segments(records)
            chosen = [bounds[i][0] for i in segments(len(bounds))]
        else:
            chosen = steps(len(records))
        replayed: list[tuple[int, int]] = []
        for step in chosen:
            record = records[step]
            if not verify_record(record, len(records), record_proof(records, step), replay_root):
                detail = f"step {step} does not open against the root"
                return CheckResult.failed(REPLAY, Reason.REPLAY_PROOF_INVALID, detail)
            lo, hi = segment_bounds(records, step)
            if hi - lo > longest:
                detail = f"step {step} is in a segment of {hi - lo} steps (at most {longest})"
                return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISMATCH, detail)
            if (lo, hi) in replayed:
                continue
            start, end = checkpoint(record.start), checkpoint(record.end)
            verdict = checker.check_segment(start, end, node_shard, records[lo:hi])
            replayed.append((lo, hi))
            if not verdict.accepted:
                detail = f"segment {lo}..{hi - 1}, step {verdict.step}: {verdict.reason}"
                return CheckResult.failed(REPLAY, Reason.REPLAY_MISMATCH, detail)
    except ArtifactUnavailable as err:  # inconclusive, not the node's fault
        return CheckResult.failed(REPLAY, Reason.ARTIFACT_UNAVAILABLE, str(err))
    except (FetchError, TrainerError) as err:
        return CheckResult.failed(REPLAY, Reason.REPLAY_BUNDLE_MISSING, str(err))
    segments = ", ".join(f"{lo}..{hi - 1}" for lo, hi in replayed)
    return CheckResult.passed(REPLAY, f"segments {segments} of {len(records)} steps replayed")


class ObservingChecker(ReplayChecker):
    """A :class:`ReplayChecker` that keeps the relative loss difference of every step it
    replayed (:attr:`rel_diffs`, cleared by the caller per report): the replay's numerics are
    evidence of where the node ran (:func:`check_execution_mode`)."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.rel_diffs: list[float] = []

    def _compare(self, record: ReplayRecord, shard: Shard) -> ReplayVerdict:
        verdict = super()._compare(record, shard)
        self.rel_diffs.append(verdict.loss_rel_diff)
        return verdict


def replay_device(checker: ReplayChecker) -> str:
    """``cuda`` or ``cpu``: where ``checker`` replays."""
    for param in checker.model.parameters():
        return param.device.type
    return "cpu"


def check_execution_mode(
    claimed: int, device: str | None, rel_diffs: Sequence[float], replayed_on: str
) -> CheckResult:
    """The execution mode a report claims (its reward multiplier) against what the validator
    observed: the device the node's bundle says it trained on, and the replay's numerics.

    * ``LOCAL_GPU`` (the 1.5x rate) needs a bundle trained on ``cuda``; and a replay on a CPU
      that reproduces every one of at least :data:`MIN_EXACT_STEPS` replayed losses bit for bit
      shows the steps ran on a CPU too (a GPU's kernels round differently), so the claim is
      false;
    * ``CUSTOM`` and ``REMOTE_API`` claim a rate no higher than any hardware earns: accepted;
    * anything else is not a mode.
    """
    if claimed not in MODE_NAMES:
        return CheckResult.failed(MODE, Reason.EXECUTION_MODE_FALSE, f"mode {claimed} unknown")
    name = MODE_NAMES[claimed]
    if claimed != LOCAL_GPU:
        return CheckResult.passed(MODE, f"claims {name} (no more than any hardware earns)")
    if device != "cuda":
        detail = f"claims {name} but its replay bundle says it trained on {device or 'nothing'}"
        return CheckResult.failed(MODE, Reason.EXECUTION_MODE_FALSE, detail)
    exact = [d for d in rel_diffs if d == 0.0]
    if replayed_on == "cpu" and len(rel_diffs) >= MIN_EXACT_STEPS and len(exact) == len(rel_diffs):
        detail = (
            f"claims {name} but all {len(rel_diffs)} replayed steps match a CPU replay bit for "
            "bit: they ran on a CPU"
        )
        return CheckResult.failed(MODE, Reason.EXECUTION_MODE_FALSE, detail)
    worst = max(rel_diffs, default=0.0)
    return CheckResult.passed(MODE, f"claims {name}; trained on cuda, replay differs {worst:.1e}")


def _same_weights(state_path: Path, adapter: Path) -> bool:
    state = state_weights(load_adapter_state(state_path))
    base = load_adapter_state(adapter)
    return set(state) == set(base) and all(torch.equal(state[k], base[k]) for k in base)


def fetch_checkpoint(artifact_uri: str, cache: Fetcher | Path) -> Callable[[str], Path]:
    """A ``checkpoint(hash)`` for :func:`check_replay`: fetched next to the artifact, by hash,
    verified (:class:`ArtifactUnavailable` when it cannot be had, :class:`FetchError` when
    it does not hash to its name)."""
    from offchain.artifacts.round import checkpoint_uri

    def _get(digest: str) -> Path:
        return fetch(checkpoint_uri(artifact_uri, digest), digest, cache)

    return _get
