"""Checks over every command and group of ``loranet``, enumerated from the click tree that
typer builds from the app (so a command added tomorrow is checked too).

- The shared options (``--account``, ``--json``, ``--yes``, ``--dry-run``) come from the
  aliases of ``offchain/cli/options.py``, never from a command's own ``typer.Option``: checked
  by the annotation each option's parameter has in the function that declares it.
- A group called without its command prints its help; with ``--json`` it prints only the
  JSON usage error (exit code 2), nothing before it.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import click
import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import Result

from offchain.cli import options
from offchain.cli.main import app

Run = Callable[..., Result]

SHARED = {"--account", "--json", "--yes", "--dry-run"}

#: The typer.Option of every alias in options.py, by identity.
ALIASED = {
    id(info)
    for alias in vars(options).values()
    if typing.get_origin(alias) is Annotated
    for info in typing.get_args(alias)[1:]
}


def tree(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``command`` (itself too), with its path."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from tree(sub, (*path, name))


COMMANDS = dict(tree(typer.main.get_command(app)))
GROUPS = [path for path, command in COMMANDS.items() if isinstance(command, TyperGroup)]


def declared_by(command: click.Command) -> Callable[..., Any]:
    """The function that declares the command's parameters (typer wraps it)."""
    assert command.callback is not None
    return inspect.unwrap(command.callback)


def test_the_walk_sees_commands_groups_and_shared_options() -> None:
    assert {(), ("stake",), ("pool",), ("validator",)} <= set(GROUPS)
    for path in (("admin", "grant"), ("pool", "create"), ("stake", "add")):
        assert {opt for param in COMMANDS[path].params for opt in param.opts} >= SHARED, path


def test_no_command_declares_its_own_shared_option() -> None:
    own = []
    for path, command in COMMANDS.items():
        shared = [param for param in command.params if SHARED & set(param.opts)]
        if not shared:
            continue
        function = declared_by(command)
        hints = typing.get_type_hints(function, include_extras=True)
        for param in shared:
            metadata = typing.get_args(hints.get(str(param.name)))[1:]
            if not any(id(info) in ALIASED for info in metadata):
                where = " ".join(("loranet", *path))
                own.append(f"{where} {'/'.join(param.opts)} ({function.__module__})")
    assert own == [], "use the aliases of offchain/cli/options.py: " + ", ".join(own)


@pytest.mark.parametrize("path", GROUPS, ids=lambda path: " ".join(("loranet", *path)))
def test_a_bare_group_with_json_prints_only_the_json_error(run_cli: Run, path: tuple[str]) -> None:
    result = run_cli("--json", *path)
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]  # the whole of stdout: no help before it
    assert error["code"] == "usage" and error["exit_code"] == 2
    if path:
        assert f"see `{' '.join(('loranet', *path))} --help`" in error["message"]
    assert result.stderr == ""


@pytest.mark.parametrize("path", GROUPS, ids=lambda path: " ".join(("loranet", *path)))
def test_a_bare_group_without_json_prints_its_help(run_cli: Run, path: tuple[str]) -> None:
    result = run_cli(*path)
    assert result.exit_code == 2
    assert f"Usage: {' '.join(('loranet', *path))} [OPTIONS] COMMAND" in result.stdout
