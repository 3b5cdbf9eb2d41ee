"""Benchmark of DiLoCo rounds on this machine -> docs/benchmarks.md (Trainer).

One run, one model, one data set and the same number of training samples
``S = peers x outer steps x inner steps x batch`` for three schemes:

(a) **the old synchronous scheme** (one ``hivemind.Optimizer`` epoch = one global AdamW step on
    the gradient averaged over every peer's batches of the sync interval), simulated in-process
    exactly (every peer's gradients at the same weights, averaged, one step per sync);
(b) **DiLoCo rounds**: ``--peers`` real hivemind peers (``trainer.local.LocalSwarm``,
    subprocesses on loopback) running ``trainer.collab.train_round``;
(c) **one peer alone** stepping AdamW on every batch, ``S / batch`` steps over the whole
    training pool.

Held-out loss after ``S`` samples for each (for (b) the mean adapter of the peers, which the
validators would aggregate). For (b) also, per peer: the time split over the whole round
(barrier, inner compute, checkpoints, all-reduce + outer step), the bytes its ``p2pd``
sockets sent (``trainer.wire``), split into the all-reduce windows and the rest, against the
all-reduce limit ``2 (n-1)/n x adapter bytes`` per sync; and the validation cost of a
replay check (two chosen steps' segments) plus one adapter eval, as a share of the peer's
training compute.

    .venv/bin/python bench/trainer_bench.py [--peers 2] [--inner-steps 250] [--outer-steps 5]

The outer optimizer's settings default to the pool defaults (``DilocoConfig``);
``bench/diloco_sweep.py`` is how they were chosen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- trainer-bench:begin -->", "<!-- trainer-bench:end -->"


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = re.search(r"Model name:\s+(.+)", lscpu)
        cpus = re.search(r"^CPU\(s\):\s+(\d+)", lscpu, re.M)
        cpu = f"{cpus.group(1) if cpus else '?'} vCPU {model.group(1).strip() if model else '?'}"
    except (OSError, subprocess.CalledProcessError):
        cpu = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, shared with other jobs (load average {load:.1f} at the start), no GPU, "
        f"Python {platform.python_version()}"
    )


def bench_config(args: argparse.Namespace) -> Any:
    from trainer.config import DilocoConfig, HivemindConfig, ModelConfig, TrainConfig

    return TrainConfig(
        model=ModelConfig(
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=8,
            num_key_value_heads=8,
            intermediate_size=688,
            init_std=0.1,
        ),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        max_epochs=args.outer_steps,
        max_local_steps=args.outer_steps * args.inner_steps,
        torch_threads=1,
        diloco=DilocoConfig(
            inner_steps=args.inner_steps,
            outer_lr=args.outer_lr,
            outer_momentum=args.outer_momentum,
            compression=args.compression,
            sync_wait=60.0,
        ),
        hivemind=HivemindConfig(averaging_timeout=60.0, barrier_timeout=300.0, join_grace=120.0),
    )


def simulate_sync(cfg: Any, peers: int, out: Path) -> tuple[Path, float]:
    """(a): per sync, every peer's H batches at the same weights, gradients averaged, one AdamW
    step (the old ``hivemind.Optimizer`` epoch). Returns (adapter, seconds)."""
    from trainer.artifacts import save_adapter
    from trainer.data import TrainingData
    from trainer.models import attach_lora, build_base_model, build_tokenizer, lora_named_parameters
    from trainer.replay import make_inner_optimizer, step_loss_and_grads

    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shards = [data.shard(1, 0, i, peers) for i in range(peers)]
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    params = [p for _, p in lora_named_parameters(model)]
    opt = make_inner_optimizer(params, cfg)
    t0 = time.perf_counter()
    step = 0
    for _ in range(cfg.max_epochs):
        acc = [torch.zeros_like(p) for p in params]
        for h in range(cfg.diloco.inner_steps):
            for shard in shards:
                step_loss_and_grads(model, shard.batch(step + h, cfg.batch_size))
                for a, p in zip(acc, params, strict=True):
                    if p.grad is not None:
                        a += p.grad
        for a, p in zip(acc, params, strict=True):
            p.grad = a / (peers * cfg.diloco.inner_steps)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += cfg.diloco.inner_steps
    path = out / "sync.safetensors"
    save_adapter(model, path)
    return path, time.perf_counter() - t0


def simulate_alone(cfg: Any, steps: int, out: Path) -> tuple[Path, float]:
    """(c): one peer, the whole training pool, an AdamW step on every batch."""
    from trainer.artifacts import save_adapter
    from trainer.data import TrainingData
    from trainer.models import attach_lora, build_base_model, build_tokenizer, lora_named_parameters
    from trainer.replay import make_inner_optimizer, step_loss_and_grads

    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(1, 0, 0, 1)
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    opt = make_inner_optimizer([p for _, p in lora_named_parameters(model)], cfg)
    t0 = time.perf_counter()
    for step in range(steps):
        step_loss_and_grads(model, shard.batch(step, cfg.batch_size))
        opt.step()
        opt.zero_grad(set_to_none=True)
    path = out / "alone.safetensors"
    save_adapter(model, path)
    return path, time.perf_counter() - t0


def validation_cost(cfg: Any, result: Any, heldout: Any) -> float:
    """Seconds a validator spends on this report's replay (two chosen steps' segments) and on
    one held-out eval of its adapter (``eval_examples`` = 256)."""
    from offchain.validator.checks import segment_bounds
    from trainer.data import TrainingData
    from trainer.evaluation import evaluate_adapters
    from trainer.models import build_tokenizer
    from trainer.replay import ReplayChecker, load_records

    records = load_records(result.records_path)
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(result.pool_id, result.round, result.node_index, result.node_count)
    checker = ReplayChecker(cfg)
    t0 = time.perf_counter()
    for step in random.Random(result.peer_id).sample(range(len(records)), 2):
        lo, hi = segment_bounds(records, step)
        first = records[lo]
        verdict = checker.check_segment(
            result.checkpoints[first.start], result.checkpoints[first.end], shard, records[lo:hi]
        )
        assert verdict.accepted, verdict
    evaluate_adapters(cfg, {"a": result.adapter_path}, heldout=heldout)
    return time.perf_counter() - t0


def main() -> None:
    from trainer.config import DilocoConfig

    pool = DilocoConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--inner-steps", type=int, default=250)
    parser.add_argument("--outer-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--outer-lr", type=float, default=pool.outer_lr)
    parser.add_argument("--outer-momentum", type=float, default=pool.outer_momentum)
    parser.add_argument("--compression", default="float16", choices=["none", "float16", "uint8"])
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "bench" / "trainer")
    parser.add_argument("--skip-baselines", action="store_true", help="Only run (b).")
    parser.add_argument("--no-docs", action="store_true", help="Do not rewrite docs/.")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from trainer.aggregate import aggregate_adapters
    from trainer.data import TrainingData
    from trainer.evaluation import evaluate_adapters
    from trainer.local import LocalSwarm
    from trainer.models import build_tokenizer

    cfg = bench_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    started_machine = machine()
    samples = args.peers * args.outer_steps * args.inner_steps * args.batch_size

    t0 = time.perf_counter()
    with LocalSwarm(cfg, peers=args.peers, out_root=args.out / "diloco", pool_id=1) as swarm:
        codes = swarm.wait(timeout=3600)
        if codes != [0] * args.peers:
            raise SystemExit(f"peers exited with {codes}; see {args.out / 'diloco'}/node*/peer.log")
        results = swarm.results()
    wall = time.perf_counter() - t0
    mean = args.out / "diloco" / "mean.safetensors"
    aggregate_adapters({r.peer_id: r.adapter_path for r in results}, mean)
    adapters: dict[str, Path] = {"diloco": mean}
    seconds: dict[str, float] = {"diloco": wall}
    if not args.skip_baselines:
        adapters["sync"], seconds["sync"] = simulate_sync(cfg, args.peers, args.out)
        adapters["alone"], seconds["alone"] = simulate_alone(
            cfg, samples // args.batch_size, args.out
        )
    losses = {k: v.loss for k, v in evaluate_adapters(cfg, {"base": None, **adapters}).items()}

    heldout = TrainingData(cfg.data, build_tokenizer(cfg.model)).heldout().head(256)
    peers = []
    for r in results:
        syncs = max(len(r.group_sizes), 1)
        overhead = r.wire_sent - r.wire_sync_sent
        validation = validation_cost(cfg, r, heldout)
        peers.append(
            {
                "node": r.node_index,
                "group_sizes": r.group_sizes,
                "total_s": r.total_seconds,
                "barrier_s": r.barrier_seconds,
                "compute_s": r.compute_seconds,
                "checkpoint_s": r.checkpoint_seconds,
                "averaging_s": r.averaging_seconds,
                "compute_per_sync_s": r.compute_seconds / syncs,
                "utilization": r.utilization,
                "averaging_share": r.averaging_seconds / r.total_seconds,
                "wire_sent_per_sync": r.wire_sent / syncs,
                "wire_sync_sent_per_sync": r.wire_sync_sent / syncs,
                "wire_overhead_per_sync": overhead / syncs,
                "wire_received_per_sync": r.wire_received / syncs,
                "limit_per_sync": r.allreduce_limit_bytes / syncs,
                "ratio_to_limit": r.wire_sent / max(r.allreduce_limit_bytes, 1.0),
                "ratio_to_compressed_limit": r.wire_sent
                / max(
                    r.allreduce_limit_bytes
                    * {"none": 1, "float16": 0.5, "uint8": 0.25}[r.compression],
                    1.0,
                ),
                "validation_s": validation,
                "validation_share": validation / r.compute_seconds,
                "lora_parameters": r.lora_parameters,
                "model_parameters": r.model_parameters,
            }
        )
        print(json.dumps(peers[-1]))
    payload = {
        "machine": started_machine,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "args": vars(args) | {"out": str(args.out)},
        "samples": samples,
        "losses": losses,
        "seconds": seconds,
        "peers": peers,
        "compression": cfg.diloco.compression,
    }
    print(json.dumps({"losses": losses, "seconds": seconds}))
    (args.out / "bench.json").write_text(json.dumps(payload, indent=2))
    if not args.no_docs and not args.skip_baselines:
        write_section(payload, ROOT / "docs" / "benchmarks.md")


def write_section(payload: dict[str, Any], path: Path) -> None:
    a, p = payload["args"], payload["peers"]
    losses = payload["losses"]
    mean = {k: statistics.mean(x[k] for x in p) for k in p[0] if isinstance(p[0][k], float)}
    syncs = len(p[0]["group_sizes"])
    lines = [
        BEGIN,
        f"Machine: {payload['machine']}. Date: {payload['date']}. Script: "
        "`bench/trainer_bench.py` (reproduce: `.venv/bin/python bench/trainer_bench.py`, "
        "about 15 minutes).",
        "",
        f"Set-up: LLaMA-shaped model ({p[0]['model_parameters']:,} parameters), LoRA r=8 on "
        f"q_proj, v_proj ({p[0]['lora_parameters']:,} trainable), batch {a['batch_size']}, "
        f"inner AdamW lr {a['lr']}; {a['peers']} peers; {a['outer_steps']} syncs of "
        f"{a['inner_steps']} inner steps per peer; outer SGD lr {a['outer_lr']}, "
        + (f"Nesterov momentum {a['outer_momentum']}" if a["outer_momentum"] > 0 else "no momentum")
        + f"; all-reduce compression `{payload['compression']}`. Every scheme "
        f"sees **{payload['samples']:,} samples**.",
        "",
        "| scheme | updates | held-out loss after the same samples | vs (c) |",
        "|---|---|---|---|",
        f"| base model (no training) | 0 | {losses['base']:.3f} | |",
        f"| (a) old synchronous scheme (one AdamW step per sync, simulated) | {syncs} "
        f"| {losses['sync']:.3f} | {losses['sync'] / losses['alone']:.2f}x |",
        f"| **(b) DiLoCo rounds** ({a['peers']} real hivemind peers) | {syncs} outer "
        f"({syncs * a['inner_steps']} inner per peer) | **{losses['diloco']:.3f}** "
        f"| **{losses['diloco'] / losses['alone']:.2f}x** |",
        f"| (c) one peer alone, AdamW on every batch | {payload['samples'] // a['batch_size']} "
        f"| {losses['alone']:.3f} | 1.00x |",
        "",
        "Per peer of (b), mean over peers, over the whole round (barrier and start included):",
        "",
        "| compute per sync | whole round | inner compute | checkpoints | barrier | all-reduce "
        "+ outer step | **utilization** | **averaging share** |",
        "|---|---|---|---|---|---|---|---|",
        f"| {mean['compute_per_sync_s']:.1f} s | {mean['total_s']:.1f} s | {mean['compute_s']:.1f}"
        f" s | {mean['checkpoint_s']:.1f} s | {mean['barrier_s']:.1f} s | "
        f"{mean['averaging_s']:.2f} s | **{100 * mean['utilization']:.1f}%** | "
        f"**{100 * mean['averaging_share']:.2f}%** |",
        "",
        "Bytes each peer's `p2pd` sockets sent (measured, `trainer.wire`), per sync:",
        "",
        "| all-reduce limit 2(n-1)/n x adapter (fp32) | sent in all-reduce windows | sent "
        "outside them (DHT, progress, barrier) | **total sent** | **/ limit** | / compressed "
        "limit |",
        "|---|---|---|---|---|---|",
        f"| {mean['limit_per_sync'] / 1e3:.1f} KB | {mean['wire_sync_sent_per_sync'] / 1e3:.1f} KB"
        f" | {mean['wire_overhead_per_sync'] / 1e3:.1f} KB | "
        f"{mean['wire_sent_per_sync'] / 1e3:.1f} KB | **{mean['ratio_to_limit']:.2f}x** | "
        f"{mean['ratio_to_compressed_limit']:.2f}x |",
        "",
        f"Validation of one report (replay of two chosen steps' segments + one held-out eval "
        f"on 256 examples): {mean['validation_s']:.1f} s = "
        f"**{100 * mean['validation_share']:.1f}%** of that peer's training compute.",
        "",
        "How it is measured: (b) runs `train_round` in real peer processes; *inner compute* is "
        "forward + backward + replay projection + the inner AdamW step, *all-reduce + outer "
        "step* is `OuterSync.sync` (matchmaking wait included), utilization is inner compute "
        "over the peer's whole `train_round` (model build, DHT start, barrier, checkpoints, "
        "syncs). Bytes are the kernel's `bytes_acked` of every TCP socket of the peer's `p2pd` "
        "(read with `ss`), so they include protocol framing, DHT and matchmaking; the limit is "
        "the fp32 all-reduce payload and the compressed limit the same under the pool's "
        "compression. (a) and (c) run in-process on the same data and shards.",
        END,
    ]
    section = "\n".join(lines)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in text:
        text = re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n## Trainer\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
