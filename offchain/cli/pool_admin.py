"""``loranet pool create|start|end|set-metadata|metadata|members``: the pool creator's side.

Registered onto the ``pool`` group of :mod:`offchain.cli.pool` by ``main.py``. Works on any
chain; the caller needs ``POOL_CREATOR_ROLE`` to create, and must be the pool's creator (or
an admin) for the rest.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from offchain.chain.errors import PrecheckError
from offchain.cli.context import state
from offchain.cli.operator import run_operator
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult

METADATA_HELP = (
    "Pool-metadata URI (data:, http(s)://, s3://); default: built inline from "
    "--bootstrap-peer/--train-config/--adapter-source."
)


def build_metadata(
    metadata_file: Path | None,
    bootstrap_peers: list[str],
    train_config: Path | None,
    adapter_sources: list[str],
    name: str,
) -> Any:
    """A ``PoolMetadata`` from a JSON file and/or the options (options win)."""
    import yaml

    from offchain.errors import LoranetError
    from offchain.pools.metadata import PoolMetadata, parse_metadata

    base = PoolMetadata()
    if metadata_file is not None:
        if not metadata_file.is_file():
            raise PrecheckError(f"metadata file {metadata_file} does not exist.")
        base = parse_metadata(metadata_file.read_text(), where=f"metadata file {metadata_file}")
    data = base.model_dump(mode="json")
    if bootstrap_peers:
        data["bootstrap_peers"] = bootstrap_peers
    if adapter_sources:
        data["adapter_sources"] = adapter_sources
    if name:
        data["name"] = name
    if train_config is not None:
        if not train_config.is_file():
            raise PrecheckError(f"--train-config {train_config} does not exist.")
        loaded = yaml.safe_load(train_config.read_text()) or {}
        if not isinstance(loaded, dict):
            raise PrecheckError(f"--train-config {train_config} is not a YAML mapping.")
        from trainer.config import TrainConfig

        try:
            TrainConfig.model_validate(loaded)
        except ValueError as err:
            raise PrecheckError(
                f"--train-config {train_config} is invalid: {err}".strip()
            ) from None
        data["train"] = loaded
    try:
        return PoolMetadata.model_validate(data)
    except ValueError as err:
        raise PrecheckError(f"the pool metadata is invalid: {err}") from None
    except LoranetError:
        raise


def _domain_id(cli: Any, domain: str) -> int:
    if domain.isdigit():
        return int(domain)
    registry = cli.protocol().client.contract("DomainRegistry")
    found = int(registry.functions.domainIdOf(domain).call())
    if not found:
        raise PrecheckError(f"no domain is named '{domain}'.")
    return found


def create(
    ctx: typer.Context,
    domain: str = typer.Option("lora-finetune", "--domain", help="Domain id or name."),
    base_model_uri: str = typer.Option(..., "--base-model-uri", help="Where the base model is."),
    base_model_hash: str | None = typer.Option(
        None, "--base-model-hash", help="Its content hash, 0x + 64 hex (builtin:// may omit)."
    ),
    dataset_uri: str = typer.Option(..., "--dataset-uri", help="Where the data set is."),
    dataset_hash: str | None = typer.Option(
        None, "--dataset-hash", help="Its content hash, 0x + 64 hex (builtin:// may omit)."
    ),
    reward: str = typer.Option(..., "--reward", help="LORA per round, shared by accepted work."),
    budget: str | None = typer.Option(
        None,
        "--budget",
        help="LORA escrowed now to pay the pool's work (default: 10 rounds of --reward); "
        "the unspent rest returns after the pool ends.",
    ),
    round_length: int = typer.Option(3600, "--round-length", help="Seconds per round."),
    submission_window: int = typer.Option(
        600, "--submission-window", help="Seconds after a round during which reports count."
    ),
    max_nodes: int = typer.Option(8, "--max-nodes", help="Node limit (1..256)."),
    min_units: int = typer.Option(1, "--min-units", help="Least compute units of a node."),
    metadata_uri: str | None = typer.Option(None, "--metadata-uri", help=METADATA_HELP),
    metadata_file: Path | None = typer.Option(
        None, "--metadata-file", help="Pool-metadata JSON to embed (data: URI)."
    ),
    bootstrap_peer: list[str] = typer.Option(
        [], "--bootstrap-peer", help="Multiaddr of a swarm bootstrap peer (repeatable)."
    ),
    train_config: Path | None = typer.Option(
        None, "--train-config", help="TrainConfig YAML every node of the pool shares."
    ),
    adapter_source: list[str] = typer.Option(
        [], "--adapter-source", help="Base URI of round base adapters (repeatable)."
    ),
    name: str = typer.Option("", "--name", help="A human name (in the metadata)."),
    start: bool = typer.Option(False, "--start", help="Start the pool right after creating it."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a pool (POOL_CREATOR_ROLE): model, data set, reward, clock, swarm metadata."""
    from offchain.chain.pool_admin import PoolCreatorActions, PoolSpec, parse_hash
    from offchain.chain.units import parse_amount

    if metadata_uri is not None and (metadata_file or bootstrap_peer or train_config or name):
        raise PrecheckError(
            "give either --metadata-uri or the metadata's parts (--metadata-file, "
            "--bootstrap-peer, --train-config, --name), not both."
        )
    uri = metadata_uri
    if uri is None:
        meta = build_metadata(metadata_file, bootstrap_peer, train_config, adapter_source, name)
        uri = meta.to_data_uri()
    spec = PoolSpec(
        domain_id=_domain_id(state(ctx), domain),
        base_model_uri=base_model_uri,
        base_model_hash=parse_hash(base_model_hash, base_model_uri, "base model"),
        dataset_uri=dataset_uri,
        dataset_hash=parse_hash(dataset_hash, dataset_uri, "data set"),
        metadata_uri=uri,
        round_length=round_length,
        submission_window=submission_window,
        reward_per_round=parse_amount(reward),
        max_nodes=max_nodes,
        min_compute_units=min_units,
        budget=parse_amount(budget) if budget is not None else 10 * parse_amount(reward),
    )

    and_started = " and started" if start else ""

    def act(actions: PoolCreatorActions) -> ActionResult:
        result = actions.create(spec)
        if start and not result.dry_run:
            started = actions.start(int(result.summary["pool_id"]))
            result = replace(
                result,
                transactions=[*result.transactions, *started.transactions],
                summary={**result.summary, "status": "active"},
            )
        return result

    run_operator(
        ctx,
        PoolCreatorActions,
        act,
        lambda result: f"pool {result.summary['pool_id']} created{and_started}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def start(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a pending pool: round 0 begins now."""
    from offchain.chain.pool_admin import PoolCreatorActions

    run_operator(
        ctx,
        PoolCreatorActions,
        lambda actions: actions.start(pool_id),
        f"pool {pool_id} started",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def end(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """End a pool now (rounds that ended before stay payable)."""
    from offchain.chain.pool_admin import PoolCreatorActions

    run_operator(
        ctx,
        PoolCreatorActions,
        lambda actions: actions.end(pool_id),
        f"pool {pool_id} ended",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def set_metadata(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    metadata_uri: str | None = typer.Option(None, "--metadata-uri", help=METADATA_HELP),
    metadata_file: Path | None = typer.Option(None, "--metadata-file", help="JSON to embed."),
    bootstrap_peer: list[str] = typer.Option([], "--bootstrap-peer", help="Multiaddr."),
    train_config: Path | None = typer.Option(None, "--train-config", help="TrainConfig YAML."),
    adapter_source: list[str] = typer.Option([], "--adapter-source", help="Base URI."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Replace a pool's metadata (e.g. new bootstrap peers); nodes read it each round."""
    from offchain.chain.pool_admin import PoolCreatorActions

    uri = (
        metadata_uri
        if metadata_uri is not None
        else build_metadata(
            metadata_file, bootstrap_peer, train_config, adapter_source, ""
        ).to_data_uri()
    )
    run_operator(
        ctx,
        PoolCreatorActions,
        lambda actions: actions.set_metadata(pool_id, uri),
        f"metadata of pool {pool_id} updated",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def metadata(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    as_json: JsonOpt = False,
) -> None:
    """Show a pool's metadata as nodes read it: bootstrap peers, training settings."""
    from offchain.pools.discovery import PoolDiscovery

    cli = state(ctx)
    cli.use_json(as_json)
    discovery = PoolDiscovery(cli.client())
    uri = discovery.metadata_uri(pool_id)
    doc = discovery.metadata(pool_id)
    payload = {"pool_id": pool_id, "metadata_uri": uri, "metadata": doc.model_dump(mode="json")}

    def render(console: Console) -> None:
        shown = uri if len(uri) <= 80 else uri[:77] + "..."
        console.print(f"[bold]pool {pool_id}[/] metadata {shown}")
        if doc.name:
            console.print(f"  name {doc.name}")
        for peer in doc.bootstrap_peers or ["(no bootstrap peers)"]:
            console.print(f"  peer {peer}")
        for source in doc.adapter_sources:
            console.print(f"  adapters {source}")
        if doc.train:
            console.print(f"  train settings: {', '.join(sorted(doc.train))}")

    cli.emit(payload, render)


def members(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    round: int | None = typer.Option(None, "--round", help="Round (default: the current one)."),
    as_json: JsonOpt = False,
) -> None:
    """A round's members in shard order (sorted by node address), as every node computes it."""
    from offchain.pools.discovery import PoolDiscovery

    cli = state(ctx)
    cli.use_json(as_json)
    protocol = cli.protocol()
    if round is None:
        pool = protocol.pool(pool_id)
        if pool.status != "active":
            raise PrecheckError(f"pool {pool_id} is {pool.status}: give --round.")
        round = int(protocol.pools.functions.currentRound(pool_id).call())
    membership = PoolDiscovery(cli.client()).members(pool_id, round)
    payload = {
        "pool_id": pool_id,
        "round": round,
        "round_start": membership.round_start,
        "members": list(membership.members),
    }

    def render(console: Console) -> None:
        console.print(f"[bold]pool {pool_id} round {round}[/]: {membership.count} members")
        for index, node in enumerate(membership.members):
            console.print(f"  shard {index}: {node}")

    cli.emit(payload, render)


def register(app: typer.Typer) -> None:
    app.command("create")(create)
    app.command("start")(start)
    app.command("end")(end)
    app.command("set-metadata")(set_metadata)
    app.command("metadata")(metadata)
    app.command("members")(members)
