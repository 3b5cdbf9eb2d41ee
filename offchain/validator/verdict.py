"""All checks over one round's reports: per-report verdicts, accept bitmap, next base adapter.

:func:`validate_round` is deterministic given the reports, the artifacts, the round's base
adapter, the seed and the published progress: validators that see the same inputs attest the
same ``(acceptBitmap, nextAdapterHash)``, which is what the on-chain quorum counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from offchain.artifacts import Fetcher
from offchain.logging import kv
from offchain.rounds.bundle import ReplayBundle, bundle_uri, load_bundle
from offchain.rounds.fetch import fetch
from offchain.validator.calibration import (
    agreement_tolerance,
    budget_count,
    replay_budget_left,
    replay_count,
    usefulness_steps,
)
from offchain.validator.checks import (
    REPLAY,
    ObservingChecker,
    check_agreement,
    check_artifact,
    check_eval,
    check_execution_mode,
    check_replay,
    check_samples,
    fetch_checkpoint,
    replay_device,
    replay_seed,
    replay_segments,
    replay_steps,
)
from offchain.validator.errors import ArtifactUnavailable, FetchError
from offchain.validator.reasons import CheckResult, Reason
from offchain.validator.scoring import round_seed, score_round, scored_outer_steps
from trainer.aggregate import aggregate_adapters
from trainer.artifacts import adapter_hash, load_adapter_state
from trainer.config import TrainConfig
from trainer.data import Shard, TrainingData
from trainer.evaluation import evaluate_adapters
from trainer.models import build_tokenizer

logger = logging.getLogger(__name__)


class Report(BaseModel):
    """A ``ReportSubmitted`` event, as the validator needs it."""

    pool_id: int
    round: int
    index: int
    node: str
    provider: str
    adapter_hash: str
    samples: int
    loss: int
    execution_mode: int
    replay_root: str
    artifact_uri: str


class Thresholds(BaseModel):
    """Tolerances of the checks (``ValidatorSettings``; eval tolerance from the domain)."""

    eval_tolerance: float = 0.0
    min_cosine: float | None = None  # None: calibrated for the pool (validator/calibration.py)
    max_distance: float | None = None
    samples_max_ratio: float = 1.0
    samples_slack: int | None = None  # None: one outer step of samples (a missed DHT update)
    replay_steps: int = 2  # the legacy per-step draw; used only when replay_target is 0
    replay_target: float = 0.95  # chance a node that faked replay_skip_fraction is caught
    replay_skip_fraction: float = 0.1
    #: the total validation budget: replayed + usefulness-scoring steps (all quorum validators)
    #: per trained step; the replay gets what the usefulness check leaves of it
    replay_budget: float = 0.05
    replay_min_segments: int = 2
    eval_examples: int = 0  # 0: the whole held-out split

    def agreement(self, cfg: TrainConfig) -> tuple[float, float, str]:
        """``(min_cosine, max_distance, source)``: the settings' values or the calibrated ones."""
        calibrated = agreement_tolerance(cfg)
        cos = calibrated.min_cosine if self.min_cosine is None else self.min_cosine
        dist = calibrated.max_distance if self.max_distance is None else self.max_distance
        manual = self.min_cosine is not None or self.max_distance is not None
        return cos, dist, "set by the operator" if manual else calibrated.source

    def slack(self, cfg: TrainConfig) -> int:
        if self.samples_slack is not None:
            return self.samples_slack
        return cfg.diloco.inner_steps * cfg.batch_size

    def segment_count(
        self,
        n_segments: int,
        n_steps: int,
        segment_steps: int,
        quorum: int,
        reserved_steps: float = 0.0,
    ) -> int:
        """Segments one validator replays for a report (calibration.replay_count), within
        what ``replay_budget`` leaves after ``reserved_steps`` (the usefulness scoring's
        steps over the quorum)."""
        count = replay_count(
            n_segments,
            skip_fraction=self.replay_skip_fraction,
            target=self.replay_target,
            quorum=quorum,
        )
        return budget_count(
            count,
            steps=n_steps,
            segment_steps=segment_steps,
            quorum=quorum,
            budget=replay_budget_left(
                self.replay_budget, reserved_steps=reserved_steps, steps=n_steps
            ),
            minimum=self.replay_min_segments,
        )


@dataclass
class RoundInputs:
    """What :func:`validate_round` needs besides the reports."""

    cfg: TrainConfig
    base_adapter: Path  # the round's base (a materialised fresh adapter when the chain says 0)
    base_hash: str  # as on chain (0x00.. for the fresh adapter)
    seed_block_hash: str
    published: Callable[[str], int | None]  # node -> samples it published in the round's DHT
    thresholds: Thresholds
    cache_dir: Path
    out_dir: Path
    fetcher: Fetcher | None = None  # bounds, retries, S3 endpoint; default: over cache_dir
    #: node -> (shard index, node count) from the chain's round members; None: not checked
    shard_of: Callable[[str], tuple[int, int] | None] | None = None
    replay_secret: bytes = b""  # this validator's own draw (checks.replay_secret); b"": shared
    quorum: int = 1  # the domain's quorum: the replay draw is sized across it

    @property
    def source(self) -> Fetcher | Path:
        return self.fetcher if self.fetcher is not None else self.cache_dir


@dataclass
class ReportVerdict:
    report: Report
    results: list[CheckResult] = field(default_factory=list)
    eval_loss: float | None = None

    @property
    def accepted(self) -> bool:
        return all(r.ok for r in self.results) and bool(self.results)

    @property
    def inconclusive(self) -> bool:
        """Some check could not get what it needed (an artifact unavailable): no verdict."""
        return any(r.inconclusive for r in self.results)

    @property
    def reasons(self) -> list[Reason]:
        return [r.reason for r in self.results if r.reason is not None]


@dataclass
class RoundVerdict:
    pool_id: int
    round: int
    reports: list[ReportVerdict]
    accept_bitmap: int
    next_adapter_hash: str
    next_adapter: Path | None
    base_eval_loss: float | None
    next_eval_loss: float | None
    seconds: float

    @property
    def complete(self) -> bool:
        """Every report was judged; ``False`` when an artifact could not be fetched, and then
        the validator must not attest (an unreachable store is not a cheat)."""
        return not any(v.inconclusive for v in self.reports)

    @property
    def unavailable(self) -> dict[int, str]:
        """Report index -> why it could not be judged."""
        return {
            v.report.index: "; ".join(r.detail for r in v.results if r.inconclusive)
            for v in self.reports
            if v.inconclusive
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "complete": self.complete,
            "pool_id": self.pool_id,
            "round": self.round,
            "accept_bitmap": self.accept_bitmap,
            "next_adapter_hash": self.next_adapter_hash,
            "base_eval_loss": self.base_eval_loss,
            "next_eval_loss": self.next_eval_loss,
            "seconds": round(self.seconds, 3),
            "reports": [
                {
                    "index": v.report.index,
                    "node": v.report.node,
                    "provider": v.report.provider,
                    "samples": v.report.samples,
                    "accepted": v.accepted,
                    "inconclusive": v.inconclusive,
                    "reasons": [str(r) for r in v.reasons],
                    "eval_loss": v.eval_loss,
                    "checks": {r.check: r.detail for r in v.results},
                }
                for v in self.reports
            ],
        }


def eval_split(data: TrainingData, examples: int) -> Shard:
    """The held-out examples the eval check uses: all of them, or a fixed subset of
    ``examples`` (the same for every round and validator, so losses stay comparable)."""
    heldout = data.heldout()
    if examples <= 0 or examples >= len(heldout):
        return heldout
    return heldout.head(examples)  # keeps the answer-only loss masks of chat data


def _bundle_of(report: Report, source: Fetcher | Path) -> ReplayBundle | CheckResult | None:
    """The report's replay bundle (named by hash in its artifact URI), ``None`` when it names
    none or serves other bytes, or an inconclusive result when it cannot be fetched."""
    where = bundle_uri(report.artifact_uri)
    if where is None:
        logger.info("report of %s names no replay bundle", report.node)
        return None
    uri, digest = where
    try:
        return load_bundle(fetch(uri, digest, source))
    except ArtifactUnavailable as err:
        return CheckResult.failed(REPLAY, Reason.ARTIFACT_UNAVAILABLE, str(err))
    except (FetchError, ValueError) as err:
        logger.info("no usable replay bundle for %s: %s", report.node, err)
        return None


def _incomplete(verdicts: list[ReportVerdict], inputs: RoundInputs, started: float) -> RoundVerdict:
    """A verdict that cannot be attested: some artifact could not be fetched."""
    for v in verdicts:
        if v.inconclusive:
            logger.warning(
                "report cannot be judged: artifact unavailable; abstaining",
                extra=kv(pool=v.report.pool_id, round=v.report.round, index=v.report.index,
                         node=v.report.node, detail=v.results[-1].detail),
            )  # fmt: skip
    first = verdicts[0].report if verdicts else None
    return RoundVerdict(
        pool_id=first.pool_id if first else -1,
        round=first.round if first else -1,
        reports=verdicts,
        accept_bitmap=0,
        next_adapter_hash=inputs.base_hash,
        next_adapter=None,
        base_eval_loss=None,
        next_eval_loss=None,
        seconds=time.perf_counter() - started,
    )


def validate_round(reports: list[Report], inputs: RoundInputs) -> RoundVerdict:
    """Run every check on every report of one round; aggregate the accepted adapters."""
    started = time.perf_counter()
    cfg, th = inputs.cfg, inputs.thresholds
    verdicts = [ReportVerdict(r) for r in sorted(reports, key=lambda r: r.index)]
    base_keys = list(load_adapter_state(inputs.base_adapter))
    paths: dict[int, Path] = {}
    bundles: dict[int, ReplayBundle | None] = {}
    for v in verdicts:  # fetch everything first: without all artifacts there is no verdict
        result, path = check_artifact(
            v.report.artifact_uri, v.report.adapter_hash, inputs.source, expected_keys=base_keys
        )
        v.results.append(result)
        if path is not None:
            paths[v.report.index] = path
        bundle = _bundle_of(v.report, inputs.source)
        if isinstance(bundle, CheckResult):
            v.results.append(bundle)
            bundle = None
        bundles[v.report.index] = bundle
    if any(v.inconclusive for v in verdicts):
        return _incomplete(verdicts, inputs, started)

    min_cos, max_dist, source = th.agreement(cfg)
    logger.info(
        "agreement tolerance",
        extra=kv(min_cosine=round(min_cos, 6), max_distance=max_dist, source=source),
    )
    agreement = check_agreement(
        paths, inputs.base_adapter, min_cosine=min_cos, max_distance=max_dist
    )
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    heldout = eval_split(data, th.eval_examples)
    named = {"base": inputs.base_adapter, **{str(i): p for i, p in paths.items()}}
    losses = evaluate_adapters(cfg, dict(named), heldout=heldout)
    base_loss = losses["base"].loss
    checker = ObservingChecker(cfg)
    replayed_on = replay_device(checker)
    quorum = max(1, inputs.quorum)
    first = verdicts[0].report if verdicts else None
    scored = (
        scored_outer_steps(
            cfg, round_seed(inputs.seed_block_hash, first.pool_id, first.round), quorum
        )
        if first is not None
        else []
    )
    reserved = usefulness_steps(len(scored), quorum)  # the replay gets the rest of the budget
    logger.info(
        "usefulness draw",
        extra=kv(scored_outer_steps=",".join(map(str, scored)) or "-", quorum=quorum,
                 reserved_steps=reserved),
    )  # fmt: skip
    by_index = {v.report.index: v for v in verdicts}
    for v in verdicts:
        r = v.report
        if r.index in paths:
            v.results.append(agreement[r.index])
            v.eval_loss = losses[str(r.index)].loss
            v.results.append(check_eval(base_loss, v.eval_loss, th.eval_tolerance))
        v.results.append(
            check_samples(
                r.samples,
                inputs.published(r.node),
                max_ratio=th.samples_max_ratio,
                slack=th.slack(cfg),
            )
        )
        seed = replay_seed(inputs.seed_block_hash, r.pool_id, r.round, r.node, inputs.replay_secret)
        bundle = bundles[r.index]
        n_steps = len(bundle.records) if bundle is not None else 0
        checker.rel_diffs.clear()
        v.results.append(
            check_replay(
                bundles[r.index],
                node=r.node,
                pool_id=r.pool_id,
                round=r.round,
                samples=r.samples,
                replay_root=r.replay_root,
                batch_size=cfg.batch_size,
                steps=lambda n, seed=seed: replay_steps(seed, n, th.replay_steps),
                checkpoint=fetch_checkpoint(r.artifact_uri, inputs.source),
                shard=lambda i, k, r=r: data.shard(r.pool_id, r.round, i, k),
                checker=checker,
                base=inputs.base_adapter,
                expected_shard=_expected_shard(inputs, r.node),
                segments=(
                    None
                    if th.replay_target <= 0
                    else lambda n, seed=seed, steps=n_steps: replay_segments(
                        seed,
                        n,
                        th.segment_count(n, steps, cfg.replay.checkpoint_every, quorum, reserved),
                    )
                ),
            )
        )
        v.results.append(
            check_execution_mode(
                r.execution_mode,
                bundle.device if bundle is not None else None,
                list(checker.rel_diffs),
                replayed_on,
            )
        )

    usefulness_t0 = time.perf_counter()
    judged = [v.report for v in verdicts]
    shards = {r.index: _expected_shard(inputs, r.node) for r in judged}
    for index, result in score_round(
        judged, bundles, inputs, data, checker, shards, scored
    ).items():
        by_index[index].results.append(result)
    logger.info(
        "usefulness scored",
        extra=kv(
            seconds=round(time.perf_counter() - usefulness_t0, 3),
            reports=len(verdicts),
            outer_steps=len(scored),
        ),
    )
    for v in verdicts:
        r = v.report
        logger.info(
            "report checked pool=%d round=%d index=%d node=%s accepted=%s reasons=%s",
            r.pool_id,
            r.round,
            r.index,
            r.node,
            v.accepted,
            ",".join(v.reasons) or "-",
        )
    if any(v.inconclusive for v in verdicts):  # a checkpoint could not be fetched
        return _incomplete(verdicts, inputs, started)
    # exclusion before the next base: only reports that passed every check (usefulness
    # included) enter the mean; a failed contribution never reaches the next round's base
    accepted = [v for v in verdicts if v.accepted]
    bitmap = sum(1 << v.report.index for v in accepted)
    next_path: Path | None = None
    next_hash = inputs.base_hash
    next_loss: float | None = None
    if accepted:
        inputs.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = inputs.out_dir / f"next-{accepted[0].report.pool_id}-{accepted[0].report.round}.tmp"
        next_hash = aggregate_adapters(
            {v.report.node: paths[v.report.index] for v in accepted}, tmp
        )
        next_path = inputs.out_dir / f"{next_hash.removeprefix('0x')}.safetensors"
        tmp.replace(next_path)
        assert adapter_hash(next_path) == next_hash
        next_loss = evaluate_adapters(cfg, {"next": next_path}, heldout=heldout)["next"].loss
    pool_id = reports[0].pool_id if reports else -1
    round_ = reports[0].round if reports else -1
    return RoundVerdict(
        pool_id=pool_id,
        round=round_,
        reports=verdicts,
        accept_bitmap=bitmap,
        next_adapter_hash=next_hash,
        next_adapter=next_path,
        base_eval_loss=base_loss,
        next_eval_loss=next_loss,
        seconds=time.perf_counter() - started,
    )


def _expected_shard(inputs: RoundInputs, node: str) -> tuple[int, int] | None:
    """The node's shard on chain; ``(-1, 0)`` for a reporter that is not a round member."""
    if inputs.shard_of is None:
        return None
    found = inputs.shard_of(node)
    return (-1, 0) if found is None else found
