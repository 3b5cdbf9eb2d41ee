"""Measure the honest spread of a DiLoCo round's adapters -> the agreement tolerances.

Runs one real round of ``--peers`` local hivemind peers (subprocesses on loopback) per
(LoRA compression on the wire, base dtype) setting, then computes what the validator's
agreement check sees for each honest adapter (relative L2 distance and cosine of its update to
the round's element-wise median update) and for the cheat variants built from an honest one:
noise of 0.74x the update norm added, the update scaled by 0.3 (lazy) and by 1.7. Prints JSON
(one object per setting); ``offchain/validator/calibration.py`` holds the resulting table.

    .venv/bin/python bench/agreement_calibration.py [--peers 3] [--settings none:fp32,...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def agreement_of(updates: dict[str, dict[str, torch.Tensor]]) -> dict[str, tuple[float, float]]:
    """node -> (relative distance, cosine) of its update to the median update."""
    flat = {
        k: torch.cat([v[n].reshape(-1).double() for n in sorted(v)]) for k, v in updates.items()
    }
    median = torch.stack(list(flat.values())).median(dim=0).values
    out = {}
    for k, f in flat.items():
        dist = float((f - median).norm() / max(float(median.norm()), 1e-30))
        cos = float(torch.nn.functional.cosine_similarity(f, median, dim=0))
        out[k] = (dist, cos)
    return out


def measure(
    compression: str, dtype: str, peers: int, out: Path, seed: int = 0
) -> dict[str, object]:
    from trainer.artifacts import load_adapter_state
    from trainer.config import DataConfig, DilocoConfig, HivemindConfig, ModelConfig, TrainConfig
    from trainer.local import LocalSwarm
    from trainer.models import attach_lora, build_base_model, lora_state

    cfg = TrainConfig(
        model=ModelConfig(dtype=dtype, seed=seed),  # type: ignore[arg-type]
        data=DataConfig(seed=seed),
        max_epochs=3,
        max_local_steps=60,
        torch_threads=1,
        diloco=DilocoConfig(inner_steps=4, sync_wait=30.0, compression=compression),  # type: ignore[arg-type]
        hivemind=HivemindConfig(
            averaging_timeout=30.0, barrier_timeout=90.0, join_grace=60.0, start_delay=1.0,
            run_prefix=f"calib-{compression}-{dtype}-{seed}",
        ),
    )  # fmt: skip
    started = time.perf_counter()
    with LocalSwarm(cfg, peers=peers, out_root=out) as swarm:
        codes = swarm.wait(timeout=600)
        if any(c != 0 for c in codes):
            raise SystemExit(f"{compression}/{dtype}: peers exited {codes}")
        results = swarm.results()
    base = lora_state(attach_lora(build_base_model(cfg.model), cfg.model))
    updates = {}
    for i, r in enumerate(results):
        state = load_adapter_state(Path(r.adapter_path))
        updates[f"honest{i}"] = {k: state[k].float() - base[k].float() for k in state}
    honest = agreement_of(updates)
    one = updates["honest0"]
    norm = torch.cat([v.reshape(-1) for v in one.values()]).norm()
    gen = torch.Generator().manual_seed(0)
    noise = {k: torch.randn(v.shape, generator=gen) for k, v in one.items()}
    nnorm = torch.cat([v.reshape(-1) for v in noise.values()]).norm()
    variants = {
        "noise_0.74": {k: v + noise[k] * (0.74 * norm / nnorm) for k, v in one.items()},
        "scaled_0.3": {k: v * 0.3 for k, v in one.items()},
        "scaled_1.7": {k: v * 1.7 for k, v in one.items()},
        "scaled_0.95": {k: v * 0.95 for k, v in one.items()},
    }
    cheats = {}
    for name, upd in variants.items():
        cheats[name] = agreement_of({**updates, "cheat": upd})["cheat"]
    from offchain.validator.calibration import agreement_tolerance

    tol = agreement_tolerance(cfg)
    rejected = [k for k, (d, c) in honest.items() if d > tol.max_distance or c < tol.min_cosine]
    return {
        "seed": seed,
        "max_distance": tol.max_distance,
        "honest_rejected": len(rejected),
        "cheats_passing": [k for k, (d, _) in cheats.items() if d <= tol.max_distance],
        "compression": compression,
        "dtype": dtype,
        "peers": peers,
        "seconds": round(time.perf_counter() - started, 1),
        "honest_max_distance": max(d for d, _ in honest.values()),
        "honest_min_cosine": min(c for _, c in honest.values()),
        "cheats": {k: {"distance": d, "cosine": c} for k, (d, c) in cheats.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="Rounds (seeds) per setting.")
    parser.add_argument(
        "--settings", default="none:fp32,float16:fp32,uint8:fp32,float16:bf16",
        help="compression:dtype pairs",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    for item in args.settings.split(","):
        compression, dtype = item.split(":")
        for seed in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="calib-") as tmp:
                row = measure(compression, dtype, args.peers, Path(tmp), seed)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
