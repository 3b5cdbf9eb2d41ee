"""Entry point of the ``loranet`` command."""

from __future__ import annotations

import json
import platform

import typer

from offchain import __version__

app = typer.Typer(
    name="loranet",
    help="loranet: decentralized, verifiable LoRA fine-tuning. "
    "Stake, register compute nodes, train LoRA adapters together and earn for validated work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """loranet: decentralized, verifiable LoRA fine-tuning."""


@app.command()
def version(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Print the loranet version and the versions of its main components."""
    info = {"loranet": __version__, "python": platform.python_version()}
    if as_json:
        typer.echo(json.dumps(info))
    else:
        typer.echo(f"loranet {info['loranet']} (python {info['python']})")


def main() -> None:  # pragma: no cover - console script
    app()
