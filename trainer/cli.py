"""``loranet train``: run a collaborative LoRA round on this machine, or join one.

Heavy modules (torch, transformers, hivemind) are imported inside the command, so the rest of
the ``loranet`` CLI starts fast.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import typer

from offchain.cli.options import JsonResultOpt, JsonSummaryOpt
from trainer.config import DataConfig, DilocoConfig, HivemindConfig, ModelConfig, TrainConfig
from trainer.errors import TrainerConfigError

_DILOCO = DilocoConfig()  # the pool defaults the options start from

logger = logging.getLogger(__name__)


def train(
    ctx: typer.Context,
    peers: int = typer.Option(
        2, "--peers", "-p", min=1, help="Local mode: how many peers to run on this machine."
    ),
    initial_peer: list[str] = typer.Option(
        [],
        "--initial-peer",
        help="Join mode: multiaddress of a peer of the run (repeatable). Trains one node "
        "in this process; needs --node-index and --node-count.",
    ),
    node_index: int | None = typer.Option(
        None, "--node-index", help="Join mode: this node's index."
    ),
    node_count: int | None = typer.Option(
        None, "--node-count", help="Join mode: nodes in the run."
    ),
    pool_id: int = typer.Option(0, "--pool", help="Pool id (seeds the shards, names the run)."),
    round_: int = typer.Option(
        0, "--round", help="Round number (seeds the shards, names the run)."
    ),
    epochs: int = typer.Option(
        10, "--epochs", min=1, help="DiLoCo outer steps (all-reduces) to train."
    ),
    inner_steps: int = typer.Option(
        8, "--inner-steps", min=1, help="Inner AdamW steps per outer step (DiLoCo H)."
    ),
    outer_lr: float = typer.Option(_DILOCO.outer_lr, "--outer-lr", help="Outer SGD learning rate."),
    outer_momentum: float = typer.Option(
        _DILOCO.outer_momentum, "--outer-momentum", help="Outer SGD momentum (0: none)."
    ),
    outer_nesterov: bool = typer.Option(
        _DILOCO.outer_nesterov,
        "--outer-nesterov/--outer-heavy-ball",
        help="Nesterov or heavy-ball outer momentum (with --outer-momentum > 0).",
    ),
    compression: str = typer.Option(
        "float16", "--compression", help="All-reduce compression: none, float16 or uint8."
    ),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Examples per local step."),
    target_batch_size: int = typer.Option(
        64, "--target-batch-size", min=1, help="Unused since DiLoCo rounds (kept for scripts)."
    ),
    learning_rate: float = typer.Option(3e-2, "--lr", help="AdamW learning rate."),
    matchmaking_time: float = typer.Option(
        1.0, "--matchmaking-time", help="Unused since DiLoCo rounds (see --sync-wait)."
    ),
    averaging_timeout: float = typer.Option(
        10.0, "--averaging-timeout", help="All-reduce timeout (s)."
    ),
    model_path: Path | None = typer.Option(
        None,
        "--model-path",
        help="Local from_pretrained folder (default: the tiny built-in model).",
    ),
    data_file: Path | None = typer.Option(
        None,
        "--data-file",
        help="Data: a text file (one example per line), a JSONL or Parquet file of 'text', "
        "'prompt'+'completion' or chat 'messages' records, or a Hugging Face datasets folder "
        "(save_to_disk). Default: the built-in arithmetic task.",
    ),
    data_format: str = typer.Option(
        "auto", "--data-format", help="auto (from the path), text, jsonl, parquet or hf_disk."
    ),
    max_length: int | None = typer.Option(
        None,
        "--max-length",
        min=4,
        help="Tokens per example; longer ones are cut (and counted in the log). Default: 64 for "
        "the arithmetic task, else the tokenizer's limit capped at 1024.",
    ),
    lora_targets: str = typer.Option(
        "auto",
        "--lora-targets",
        help="Modules LoRA adapts, comma-separated (q_proj,v_proj), all-linear, or auto "
        "(peft's default for the architecture: q_proj,v_proj for LLaMA/Qwen2/Mistral, c_attn "
        "for GPT-2).",
    ),
    lora_r: int = typer.Option(8, "--lora-r", min=1, help="LoRA rank."),
    lora_alpha: int = typer.Option(16, "--lora-alpha", min=1, help="LoRA alpha (scale alpha/r)."),
    lora_dropout: float = typer.Option(
        0.0, "--lora-dropout", min=0.0, max=0.99, help="LoRA dropout (0 keeps replays exact)."
    ),
    dtype: str = typer.Option(
        "auto", "--dtype", help="Base weights: fp32, bf16, fp16 or auto (bf16 on a GPU, else fp32)."
    ),
    quantization: str = typer.Option(
        "auto",
        "--quantization",
        help="Base model quantization: none, 8bit, 4bit (QLoRA: NF4 + double quantization, "
        "bf16 compute; GPU + the gpu extra) or auto (the GPU tier's suggestion, none on CPU).",
    ),
    gradient_checkpointing: bool = typer.Option(
        False,
        "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Recompute activations in the backward pass (less memory, ~30% more compute).",
    ),
    base_adapter: Path | None = typer.Option(None, "--base-adapter", help="Adapter to start from."),
    out: Path = typer.Option(Path("train-output"), "--out", "-o", help="Output folder."),
    host_maddr: str = typer.Option(
        "/ip4/127.0.0.1/tcp/0", "--host-maddr", help="Address the DHT listens on."
    ),
    as_json: JsonSummaryOpt = False,
) -> None:
    """Train a LoRA adapter with hivemind peers; print eval loss before/after and the hash.

    Local mode (default): --peers N peers on loopback. Join mode: --initial-peer MADDR.
    """
    cfg = TrainConfig(
        model=model_config(
            model_path,
            lora_targets=lora_targets,
            lora_r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            dtype=dtype,
            quantization=quantization,
            gradient_checkpointing=gradient_checkpointing,
        ),
        data=data_config(data_file, data_format=data_format, max_length=max_length),
        hivemind=HivemindConfig(
            host_maddrs=(host_maddr,),
            target_batch_size=target_batch_size,
            matchmaking_time=matchmaking_time,
            averaging_timeout=averaging_timeout,
        ),
        diloco=DilocoConfig(
            inner_steps=inner_steps,
            outer_lr=outer_lr,
            outer_momentum=outer_momentum,
            outer_nesterov=outer_nesterov,
            compression=_compression(compression),
        ),
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_epochs=epochs,
        max_local_steps=epochs * inner_steps,
    )
    use_json = as_json or bool(getattr(ctx.obj, "json_output", False))
    _preflight(cfg)
    if initial_peer:
        if node_index is None or node_count is None:
            raise TrainerConfigError(
                "Join mode (--initial-peer) needs --node-index and --node-count."
            )
        summary = _join(
            cfg, initial_peer, node_index, node_count, pool_id, round_, base_adapter, out
        )
    else:
        summary = _local(cfg, peers, pool_id, round_, base_adapter, out)
    _print_summary(summary, use_json)


def model_config(
    path: Path | None,
    *,
    lora_targets: str = "auto",
    lora_r: int = 8,
    lora_alpha: int = 16,
    lora_dropout: float = 0.0,
    dtype: str = "auto",
    quantization: str = "auto",
    gradient_checkpointing: bool = False,
) -> ModelConfig:
    """The ``ModelConfig`` the flags describe; ``auto`` precision from this machine's tier."""
    from trainer.hardware import cuda_vram_bytes, resolve_precision

    dt, quant = resolve_precision(dtype, quantization, cuda_vram_bytes(), pretrained=bool(path))
    targets = [t.strip() for t in lora_targets.split(",") if t.strip()]
    return ModelConfig(
        source="pretrained" if path else "tiny",
        path=path,
        lora_target_modules=None if targets in ([], ["auto"]) else tuple(targets),
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        dtype=dt,
        quantization=quant,
        gradient_checkpointing=gradient_checkpointing,
    )


def data_config(
    path: Path | None, *, data_format: str = "auto", max_length: int | None = None
) -> DataConfig:
    """The ``DataConfig`` the flags describe (the arithmetic task without a path)."""
    formats = ("auto", "text", "jsonl", "parquet", "hf_disk")
    if data_format not in formats:
        raise TrainerConfigError(f"--data-format must be one of {', '.join(formats)}.")
    if path is None:
        return DataConfig(max_length=max_length)
    return DataConfig(source=data_format, path=path, max_length=max_length)  # type: ignore[arg-type]


def _preflight(cfg: TrainConfig) -> None:
    """Refuse before any peer starts: precision this machine cannot run, unreadable model
    folder or data, LoRA targets that do not fit."""
    from trainer.data import load_data_examples
    from trainer.hardware import require_precision
    from trainer.models import build_tokenizer

    require_precision(cfg.model)
    if cfg.model.source == "pretrained":
        build_tokenizer(cfg.model)  # a readable error for a folder that is not a model
    load_data_examples(cfg.data)


def hash_path(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A model folder, a data file or a datasets folder."),
    publish: bool = typer.Option(
        False,
        "--publish",
        help="Also put it into this machine's artifact store (LORANET_ARTIFACTS_STORE) and "
        "print the URI for --base-model-uri / --dataset-uri.",
    ),
    as_json: JsonResultOpt = False,
) -> None:
    """Print the content hash of a model folder or data set: what a pool creator puts on chain
    as baseModelHash / datasetHash (docs/trainer.md). A file hashes to the SHA-256 of its
    bytes; a folder to the SHA-256 of its canonical manifest (files by path, size and hash)."""
    from trainer.content_hash import content_hash, folder_manifest, publish_folder

    digest = content_hash(path)
    files = folder_manifest(path) if path.is_dir() else []
    summary: dict[str, Any] = {
        "path": str(path),
        "kind": "folder" if path.is_dir() else "file",
        "hash": digest,
        "files": len(files) if files else 1,
        "bytes": sum(f.size for f in files) if files else path.stat().st_size,
    }
    if publish:
        from offchain.artifacts import open_store
        from offchain.cli.context import state

        settings = state(ctx).settings
        store = open_store(settings.artifacts, data_dir=settings.data_dir, network=settings.network)
        ref = publish_folder(path, store.put, store.put_bytes) if files else store.put(path)
        assert ref.sha256.removeprefix("0x") == digest.removeprefix("0x")
        summary["uri"] = ref.uri
    if as_json or bool(getattr(ctx.obj, "json_output", False)):
        typer.echo(json.dumps(summary, sort_keys=True))
    else:
        typer.echo(
            f"{digest}  {path} ({summary['kind']}, {summary['files']} file(s), "
            f"{summary['bytes']} bytes)" + (f"\nuri: {summary['uri']}" if publish else "")
        )


def _local(
    cfg: TrainConfig, peers: int, pool_id: int, round_: int, base: Path | None, out: Path
) -> dict[str, Any]:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from trainer.aggregate import aggregate_adapters
    from trainer.evaluation import compare_base_and_adapter
    from trainer.local import LocalSwarm

    console = Console(stderr=True)

    def table(swarm: LocalSwarm) -> Table:
        t = Table(title=f"{swarm.run_id}: {peers} peers, target {cfg.max_epochs} epochs")
        for col in ("peer", "epoch", "samples in epoch", "samples/s"):
            t.add_column(col)
        for p in swarm.progress():
            t.add_row(
                p.peer_id[-8:],
                str(p.epoch),
                str(p.samples_accumulated),
                f"{p.samples_per_second:.0f}",
            )
        return t

    with LocalSwarm(
        cfg, peers=peers, out_root=out, pool_id=pool_id, round=round_, base_adapter=base
    ) as swarm:
        console.print(f"bootstrap peer: {swarm.maddrs[0] if swarm.maddrs else '?'}", soft_wrap=True)
        with Live(table(swarm), console=console, refresh_per_second=2) as live:
            codes = swarm.wait(
                timeout=600 + 30 * (cfg.max_epochs or 10), on_tick=lambda s: live.update(table(s))
            )
        ok = [i for i, c in enumerate(codes) if c == 0]
        if not ok:
            swarm.results()  # raises with the first peer's log tail
        results = swarm.results(ok)
    adapter = out / "adapter.safetensors"
    digest = aggregate_adapters({r.peer_id: r.adapter_path for r in results}, adapter)
    comparison = compare_base_and_adapter(cfg, adapter)
    return _summary(cfg, results, adapter, digest, comparison)


def _join(
    cfg: TrainConfig,
    initial_peers: list[str],
    node_index: int,
    node_count: int,
    pool_id: int,
    round_: int,
    base: Path | None,
    out: Path,
) -> dict[str, Any]:
    from rich.progress import Progress

    from trainer.collab import StepProgress, train_round
    from trainer.evaluation import compare_base_and_adapter

    with Progress(transient=True) as progress:
        task = progress.add_task("training", total=cfg.max_epochs)

        def on_progress(p: StepProgress) -> None:
            progress.update(task, completed=p.epoch, description=f"step {p.step} loss {p.loss:.3f}")

        result = train_round(
            cfg,
            pool_id=pool_id,
            round=round_,
            node_index=node_index,
            node_count=node_count,
            initial_peers=initial_peers,
            base_adapter=base,
            out_dir=out,
            on_progress=on_progress,
        )
    comparison = compare_base_and_adapter(cfg, result.adapter_path)
    return _summary(cfg, [result], result.adapter_path, result.adapter_hash, comparison)


def _summary(
    cfg: TrainConfig, results: list[Any], adapter: Path, digest: str, cmp: Any
) -> dict[str, Any]:
    compute = sum(r.compute_seconds for r in results)
    averaging = sum(r.averaging_seconds for r in results)
    return {
        "run_id": results[0].run_id,
        "adapter": str(adapter),
        "adapter_hash": digest,
        "eval_loss_before": cmp.base.loss,
        "eval_loss_after": cmp.adapted.loss,
        "perplexity_before": cmp.base.perplexity,
        "perplexity_after": cmp.adapted.perplexity,
        "averaging_share": averaging / max(compute + averaging, 1e-9),
        "peers": [
            {
                "peer_id": r.peer_id,
                "node_index": r.node_index,
                "epochs": r.epochs,
                "steps": r.steps,
                "samples": r.samples,
                "final_loss": r.final_loss,
                "adapter_hash": r.adapter_hash,
                "records_root": r.records_root,
                "bytes_sent": r.bytes_sent,
            }
            for r in results
        ],
    }


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    peers = Table(title=f"run {summary['run_id']}")
    for col in ("node", "epochs", "steps", "samples", "last loss", "adapter hash"):
        peers.add_column(col)
    for p in summary["peers"]:
        peers.add_row(
            str(p["node_index"]),
            str(p["epochs"]),
            str(p["steps"]),
            str(p["samples"]),
            f"{p['final_loss']:.3f}",
            p["adapter_hash"][:18] + "…",
        )
    console.print(peers)
    console.print(
        f"eval loss before: {summary['eval_loss_before']:.4f} "
        f"(perplexity {summary['perplexity_before']:.1f})\n"
        f"eval loss after:  {summary['eval_loss_after']:.4f} "
        f"(perplexity {summary['perplexity_after']:.1f})\n"
        f"adapter: {summary['adapter']}\n"
        f"adapter hash: {summary['adapter_hash']}"
    )


def _compression(name: str) -> Literal["none", "float16", "uint8"]:
    if name not in ("none", "float16", "uint8"):
        raise TrainerConfigError(f"--compression must be none, float16 or uint8, not {name!r}.")
    return name  # type: ignore[return-value]
