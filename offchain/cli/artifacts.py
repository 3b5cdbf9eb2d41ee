"""``loranet artifacts``: put a file into the configured artifact store, fetch one by URI.

Pool creators upload a base model or data set (``put``) and pass the printed URI and hash to
``loranet pool create``; anyone checks a URI (``get``). The store and the limits come from the
``artifacts`` settings (``LORANET_ARTIFACTS_*``, docs/artifacts.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console

from offchain.cli.context import CliState, state
from offchain.cli.options import JsonOpt
from offchain.errors import LoranetError

app = typer.Typer(
    help="Content-addressed artifacts: put a file into the configured store, fetch a URI.",
    no_args_is_help=True,
)


class ArtifactsCliError(LoranetError):
    """An artifacts command was given an unusable option."""


def _chain(cli: CliState) -> tuple[int | None, str]:
    """(chain id, network) deciding whether local ``file://`` artifacts are allowed."""
    settings = cli.settings
    if settings.is_local:
        return None, settings.network
    try:
        return cli.client().chain_id, settings.network
    except LoranetError:
        return None, settings.network  # no RPC: judged by the network name alone


@app.command("put")
def put(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="File to store (a model, a data set, an adapter)."),
    as_json: JsonOpt = False,
) -> None:
    """Store FILE under its SHA-256 in the configured store; print its public URI and hash."""
    from offchain.artifacts import open_store

    cli = state(ctx)
    cli.use_json(as_json)
    if not file.is_file():
        raise ArtifactsCliError(f"{file} is not a file.")
    chain_id, network = _chain(cli)
    store = open_store(
        cli.settings.artifacts, data_dir=cli.settings.data_dir, chain_id=chain_id, network=network
    )
    ref = store.put(file)
    payload = {**ref.as_dict(), "store": store.kind}

    def render(console: Console) -> None:
        console.print(f"stored {file} ({ref.size} bytes) in the {store.kind} store")
        console.print(f"uri    {ref.uri}")
        console.print(f"sha256 {ref.sha256}")
        if store.kind == "http":
            console.print("served while `loranet worker run` (the artifact server) runs")

    cli.emit(payload, render)


@app.command("get")
def get(
    ctx: typer.Context,
    uri: str = typer.Argument(..., help="http(s)://, s3:// or (local chains) file:// URI."),
    sha256: str = typer.Option(..., "--sha256", help="Expected hash: 0x + 64 hex digits."),
    out: Path | None = typer.Option(None, "--out", help="Also copy the verified file here."),
    as_json: JsonOpt = False,
) -> None:
    """Fetch URI, verify it hashes to --sha256 (bounded in size and time, retried), print the
    cached path."""
    from offchain.artifacts import open_fetcher

    cli = state(ctx)
    cli.use_json(as_json)
    chain_id, network = _chain(cli)
    fetcher = open_fetcher(
        cli.settings.artifacts, data_dir=cli.settings.data_dir, chain_id=chain_id, network=network
    )
    path = fetcher.fetch(uri, sha256)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    payload = {"uri": uri, "sha256": sha256.lower(), "path": str(out or path),
               "size": path.stat().st_size}  # fmt: skip
    cli.emit(payload, f"verified {payload['size']} bytes, sha256 {sha256}: {payload['path']}")
