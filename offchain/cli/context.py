"""What every command receives: settings, consoles, output mode, lazily built chain client.

The root callback (``main.py``) stores one ``CliState`` in ``ctx.obj``; commands get it with
``state(ctx)``. Nothing is global, so tests can run many invocations in one process.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from offchain.cli.options import ACCOUNT_HELP, JSON_HELP
from offchain.errors import LoranetError
from offchain.settings import Settings, load_settings

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.chain.client import ChainClient
    from offchain.chain.protocol import Protocol
    from offchain.chain.provider import ActionResult, ProviderActions
    from offchain.chain.review import LazyKey, LazySender, Plan, PlannedTx, Reviewer
    from offchain.chain.tx import TxSender
    from offchain.keys import Keystore

logger = logging.getLogger(__name__)

__all__ = ["ACCOUNT_HELP", "JSON_HELP", "CliState", "state"]

MIN_PASSWORD_LENGTH = 8
MIN_PASSWORD_DISTINCT = 4
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyui",
        "qwerty123",
        "iloveyou",
        "letmein1",
        "11111111",
        "abcdefgh",
        "abcd1234",
        "passw0rd",
        "loranet1",
    }
)


class NoAccountChosenError(LoranetError):
    """No provider account was named and none can be picked unambiguously."""


class SecretUnavailableError(LoranetError):
    """A password or key is needed but neither set in the environment nor typed."""


class NotConfirmedError(LoranetError):
    """A state-changing command was not confirmed (declined, or no terminal and no --yes)."""


class WeakPasswordError(LoranetError):
    """A new keystore password is too short or too guessable."""


class InvalidAddressError(LoranetError):
    """Text given as an address is neither an address nor a stored alias."""


def check_password_strength(password: str) -> None:
    """Refuse passwords a guesser tries first: shorter than 8 characters, fewer than 4
    different characters, or a well-known one.

    Raises:
        WeakPasswordError: with the rule in the sentence.
    """
    rule = (
        f"use at least {MIN_PASSWORD_LENGTH} characters with at least "
        f"{MIN_PASSWORD_DISTINCT} different ones (a few random words make a good one)"
    )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"the password is too short ({len(password)} characters): {rule}.")
    if len(set(password)) < MIN_PASSWORD_DISTINCT or password.lower() in COMMON_PASSWORDS:
        raise WeakPasswordError(f"the password is too easy to guess: {rule}.")


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed stdin
        return False


def read_secret(
    prompt: str,
    *,
    env_hint: str,
    confirm: bool = False,
    check: Callable[[str], None] | None = None,
) -> str:
    """A hidden prompt on a terminal; without one, the next line(s) of stdin (a pipe), with
    no getpass warning. Nothing to read is refused with what to set instead. ``check`` runs
    on the first entry, before it is asked again for confirmation.

    Raises:
        SecretUnavailableError: no terminal and stdin is empty or closed, or the entries differ.
    """
    if stdin_is_terminal():
        value: str = typer.prompt(prompt, hide_input=True, err=True)
        if check is not None:
            check(value)
        if confirm:
            again: str = typer.prompt("Repeat for confirmation", hide_input=True, err=True)
            if again != value:
                raise SecretUnavailableError("the two entries do not match.")
        return value
    missing = SecretUnavailableError(
        f"{prompt[:1].lower()}{prompt[1:]} is needed but there is no terminal to ask: "
        f"set {env_hint} or pipe it on stdin."
    )
    first = _read_line()
    if first is None:
        raise missing
    if check is not None:
        check(first)
    if confirm:
        again = _read_line()
        if again is not None and again != first:
            raise SecretUnavailableError("the two entries do not match.")
    return first


def _read_line() -> str | None:
    try:
        line = sys.stdin.readline() if sys.stdin is not None else ""
    except (ValueError, OSError):
        return None
    if not line:
        return None
    return line.rstrip("\r\n")


@dataclass
class CliState:
    """Per-invocation state of the ``loranet`` command."""

    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    json_output: bool = False
    _settings: Settings | None = None
    _client: ChainClient | None = None

    # -- settings and output ---------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file, **self.overrides)
        return self._settings

    def use_json(self, flag: bool) -> bool:
        """A command's own ``--json`` or the root's."""
        self.json_output = self.json_output or flag
        return self.json_output

    @property
    def console(self) -> Console:
        return Console(soft_wrap=True, highlight=False)

    @property
    def err_console(self) -> Console:
        return Console(stderr=True, soft_wrap=True, highlight=False)

    def emit(self, payload: Any, human: Callable[[Console], None] | str) -> None:
        """JSON on stdout in ``--json`` mode, else the human rendering."""
        if self.json_output:
            typer.echo(json.dumps(payload, default=_json_default, sort_keys=True))
        elif isinstance(human, str):
            self.console.print(human)
        else:
            human(self.console)

    def emit_action(self, result: ActionResult, headline: str) -> None:
        """A provider action's outcome: its JSON, or ``headline`` and the transactions sent
        (for a dry run: the plan and the transactions that would be sent)."""
        from offchain.cli import render

        if result.dry_run and result.plan is not None:
            plan, planned = result.plan, result.planned
            self.emit(result.as_dict(), lambda console: render.dry_run(console, plan, planned))
            return
        self.emit(result.as_dict(), lambda console: render.action(console, headline, result))

    # -- review: summary and confirmation -----------------------------------------------------

    def reviewer(self, *, yes: bool = False, dry_run: bool = False) -> Reviewer:
        """The summary-and-confirmation step of every state-changing command.

        ``--dry-run``: send nothing (the command prints the plan). ``--yes``: send without
        asking (the summary is still shown to people). Otherwise the summary goes to stderr
        and the question is asked on the terminal; with no terminal, a ``y``/``yes`` line on
        stdin confirms and nothing at all is refused with a hint to pass ``--yes``.
        """

        def review(plan: Plan, planned: Sequence[PlannedTx]) -> bool:
            if dry_run:
                return False
            if not self.json_output or not yes:
                from offchain.cli import render

                render.summary(self.err_console, plan, planned)
            if yes:
                return True
            self.confirm("Send?")
            return True

        return review

    def confirm(self, question: str) -> None:
        """Ask ``question``; return on yes.

        Raises:
            NotConfirmedError: declined, or nobody to ask (no terminal and nothing on stdin).
        """
        declined = NotConfirmedError("cancelled: nothing was sent.")
        if stdin_is_terminal():
            if not typer.confirm(question, default=False, err=True):
                raise declined
            return
        answer = _read_line()
        if answer is None:
            raise NotConfirmedError(
                "nothing was sent: there is no terminal to confirm on; pass --yes to send "
                "without confirmation (or --dry-run to only see the transactions)."
            )
        if answer.strip().lower() not in {"y", "yes"}:
            raise declined

    def note(self, message: str) -> None:
        """A progress line for people (stderr, silent in ``--json`` mode)."""
        if not self.json_output:
            self.err_console.print(Text(message, style="dim"))

    def spinner(self, message: str) -> AbstractContextManager[Any]:
        if self.json_output:
            return _quiet()
        return self.err_console.status(message, spinner="dots")

    def print_error(self, err: LoranetError) -> None:
        """One error: a JSON document on stdout in ``--json`` mode, else a red sentence."""
        from offchain.cli.errors import error_document

        if self.json_output:
            typer.echo(json.dumps(error_document(err), sort_keys=True))
        else:
            self.err_console.print(Text(str(err), style="bold red"))

    # -- secrets ---------------------------------------------------------------------------

    def password(
        self, prompt: str, *, confirm: bool = False, node: bool = False, new: bool = False
    ) -> str:
        """``LORANET_PASSWORD`` (``LORANET_NODE_PASSWORD`` for node keys), a hidden prompt on a
        terminal, or a line of stdin. ``new=True`` (a keystore being written) also checks the
        password's strength."""
        given = self.settings.node_password_value if node else self.settings.password_value
        env_hint = "LORANET_NODE_PASSWORD (or LORANET_PASSWORD)" if node else "LORANET_PASSWORD"
        if given is not None:
            value = given
        else:
            strength = check_password_strength if new else None
            return read_secret(prompt, env_hint=env_hint, confirm=confirm, check=strength)
        if new:
            check_password_strength(value)
        return value

    def secret(self, prompt: str) -> str:
        """A secret that is never in the environment (a private key being imported)."""
        return read_secret(prompt, env_hint="nothing: type it on a terminal")

    # -- keys ------------------------------------------------------------------------------

    def keystore(self) -> Keystore:
        from offchain.keys import Keystore

        settings = self.settings
        return Keystore(settings.keystore_dir, scrypt_n=settings.keystore_scrypt_n)

    def node_keystore(self) -> Keystore:
        from offchain.keys import Keystore

        settings = self.settings
        return Keystore(
            settings.resolved_node_keystore_dir,
            kind="node key",
            scrypt_n=settings.keystore_scrypt_n,
        )

    def account_name(self, name: str | None) -> str:
        """The account to use: ``--account``, ``LORANET_ACCOUNT``, or the only one stored."""
        chosen = name or self.settings.account
        if chosen:
            return chosen
        stored = self.keystore().entries()
        if len(stored) == 1:
            return stored[0].alias
        if not stored:
            raise NoAccountChosenError(
                f"no account in {self.settings.keystore_dir}: create one with "
                "`loranet account new <alias>` or import one with `loranet account import`."
            )
        raise NoAccountChosenError(
            "several accounts are stored: choose one with --account or LORANET_ACCOUNT."
        )

    def unlock(self, name: str | None) -> LocalAccount:
        keystore = self.keystore()
        alias = keystore.get(self.account_name(name)).alias
        return keystore.unlock(alias, self.password(f"Password for account '{alias}'"))

    def unlock_node(self, name: str) -> LocalAccount:
        keystore = self.node_keystore()
        alias = keystore.get(name).alias
        return keystore.unlock(alias, self.password(f"Password for node key '{alias}'", node=True))

    def node_key(self, name: str) -> LazyKey:
        """A local node key by alias or address; its password is asked only when it signs."""
        from functools import cache

        from offchain.chain.review import LazyKey

        info = self.node_keystore().get(name)
        return LazyKey(info.address, cache(lambda: self.unlock_node(info.alias)), info.alias)

    def lazy_sender(self, account_name: str | None) -> LazySender:
        """The sender of a stored account; the password is asked at its first signature."""
        from offchain.chain.review import LazySender

        info = self.keystore().get(self.account_name(account_name))
        return LazySender(info.address, lambda: self.sender(self.unlock(info.alias)))

    def node_label(self, address: str) -> str:
        """``gpu-0 (0xAbC…)`` for a node whose key is stored here, else the address."""
        alias = self.node_aliases().get(address.lower())
        return f"{alias} ({address})" if alias else address

    def node_aliases(self) -> dict[str, str]:
        """Lower-case address → alias of every local node key."""
        return {info.address.lower(): info.alias for info in self.node_keystore().entries()}

    # -- chain -----------------------------------------------------------------------------

    def client(self) -> ChainClient:
        if self._client is None:
            from offchain.chain.client import ChainClient

            self._client = ChainClient.connect(self.settings)
        return self._client

    def sender(self, account: LocalAccount) -> TxSender:
        from offchain.chain.tx import TxSender

        return TxSender(self.client(), account, spinner=self.spinner)

    def protocol(self) -> Protocol:
        from offchain.chain.protocol import Protocol

        return Protocol(self.client())

    def actions(
        self, account_name: str | None, *, yes: bool = False, dry_run: bool = False
    ) -> ProviderActions:
        """The provider's actions: checks first, then the password, then the summary and
        confirmation (``--yes``/``--dry-run``), then the transactions."""
        from offchain.chain.provider import ProviderActions

        protocol = self.protocol()  # connect (and fail on chain problems) before anything else
        return ProviderActions(
            protocol,
            self.lazy_sender(account_name),
            review=self.reviewer(yes=yes, dry_run=dry_run),
        )

    def address_of(self, account_name: str | None) -> str:
        """An address given as such, or the address of a stored account (no unlock)."""
        if account_name and account_name.lower().startswith("0x"):
            return parse_address(account_name, kind="account")
        return self.keystore().get(self.account_name(account_name)).address

    def node_address(self, name: str) -> str:
        """A node given by address, or by the alias of a local node key."""
        if name.lower().startswith("0x"):
            return parse_address(name, kind="node")
        return self.node_keystore().get(name).address

    def any_address(self, name: str) -> str:
        """An address, or the alias of a stored account or node key (no unlock)."""
        if name.lower().startswith("0x"):
            return parse_address(name, kind="account")
        for keystore in (self.keystore(), self.node_keystore()):
            for info in keystore.entries():
                if info.alias == name:
                    return info.address
        raise InvalidAddressError(
            f"unknown account '{name}': neither an address (0x and 40 hex digits) nor the "
            "alias of a stored account or node key."
        )


def parse_address(text: str, *, kind: str = "account") -> str:
    """A checksummed address from ``0x`` + 40 hex digits (any case).

    Raises:
        InvalidAddressError: anything else, in one sentence.
    """
    from eth_utils.address import is_hex_address, to_checksum_address

    raw = text.strip()
    if not is_hex_address(raw):
        raise InvalidAddressError(
            f"'{text}' is not a valid {kind} address: expected 0x followed by 40 hex digits."
        )
    return str(to_checksum_address(raw))


def state(ctx: typer.Context) -> CliState:
    """The ``CliState`` of this invocation (created on demand for sub-apps run alone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


@contextmanager
def _quiet() -> Iterator[None]:
    yield


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Path):
        return str(value)
    return str(value)
