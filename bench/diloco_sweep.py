"""In-process sweep of DiLoCo's settings (outer lr, momentum, Nesterov, H, inner lr).

``bench/trainer_bench.py`` runs real hivemind peers (about 15 minutes a run on a loaded
machine); this script simulates the same rounds in one process, with the same model, data,
shards and sample budget, so that many settings can be compared:

* each of ``--peers`` peers is an in-process LoRA model on its deterministic shard
  (``TrainingData.shard(pool 1, round 0, i, peers)``) with its own inner AdamW
  (``trainer.replay.make_inner_optimizer``, state kept across outer steps as in a round);
* every ``H`` inner steps the peers' pseudo-gradients ``A_global - A_local``
  (``OuterSync.pseudo_gradient``) are rounded to the wire's precision (``--compression``),
  averaged with equal weights (every peer trained the same samples), and every peer applies
  the outer step with ``trainer.diloco.OuterSync.apply`` (the trainer's own code: honest bound,
  outer SGD with (Nesterov) momentum, copy into the working weights);
* held-out loss of the final ``A_global`` (every peer's weights) after ``--samples`` samples.

It also trains the lone peer ((c) of the trainer bench: the whole training pool, an AdamW step
on every batch) for each inner lr given by ``--alone-lr``, so that a setting is compared with
(c) at (c)'s best learning rate. Results accumulate in ``--results`` (JSON, keyed by setting;
runs are skipped when already there) and ``--write-docs`` renders them into
docs/benchmarks.md between the ``diloco-sweep`` markers.

    .venv/bin/python bench/diloco_sweep.py --inner-steps 250 --outer-lr 0.5 0.7 1.0 \\
        --outer-momentum 0 0.5 0.9 --nesterov on --lr 0.01 --alone-lr 0.01 --jobs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import multiprocessing as mp
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
BEGIN, END = "<!-- diloco-sweep:begin -->", "<!-- diloco-sweep:end -->"


@dataclass(frozen=True)
class Setting:
    """One simulated scheme: ``kind="diloco"`` (b) or ``kind="alone"`` (c)."""

    kind: str
    lr: float
    inner_steps: int = 0
    outer_lr: float = 0.0
    outer_momentum: float = 0.0
    nesterov: bool = True

    @property
    def key(self) -> str:
        if self.kind == "alone":
            return f"alone lr={self.lr:g}"
        nest = (
            "no momentum"
            if self.outer_momentum == 0
            else ("nesterov" if self.nesterov else "heavy-ball")
        )
        return (
            f"diloco H={self.inner_steps} lr={self.lr:g} outer_lr={self.outer_lr:g} "
            f"m={self.outer_momentum:g} {nest}"
        )


def make_config(setting: Setting, args: argparse.Namespace) -> Any:
    """The trainer bench's configuration with this setting's values."""
    from trainer_bench import bench_config

    h = setting.inner_steps or 1
    ns = argparse.Namespace(
        batch_size=args.batch_size,
        lr=setting.lr,
        outer_steps=max(1, args.samples // (args.peers * h * args.batch_size)),
        inner_steps=h,
        outer_lr=setting.outer_lr or 1.0,
        outer_momentum=setting.outer_momentum,
        compression=args.compression,
    )
    cfg = bench_config(ns)
    return cfg.model_copy(
        update={"diloco": cfg.diloco.model_copy(update={"outer_nesterov": setting.nesterov})}
    )


def wire_round(t: torch.Tensor, compression: str) -> torch.Tensor:
    """``t`` as the all-reduce carries it (fp16 rounding; 8-bit is not emulated)."""
    return t.half().float() if compression == "float16" else t


def run_setting(setting: Setting, args: argparse.Namespace) -> dict[str, Any]:
    """Train one setting from the seeded base adapter; its held-out loss and timings."""
    torch.set_num_threads(1)
    from trainer.data import TrainingData
    from trainer.diloco import OuterSync
    from trainer.evaluation import evaluate_loss
    from trainer.models import attach_lora, build_base_model, build_tokenizer, lora_named_parameters
    from trainer.replay import make_inner_optimizer, step_loss_and_grads

    cfg = make_config(setting, args)
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    heldout = data.heldout()
    t0 = time.perf_counter()
    clipped = 0
    curve: list[float] = []
    if setting.kind == "alone":
        shard = data.shard(1, 0, 0, 1)
        model = attach_lora(build_base_model(cfg.model), cfg.model)
        opt = make_inner_optimizer([p for _, p in lora_named_parameters(model)], cfg)
        for step in range(args.samples // args.batch_size):
            step_loss_and_grads(model, shard.batch(step, args.batch_size))
            opt.step()
            opt.zero_grad(set_to_none=True)
        final = model
    else:
        n, h = args.peers, setting.inner_steps
        shards = [data.shard(1, 0, i, n) for i in range(n)]
        models = [attach_lora(build_base_model(cfg.model), cfg.model) for _ in range(n)]
        params = [[p for _, p in lora_named_parameters(m)] for m in models]
        inner = [make_inner_optimizer(ps, cfg) for ps in params]
        syncs = [OuterSync(cfg, dht=None, run_id="sweep", params=ps, group_size=1) for ps in params]
        step = 0
        for epoch in range(cfg.max_epochs or 1):
            for model, shard, opt in zip(models, shards, inner, strict=True):
                for s in range(step, step + h):
                    step_loss_and_grads(model, shard.batch(s, args.batch_size))
                    opt.step()
                    opt.zero_grad(set_to_none=True)
            step += h
            pseudo = [
                [wire_round(t, args.compression) for t in sync.pseudo_gradient()] for sync in syncs
            ]
            averaged = [
                wire_round(sum(ts) / n, args.compression) for ts in zip(*pseudo, strict=True)
            ]
            for sync in syncs:
                clipped += sync.apply(epoch, averaged)
            if args.curve:
                curve.append(round(evaluate_loss(models[0], heldout).loss, 4))
        final = models[0]
    seconds = time.perf_counter() - t0
    loss = evaluate_loss(final, heldout).loss
    out = {
        "key": setting.key,
        "setting": asdict(setting),
        "loss": loss,
        "seconds": seconds,
        "clipped": clipped,
        "samples": args.samples,
        "curve": curve,
    }
    print(json.dumps(out), flush=True)
    return out


def settings(args: argparse.Namespace) -> list[Setting]:
    out = [Setting("alone", lr) for lr in args.alone_lr]
    nesterov = {"on": [True], "off": [False], "both": [True, False]}[args.nesterov]
    for h, lr, olr, om, nest in itertools.product(
        args.inner_steps, args.lr, args.outer_lr, args.outer_momentum, nesterov
    ):
        if om == 0 and not nest and True in nesterov:
            continue  # momentum 0: Nesterov on and off are the same step
        out.append(Setting("diloco", lr, h, olr, om, nest))
    return out


def write_section(results: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    meta = results.get("_meta") or {}
    runs = [r for k, r in results.items() if not k.startswith("_")]  # _meta, notes
    alone = {r["setting"]["lr"]: r["loss"] for r in runs if r["setting"]["kind"] == "alone"}

    def vs(r: dict[str, Any]) -> str:
        ref = alone.get(r["setting"]["lr"])
        return f"{r['loss'] / ref:.3f}x" if ref else "n/a"

    rows = sorted((r for r in runs if r["setting"]["kind"] == "diloco"), key=lambda r: r["loss"])
    lines = [
        BEGIN,
        f"Machine: {meta.get('machine', '?')}. Date: {meta.get('date', '?')}. Script: "
        "`bench/diloco_sweep.py` (in-process simulation, see its docstring).",
        "",
        f"Same model, data and shards as the trainer bench; {args.peers} peers; batch "
        f"{args.batch_size}; every setting sees **{args.samples:,} samples**; all-reduce "
        f"emulated as `{args.compression}` rounding. (c) one peer alone, AdamW on every batch: "
        + ", ".join(f"lr {lr:g} → {loss:.3f}" for lr, loss in sorted(alone.items()))
        + ".",
        "",
        "| H (inner steps) | syncs | inner lr | outer lr | outer momentum | Nesterov "
        "| held-out loss | vs (c) at its inner lr | loss after each sync |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["setting"]
        syncs = r["samples"] // (args.peers * s["inner_steps"] * args.batch_size)
        nest = "n/a" if s["outer_momentum"] == 0 else ("yes" if s["nesterov"] else "no")
        lines.append(
            f"| {s['inner_steps']} | {syncs} | {s['lr']:g} | {s['outer_lr']:g} | "
            f"{s['outer_momentum']:g} | {nest} | {r['loss']:.3f} | "
            f"{vs(r)} | "
            f"{', '.join(f'{x:.2f}' for x in r['curve']) or 'n/a'} |"
        )
    lines.append(END)
    section = "\n".join(lines)
    text = path.read_text()
    if BEGIN in text:
        text = re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=40_000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--inner-steps", type=int, nargs="*", default=[250])
    parser.add_argument("--lr", type=float, nargs="*", default=[1e-2])
    parser.add_argument("--outer-lr", type=float, nargs="*", default=[0.7])
    parser.add_argument("--outer-momentum", type=float, nargs="*", default=[0.9])
    parser.add_argument("--nesterov", choices=["on", "off", "both"], default="on")
    parser.add_argument("--alone-lr", type=float, nargs="*", default=[])
    parser.add_argument("--compression", default="float16", choices=["none", "float16"])
    parser.add_argument("--curve", action="store_true", help="Eval after every outer step.")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--results", type=Path, default=ROOT / "bench" / "results" / "diloco_sweep.json"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    results: dict[str, Any] = json.loads(args.results.read_text()) if args.results.exists() else {}
    todo = [s for s in settings(args) if s.key not in results]
    if todo:
        from trainer_bench import machine

        results["_meta"] = {
            "machine": machine(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if todo:
        with mp.get_context("spawn").Pool(max(1, args.jobs)) as pool:
            for out in pool.imap_unordered(_run, [(s, args) for s in todo]):
                results[out["key"]] = out  # saved as each finishes: a stopped sweep resumes
                args.results.write_text(json.dumps(results, indent=2, sort_keys=True))
    if args.write_docs:
        write_section(results, args, ROOT / "docs" / "benchmarks.md")


def _run(job: tuple[Setting, argparse.Namespace]) -> dict[str, Any]:
    return run_setting(*job)


if __name__ == "__main__":
    main()
