"""The one error path of ``loranet``: every failure becomes one sentence and an exit code.

``LoranetGroup.main`` wraps the whole command line (parsing included) and maps

=============================================  ====  ===============================
what happened                                  exit  ``{"error": {"code": ...}}``
=============================================  ====  ===============================
a ``LoranetError`` (a refusal, a bad value)     1    the class name in snake case
                                                     (``precheck``, ``settings``...)
an unanticipated web3 error from the node       1    ``chain_answer``
any other exception (a bug)                     1    ``internal``
a usage error (unknown option, bad type)        2    ``usage``
Ctrl-C, or Ctrl-D at a prompt                  130   ``interrupted``
=============================================  ====  ===============================

People get a red sentence on stderr (usage errors keep click's usage line); with ``--json``
anywhere on the command line, stdout gets one JSON document
``{"error": {"code": "...", "message": "...", "exit_code": N}}`` and stderr stays quiet.
A traceback is only ever logged with ``--verbose``.

A group called without its command (``loranet stake``) prints its help; with ``--json``
(``loranet --json stake``) the JSON error is all there is: the root refuses the bare
command itself, before click would print the help on stdout while building its error.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer import _click  # typer vendors click; its Context is what TyperGroup receives
from typer.core import TyperGroup
from typer.exceptions import Abort

from offchain.errors import LoranetError

logger = logging.getLogger(__name__)

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_NEGATIVE = re.compile(r"^-\d")


class ChainAnswerError(LoranetError):
    """The node answered a request with an error the chain layer did not anticipate."""


class InternalError(LoranetError):
    """An exception loranet did not anticipate (a bug): reported as a sentence, logged."""


class UsageError(LoranetError):
    """The command line does not parse (unknown option, missing argument, bad type)."""

    exit_code = EXIT_USAGE


class InterruptedError_(LoranetError):
    """Ctrl-C (or end of input at a prompt)."""

    exit_code = EXIT_INTERRUPTED


def error_code(err: LoranetError) -> str:
    """``PrecheckError`` → ``precheck``, ``InsufficientFundsError`` → ``insufficient_funds``."""
    if isinstance(err, InterruptedError_):
        return "interrupted"
    name = type(err).__name__.removesuffix("Error").strip("_") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_document(err: LoranetError) -> dict[str, Any]:
    """The JSON document of an error, as ``--json`` prints it on stdout."""
    return {"error": {"code": error_code(err), "message": str(err), "exit_code": err.exit_code}}


def as_loranet_error(err: BaseException) -> LoranetError:
    """Any exception as a ``LoranetError`` with a readable sentence."""
    if isinstance(err, LoranetError):
        return err
    if isinstance(err, KeyboardInterrupt | Abort | EOFError):
        return InterruptedError_("interrupted.")
    if isinstance(err, _click.exceptions.ClickException):
        return UsageError(_usage_sentence(err))
    try:
        from web3.exceptions import Web3Exception  # lazy: keeps `loranet --help` fast
    except ImportError:  # pragma: no cover - web3 is a dependency
        Web3Exception = ()  # type: ignore[assignment,misc]
    if isinstance(err, Web3Exception):
        first = err.args[0] if err.args else ""
        reason = (first if isinstance(first, str) else str(err)).strip().rstrip(".")
        return ChainAnswerError(f"the node answered with an error: {reason or type(err).__name__}.")
    detail = str(err).strip().rstrip(".")
    return InternalError(
        f"unexpected error ({type(err).__name__}{': ' + detail if detail else ''}); "
        "run again with --verbose for details and report it."
    )


def _usage_sentence(err: _click.exceptions.ClickException) -> str:
    if _negative_number(err):
        name = getattr(err, "option_name", "")
        return f"'{name}' is not an option: amounts and numbers must be positive here."
    message = err.format_message().strip().rstrip(".")
    if not message:  # a group called without its command (its help was printed)
        ctx = getattr(err, "ctx", None)
        where = ctx.command_path if ctx is not None else "loranet"
        message = f"a command is missing: see `{where} --help`"
    return f"{message[:1].lower()}{message[1:]}."


def _negative_number(err: BaseException) -> bool:
    name = getattr(err, "option_name", None)
    return isinstance(err, _click.exceptions.NoSuchOption) and bool(name and _NEGATIVE.match(name))


#: ``ctx.meta`` key (shared by every context of one invocation): ``--json`` was given.
JSON_MODE = "loranet.json_mode"


def _json_mode(args: Sequence[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


class LoranetGroup(TyperGroup):
    """The root group: parses and runs the command line, and maps every failure to one
    sentence (or one JSON document) and an exit code (see the module docstring)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(
                args=argv,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except BaseException as err:  # the one place that maps them all
            if isinstance(err, SystemExit | GeneratorExit):
                raise
            code = self.report(err, argv)
            if not standalone_mode:
                raise
            sys.exit(code)
        code = result if isinstance(result, int) else 0
        if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130) silently
            self.report(KeyboardInterrupt(), argv)
        if standalone_mode:
            sys.exit(code)
        return result

    @staticmethod
    def report(err: BaseException, argv: Sequence[str]) -> int:
        """Print ``err`` for people (stderr) or scripts (stdout JSON); return the exit code."""
        failure = as_loranet_error(err)
        if isinstance(failure, InternalError):
            logger.error("unexpected error", exc_info=err)
        else:
            logger.debug("command failed: %s", failure, exc_info=err)
        if _json_mode(argv):
            typer.echo(json.dumps(error_document(failure), sort_keys=True))
        elif isinstance(err, _click.exceptions.UsageError) and not _negative_number(err):
            err.show()  # click's usage line and "Try ... --help" hint
        else:
            console = Console(stderr=True, soft_wrap=True, highlight=False)
            if isinstance(err, _click.exceptions.UsageError) and err.ctx is not None:
                console.print(Text(err.ctx.get_usage()))
            console.print(Text(str(failure), style="bold red"))
        return failure.exit_code

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        ctx.meta[JSON_MODE] = _json_mode(args)  # the whole command line, as ``report`` sees it
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        """The subcommand, as click resolves it; but with ``--json``, a group called without
        its command (``loranet --json stake``) is refused here with the usage error alone:
        click would print the group's help on stdout while it builds that error. (The groups
        hang from the root; ``tests/offchain/test_cli_tree.py`` checks every group, so a
        group nested deeper would show there.)"""
        name, command, rest = super().resolve_command(ctx, args)
        if (
            ctx.meta.get(JSON_MODE)
            and isinstance(command, TyperGroup)
            and command.no_args_is_help
            and not rest
            and not ctx.resilient_parsing
        ):
            bare = command.context_class(command, info_name=name, parent=ctx)
            raise _click.exceptions.UsageError("", ctx=bare)
        return name, command, rest
