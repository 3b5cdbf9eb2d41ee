"""Validation compute per round as a share of training compute (goal: <= 5 %).

Simulates one round of N nodes in-process, exactly as hivemind would run it but without the
network: within an epoch every node computes forward + backward + the replay projection on its
own deterministic batches with the same weights; at the epoch end the gradients are averaged
and one AdamW step is applied (so all nodes end with the same adapter, as after hivemind's
averaging). The *training compute* of the round is the sum over nodes of their
forward/backward/projection time (what ``trainer.collab`` reports as ``compute_seconds``).

Then a validator judges the round with the real code path (``validate_round``: artifact
hashes, agreement, held-out eval of the base and of every adapter, samples, a 2-step replay
per report, aggregation and eval of the next base adapter). *Validation compute* is its wall
time (one thread, like the training).

    python bench/validation_share.py        # writes the Validation section of benchmarks.md
    python bench/validation_share.py --no-write
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offchain.validator.bundle import ReplayBundle, bundle_name  # noqa: E402
from offchain.validator.publish import fresh_adapter  # noqa: E402
from offchain.validator.verdict import Report, RoundInputs, Thresholds, validate_round  # noqa: E402
from trainer.artifacts import ArtifactStore, save_adapter  # noqa: E402
from trainer.config import ModelConfig, TrainConfig  # noqa: E402
from trainer.data import TrainingData  # noqa: E402
from trainer.models import (  # noqa: E402
    attach_lora,
    build_base_model,
    build_tokenizer,
    lora_named_parameters,
)
from trainer.replay import (  # noqa: E402
    GradientProjector,
    ReplayRecord,
    records_root,
    step_loss_and_grads,
)

POOL, ROUND = 1, 0
BEGIN, END = "<!-- validation-bench:begin -->", "<!-- validation-bench:end -->"


def simulate_round(cfg: TrainConfig, nodes: int, steps: int, epochs: int, store: ArtifactStore):
    """Train one round of ``nodes`` nodes; return (reports, training compute seconds)."""
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shards = [data.shard(POOL, ROUND, i, nodes) for i in range(nodes)]
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    params = [p for _, p in lora_named_parameters(model)]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    projector = GradientProjector.for_model(
        model, cfg.replay.projection_dim, cfg.replay.projection_seed
    )
    per_epoch = max(steps // epochs, 1)
    records: list[list[ReplayRecord]] = [[] for _ in range(nodes)]
    checkpoints: dict[int, str] = {}
    compute = 0.0
    acc = [torch.zeros_like(p) for p in params]
    for step in range(steps):
        epoch = step // per_epoch
        if epoch not in checkpoints:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "c.safetensors"
                save_adapter(model, path)
                checkpoints[epoch] = store.put(path)
        for i in range(nodes):
            t0 = time.perf_counter()
            loss, grads = step_loss_and_grads(model, shards[i].batch(step, cfg.batch_size))
            projection = projector.project(grads)
            compute += time.perf_counter() - t0
            records[i].append(ReplayRecord.make(step, epoch, loss, projection))
            for a, g in zip(acc, grads, strict=True):
                a += g
        if step % per_epoch == per_epoch - 1 or step == steps - 1:
            for p, a in zip(params, acc, strict=True):
                p.grad = a / (nodes * per_epoch)
            opt.step()
            acc = [torch.zeros_like(p) for p in params]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.safetensors"
        save_adapter(model, path)
        digest = store.put(path)
    reports = []
    for i in range(nodes):
        node = "0x" + f"{i + 1:040x}"
        bundle = ReplayBundle(
            node=node, pool_id=POOL, round=ROUND, run_id="bench", node_index=i,
            node_count=nodes, batch_size=cfg.batch_size,
            records=[r.to_json() for r in records[i]], epoch_adapters=checkpoints,
        )  # fmt: skip
        (store.root / bundle_name(POOL, ROUND, node)).write_text(bundle.model_dump_json())
        reports.append(
            Report(
                pool_id=POOL, round=ROUND, index=i, node=node, provider=node,
                adapter_hash=digest, samples=steps * cfg.batch_size, loss=0, execution_mode=1,
                replay_root=records_root(records[i]),
                artifact_uri=store.path_for(digest).resolve().as_uri(),
            )
        )  # fmt: skip
    return reports, compute


def measure(
    name: str, cfg: TrainConfig, nodes: int, steps: int, epochs: int, eval_examples: int = 256
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(Path(tmp) / "store")
        reports, train_s = simulate_round(cfg, nodes, steps, epochs, store)
        inputs = RoundInputs(
            cfg=cfg,
            base_adapter=fresh_adapter(cfg, Path(tmp) / "base"),
            base_hash="0x" + "00" * 32,
            seed_block_hash="0x" + "ab" * 32,
            published=lambda _node: steps * cfg.batch_size,
            thresholds=Thresholds(eval_examples=eval_examples),
            cache_dir=Path(tmp) / "cache",
            out_dir=Path(tmp) / "adapters",
        )
        t0 = time.perf_counter()
        verdict = validate_round(reports, inputs)
        val_s = time.perf_counter() - t0
    accepted = sum(v.accepted for v in verdict.reports)
    row = {
        "name": name,
        "nodes": nodes,
        "steps": steps,
        "batch": cfg.batch_size,
        "params": sum(p.numel() for p in build_base_model(cfg.model).parameters()),
        "train_s": train_s,
        "val_s": val_s,
        "share": val_s / train_s,
        "accepted": accepted,
        "eval_examples": eval_examples,
    }
    print(
        f"{name}: {nodes} nodes x {steps} steps: training {train_s:.1f} s, "
        f"validation {val_s:.2f} s = {100 * val_s / train_s:.1f} % ({accepted} accepted)"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tiny = TrainConfig()
    medium = TrainConfig(
        batch_size=16,
        model=ModelConfig(hidden_size=256, num_hidden_layers=4, intermediate_size=512),
    )
    rows = [
        measure("demo: tiny model, 6 steps per node", tiny, 4, 6, 3),
        measure("tiny model, 128 steps per node", tiny, 4, 128, 4),
        measure("medium model, 128 steps per node", medium, 3, 128, 4, eval_examples=0),
        measure("medium model, 128 steps per node", medium, 3, 128, 4),
        measure("medium model, 512 steps per node", medium, 3, 512, 4),
    ]
    text = render(rows)
    print(text)
    if not args.no_write:
        write(text)


def render(rows: list[dict[str, object]]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"Date {when}; machine: {platform.processor() or platform.machine()} "
        "(2 vCPU AMD EPYC, shared with other jobs), one torch thread, Python "
        f"{platform.python_version()}. Script: `bench/validation_share.py`.",
        "",
        "| round | nodes | steps/node | batch | model params | eval examples "
        "| training compute (all nodes) | validation (one validator) | share |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['nodes']} | {r['steps']} | {r['batch']} | {r['params']:,} "
            f"| {r['eval_examples'] or 'all (410)'} "
            f"| {r['train_s']:.1f} s | {r['val_s']:.2f} s | **{100 * float(r['share']):.1f}%** |"  # type: ignore[arg-type]
        )
    lines.append(END)
    return "\n".join(lines)


def write(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text()
    section = (
        "## Validation\n\n"
        "Validation compute per round as a share of the round's training compute (goal ≤ 5%). "
        "See the script's docstring for what is timed.\n\n" + text + "\n"
    )
    if BEGIN in current:
        current = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), text, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + section
    doc.write_text(current)
    print(f"wrote {doc}")


if __name__ == "__main__":
    main()
