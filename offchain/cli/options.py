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

These options are declared here and nowhere else (``tests/offchain/test_cli_tree.py``
walks every command and checks it). A command whose option reads differently gets its own
alias below, worded for it, rather than its own ``typer.Option``.
"""

from __future__ import annotations

from typing import Annotated

import typer

JSON_HELP = 'Print one JSON document on stdout (errors too: {"error": {"code", "message"}}).'
ACCOUNT_HELP = "Provider account alias or address (default: LORANET_ACCOUNT or the only one)."
YES_HELP = "Send without asking for confirmation (needed when there is no terminal to ask)."
DRY_RUN_HELP = "Run every check and print the transactions that would be sent; send nothing."
CHECKED_HELP = "Account alias to check."

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
AccountOpt = Annotated[str | None, typer.Option("--account", "-a", help=ACCOUNT_HELP)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help=YES_HELP)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]

# The same options, worded for one command: `loranet doctor`, `loranet train`, `loranet hash`.
CheckedAccountOpt = Annotated[str | None, typer.Option("--account", "-a", help=CHECKED_HELP)]
JsonSummaryOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
JsonResultOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
