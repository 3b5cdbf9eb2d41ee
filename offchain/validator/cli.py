"""``loranet validator run``: the validator service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, JsonOpt
from offchain.errors import LoranetError
from offchain.logging import configure_logging

app = typer.Typer(
    help="The validator service: check work reports, attest, finalize rounds.",
    no_args_is_help=True,
)


STATE_HELP = "State folder (default: LORANET_VALIDATOR_DATA_DIR, or <LORANET_DATA_DIR>/validator)"


class ValidatorCliError(LoranetError):
    """A validator command was given an unusable option."""


@app.command("run")
def run(
    ctx: typer.Context,
    account: AccountOpt = None,
    train_config: Path | None = typer.Option(
        None, "--train-config", help="TrainConfig YAML of the pool (model, data, replay)."
    ),
    initial_peer: list[str] = typer.Option(
        [], "--initial-peer", help="Multiaddr of a hivemind peer of the pool (repeatable)."
    ),
    adapter_source: list[str] = typer.Option(
        [],
        "--adapter-source",
        help="Base URI of base adapters by hash: https://.../artifacts, s3://bucket/prefix, "
        "or a folder on a local chain (repeatable).",
    ),
    pool: list[int] = typer.Option([], "--pool", help="Pool to validate (default: all active)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=STATE_HELP),
    log_format: str = typer.Option("kv", "--log-format", help="kv or json."),
    max_steps: int | None = typer.Option(None, "--max-steps", hidden=True),
) -> None:
    """Run the validator until SIGINT/SIGTERM: watch reports, check, attest, finalize."""
    import yaml

    from offchain.pools.discovery import deep_merge
    from offchain.shutdown import StopFlag, stop_on_signals
    from offchain.validator.service import ValidatorService
    from trainer.config import TrainConfig

    if log_format not in ("kv", "json"):
        raise ValidatorCliError(f"--log-format must be kv or json, not '{log_format}'.")
    if train_config is not None and not train_config.is_file():
        raise ValidatorCliError(f"--train-config {train_config} does not exist.")
    configure_logging(fmt="json" if log_format == "json" else "kv")
    cli = state(ctx)
    local = (yaml.safe_load(train_config.read_text()) or {}) if train_config else {}
    client = cli.client()
    peers, pool_train, sources = _from_pools(client, pool)  # the pools' metadata (issue 12)
    cfg = TrainConfig.model_validate(deep_merge(pool_train, local))
    initial_peer = list(dict.fromkeys([*peers, *initial_peer]))
    adapter_source = list(dict.fromkeys([*adapter_source, *sources]))
    signer = cli.unlock(account)
    dht = None
    if initial_peer:
        from trainer.collab import create_dht

        dht = create_dht(cfg.hivemind, initial_peer, client_mode=True, read_progress=True)
    try:
        service = ValidatorService.build(
            client=client,
            account=signer,
            cfg=cfg,
            data_dir=data_dir or cli.settings.validator_dir,
            settings=cli.settings.validator,
            adapter_sources=adapter_source,
            pools=pool or None,
            dht=dht,
        )
        with stop_on_signals(StopFlag()) as stop:
            service.run(stop, max_steps=max_steps)
    finally:
        if dht is not None:
            dht.shutdown()


def _from_pools(client: Any, pools: list[int]) -> tuple[list[str], dict[str, Any], list[str]]:
    """Bootstrap peers, training settings (of the first pool) and adapter sources that the
    metadata of ``pools`` names; nothing when no pool is given."""
    from offchain.pools.discovery import PoolDiscovery

    peers: list[str] = []
    sources: list[str] = []
    train: dict[str, Any] = {}
    discovery = PoolDiscovery(client)
    for pool_id in pools:
        meta = discovery.metadata(pool_id)
        peers += meta.bootstrap_peers
        sources += meta.adapter_sources
        train = train or dict(meta.train)
    return peers, train, sources


@app.command("status")
def status(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(None, "--data-dir", help=STATE_HELP),
    as_json: JsonOpt = False,
) -> None:
    """Show the validator's rounds (status, accepted reports, reasons) from its data dir."""
    from rich.console import Console
    from rich.table import Table

    from offchain.validator.store import rounds_summary

    cli = state(ctx)
    cli.use_json(as_json)
    folder = data_dir or cli.settings.validator_dir
    rounds = rounds_summary(folder)

    def render(console: Console) -> None:
        table = Table("pool", "round", "status", "accepted", "rejected (reasons)",
                      title=f"validator state in {folder}")  # fmt: skip
        for r in rounds:
            table.add_row(
                str(r["pool_id"]), str(r["round"]), r["status"], str(r["accepted"]),
                "; ".join(f"{i}: {','.join(why)}" for i, why in r["rejected"].items()) or "-",
            )  # fmt: skip
            for i in r.get("unavailable", {}):
                table.add_row("", "", f"report {i}: artifact unavailable", "", "not judged")
        console.print(table if rounds else f"no rounds judged in {folder}")

    cli.emit({"data_dir": str(folder), "rounds": rounds}, render)
