"""Calibrated tolerances of the agreement check, the size of the replay spot check and the
thresholds of the usefulness check.

**Agreement.** In a DiLoCo round every honest peer ends with the same ``A_global`` (the outer
step is applied to the same averaged pseudo-gradient everywhere; the LoRA weights stay fp32
whatever the base dtype), so honest adapters differ only by what the all-reduce's wire
compression leaves between peers: :data:`HONEST_SPREAD`, as measured by
``bench/agreement_calibration.py`` (largest relative distance to the median update over the
honest peers of a real round; docs/validation.md, docs/benchmarks.md) — unless a peer missed
an all-reduce under load and stepped alone (or in a smaller group) for an outer step, which
moved it :data:`HONEST_GROUP_SPREAD` away in 1 of 20 measured rounds. The tolerance covers
both with a margin, never below :data:`FLOOR` (float rounding of the comparison itself) and
never above :data:`CEILING`, which keeps every measured cheat variant (noise of 0.74x the
update, the update scaled 0.3x or 1.7x: all >= 0.69 away) rejected 14 times over.

**Replay.** A node that skipped work must fake at least one committed segment (its end
checkpoint cannot follow from its start by honest steps), and a replay of that segment
catches it. :func:`replay_count` picks how many of a report's segments one validator replays
so that a node that skipped ``skip_fraction`` of its segments escapes all ``quorum``
validators (independent draws: each validator seeds its own) with probability at most
``1 - target``; :func:`budget_count` caps that count by the validation compute budget.

**Usefulness.** Protocol constants (``USEFULNESS_*``, the same for every validator, so the
verdict stays deterministic), set from honest scores measured by
``bench/usefulness_calibration.py`` with margins (below).

**Validation budget.** Replay and usefulness together stay within the validators' total
budget (``replay_budget`` of the settings, 5 %: validation steps over the quorum per trained
step). Scoring a contribution costs about :data:`USEFULNESS_STEP_COST` training steps whatever
the outer step's length ``H``, so :func:`usefulness_count` scores only as many outer steps as
:data:`USEFULNESS_BUDGET` affords over the quorum (never fewer than
:data:`USEFULNESS_MIN_OUTER_STEPS`), and :func:`replay_budget_left` gives the replay the total
minus what the scoring spends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainer.config import TrainConfig

#: compression on the wire -> largest honest relative distance to the median update measured
#: on real rounds (3 peers, fp32 and bf16 bases; bench/agreement_calibration.py, 2026-11-29)
HONEST_SPREAD: dict[str, float] = {
    "none": 2.1e-8,
    "float16": 1.7e-4,
    "uint8": 5.2e-3,
}
#: an honest peer that missed one all-reduce of a 3-outer-step round (worst of 20 rounds)
HONEST_GROUP_SPREAD = 2.7e-2
MARGIN = 20.0  # on the compression's spread
GROUP_MARGIN = 1.8  # on a missed all-reduce
FLOOR = 1e-3
CEILING = 0.05
#: bases quantized to 4/8 bit (QLoRA) train fp32 LoRA weights too: same table, one more margin
QUANTIZED_MARGIN = 2.0


@dataclass(frozen=True)
class AgreementTolerance:
    min_cosine: float
    max_distance: float
    source: str  # how it was chosen, for the verdict's detail and the logs


def agreement_tolerance(cfg: TrainConfig) -> AgreementTolerance:
    """The calibrated ``(min_cosine, max_distance)`` of a pool's precision and compression."""
    compression = cfg.diloco.compression
    spread = HONEST_SPREAD.get(compression, max(HONEST_SPREAD.values()))
    margin = MARGIN * (QUANTIZED_MARGIN if cfg.model.quantization != "none" else 1.0)
    quantized = QUANTIZED_MARGIN if cfg.model.quantization != "none" else 1.0
    distance = min(
        CEILING, max(FLOOR, spread * margin, HONEST_GROUP_SPREAD * GROUP_MARGIN * quantized)
    )
    # an update at relative distance d from the median has cosine >= sqrt(1 - d^2) to it
    cosine = math.sqrt(1.0 - distance**2)
    source = (
        f"calibrated for {compression} compression, {cfg.model.dtype}"
        f"{'/' + cfg.model.quantization if cfg.model.quantization != 'none' else ''} base"
    )
    return AgreementTolerance(min_cosine=cosine, max_distance=distance, source=source)


def miss_probability(segments: int, bad: int, count: int) -> float:
    """Chance that ``count`` distinct segments drawn uniformly out of ``segments`` miss all
    ``bad`` ones (hypergeometric)."""
    if bad <= 0:
        return 1.0
    if count >= segments - bad + 1:
        return 0.0
    return math.comb(segments - bad, count) / math.comb(segments, count)


def replay_count(segments: int, *, skip_fraction: float, target: float, quorum: int) -> int:
    """Segments one validator replays so that a node that faked ``skip_fraction`` of its
    ``segments`` (at least one) is caught by at least one of ``quorum`` validators with
    probability ``>= target``."""
    if segments <= 0:
        return 0
    bad = max(1, math.ceil(skip_fraction * segments - 1e-9))
    for count in range(1, segments + 1):
        if miss_probability(segments, bad, count) ** max(1, quorum) <= 1.0 - target:
            return count
    return segments


def detection_probability(segments: int, bad: int, count: int, quorum: int) -> float:
    """Chance that a node with ``bad`` faked segments is caught by one of ``quorum``
    validators replaying ``count`` segments each."""
    return 1.0 - miss_probability(segments, bad, count) ** max(1, quorum)


def budget_count(
    count: int, *, steps: int, segment_steps: int, quorum: int, budget: float, minimum: int
) -> int:
    """``count`` capped so that ``quorum`` validators replaying ``count`` segments of
    ``segment_steps`` steps each spend at most ``budget`` of the node's ``steps`` training
    steps (never below ``minimum``)."""
    if steps <= 0 or segment_steps <= 0:
        return count
    affordable = math.floor(budget * steps / (max(1, quorum) * segment_steps))
    return max(min(count, affordable), min(minimum, count))


# -- usefulness of contributions (offchain/validator/usefulness.py) ---------------------------
# Measured by bench/usefulness_calibration.py (2026-11-30): 20 seeded 3-node DiLoCo rounds of
# each shape, 4 x 3 and 8 x 5 inner x outer steps (120 honest nodes, 480 honest contributions):
# specificity >= -0.024, usefulness 0.86 .. 1.12 of the median, update norms 0.84 .. 1.22 of
# the median. Copied updates are the same update (distance 0; honest pairs >= 0.7 apart),
# sign-flipped ones have usefulness <= 0.11 (most < 0), random ones |usefulness| <= 0.09.
# Re-measured with only 2 drawn outer steps scored per round (the budget's minimum; 20 rounds
# of each shape, bench/results/usefulness_calibration_subset.json): specificity >= -0.022,
# usefulness 0.71 .. 1.23, norms 0.84 .. 1.21, closest-peer cosine >= 0.257 (0/120 rejected,
# 0/320 beside a cheater); there sign-flipped updates can help their own batches nearly as much
# as honest ones (usefulness up to 0.86: late outer steps, LoRA's B.A product) but point away
# from every peer's update (cosine <= -0.17): 20/20 of each cheat caught in both shapes.

#: own batches scored per contribution (outer step), drawn from the round's public seed
USEFULNESS_OWN_BATCHES = 4
#: held-out examples every contribution is scored on (the first ones of the held-out split)
USEFULNESS_HELDOUT_EXAMPLES = 32
#: CountSketch size of an update, and the relative distance under which two nodes' updates of
#: one outer step are the same update (honest pairs: >= 0.7 apart)
USEFULNESS_SKETCH_DIM = 256
USEFULNESS_DUPLICATE_DISTANCE = 0.05
#: scored reports needed for the peer-relative tests (a median of a majority)
USEFULNESS_MIN_PEERS = 3
#: least Σ(own - heldout) / Σ own over a round (honest >= -0.024: 4x margin)
USEFULNESS_MIN_SPECIFICITY = -0.1
#: least Σ own of a node over the median node's (honest >= 0.86)
USEFULNESS_MIN_RATIO = 0.5
#: ||Δ|| / median ||Δ|| of an outer step's contributions (honest 0.84 .. 1.22)
USEFULNESS_NORM_BAND = (0.6, 1.7)
#: least cosine of an update to its closest peer's update of the outer step (sketches):
#: honest >= 0.257, sign-flipped <= -0.172 (2 scored outer steps, 40 rounds)
USEFULNESS_MIN_PEER_COSINE = 0.0

#: outer steps of a round the usefulness check scores at least (all of a shorter round);
#: 20 seeded rounds per shape scored on 2 drawn outer steps: every cheat caught, 0 honest
#: rejected (above; docs/benchmarks.md)
USEFULNESS_MIN_OUTER_STEPS = 2
#: usefulness scoring over the quorum per trained step of a round (out of the total budget)
USEFULNESS_BUDGET = 0.01
#: cost of scoring one contribution, in the node's training steps (16 forward batches, two
#: checkpoint loads, a sketch). Measured by bench/usefulness_calibration.py (2026-11-30,
#: tiny model, one CPU thread, 2 vCPUs shared): 8.1 .. 8.9 training steps per scored
#: contribution over 20-round runs of each shape, 9.9 in one cold single round (with a real
#: model the 16 forward passes alone are ~16 / 3 ~ 5.3 steps of forward + backward); 10 keeps
#: the budget on the pessimistic side.
USEFULNESS_STEP_COST = 10.0


def usefulness_count(
    outer_steps: int,
    *,
    trained_steps: int,
    quorum: int,
    budget: float = USEFULNESS_BUDGET,
    minimum: int = USEFULNESS_MIN_OUTER_STEPS,
) -> int:
    """Outer steps of a round (of ``outer_steps``, ``trained_steps`` per node) the usefulness
    check scores: as many as ``quorum`` validators scoring them afford within ``budget`` of
    the training, at least ``minimum`` (all of them in a round that short)."""
    if outer_steps <= 0:
        return 0
    affordable = math.floor(
        budget * max(0, trained_steps) / (max(1, quorum) * USEFULNESS_STEP_COST) + 1e-9
    )
    return max(min(outer_steps, affordable), min(minimum, outer_steps))


def usefulness_steps(scored: int, quorum: int) -> float:
    """Training steps the quorum spends scoring ``scored`` contributions of one report."""
    return max(1, quorum) * scored * USEFULNESS_STEP_COST


def replay_budget_left(total: float, *, reserved_steps: float, steps: int) -> float:
    """The replay's share of a report's ``steps`` trained steps: the ``total`` validation
    budget minus the ``reserved_steps`` (over the quorum) the usefulness check spends on it."""
    if steps <= 0:
        return total
    return max(0.0, total - reserved_steps / steps)
