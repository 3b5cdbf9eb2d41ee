"""The root command group: every ``LoranetError`` becomes one red sentence and exit code 1."""

from __future__ import annotations

import logging
from typing import Any

import click
import typer
from typer.core import TyperGroup

from offchain.cli.context import CliState
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)


class LoranetGroup(TyperGroup):
    """Catches ``LoranetError`` from any (sub)command: no traceback, a sentence, non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoranetError as err:
            logger.debug("command failed: %s", err, exc_info=True)
            cli_state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
            cli_state.print_error(err)
            raise typer.Exit(code=err.exit_code) from None
