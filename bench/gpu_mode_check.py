"""Does a CPU replay tell a GPU-trained run from a CPU-trained one? (execution-mode check)

Trains ``--steps`` inner steps of the pool's tiny model twice, once on the GPU and once on
the CPU (same weights, same batches, checkpoints every ``checkpoint_every`` steps), then
replays every segment of both on the CPU with the validator's ``ReplayChecker``: prints, per
run, whether every segment was accepted (the GPU run must pass the replay tolerances) and the
relative loss differences (the GPU run's must not all be 0.0, the CPU run's are). Needs CUDA.

    python bench/gpu_mode_check.py [--steps 16] > gpu_mode.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import torch


def _observing(cfg):  # type: ignore[no-untyped-def]
    """offchain.validator.checks.ObservingChecker, without importing offchain (its deps)."""
    from trainer.replay import ReplayChecker

    class Observing(ReplayChecker):
        rel_diffs: list[float]

        def _compare(self, record, shard):  # type: ignore[no-untyped-def]
            verdict = super()._compare(record, shard)
            self.rel_diffs.append(verdict.loss_rel_diff)
            return verdict

    checker = Observing(cfg)
    checker.rel_diffs = []
    return checker


def run(device: str, steps: int, out: Path) -> dict[str, object]:
    from trainer.config import TrainConfig
    from trainer.data import TrainingData
    from trainer.inner import InnerTrainer
    from trainer.models import attach_lora, build_base_model, build_tokenizer

    cfg = TrainConfig()
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(1, 0, 0, 2)
    model = attach_lora(build_base_model(cfg.model, device=device), cfg.model)
    model.train()
    inner = InnerTrainer(cfg, model, out / device)
    records = inner.run(shard, epoch=0, first_step=0, n=steps)
    checker = _observing(cfg)  # on the CPU, as a validator without a GPU
    accepted = []
    every = cfg.replay.checkpoint_every
    for lo in range(0, len(records), every):
        hi = min(lo + every, len(records))
        verdict = checker.check_segment(
            inner.checkpoints[records[lo].start], inner.checkpoints[records[lo].end], shard,
            records[lo:hi],
        )  # fmt: skip
        accepted.append(verdict.accepted)
    return {
        "device": device,
        "segments_accepted": accepted,
        "rel_diffs": checker.rel_diffs,
        "all_exact": all(d == 0.0 for d in checker.rel_diffs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for device in ("cuda", "cpu") if torch.cuda.is_available() else ("cpu",):
            rows.append(run(device, args.steps, Path(tmp)))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(json.dumps({"gpu": gpu, "torch": torch.__version__, "python": platform.python_version(),
                      "runs": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
