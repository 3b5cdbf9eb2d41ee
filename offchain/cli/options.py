"""Option aliases shared by every ``loranet`` command, so none re-declares them.

Use them as annotations with a default::

    from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

    @app.command("start")
    def start(ctx: typer.Context, pool_id: int, account: AccountOpt = None,
              yes: YesOpt = False, dry_run: DryRunOpt = False, as_json: JsonOpt = False) -> None:
        cli = state(ctx)
        cli.use_json(as_json)
        ...

``--yes`` and ``--dry-run`` are read by ``CliState.review`` (``offchain.cli.context``), which
shows the summary of a state-changing command and asks before anything is sent.
"""

from __future__ import annotations

from typing import Annotated

import typer

JSON_HELP = 'Print one JSON document on stdout (errors too: {"error": {"code", "message"}}).'
ACCOUNT_HELP = "Provider account alias or address (default: LORANET_ACCOUNT or the only one)."
YES_HELP = "Send without asking for confirmation (needed when there is no terminal to ask)."
DRY_RUN_HELP = "Run every check and print the transactions that would be sent; send nothing."

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a", help=ACCOUNT_HELP)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help=YES_HELP)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]
