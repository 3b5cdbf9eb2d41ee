"""Validation compute per round as a share of training compute (goal: <= 5 %).

Simulates one DiLoCo round of N nodes in-process, as ``trainer.collab`` runs it but without
the network: per outer step every node runs its inner AdamW steps (forward + backward + the
replay projection, checkpoints every ``checkpoint_every`` steps) on its own deterministic
batches; then the pseudo-gradients are averaged and one outer step is applied (so all
nodes end with the same adapter, as after the all-reduce). The *training compute* of the round
is the sum over nodes of their inner-step time (what ``trainer.collab`` reports as
``compute_seconds``).

Then a validator judges the round with the real code path (``validate_round``: artifact
hashes, agreement, held-out eval of the base and of every adapter, samples, the replay of two
chosen steps' segments per report (up to ``checkpoint_every`` steps each), aggregation and
eval of the next base adapter). *Validation compute* is its wall time (one thread, like the
training).

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

from offchain.rounds.adapters import fresh_adapter  # noqa: E402
from offchain.rounds.bundle import ReplayBundle, bundle_name  # noqa: E402
from offchain.validator.verdict import Report, RoundInputs, Thresholds, validate_round  # noqa: E402
from trainer.artifacts import ArtifactStore, save_adapter  # noqa: E402
from trainer.config import ModelConfig, TrainConfig  # noqa: E402
from trainer.data import TrainingData  # noqa: E402
from trainer.diloco import make_outer_optimizer  # noqa: E402
from trainer.inner import InnerTrainer  # noqa: E402
from trainer.models import (  # noqa: E402
    attach_lora,
    build_base_model,
    build_tokenizer,
    lora_named_parameters,
)
from trainer.replay import ReplayRecord, records_root  # noqa: E402

POOL, ROUND = 1, 0
BEGIN, END = "<!-- validation-bench:begin -->", "<!-- validation-bench:end -->"


def simulate_round(cfg: TrainConfig, nodes: int, steps: int, epochs: int, store: ArtifactStore):
    """Train one DiLoCo round of ``nodes`` nodes; return (reports, training compute seconds)."""
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shards = [data.shard(POOL, ROUND, i, nodes) for i in range(nodes)]
    models = [attach_lora(build_base_model(cfg.model), cfg.model) for _ in range(nodes)]
    trainers = [
        InnerTrainer(cfg, m, store.root.parent / f"checkpoints{i}") for i, m in enumerate(models)
    ]
    params = [[p for _, p in lora_named_parameters(m)] for m in models]
    global_params = [p.detach().clone().requires_grad_(True) for p in params[0]]
    outer = make_outer_optimizer(global_params, cfg)
    per_epoch = max(steps // epochs, 1)
    records: list[list[ReplayRecord]] = [[] for _ in range(nodes)]
    step, epoch = 0, 0
    while step < steps:
        n = min(per_epoch, steps - step)
        for i in range(nodes):
            records[i] += trainers[i].run(shards[i], epoch=epoch, first_step=step, n=n)
        with torch.no_grad():  # the all-reduce and the outer step, in-process
            for j, g in enumerate(global_params):
                g.grad = sum(g.detach() - params[i][j].detach() for i in range(nodes)) / nodes
            outer.step()
            for i in range(nodes):
                for p, g in zip(params[i], global_params, strict=True):
                    p.copy_(g.detach())
        step, epoch = step + n, epoch + 1
    compute = sum(t.compute_s for t in trainers)
    reports = []
    for i in range(nodes):
        for path in trainers[i].checkpoints.values():
            store.put(path)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "a.safetensors"
            save_adapter(models[i], path)
            digest = store.put(path)
        node = "0x" + f"{i + 1:040x}"
        bundle = ReplayBundle(
            node=node, pool_id=POOL, round=ROUND, run_id="bench", node_index=i,
            node_count=nodes, batch_size=cfg.batch_size,
            records=[r.to_json() for r in records[i]], checkpoints=sorted(trainers[i].checkpoints),
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
