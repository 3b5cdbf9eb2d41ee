"""Benchmark of collaborative LoRA rounds on this machine -> docs/benchmarks.md (Trainer).

Runs ``--rounds`` rounds of ``--peers`` local hivemind peers (subprocesses on loopback), each
round starting from the deterministic mean of the previous round's adapters, and measures
per round: the split of each peer's time between compute (forward, backward, gradient
projection) and hivemind (time inside ``Optimizer.step``: matchmaking wait, all-reduce,
optimizer update), the bytes each peer sent in all-reduce, and the held-out eval loss of
the round's aggregated adapter. Writes the Trainer section of docs/benchmarks.md (between
markers) and docs/img/trainer_loss.png.

    .venv/bin/python bench/trainer_bench.py [--rounds 3] [--peers 2] [--epochs 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

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
    return f"{cpu} (shared with other jobs), no GPU, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--target-batch-size", type=int, default=2048)
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "bench" / "trainer")
    parser.add_argument("--no-docs", action="store_true", help="Do not rewrite docs/.")
    args = parser.parse_args()

    from trainer.aggregate import aggregate_adapters
    from trainer.config import HivemindConfig, ModelConfig, TrainConfig
    from trainer.evaluation import evaluate_adapters
    from trainer.local import LocalSwarm

    cfg = TrainConfig(
        model=ModelConfig(
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=8,
            num_key_value_heads=8,
            intermediate_size=688,
            init_std=0.1,
        ),
        batch_size=args.batch_size,
        learning_rate=1e-2,
        max_epochs=args.epochs,
        max_local_steps=100_000,
        torch_threads=1,
        hivemind=HivemindConfig(
            target_batch_size=args.target_batch_size,
            matchmaking_time=1.0,
            averaging_timeout=15.0,
            average_state_every=args.epochs,
        ),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    base = None
    rows = []
    eval_losses = [evaluate_adapters(cfg, {"base": None})["base"].loss]
    for rnd in range(args.rounds):
        started = time.perf_counter()
        with LocalSwarm(
            cfg,
            peers=args.peers,
            out_root=args.out / f"round{rnd}",
            pool_id=1,
            round=rnd,
            base_adapter=base,
        ) as swarm:
            codes = swarm.wait(timeout=900)
            if codes != [0] * args.peers:
                raise SystemExit(f"round {rnd}: peers exited with {codes}")
            results = swarm.results()
        wall = time.perf_counter() - started
        mean = args.out / f"round{rnd}" / "mean.safetensors"
        digest = aggregate_adapters({r.peer_id: r.adapter_path for r in results}, mean)
        loss = evaluate_adapters(cfg, {"mean": mean})["mean"].loss
        eval_losses.append(loss)
        base = mean
        compute = statistics.mean(r.compute_seconds for r in results)
        averaging = statistics.mean(r.averaging_seconds for r in results)
        sent = statistics.mean(r.bytes_sent for r in results)
        lora, full = results[0].lora_parameters, results[0].model_parameters
        rows.append(
            {
                "round": rnd,
                "epochs": min(r.epochs for r in results),
                "steps": statistics.mean(r.steps for r in results),
                "compute_s": compute,
                "averaging_s": averaging,
                "averaging_share": averaging / (compute + averaging),
                "barrier_s": statistics.mean(r.barrier_seconds for r in results),
                "wall_s": wall,
                "bytes_sent_lora": sent,
                "bytes_sent_full_estimate": sent * full / lora,
                "lora_parameters": lora,
                "model_parameters": full,
                "train_loss_last_epoch": statistics.mean(
                    statistics.mean(r.losses[-max(1, len(r.losses) // r.epochs) :]) for r in results
                ),
                "eval_loss": loss,
                "adapter_hash": digest,
            }
        )
        print(json.dumps(rows[-1]))
    payload = {
        "machine": machine(),
        "date": dt.date.today().isoformat(),
        "args": vars(args) | {"out": str(args.out)},
        "config": json.loads(cfg.model_dump_json()),
        "base_eval_loss": eval_losses[0],
        "rounds": rows,
    }
    (args.out / "bench.json").write_text(json.dumps(payload, indent=2))
    if not args.no_docs:
        plot(eval_losses, rows, ROOT / "docs" / "img" / "trainer_loss.png")
        write_section(payload, ROOT / "docs" / "benchmarks.md")


def plot(eval_losses: list[float], rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.plot(range(len(eval_losses)), eval_losses, marker="o", label="held-out eval loss")
    ax.plot(
        [r["round"] + 1 for r in rows],
        [r["train_loss_last_epoch"] for r in rows],
        marker="s",
        linestyle="--",
        label="train loss, last epoch",
    )
    ax.set_xticks(range(len(eval_losses)))
    ax.set_xlabel("after round (0 = base model)")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title("loranet trainer: loss per round")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_section(payload: dict[str, Any], path: Path) -> None:
    rows = payload["rounds"]
    cfg = payload["config"]
    m = cfg["model"]
    targets = m["lora_target_modules"] or ["q_proj", "v_proj"]  # None: LLaMA's peft default
    lines = [
        BEGIN,
        f"Machine: {payload['machine']}. Date: {payload['date']}. Script: "
        "`bench/trainer_bench.py` (reproduce: `.venv/bin/python bench/trainer_bench.py`).",
        "",
        f"Set-up: {payload['args']['peers']} peers as local subprocesses on loopback, one torch "
        f"thread each; LLaMA-shaped model (hidden {m['hidden_size']}, {m['num_hidden_layers']} "
        f"layers, {rows[0]['model_parameters']:,} parameters), LoRA r={m['lora_r']} on "
        f"{', '.join(targets)} ({rows[0]['lora_parameters']:,} trainable "
        f"parameters); batch {cfg['batch_size']} per step, target batch "
        f"{cfg['hivemind']['target_batch_size']} per epoch, {cfg['max_epochs']} epochs per "
        f"round, matchmaking {cfg['hivemind']['matchmaking_time']} s, parameters averaged every "
        f"{cfg['hivemind']['average_state_every']} epochs; each round starts from the mean "
        "adapter of the previous one. Times are per peer (mean over peers).",
        "",
        "| round | epochs | compute | hivemind (averaging + step) | averaging share | bytes sent "
        "/ peer (LoRA) | same model fully fine-tuned | ratio | eval loss |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['round']} | {r['epochs']} | {r['compute_s']:.1f} s | {r['averaging_s']:.1f} s "
            f"| **{100 * r['averaging_share']:.1f}%** | {r['bytes_sent_lora'] / 1e6:.2f} MB "
            f"| {r['bytes_sent_full_estimate'] / 1e6:.0f} MB "
            f"| {r['bytes_sent_full_estimate'] / max(r['bytes_sent_lora'], 1):.0f}x "
            f"| {r['eval_loss']:.3f} |"
        )
    lines += [
        "",
        f"Held-out eval loss of the base model: {payload['base_eval_loss']:.3f}; after the last "
        f"round: {rows[-1]['eval_loss']:.3f}.",
        "",
        "![loss per round](img/trainer_loss.png)",
        "",
        "How the figures are measured: *compute* is forward + backward + the replay projection; "
        "*hivemind* is the time spent inside `hivemind.Optimizer.step` (waiting for the group, "
        "all-reduce of the LoRA gradients, parameter averaging, the AdamW update). *Bytes sent* "
        "are counted by a pass-through compression hooked into hivemind's averagers (the tensor "
        "parts a peer serialises in the reduce-scatter phase, times two for the all-gather "
        "phase; DHT and protocol overhead not included). The full fine-tuning figure scales "
        "the measured LoRA traffic by parameters (full / LoRA): all-reduce traffic is linear in "
        "the size of the averaged tensors.",
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
