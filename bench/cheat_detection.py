"""Detection rate per cheat kind and false positives of the validator's checks.

Trains ONE real DiLoCo round (``--peers`` local hivemind peers, ``--epochs`` outer steps of
``--inner`` inner steps: 10 segments per node by default), then judges, with the validator's
own check functions, ``--trials`` seeded variants of each cheat built from an honest node's
output, and the honest reports themselves under ``--trials`` different validator keys:

* ``drift`` (noise of 0.74x the update), ``scale`` (factor drawn from [0.3, 0.9] U [1.1, 1.7]),
  ``noise`` (random tensors): the agreement check with the calibrated tolerances;
* ``partial`` (one of ten segments faked, drawn by the seed): two validators (quorum 2), each
  replaying its own draw of segments, at the default budget and at the detection target;
* ``falsemode`` (a CPU run claiming the local-GPU rate, ``cuda`` in its bundle): the mode check
  on the replay numerics of the segments a validator replays;
* ``copygrad`` (node 2 commits node 0's or node 1's updates), ``scalegrad`` (its updates scaled
  by a factor drawn from [0.2, 0.5] U [2, 4]), ``poison`` (its updates sign-flipped, times a
  factor drawn from [0.5, 2]): the usefulness check alone, on the real round's contributions.

Prints one JSON object (docs/benchmarks.md, "Verification").

    python bench/cheat_detection.py [--trials 20] [--peers 3] [--epochs 5] [--inner 8]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--peers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--inner", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from offchain.rounds.bundle import ReplayBundle
    from offchain.validator.calibration import agreement_tolerance, detection_probability
    from offchain.validator.checks import (
        ObservingChecker,
        check_agreement,
        check_execution_mode,
        check_replay,
        replay_secret,
        replay_seed,
        replay_segments,
    )
    from offchain.validator.verdict import Thresholds
    from offchain.worker import cheats
    from offchain.worker.round_work import TrainedRound
    from trainer.artifacts import adapter_hash, save_adapter
    from trainer.config import DilocoConfig, HivemindConfig, TrainConfig
    from trainer.data import TrainingData
    from trainer.local import LocalSwarm
    from trainer.models import attach_lora, build_base_model, build_tokenizer, lora_state
    from trainer.replay import load_records

    cfg = TrainConfig(
        max_epochs=args.epochs,
        max_local_steps=args.epochs * args.inner,
        torch_threads=1,
        diloco=DilocoConfig(inner_steps=args.inner, sync_wait=30.0),
        hivemind=HivemindConfig(
            averaging_timeout=30.0, barrier_timeout=90.0, join_grace=60.0, start_delay=1.0,
            run_prefix="detect",
        ),
    )  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="detect-"))
    started = time.perf_counter()
    with LocalSwarm(cfg, peers=args.peers, out_root=tmp / "swarm") as swarm:
        codes = swarm.wait(timeout=900)
        if any(c != 0 for c in codes):
            raise SystemExit(f"peers exited {codes}")
        results = swarm.results()
    train_wall = time.perf_counter() - started
    base = tmp / "base.safetensors"
    save_adapter(lora_state(attach_lora(build_base_model(cfg.model), cfg.model)), base)
    tol = agreement_tolerance(cfg)
    honest = {i: Path(r.adapter_path) for i, r in enumerate(results)}
    out: dict[str, object] = {
        "round": {"peers": args.peers, "steps_per_node": results[0].steps,
                  "train_wall_s": round(train_wall, 1),
                  "compute_s_per_node": round(results[0].compute_seconds, 2)},
        "tolerance": {"max_distance": tol.max_distance, "min_cosine": tol.min_cosine},
    }  # fmt: skip

    def trained(i: int, path: Path) -> TrainedRound:
        return TrainedRound(
            adapter_path=path, adapter_hash=adapter_hash(path), samples=results[i].samples,
            loss=results[i].final_loss, replay_root=results[i].records_root,
        )  # fmt: skip

    def agreement_rejects(path: Path) -> bool:
        adapters = {0: honest[0], 1: honest[1], 2: path}
        res = check_agreement(adapters, base, min_cosine=tol.min_cosine,
                              max_distance=tol.max_distance)  # fmt: skip
        return not res[2].ok

    rng = random.Random(0)
    work = tmp / "variants"
    work.mkdir()
    rates: dict[str, list[bool]] = {"drift": [], "scale": [], "noise": []}
    for seed in range(args.trials):
        t = trained(2, honest[2])
        rates["drift"].append(
            agreement_rejects(cheats.drift(t, base, work, seed=seed).adapter_path)
        )
        factor = rng.choice([rng.uniform(0.3, 0.9), rng.uniform(1.1, 1.7)])
        rates["scale"].append(
            agreement_rejects(cheats.scale(t, base, work, factor=factor).adapter_path)
        )
        rates["noise"].append(agreement_rejects(cheats.noise(t, work, seed=seed).adapter_path))
    honest_fp = sum(
        not r.ok
        for r in check_agreement(honest, base, min_cosine=tol.min_cosine,
                                 max_distance=tol.max_distance).values()
    )  # fmt: skip

    # replay: node 0's bundle, honest and with one faked segment
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    r0 = results[0]
    records = load_records(Path(r0.records_path))
    bundle = ReplayBundle(
        node="0x" + "01" * 20, pool_id=r0.pool_id, round=r0.round, run_id=r0.run_id,
        node_index=r0.node_index, node_count=r0.node_count, batch_size=cfg.batch_size,
        records=[r.to_json() for r in records], checkpoints=sorted(r0.checkpoints),
        device="cpu",
    )  # fmt: skip
    checkpoints = {str(k): Path(v) for k, v in r0.checkpoints.items()}
    shard = data.shard(r0.pool_id, r0.round, r0.node_index, r0.node_count)
    checker = ObservingChecker(cfg)
    th = Thresholds()
    n_steps = len(records)
    seg_steps = cfg.replay.checkpoint_every

    def judge(b: ReplayBundle, root: str, seed: int, validator: int, count: int):  # type: ignore[no-untyped-def]
        secret = replay_secret(bytes([validator + 1]) * 32)
        s = replay_seed("0x" + f"{seed:064x}", b.pool_id, b.round, b.node, secret)
        checker.rel_diffs.clear()
        result = check_replay(
            b, node=b.node, pool_id=b.pool_id, round=b.round,
            samples=n_steps * cfg.batch_size, replay_root=root, batch_size=cfg.batch_size,
            steps=lambda n: [], checkpoint=lambda d: checkpoints[d], shard=lambda i, k: shard,
            checker=checker, segments=lambda n: replay_segments(s, n, min(count, n)),
        )  # fmt: skip
        return result, list(checker.rel_diffs)

    from offchain.validator.checks import all_segments

    n_segments = len(all_segments(records))
    at_budget = th.segment_count(n_segments, n_steps, seg_steps, 2)
    at_target = Thresholds(replay_budget=100.0).segment_count(n_segments, n_steps, seg_steps, 2)
    partial_dir = work / "partial"
    partial_dir.mkdir()
    replay_rows: dict[str, dict[str, object]] = {}
    for label, count in (("budget", at_budget), ("target", at_target)):
        caught_any, caught_all, honest_fp_replay, mode_caught = 0, 0, 0, 0
        replay_t0 = time.perf_counter()
        honest_judged = 0
        for seed in range(args.trials):
            (partial_dir / cheats.BUNDLE_FILE).write_text(bundle.model_dump_json())
            t = trained(0, Path(r0.adapter_path))
            faked = cheats.partial(t, partial_dir, seed=seed, fraction=0.1)
            fb = ReplayBundle.model_validate_json((partial_dir / cheats.BUNDLE_FILE).read_text())
            verdicts = [judge(fb, faked.replay_root, seed, v, count)[0].ok for v in (0, 1)]
            caught_any += not all(verdicts)
            caught_all += not any(verdicts)
            res, diffs = judge(bundle, r0.records_root, seed, 0, count)  # honest
            honest_judged += 1
            honest_fp_replay += not res.ok
            mode_caught += not check_execution_mode(0, "cuda", diffs, "cpu").ok  # a CPU run
        per_report = (time.perf_counter() - replay_t0) / (3 * args.trials)
        replay_rows[label] = {
            "segments_per_validator": count,
            "detected_by_a_validator": caught_any / args.trials,
            "detected_by_both_validators": caught_all / args.trials,
            "theory_one_of_two": detection_probability(n_segments, 1, count, 2),
            "honest_rejected": honest_fp_replay / honest_judged,
            "falsemode_detected": mode_caught / args.trials,
            "replay_s_per_report_per_validator": round(per_report, 3),
            "replay_share_of_training_quorum2": round(
                2 * per_report / max(results[0].compute_seconds, 1e-9), 4
            ),
        }
    out["usefulness"] = usefulness_trials(cfg, results, data, args.trials)
    out["agreement"] = {k: sum(v) / len(v) for k, v in rates.items()}
    out["agreement_honest_rejected"] = f"{honest_fp}/{len(honest)}"
    out["replay"] = replay_rows
    out["segments_per_node"] = n_segments
    out["trials"] = args.trials
    print(json.dumps(out, indent=1))


def usefulness_trials(cfg, results, data, trials: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The usefulness check alone on the real round: its honest nodes, and node 2's updates
    replaced by each contribution cheat in ``trials`` seeded variants."""
    from offchain.validator import calibration as cal
    from offchain.validator import usefulness as u
    from offchain.worker import contribution_cheats as cc
    from trainer.artifacts import load_adapter_state
    from trainer.replay import load_records, state_weights

    scorer = u.UsefulnessScorer(cfg, u.heldout_batches(data.heldout(), cfg.batch_size))
    seed = b"\x00" * 32
    nodes = []
    for r in results:
        files = {str(k): Path(v) for k, v in r.checkpoints.items()}
        shard = data.shard(r.pool_id, r.round, r.node_index, r.node_count)
        nodes.append((load_records(Path(r.records_path)), shard, files))
    t0 = time.perf_counter()
    scores = {i: scorer.score_node(rec, sh, f.__getitem__, seed) for i, (rec, sh, f) in
              enumerate(nodes)}  # fmt: skip
    per_report = (time.perf_counter() - t0) / len(nodes)
    forwards = scorer.forward_batches / len(nodes)
    honest = u.judge_usefulness(scores)

    def updates(i: int) -> dict[int, tuple[object, dict, dict, list]]:  # type: ignore[type-arg]
        records, shard, files = nodes[i]
        out = {}
        for c in u.contributions(records):
            start = state_weights(load_adapter_state(files[c.start]))
            end = state_weights(load_adapter_state(files[c.end]))
            own = [shard.batch(s, cfg.batch_size)
                   for s in u.own_steps(seed, c, cal.USEFULNESS_OWN_BATCHES)]  # fmt: skip
            out[c.epoch] = (c, start, {k: end[k] - start[k] for k in start}, own)
        return out

    mine, others = updates(2), {0: updates(0), 1: updates(1)}
    rng = random.Random(2)
    caught = {"copygrad": 0, "scalegrad": 0, "poison": 0}
    victims = 0
    for t in range(trials):
        factor = rng.choice([rng.uniform(0.2, 0.5), rng.uniform(2.0, 4.0)])
        flip = rng.uniform(0.5, 2.0)
        for kind in caught:
            steps = []
            for e, (c, start, delta, own) in mine.items():
                if kind == "copygrad":
                    new = others[t % 2][e][2]
                elif kind == "scalegrad":
                    new = cc.scaled(delta, factor)
                else:
                    new = cc.sign_flipped(delta, flip)
                end = {k: start[k] + new[k] for k in start}
                fake = u.Contribution(c.epoch, c.steps, c.start, f"{kind}-{t}-{e}")  # type: ignore[attr-defined]
                steps.append(scorer.score_step(fake, start=start, end=end, own=own))
            judged = u.judge_usefulness({**scores, 2: steps})
            caught[kind] += not judged[2].ok
            victims += (not judged[0].ok) + (not judged[1].ok)
    return {
        "honest_rejected": f"{sum(not r.ok for r in honest.values())}/{len(honest)}",
        "detected": {k: v / trials for k, v in caught.items()},
        "honest_rejected_beside_a_cheater": f"{victims}/{2 * 3 * trials}",
        "score_s_per_report": round(per_report, 3),
        "forward_batches_per_report": forwards,
        "share_of_training_per_validator": round(
            per_report / max(results[0].compute_seconds, 1e-9), 4
        ),
    }


if __name__ == "__main__":
    main()
