"""Property: no input makes the CLI print a traceback or send a transaction by surprise.

Every command and every non-flag option or argument of the ``loranet`` app is found by click
introspection (so commands added later are covered too). Hypothesis puts a random or nasty
string into one of them, fills the other required ones with plausible values, and runs the
command in-process against the deployed protocol on the test anvil, without ``--yes`` and
with nothing on stdin. Whatever happens:

- the exit code is 0 (the input happened to be valid), 1 (a refusal) or 2 (a usage error);
- a failure prints a message (never a traceback, never "unexpected error"), and with
  ``--json`` a ``{"error": {...}}`` document on stdout;
- no account's nonce moved (the dev-only ``devnet`` helpers, which send as dev account 0
  without confirmation by design, are only held to the first two points).

The same holds for every ``LORANET_*`` setting given a random value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import typer.testing
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from offchain.chain.protocol import Protocol
from offchain.devnet import dev_account
from offchain.settings import Settings

Run = Callable[..., Result]

# Commands that start long-running processes (servers, training, peers) are not fuzzed here.
LONG_RUNNING = {("serve",), ("train",), ("dht",), ("web",), ("worker", "run"),
                ("validator", "run"), ("devnet", "up")}  # fmt: skip
SENDS_WITHOUT_CONFIRMATION = {"devnet"}  # dev-only helpers acting as dev account 0

NASTY = [
    "", " ", "-", "--", "-1", "-5", "0", "1e30", "1e999999999", "nan", "inf", "0x123",
    "0x" + "g" * 40, "127.0.0.1:8545", "localhost:8545", "notaurl", "http://", "../x", "/",
    "\x00", "a\nb", "🙂", "9" * 90, "1.0000000000000000001", "[1, 2]", "{}", "None", "true",
]  # fmt: skip
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=24))


def _leaves(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    commands = getattr(cmd, "commands", None)
    if commands is None:
        yield path, cmd
        return
    for name, sub in sorted(commands.items()):
        yield from _leaves(sub, (*path, name))


def _root() -> Any:
    from offchain.cli.main import app

    return typer.main.get_command(app)


ROOT = _root()  # built once: building the click tree costs ~80 ms


def _fuzz_targets() -> list[tuple[tuple[str, ...], str]]:
    root = ROOT
    targets = [(("status",), f"root:{p.name}") for p in root.params if not _is_flag(p)]
    for path, cmd in _leaves(root, ()):
        if path in LONG_RUNNING:
            continue
        targets += [(path, str(p.name)) for p in cmd.params if not _is_flag(p)]
    return targets


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) or param.name == "help"


TARGETS = _fuzz_targets()


def _fill(name: str, ctx: dict[str, str]) -> str:
    """A plausible value for a required parameter that is not the one being fuzzed."""
    by_name = {
        "alias": "fuzz-alias", "stake": "5", "amount": "5", "node": "gpu-0",
        "specs": ctx["specs"], "path": ctx["specs"], "pool_id": "1", "address": ctx["address"],
        "treasury": ctx["address"], "duration": "1h", "name": "fuzz", "key_id": "1",
        "role": "validator", "base_model_uri": "file:///m", "dataset_uri": "file:///d",
    }  # fmt: skip
    return by_name.get(name, "1")


def _argv(path: tuple[str, ...], target: str, value: str, ctx: dict[str, str]) -> list[str]:
    root = ROOT
    if target.startswith("root:"):
        option = next(p for p in root.params if p.name == target.removeprefix("root:"))
        return [option.opts[0], value, *path]
    cmd: Any = root
    for name in path:
        cmd = cmd.commands[name]
    argv: list[str] = list(path)
    positional: list[str] = []
    for param in cmd.params:
        if _is_flag(param):
            continue
        is_target = param.name == target
        if not is_target and not param.required:
            continue
        given = value if is_target else _fill(str(param.name), ctx)
        if param.param_type_name == "argument":
            positional.append(given)
        else:
            argv += [param.opts[0], given]
    if positional:
        argv += ["--", *positional]  # "--": a value like "-5" stays a value for arguments
    return argv


@pytest.fixture
def fuzz_ctx(
    provider: LocalAccount,
    node_key: str,
    specs_file: Path,
    loranet_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: ROOT)  # reuse the tree
    return {"specs": str(specs_file), "address": provider.address, "node": node_key}


@pytest.fixture
def nonces(protocol: Protocol, node_key: str) -> Callable[[], list[int]]:
    watched = [dev_account(i).address for i in range(10)] + [node_key]

    def _read() -> list[int]:
        return [int(protocol.w3.eth.get_transaction_count(a)) for a in watched]

    return _read


def _check(result: Result, argv: list[str], as_json: bool) -> None:
    shown = f"loranet {argv!r}:\n{result.output}"
    assert result.exit_code in (0, 1, 2), shown
    assert "Traceback" not in result.output, shown
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), shown
    if result.exit_code == 0:
        return
    assert "unexpected error" not in result.output, shown
    if as_json:
        error = json.loads(result.stdout)["error"]
        assert error["exit_code"] == result.exit_code and error["message"], shown
    else:
        assert result.output.strip(), shown  # a message (it may echo a value with newlines)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.sampled_from(TARGETS), value=values, as_json=st.booleans())
def test_no_input_gives_a_traceback_or_sends(
    fuzz_ctx: dict[str, str],
    nonces: Callable[[], list[int]],
    target: tuple[tuple[str, ...], str],
    value: str,
    as_json: bool,
) -> None:
    from offchain.cli.main import app

    path, name = target
    argv = _argv(path, name, value, fuzz_ctx)
    if as_json:
        argv.insert(0, "--json")
    before = nonces()
    result = CliRunner().invoke(app, argv, input="")
    _check(result, argv, as_json)
    if path[0] not in SENDS_WITHOUT_CONFIRMATION:
        assert nonces() == before, f"loranet {argv!r} sent a transaction:\n{result.output}"


def test_every_parameter_once_with_a_nasty_value(
    fuzz_ctx: dict[str, str], nonces: Callable[[], list[int]]
) -> None:
    """A deterministic sweep on top of the random search: every fuzzable parameter of every
    command gets one of the nasty values (rotating), so none is left out by chance."""
    from offchain.cli.main import app

    for index, (path, name) in enumerate(TARGETS):
        value = NASTY[index % len(NASTY)]
        as_json = index % 2 == 1
        argv = (["--json"] if as_json else []) + _argv(path, name, value, fuzz_ctx)
        before = nonces()
        result = CliRunner().invoke(app, argv, input="")
        _check(result, argv, as_json)
        if path[0] not in SENDS_WITHOUT_CONFIRMATION:
            assert nonces() == before, f"loranet {argv!r} sent a transaction:\n{result.output}"


SETTING_NAMES = sorted(Settings.model_fields)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(SETTING_NAMES), value=values)
def test_no_setting_value_gives_a_traceback(
    fuzz_ctx: dict[str, str],
    nonces: Callable[[], list[int]],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    from offchain.cli.main import app

    if "\x00" in value:
        value = value.replace("\x00", "")  # the OS refuses NUL in environment variables
    before = nonces()
    with monkeypatch.context() as patch:
        patch.setenv(f"LORANET_{name.upper()}", value)
        result = CliRunner().invoke(app, ["status"], input="")
    _check(result, ["status", f"LORANET_{name.upper()}={value!r}"], as_json=False)
    assert nonces() == before
