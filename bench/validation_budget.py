"""Validation compute (replay + usefulness) as a share of a report's training, per round size.

Sizes each check's work with the validator's own functions (``calibration.usefulness_count``
and ``usefulness_steps`` for the scored outer steps, ``Thresholds.segment_count`` — that is
``replay_count`` capped by ``budget_count`` at what the usefulness scoring leaves of the total
``replay_budget`` — for the replayed segments) and reports, in the node's training steps:

* the usefulness scoring: ``scored x USEFULNESS_STEP_COST`` per validator (the cost measured
  by ``bench/usefulness_calibration.py``), times the quorum;
* the replay: ``segments x checkpoint_every`` replayed steps per validator, times the quorum,
  and the chance a node that faked 10 % of its segments is caught by the quorum;
* their sum per validator and over the quorum (the budget: 5 % over the quorum).

``--replay-step-cost`` converts replayed steps to training time (1.26 measured on the tiny
model: checkpoint loading; ``bench/cheat_detection.py``).

    python bench/validation_budget.py [--rounds 8x5,100x5,500x5] [--quorums 2,3]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offchain.validator import calibration as cal
from offchain.validator.verdict import Thresholds

CHECKPOINT_EVERY = 4  # ReplayConfig's default segment length


def plan(inner: int, outer: int, quorum: int, replay_step_cost: float) -> dict[str, object]:
    """The validation work of one report of a round of ``outer`` x ``inner`` steps."""
    th = Thresholds()
    steps = inner * outer
    scored = cal.usefulness_count(outer, trained_steps=steps, quorum=quorum)
    reserved = cal.usefulness_steps(scored, quorum)
    segments = math.ceil(steps / CHECKPOINT_EVERY)
    target = cal.replay_count(
        segments, skip_fraction=th.replay_skip_fraction, target=th.replay_target, quorum=quorum
    )
    count = th.segment_count(segments, steps, CHECKPOINT_EVERY, quorum, reserved)
    bad = max(1, math.ceil(th.replay_skip_fraction * segments - 1e-9))
    replay_one = count * CHECKPOINT_EVERY * replay_step_cost
    useful_one = scored * cal.USEFULNESS_STEP_COST
    return {
        "inner_steps": inner,
        "outer_steps": outer,
        "trained_steps": steps,
        "quorum": quorum,
        "scored_outer_steps": scored,
        "usefulness_per_validator": round(useful_one / steps, 4),
        "usefulness_quorum": round(quorum * useful_one / steps, 4),
        "replay_budget_left": round(
            cal.replay_budget_left(th.replay_budget, reserved_steps=reserved, steps=steps), 4
        ),
        "segments_for_target": target,
        "segments_replayed": count,
        "detection": round(cal.detection_probability(segments, bad, count, quorum), 4),
        "replay_per_validator": round(replay_one / steps, 4),
        "replay_quorum": round(quorum * replay_one / steps, 4),
        "total_per_validator": round((replay_one + useful_one) / steps, 4),
        "total_quorum": round(quorum * (replay_one + useful_one) / steps, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", default="8x5,100x5,500x5,100x24,500x20,500x100")
    parser.add_argument("--quorums", default="2,3")
    parser.add_argument("--replay-step-cost", type=float, default=1.0)
    args = parser.parse_args()
    rows = [
        plan(inner, outer, quorum, args.replay_step_cost)
        for shape in args.rounds.split(",")
        for inner, outer in [map(int, shape.split("x"))]
        for quorum in map(int, args.quorums.split(","))
    ]
    print(
        json.dumps(
            {
                "budget": Thresholds().replay_budget,
                "usefulness_budget": cal.USEFULNESS_BUDGET,
                "usefulness_step_cost": cal.USEFULNESS_STEP_COST,
                "replay_step_cost": args.replay_step_cost,
                "rows": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
