"""Honest usefulness scores -> the thresholds; detection of dishonest contributions.

Trains ``--rounds`` seeded DiLoCo rounds of ``--nodes`` nodes in one process
(:mod:`trainer.inprocess`: the trainer's inner steps, checkpoints and records, the outer step
with the exact mean of the pseudo-gradients) per round shape (``--shapes inner x outer``),
scores every node's contributions with the validator's own scorer
(:mod:`offchain.validator.usefulness`), and judges, per round, node 1's contributions replaced
by each cheat of :mod:`offchain.worker.contribution_cheats`. Only the round's scored outer steps
are scored, as the validator does: ``calibration.usefulness_count`` of them for ``--quorum``
validators (the minimum, 2, in rounds this short), drawn by ``usefulness.scored_epochs`` from
the round's seed (``--all-steps``: every outer step, the regime before the budget):

* ``copygrad``: node 0's updates committed by node 1 (applied to node 1's own starts);
* ``scalegrad``: node 1's updates scaled by a factor drawn from [0.2, 0.5] U [2, 4];
* ``poison``: node 1's updates sign-flipped;
* ``randomgrad``: random directions of node 1's update norms.

Prints one JSON object: per shape, the honest statistics (min/max of specificity, usefulness
ratio, norm ratios), the false positives, each cheat's detection rate and the honest nodes
rejected beside a cheater under the thresholds of ``offchain/validator/calibration.py``, and
the scoring's cost against training (compute seconds of the inner steps), also per scored
contribution in training steps (``calibration.USEFULNESS_STEP_COST``).

    python bench/usefulness_calibration.py [--rounds 20] [--nodes 3] [--shapes 4x3,8x5]
        [--quorum 2] [--all-steps]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

CHEATS = ("copygrad", "scalegrad", "poison", "randomgrad")
State = dict[str, torch.Tensor]


@dataclass
class Tally:
    honest: list[Any] = field(default_factory=list)  # NodeUsefulness of honest nodes
    false_positives: int = 0
    caught: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHEATS, 0))
    cheat_stats: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in CHEATS})
    victims: int = 0  # honest nodes rejected in a round with a cheater
    train_s: float = 0.0
    score_s: float = 0.0
    forward_batches: int = 0
    pair_distances: list[float] = field(default_factory=list)  # honest update sketches
    scored: int = 0
    contributions: int = 0  # scored contributions (outer steps x nodes)
    trained_steps: int = 0
    scored_steps: list[int] = field(default_factory=list)  # outer steps scored per round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--shapes", default="4x3,8x5")
    parser.add_argument("--quorum", type=int, default=2)
    parser.add_argument("--all-steps", action="store_true", help="score every outer step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = {}
    for shape in args.shapes.split(","):
        inner, outer = map(int, shape.split("x"))
        tally, rng = Tally(), random.Random(0)
        for seed in range(args.rounds):
            one_round(tally, seed, inner, outer, args.nodes, rng, args.quorum, args.all_steps)
        out[shape] = report(tally, args.rounds, args.nodes)
    print(json.dumps(out, indent=1))


def _norm(state: State) -> float:
    return float(torch.cat([v.reshape(-1) for v in state.values()]).norm())


def one_round(
    tally: Tally, seed: int, inner: int, outer: int, nodes: int, rng: Any, quorum: int, every: bool
) -> None:
    from offchain.validator import calibration as cal
    from offchain.validator import usefulness as u
    from offchain.worker import contribution_cheats as cc
    from trainer.artifacts import load_adapter_state
    from trainer.config import DataConfig, DilocoConfig, ModelConfig, TrainConfig
    from trainer.data import TrainingData
    from trainer.inprocess import train_inprocess_round
    from trainer.models import build_tokenizer
    from trainer.replay import state_weights

    cfg = TrainConfig(
        model=ModelConfig(seed=seed), data=DataConfig(seed=seed), torch_threads=1,
        max_epochs=outer, max_local_steps=inner * outer, diloco=DilocoConfig(inner_steps=inner),
    )  # fmt: skip
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    runs = train_inprocess_round(
        cfg, nodes=nodes, out_root=Path(tempfile.mkdtemp(prefix="useful-")), data=data
    )
    tally.train_s += sum(r.compute_seconds for r in runs)
    scorer = u.UsefulnessScorer(cfg, u.heldout_batches(data.heldout(), cfg.batch_size))
    seed_bytes = seed.to_bytes(32, "big")
    count = (
        outer if every else cal.usefulness_count(outer, trained_steps=inner * outer, quorum=quorum)
    )
    epochs = frozenset(u.scored_epochs(seed_bytes, outer, count))
    tally.scored_steps.append(len(epochs))
    t0 = time.perf_counter()
    scores = {
        i: scorer.score_node(r.records, r.shard, r.checkpoints.__getitem__, seed_bytes, epochs)
        for i, r in enumerate(runs)
    }
    tally.score_s += time.perf_counter() - t0
    tally.forward_batches += scorer.forward_batches
    tally.scored += len(runs)
    tally.contributions += sum(len(v) for v in scores.values())
    tally.trained_steps += inner * outer * len(runs)
    tally.honest += list(u.node_statistics(scores).values())
    for e in {s.epoch for steps in scores.values() for s in steps}:
        sketches = [s.sketch for steps in scores.values() for s in steps if s.epoch == e]
        tally.pair_distances += [
            float((a - b).norm()) / max(float(a.norm()), float(b.norm()))
            for i, a in enumerate(sketches) for b in sketches[i + 1 :]
        ]  # fmt: skip
    tally.false_positives += sum(not r.ok for r in u.judge_usefulness(scores).values())

    def steps_of(i: int) -> dict[int, tuple[Any, State, State, list[Any]]]:
        r = runs[i]
        out = {}
        for c in u.contributions(r.records):
            if c.epoch not in epochs:
                continue
            start = state_weights(load_adapter_state(r.checkpoints[c.start]))
            end = state_weights(load_adapter_state(r.checkpoints[c.end]))
            steps = u.own_steps(seed_bytes, c, cal.USEFULNESS_OWN_BATCHES)
            own = [r.shard.batch(s, cfg.batch_size) for s in steps]
            out[c.epoch] = (c, start, {k: end[k] - start[k] for k in start}, own)
        return out

    mine, theirs = steps_of(1), steps_of(0)
    factor = rng.choice([rng.uniform(0.2, 0.5), rng.uniform(2.0, 4.0)])
    gen = torch.Generator().manual_seed(seed)

    def random_like(d: State) -> State:
        noise = {k: torch.randn(v.shape, generator=gen) for k, v in d.items()}
        return {k: v * (_norm(d) / _norm(noise)) for k, v in noise.items()}

    for kind in CHEATS:
        cheat = []
        for e, (c, start, delta, own) in mine.items():
            if kind == "copygrad":
                new = theirs[e][2]
            elif kind == "scalegrad":
                new = cc.scaled(delta, factor)
            elif kind == "poison":
                new = cc.sign_flipped(delta)
            else:
                new = random_like(delta)
            end = {k: start[k] + new[k] for k in start}
            fake = u.Contribution(c.epoch, c.steps, c.start, f"{kind}-{seed}-{e}")
            cheat.append(scorer.score_step(fake, start=start, end=end, own=own))
        judged = u.judge_usefulness({**scores, 1: cheat})
        tally.caught[kind] += not judged[1].ok
        tally.victims += sum(not judged[i].ok for i in judged if i != 1)
        tally.cheat_stats[kind].append(u.node_statistics({**scores, 1: cheat})[1])


def report(t: Tally, rounds: int, nodes: int) -> dict[str, object]:
    from offchain.validator import calibration as cal

    def span(values: list[float]) -> list[float]:
        return [round(min(values), 4), round(max(values), 4)] if values else []

    def stats(items: list[Any]) -> dict[str, list[float]]:
        return {
            "specificity": span([s.specificity for s in items]),
            "usefulness": span([s.usefulness for s in items if s.usefulness is not None]),
            "norm_ratio": span([r for s in items for r in s.norm_ratios]),
            "peer_cosine": span([c for s in items for c in s.peer_cosines]),
        }

    return {
        "rounds": rounds,
        "nodes": nodes,
        "honest": {
            **stats(t.honest),
            "pair_sketch_distance": span(t.pair_distances),
            "rejected": f"{t.false_positives}/{len(t.honest)}",
        },
        "detected": {k: f"{v}/{rounds}" for k, v in t.caught.items()},
        "honest_rejected_beside_a_cheater": f"{t.victims}/{rounds * len(CHEATS) * (nodes - 1)}",
        "cheats": {k: stats(v) for k, v in t.cheat_stats.items()},
        "thresholds": {
            "min_specificity": cal.USEFULNESS_MIN_SPECIFICITY,
            "min_usefulness": cal.USEFULNESS_MIN_RATIO,
            "norm_band": list(cal.USEFULNESS_NORM_BAND),
            "min_peer_cosine": cal.USEFULNESS_MIN_PEER_COSINE,
            "duplicate_distance": cal.USEFULNESS_DUPLICATE_DISTANCE,
        },
        "cost": {
            "scoring_s_per_node": round(t.score_s / t.scored, 3),
            "training_compute_s_per_node": round(t.train_s / t.scored, 3),
            "share_of_training": round(t.score_s / t.train_s, 4),
            "forward_batches_per_node": t.forward_batches / t.scored,
            "training_steps_per_scored_contribution": round(
                (t.score_s / max(1, t.contributions)) / (t.train_s / max(1, t.trained_steps)), 2
            ),
        },
        "scored_outer_steps_per_round": sorted(set(t.scored_steps)),
    }


if __name__ == "__main__":
    main()
