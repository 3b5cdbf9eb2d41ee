"""Usefulness of each node's contributions, in the spirit of Templar's validator.

Templar scores a miner's gradient by applying it to the validator's model and measuring the
loss improvement on the data the miner was assigned ("own") and on data it did not train on
("random"): a gradient that does not help its own data more than other data was not trained
on it (copied), and one that helps no data is useless or harmful. In a DiLoCo round the
contribution of node ``i`` at outer step ``e`` is its local update ``Δ = end - start``
between the two checkpoints its replay bundle commits for that outer step (its weights at the
step's start, ``A_global``, and before the all-reduce: the negated pseudo-gradient it sent).
For every report's contributions at the round's scored outer steps (:func:`scored_epochs`: all
of them, or as many as the validation budget affords, the same ones for every node; sized by
``calibration.usefulness_count``) the validator measures, from the committed checkpoints:

* ``own``: relative loss improvement ``(L(start) - L(end)) / L(start)`` on the node's own
  batches of that outer step (:data:`~offchain.validator.calibration.USEFULNESS_OWN_BATCHES` of
  them, drawn from the round's public seed, the same for every validator);
* ``heldout``: the same on a fixed held-out subset
  (:data:`~offchain.validator.calibration.USEFULNESS_HELDOUT_EXAMPLES` examples);
* ``norm``: ``||Δ||``.

and judges each report over its scored outer steps (:func:`judge_usefulness`, thresholds
calibrated on honest rounds in :mod:`offchain.validator.calibration`):

* **specificity** ``Σ(own - heldout) / Σ own`` (Templar's own-vs-random test, summed over the
  outer steps to average out batch noise): a copied contribution was trained on another
  node's data and helps this node's batches no more than held-out ones;
* **usefulness** ``Σ own`` relative to the median over the round's reports: a poisoned
  (harmful, random or sign-flipped) contribution does not help its own data like the others;
* **direction** the largest cosine of ``Δ`` to another node's update of the same outer step
  (on the sketches): honest updates from the same ``A_global`` share a direction, a
  sign-flipped (poisoned) one points away from all of them — even where, late in a round or
  through LoRA's product ``B·A``, flipping it barely changes the loss;
* **scale** ``||Δ||`` relative to the median contribution of the same outer step: a lazy
  (under-trained, scaled down) or inflated (scaled up to dominate the average) one is outside
  the honest band (AdamW steps have nearly equal norms across honest nodes).

The peer-relative tests need :data:`~offchain.validator.calibration.USEFULNESS_MIN_PEERS`
scored reports; with fewer only specificity applies. Everything is fp32 on fixed batches in a
fixed order: every validator computes the same scores from the same public inputs, so the
verdict stays deterministic.
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import torch

from offchain.validator import calibration as cal
from offchain.validator.reasons import CheckResult, Reason
from trainer.artifacts import load_adapter_state
from trainer.collab import outer_steps
from trainer.config import TrainConfig
from trainer.data import Batch, Shard
from trainer.errors import ReplayError
from trainer.evaluation import evaluate_batches
from trainer.models import attach_lora, build_base_model, load_lora_state
from trainer.replay import GradientProjector, ReplayRecord, state_weights

logger = logging.getLogger(__name__)

USEFULNESS = "usefulness"
SKETCH_SEED = 4321
K = TypeVar("K", str, int)


@dataclass(frozen=True)
class Contribution:
    """One outer step of one node: its inner steps and the checkpoints around them."""

    epoch: int
    steps: tuple[int, ...]
    start: str  # checkpoint at the outer step's start (A_global)
    end: str  # checkpoint before the all-reduce (the node's local weights)


def contributions(records: Sequence[ReplayRecord]) -> list[Contribution]:
    """The outer steps of a node's records, in order (records are consecutive steps)."""
    out: list[Contribution] = []
    for r in records:
        if out and out[-1].epoch == r.epoch:
            last = out[-1]
            out[-1] = Contribution(last.epoch, (*last.steps, r.step), last.start, r.end)
        else:
            out.append(Contribution(r.epoch, (r.step,), r.start, r.end))
    return out


@dataclass(frozen=True)
class StepScore:
    """The measured effect of one contribution."""

    epoch: int
    own: float  # relative loss improvement on the node's own batches of the step
    heldout: float  # relative loss improvement on the fixed held-out subset
    norm: float  # L2 norm of the update end - start (LoRA weights)
    sketch: torch.Tensor | None = None  # seeded CountSketch of the update (duplicates)


def own_steps(seed: bytes, contribution: Contribution, count: int) -> list[int]:
    """``count`` of the contribution's steps (all when it has no more), drawn from ``seed``
    and the outer step: public, so every validator scores the same batches."""
    steps = list(contribution.steps)
    if len(steps) <= count:
        return steps
    digest = hashlib.sha256(seed + b":usefulness:" + str(contribution.epoch).encode()).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") & (2**63 - 1))
    order = torch.randperm(len(steps), generator=gen).tolist()
    return sorted(steps[i] for i in order[:count])


def scored_epochs(seed: bytes, outer_steps: int, count: int) -> list[int]:
    """``count`` of a round's ``outer_steps`` outer steps (all when it has no more) whose
    contributions are scored, drawn from the round's public ``seed``: the same for every
    validator and every node of the round (so the per-outer-step medians compare the same
    steps), and unknown to the nodes until the submission window has closed."""
    if count >= outer_steps:
        return list(range(max(0, outer_steps)))
    digest = hashlib.sha256(seed + b":usefulness-epochs").digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") & (2**63 - 1))
    return sorted(torch.randperm(outer_steps, generator=gen)[: max(0, count)].tolist())


def heldout_batches(heldout: Shard, batch_size: int) -> list[Batch]:
    """The fixed held-out subset the scores use, as batches."""
    return list(heldout.head(cal.USEFULNESS_HELDOUT_EXAMPLES).batches(batch_size))


def _relative(before: float, after: float) -> float:
    return (before - after) / before if before > 0 else 0.0


@dataclass
class UsefulnessScorer:
    """Scores contributions with one model (base + LoRA); caches held-out losses by
    checkpoint hash (honest nodes of a round often share a start)."""

    cfg: TrainConfig
    heldout: list[Batch]
    model: torch.nn.Module | None = None
    _cache: dict[str, float] = field(default_factory=dict)
    _sketcher: GradientProjector | None = None
    forward_batches: int = 0  # batches evaluated (the check's cost)

    def __post_init__(self) -> None:
        if self.model is None:
            self.model = attach_lora(build_base_model(self.cfg.model), self.cfg.model)

    def _loss(self, weights: Mapping[str, torch.Tensor], batches: Sequence[Batch]) -> float:
        assert self.model is not None
        load_lora_state(self.model, dict(weights))
        self.forward_batches += len(batches)
        return evaluate_batches(self.model, batches).loss

    def _heldout_loss(self, digest: str, weights: Mapping[str, torch.Tensor]) -> float:
        if digest not in self._cache:
            self._cache[digest] = self._loss(weights, self.heldout)
        return self._cache[digest]

    def score_step(
        self,
        contribution: Contribution,
        *,
        start: Mapping[str, torch.Tensor],
        end: Mapping[str, torch.Tensor],
        own: Sequence[Batch],
    ) -> StepScore:
        """The scores of one contribution from its start and end weights."""
        delta = {k: (end[k] - start[k]).float() for k in sorted(start)}
        norm = math.sqrt(sum(float(v.double().pow(2).sum()) for v in delta.values()))
        sketch = self._projector(delta).project(list(delta.values()))
        own_score = _relative(self._loss(start, own), self._loss(end, own))
        held = _relative(
            self._heldout_loss(contribution.start, start),
            self._heldout_loss(contribution.end, end),
        )
        return StepScore(contribution.epoch, own_score, held, norm, sketch)

    def _projector(self, delta: Mapping[str, torch.Tensor]) -> GradientProjector:
        if self._sketcher is None:
            shapes = [(k, v.shape) for k, v in delta.items()]
            self._sketcher = GradientProjector(shapes, cal.USEFULNESS_SKETCH_DIM, SKETCH_SEED)
        return self._sketcher

    def score_node(
        self,
        records: Sequence[ReplayRecord],
        shard: Shard,
        checkpoint: Callable[[str], Path],
        seed: bytes,
        epochs: Collection[int] | None = None,
    ) -> list[StepScore]:
        """The contributions of one node at the outer steps ``epochs`` (:func:`scored_epochs`;
        ``None``: all), ``checkpoint(hash)`` fetching a committed checkpoint. Raises
        :class:`ReplayError` when the records do not follow the pool's outer steps (more of
        them, or longer, than ``max_epochs`` x ``inner_steps``: a bundle that would make the
        validator score without bound)."""
        found = contributions(records)
        schedule = outer_steps(self.cfg)
        if len(found) > len(schedule) or any(
            len(c.steps) > self.cfg.diloco.inner_steps for c in found
        ):
            raise ReplayError(
                f"{len(found)} outer steps of up to {max(len(c.steps) for c in found)} steps; "
                f"the pool's rounds have {len(schedule)} of {self.cfg.diloco.inner_steps}"
            )
        out = []
        for c in found:
            if epochs is not None and c.epoch not in epochs:
                continue
            start = state_weights(load_adapter_state(checkpoint(c.start)))
            end = state_weights(load_adapter_state(checkpoint(c.end)))
            steps = own_steps(seed, c, cal.USEFULNESS_OWN_BATCHES)
            batches = [shard.batch(s, self.cfg.batch_size) for s in steps]
            out.append(self.score_step(c, start=start, end=end, own=batches))
        return out


@dataclass(frozen=True)
class NodeUsefulness:
    """One node's round-level statistics (what :func:`judge_usefulness` thresholds)."""

    specificity: float  # Σ(own - heldout) / Σ own
    usefulness: float | None  # Σ own / median over the scored reports (None: too few peers)
    norm_ratios: tuple[float, ...]  # per outer step, ||Δ|| / median ||Δ|| (empty: too few)
    copied_from: str | None = None  # the node whose duplicated updates helped its data more
    #: per outer step, the largest cosine of its update to another node's update of the step
    #: (empty: too few peers); honest updates of one step share a direction
    peer_cosines: tuple[float, ...] = ()

    def detail(self) -> str:
        parts = [f"specificity {self.specificity:.3f}"]
        if self.usefulness is not None:
            parts.append(f"usefulness {self.usefulness:.3f} of the median")
        if self.norm_ratios:
            lo, hi = min(self.norm_ratios), max(self.norm_ratios)
            parts.append(f"update norm {lo:.3f}..{hi:.3f} of the median")
        if self.peer_cosines:
            parts.append(f"closest peer cosine {min(self.peer_cosines):.3f}")
        if self.copied_from is not None:
            parts.append(f"updates duplicate those of {self.copied_from}")
        return ", ".join(parts)


def _duplicates(scores: Mapping[K, Sequence[StepScore]]) -> dict[K, K]:
    """Copier -> original, for every pair of nodes that committed the same update (relative
    sketch distance <= USEFULNESS_DUPLICATE_DISTANCE) at some outer step. Of such a pair the
    original is the node whose own batches the shared updates helped more (Templar's own-data
    test, summed over the duplicated steps); on a tie, the first key in sorted order."""
    by_epoch: dict[int, list[tuple[K, StepScore]]] = {}
    for k in sorted(scores):
        for step in scores[k]:
            if step.sketch is not None:
                by_epoch.setdefault(step.epoch, []).append((k, step))
    gains: dict[tuple[K, K], list[float]] = {}
    for steps in by_epoch.values():
        for a, (ka, sa) in enumerate(steps):
            for kb, sb in steps[a + 1 :]:
                if ka == kb:  # a bundle repeating an outer step: not a copy of anyone
                    continue
                assert sa.sketch is not None and sb.sketch is not None
                scale = max(float(sa.sketch.norm()), float(sb.sketch.norm()), 1e-30)
                if (
                    float((sa.sketch - sb.sketch).norm()) / scale
                    <= cal.USEFULNESS_DUPLICATE_DISTANCE
                ):
                    pair = gains.setdefault((ka, kb), [0.0, 0.0])
                    pair[0] += sa.own
                    pair[1] += sb.own
    out: dict[K, K] = {}
    for (ka, kb), (ga, gb) in sorted(gains.items()):
        copier, original = (kb, ka) if ga >= gb else (ka, kb)
        out.setdefault(copier, original)
    return out


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = float(a.norm()) * float(b.norm())
    return float(a @ b) / scale if scale > 0 else 0.0


def _peer_cosines(scores: Mapping[K, Sequence[StepScore]]) -> dict[K, tuple[float, ...]]:
    """Per node and scored outer step with enough peers, the largest cosine of its update's
    sketch to another node's update of the same step."""
    by_epoch: dict[int, list[tuple[K, torch.Tensor]]] = {}
    for k in sorted(scores):
        for s in scores[k]:
            if s.sketch is not None:
                by_epoch.setdefault(s.epoch, []).append((k, s.sketch))
    out: dict[K, list[float]] = {k: [] for k in scores}
    for steps in by_epoch.values():
        if len({k for k, _ in steps}) < cal.USEFULNESS_MIN_PEERS:
            continue
        for k, sketch in steps:
            out[k].append(max(_cosine(sketch, other) for j, other in steps if j != k))
    return {k: tuple(v) for k, v in out.items()}


def node_statistics(scores: Mapping[K, Sequence[StepScore]]) -> dict[K, NodeUsefulness]:
    """Round-level statistics of each node from its step scores (peer medians over all the
    scored nodes, cheaters included: the median of a majority of honest nodes is honest)."""
    peers = len(scores) >= cal.USEFULNESS_MIN_PEERS
    totals = {k: sum(s.own for s in steps) for k, steps in scores.items()}
    median_total = statistics.median(totals.values()) if totals else 0.0
    norms_by_epoch: dict[int, list[float]] = {}
    for steps in scores.values():
        for s in steps:
            norms_by_epoch.setdefault(s.epoch, []).append(s.norm)
    copies = _duplicates(scores)
    cosines = _peer_cosines(scores)
    out: dict[K, NodeUsefulness] = {}
    for k, steps in scores.items():
        own = totals[k]
        gap = sum(s.own - s.heldout for s in steps)
        specificity = gap / own if own > 0 else -math.inf
        usefulness = None
        ratios: tuple[float, ...] = ()
        if peers:
            usefulness = own / median_total if median_total > 0 else 0.0
            ratios = tuple(
                s.norm / m if (m := statistics.median(norms_by_epoch[s.epoch])) > 0 else math.inf
                for s in steps
                if len(norms_by_epoch[s.epoch]) >= cal.USEFULNESS_MIN_PEERS
            )
        original = copies.get(k)
        out[k] = NodeUsefulness(
            specificity,
            usefulness,
            ratios,
            None if original is None else str(original),
            cosines.get(k, ()) if peers else (),
        )
    return out


def judge_usefulness(scores: Mapping[K, Sequence[StepScore]]) -> dict[K, CheckResult]:
    """Per node: do its contributions pass the calibrated usefulness thresholds?"""
    out: dict[K, CheckResult] = {}
    lo, hi = cal.USEFULNESS_NORM_BAND
    for k, stats in node_statistics(scores).items():
        why = []
        if stats.copied_from is not None:
            why.append("copied another node's updates")
        if not math.isfinite(stats.specificity):
            why.append("its updates do not help its own data")
        elif stats.specificity < cal.USEFULNESS_MIN_SPECIFICITY:
            why.append("helps held-out data more than its own (not trained on it)")
        if stats.usefulness is not None and stats.usefulness < cal.USEFULNESS_MIN_RATIO:
            why.append("helps its own data far less than the other nodes' updates")
        if any(not lo <= r <= hi for r in stats.norm_ratios):
            why.append("an update scaled away from the honest size")
        if any(c < cal.USEFULNESS_MIN_PEER_COSINE for c in stats.peer_cosines):
            why.append("an update pointing away from every other node's (sign-flipped)")
        detail = stats.detail()
        if why:
            out[k] = CheckResult.failed(
                USEFULNESS, Reason.CONTRIBUTION_NOT_USEFUL, f"{detail}: {'; '.join(why)}"
            )
        else:
            out[k] = CheckResult.passed(USEFULNESS, detail)
    return out
