"""QLoRA on one GPU: a ~1B LLaMA-shaped model built from a config, trained the way a node does.

What it measures, in one run, on one GPU (``--size 1b``, the default):

1. the model is built from a config (TinyLlama-1.1B shape: hidden 2048, 22 layers, 32 heads,
   4 KV heads; seeded random weights, nothing downloaded), saved with ``save_pretrained``;
2. it is loaded through the trainer (``trainer.models``) twice: in bf16, and in 4-bit (QLoRA:
   NF4 + double quantization + bf16 compute, gradient checkpointing). For each: weights memory
   and the peak memory and time of a training step (batch ``--batch``, ``--max-length``
   tokens of chat data, loss on the answers only);
3. QLoRA training as a node does it (``tests/trainer/conftest.run_local_steps``'s scheme):
   two nodes from the same fresh adapter on their own shards, gradients accumulated over an
   epoch, then an AdamW step; every step recorded (loss, gradient projection);
4. agreement: cosine similarity and relative distance between the two nodes' adapters (the
   validator's agreement check), and the replay check of two recorded steps replayed from the
   node's epoch checkpoint on a freshly loaded 4-bit model (loss relative difference and
   gradient cosine: the tolerances a validator of a QLoRA pool needs).

    python bench/gpu_check.py                 # needs CUDA + bitsandbytes (pip install .[gpu])
    python bench/gpu_check.py --write-docs    # also writes the GPU section of benchmarks.md
    python bench/gpu_check.py --size tiny --cpu   # a logic check of this script on a CPU

Prints one JSON document (also written to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.artifacts import load_adapter_state, save_adapter  # noqa: E402
from trainer.config import DataConfig, ModelConfig, TrainConfig  # noqa: E402
from trainer.data import TrainingData  # noqa: E402
from trainer.models import (  # noqa: E402
    attach_lora,
    build_base_model,
    build_tokenizer,
    lora_named_parameters,
)
from trainer.replay import (  # noqa: E402
    GradientProjector,
    ReplayChecker,
    ReplayRecord,
    step_loss_and_grads,
)
from trainer.tokenizer import build_byte_tokenizer  # noqa: E402

BEGIN, END = "<!-- gpu-check:begin -->", "<!-- gpu-check:end -->"
GIB = 1024**3

SIZES: dict[str, dict[str, int]] = {
    "1b": {  # TinyLlama-1.1B's shape
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 22,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "vocab_size": 32000,
    },
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 512,
    },
}


def build_folder(folder: Path, size: str) -> int:
    """A seeded LLaMA of ``size`` saved with the byte tokenizer; returns its parameter count."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_byte_tokenizer()
    config = LlamaConfig(
        **SIZES[size],
        max_position_embeddings=2048,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    with torch.device("cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def chat_file(path: Path, n: int = 512) -> Path:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You are a careful calculator. " * 4},
                {"role": "user", "content": f"What is {a} plus {b}? Explain briefly."},
                {"role": "assistant", "content": f"{a} plus {b} is {a + b}. " * 3},
            ]
        }
        for a, b in ((i * 7919 % 1000, i * 104729 % 1000) for i in range(n))
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _mem() -> float:
    return torch.cuda.max_memory_allocated() / GIB if torch.cuda.is_available() else 0.0


def measure(cfg: TrainConfig, data: TrainingData, steps: int) -> dict[str, Any]:
    """Weights memory, peak step memory and mean step time of ``cfg.model`` with LoRA."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    weights = _mem()
    model.train()
    shard = data.shard(0, 0, 0, 1)
    times = []
    for step in range(steps + 1):
        _sync()
        t0 = time.perf_counter()
        loss, _ = step_loss_and_grads(model, shard.batch(step, cfg.batch_size))
        _sync()
        if step:  # the first step warms kernels up
            times.append(time.perf_counter() - t0)
    result = {
        "weights_gib": round(weights, 3),
        "peak_step_gib": round(_mem(), 3),
        "step_s": round(sum(times) / len(times), 4),
        "loss": round(loss, 4),
    }
    del model
    return result


def train_node(
    cfg: TrainConfig, data: TrainingData, node: int, out: Path, steps: int, per_epoch: int
) -> dict[str, Any]:
    """A node's QLoRA steps: gradients accumulated per epoch, then AdamW (as hivemind does)."""
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    model.train()
    named = lora_named_parameters(model)
    params = [p for _, p in named]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    projector = GradientProjector.for_model(
        model, cfg.replay.projection_dim, cfg.replay.projection_seed
    )
    shard = data.shard(1, 0, node, 2)
    records, checkpoints = [], {}
    acc = [torch.zeros_like(p) for p in params]
    for step in range(steps):
        epoch = step // per_epoch
        if epoch not in checkpoints:
            checkpoints[epoch] = out / f"node{node}_epoch{epoch}.safetensors"
            save_adapter(model, checkpoints[epoch])
        loss, grads = step_loss_and_grads(model, shard.batch(step, cfg.batch_size))
        records.append(ReplayRecord.make(step, epoch, loss, projector.project(grads)))
        for a, g in zip(acc, grads, strict=True):
            a += g
        if step % per_epoch == per_epoch - 1:
            for p, a in zip(params, acc, strict=True):
                p.grad = a / per_epoch
            opt.step()
            acc = [torch.zeros_like(p) for p in params]
    final = out / f"node{node}.safetensors"
    save_adapter(model, final)
    del model
    return {"shard": shard, "records": records, "checkpoints": checkpoints, "adapter": final}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    folder = work / "model"
    t0 = time.perf_counter()
    params = build_folder(folder, args.size)
    build_s = time.perf_counter() - t0
    quant = "none" if args.cpu else "4bit"
    qlora = ModelConfig(
        source="pretrained",
        path=folder,
        dtype="fp32" if args.cpu else "bf16",
        quantization=quant,
        gradient_checkpointing=True,
        lora_r=16,
        lora_alpha=32,
    )
    cfg = TrainConfig(
        model=qlora,
        data=DataConfig(
            source="jsonl", path=chat_file(work / "chat.jsonl"), max_length=args.max_length
        ),
        batch_size=args.batch,
        learning_rate=2e-4,
    )
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    bf16 = cfg.model_copy(
        update={
            "model": qlora.model_copy(
                update={"quantization": "none", "gradient_checkpointing": False}
            )
        }
    )
    memory = {
        "bf16 LoRA": measure(bf16, data, args.measure_steps),
        f"{quant} QLoRA + checkpointing": measure(cfg, data, args.measure_steps),
    }
    nodes = [train_node(cfg, data, i, work, args.steps, args.steps_per_epoch) for i in range(2)]
    fresh = _flat(load_adapter_state(nodes[0]["checkpoints"][0]))
    updates = [_flat(load_adapter_state(n["adapter"])) - fresh for n in nodes]
    agreement = {
        "update_cosine": float(torch.nn.functional.cosine_similarity(*updates, dim=0)),
        "update_rel_distance": float((updates[0] - updates[1]).norm() / updates[0].norm()),
    }
    checker = ReplayChecker(cfg)
    replays = []
    for step in (1, args.steps - 1):
        record = nodes[0]["records"][step]
        verdict = checker.check(
            nodes[0]["checkpoints"][record.epoch], nodes[0]["shard"], step, record
        )
        replays.append(
            {
                "step": step,
                "loss_rel_diff": verdict.loss_rel_diff,
                "cosine": verdict.cosine,
                "accepted": verdict.accepted,
            }
        )
    losses = [r.loss for r in nodes[0]["records"]]
    return {
        "machine": _machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "size": args.size,
        "parameters": params,
        "build_s": round(build_s, 1),
        "batch": args.batch,
        "max_length": data.max_length,
        "memory": memory,
        "memory_ratio_qlora_to_bf16": round(
            memory[f"{quant} QLoRA + checkpointing"]["peak_step_gib"]
            / max(memory["bf16 LoRA"]["peak_step_gib"], 1e-9),
            3,
        ),
        "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)],
        "agreement": agreement,
        "replays": replays,
    }


def _flat(state: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([state[k].reshape(-1).double() for k in sorted(state)])


def _machine() -> str:
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        return f"{p.name} ({p.total_memory / GIB:.0f} GiB), torch {torch.__version__}"
    return f"{platform.processor() or platform.machine()} CPU, torch {torch.__version__}"


def write_section(result: dict[str, Any], path: Path) -> None:
    mem = result["memory"]
    rows = [
        f"| {name} | {m['weights_gib']:.2f} | {m['peak_step_gib']:.2f} | {m['step_s']:.3f} |"
        for name, m in mem.items()
    ]
    agreement = (
        f"cosine {result['agreement']['update_cosine']:.4f}, relative distance "
        f"{result['agreement']['update_rel_distance']:.4f}"
    )
    replays = ", ".join(
        f"step {r['step']}: loss rel. diff {r['loss_rel_diff']:.2e}, cosine {r['cosine']:.4f}"
        for r in result["replays"]
    )
    section = "\n".join(
        [
            BEGIN,
            f"Machine: {result['machine']}. Date: {result['date']}. Script: `bench/gpu_check.py`.",
            "",
            f"LLaMA-shaped model built from a config ({result['parameters'] / 1e9:.2f} B "
            f"parameters), LoRA r=16 on q_proj/v_proj, batch {result['batch']} x "
            f"{result['max_length']} tokens of chat data (loss on the answers).",
            "",
            "| load | weights (GiB) | peak in a step (GiB) | step (s) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Peak memory QLoRA / bf16: {result['memory_ratio_qlora_to_bf16']:.2f}. Loss "
            f"{result['loss_first_last'][0]} -> {result['loss_first_last'][1]}. Two nodes' "
            f"adapter updates (different shards, same start): {agreement}. Replay on a fresh "
            f"4-bit load: {replays}.",
            END,
        ]
    )
    text = path.read_text()
    if BEGIN in text:
        pattern = re.escape(BEGIN) + ".*?" + re.escape(END)
        text = re.sub(pattern, lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## QLoRA on one GPU\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="1b")
    parser.add_argument("--cpu", action="store_true", help="no GPU: fp32, no quantization")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--measure-steps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--steps-per-epoch", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if not args.cpu and not torch.cuda.is_available():
        raise SystemExit("bench/gpu_check.py needs a CUDA GPU (or --cpu --size tiny).")
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.write_docs:
        write_section(result, ROOT / "docs" / "benchmarks.md")
    if not all(math.isfinite(r["loss_rel_diff"]) for r in result["replays"]):
        raise SystemExit("a replay produced a non-finite loss")


if __name__ == "__main__":
    main()
