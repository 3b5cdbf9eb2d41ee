"""``loranet worker ...``: run the worker service, show its state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, JsonOpt
from offchain.errors import LoranetError
from offchain.logging import configure_logging

app = typer.Typer(
    help="The worker service: watch the chain, train rounds, submit reports.",
    no_args_is_help=True,
)

TRAINERS = ("hivemind", "dry-run")


class WorkerCliError(LoranetError):
    """A worker command was given an unusable option."""


def _hivemind_train_fn(
    client: Any,
    config: Path | None,
    initial_peers: list[str],
    metrics: Any,
    *,
    node_key: Any,
    data_dir: Path,
    adapter_sources: list[str],
    cheat: str,
    artifacts: Any,
) -> Any:
    import yaml

    from offchain.artifacts import open_fetcher
    from offchain.rounds.adapters import fresh_adapter
    from offchain.worker.cheats import CheatSettings, with_cheat
    from offchain.worker.training import base_resolver, pool_train_fn
    from trainer.config import TrainConfig

    local = (yaml.safe_load(config.read_text()) or {}) if config else {}
    cfg = TrainConfig.model_validate(local)
    cache = data_dir / "adapters"
    settings = client.settings
    fetcher = open_fetcher(
        artifacts, data_dir=data_dir, chain_id=client.chain_id, network=settings.network
    )
    train = pool_train_fn(  # shard index, node count, peers, pool settings: from the chain
        cfg,
        client=client,
        node_key=node_key,
        local_train=local,
        host_maddrs=settings.hivemind_host_maddrs,
        announce_maddrs=settings.hivemind_announce_maddrs,
        initial_peers=initial_peers,
        adapter_sources=adapter_sources,
        cache_dir=cache,
        on_step=lambda _progress: metrics.training_steps.inc(),
        fetcher=fetcher,
    )
    base_of = base_resolver(
        cfg, client=client, sources=adapter_sources, cache_dir=cache, fetcher=fetcher
    )
    cheats = CheatSettings()
    return with_cheat(  # test/demo cheaters only (docs/validation.md); "none" by default
        train,
        cheat or cheats.cheat,
        node=node_key.address,
        base=lambda p, r: base_of(p, r)[0] or fresh_adapter(cfg, cache),
        steps=cfg.max_local_steps,
        batch_size=cfg.batch_size,
        projection_dim=cfg.replay.projection_dim,
        copy_from=cheats.cheat_copy_from,
        copy_wait_s=cheats.cheat_copy_wait_s,
    )


@app.command("run")
def run(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Alias of the node key that signs reports."),
    account: AccountOpt = None,
    trainer: str = typer.Option(
        "hivemind", "--trainer", help="hivemind (train with the pool) or dry-run (local tests)."
    ),
    train_config: Path | None = typer.Option(None, "--train-config", help="TrainConfig YAML."),
    initial_peer: list[str] = typer.Option(
        [],
        "--initial-peer",
        help="Extra multiaddr of a hivemind peer (repeatable); the pool's metadata names its "
        "bootstrap peers.",
    ),
    adapter_source: list[str] = typer.Option(
        [],
        "--adapter-source",
        help="Base URI of base adapters by hash: https://.../artifacts, s3://bucket/prefix, "
        "or a folder on a local chain (repeatable).",
    ),
    cheat: str = typer.Option(
        "",
        "--cheat",
        hidden=True,
        help="Tests/demo: one of offchain.worker.cheats.CHEATS (copy, noise, poison, ...).",
    ),
    log_format: str = typer.Option("kv", "--log-format", help="kv or json."),
    max_steps: int | None = typer.Option(None, "--max-steps", hidden=True),
) -> None:
    """Run the worker: watcher + Celery worker + round work + outbox, until SIGINT/SIGTERM."""
    from offchain.chain.tx import TxSender
    from offchain.shutdown import StopFlag, stop_on_signals
    from offchain.worker.metrics import WorkerMetrics
    from offchain.worker.service import WorkerService, dry_run_train_fn, initial_peers_dht

    if trainer not in TRAINERS:
        raise WorkerCliError(f"--trainer must be one of {', '.join(TRAINERS)}, not '{trainer}'.")
    if log_format not in ("kv", "json"):
        raise WorkerCliError(f"--log-format must be kv or json, not '{log_format}'.")
    configure_logging(fmt="json" if log_format == "json" else "kv")
    cli = state(ctx)
    settings = cli.settings.worker  # the tree's worker section (root data dir, artifacts)
    client = cli.client()
    provider = cli.unlock(account)
    node_key = cli.unlock_node(node)
    metrics = WorkerMetrics()
    train = (
        dry_run_train_fn(seconds=settings.dry_run_train_s)
        if trainer == "dry-run"
        else _hivemind_train_fn(
            client,
            train_config,
            list(initial_peer),
            metrics,
            node_key=node_key,
            data_dir=settings.data_dir,
            adapter_sources=list(adapter_source),
            cheat=cheat,
            artifacts=settings.artifacts,
        )
    )
    dht = initial_peers_dht(initial_peer) if initial_peer else None
    service = WorkerService.build(
        settings=settings,
        client=client,
        sender=TxSender(client, provider),
        node=node_key,
        train=train,
        dht=dht,
        metrics=metrics,
    )
    try:
        with stop_on_signals(StopFlag()) as stop:
            service.run(stop, max_steps=max_steps)
    finally:
        if dht is not None:
            dht.shutdown()


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """Show the worker's state: watcher cursor, queue depth, outbox, last heartbeat."""
    from offchain.worker.service import service_status

    cli = state(ctx)
    cli.use_json(as_json)
    info = service_status(cli.settings.worker)

    def render(console: Console) -> None:
        table = Table("what", "state", title=f"worker state in {info['data_dir']}")
        for cursor in info["cursor"] or [{}]:
            if cursor:
                events = ", ".join(f"{k} {v}" for k, v in sorted(cursor["events"].items()))
                table.add_row(
                    "watcher", f"chain {cursor['chain_id']} block {cursor['block']} ({events})"
                )
            else:
                table.add_row("watcher", "not started")
        depth = info["queue_depth"]
        table.add_row("queue", "unknown" if depth is None else f"{depth} waiting")
        outbox = ", ".join(f"{k} {v}" for k, v in sorted(info["outbox"].items()))
        table.add_row("outbox", outbox or "empty")
        halts = "; ".join(f"{scope}: {', '.join(f)}" for scope, f in info["standing"].items())
        table.add_row("standing", halts or "may work")
        beat = info["last_heartbeat"]
        table.add_row(
            "heartbeat",
            "none yet"
            if beat is None
            else f"{beat['age_s']} s ago, cpu {beat['cpu_percent']}%, ram {beat['ram_used']} B",
        )
        console.print(table)

    cli.emit(info, render)
