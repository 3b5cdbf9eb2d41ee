"""The root command group: every ``LoranetError`` becomes one red sentence and exit code 1."""

from __future__ import annotations

import logging
from typing import Any

import typer
from typer import _click  # typer vendors click; its Context is what TyperGroup receives
from typer.core import TyperGroup

from offchain.cli.context import CliState
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)


class ChainAnswerError(LoranetError):
    """The node answered a request with an error the chain layer did not anticipate."""


class LoranetGroup(TyperGroup):
    """Catches ``LoranetError`` from any (sub)command: no traceback, a sentence, non-zero exit.

    An unanticipated web3 error (e.g. a node refusing a too-large log query) is reported the
    same way; ``--verbose`` logs its traceback.
    """

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoranetError as err:
            self._fail(ctx, err)
        except Exception as err:
            from web3.exceptions import Web3Exception  # lazy: keeps `loranet --help` fast

            if not isinstance(err, Web3Exception):
                raise
            first = err.args[0] if err.args else ""
            reason = (first if isinstance(first, str) else str(err)).strip().rstrip(".")
            reason = reason or type(err).__name__
            self._fail(ctx, ChainAnswerError(f"the node answered with an error: {reason}."))

    @staticmethod
    def _fail(ctx: _click.Context, err: LoranetError) -> None:
        logger.debug("command failed: %s", err, exc_info=True)
        cli_state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
        cli_state.print_error(err)
        raise typer.Exit(code=err.exit_code) from None
