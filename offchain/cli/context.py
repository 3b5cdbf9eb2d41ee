"""What every command receives: settings, consoles, output mode, lazily built chain client.

The root callback (``main.py``) stores one ``CliState`` in ``ctx.obj``; commands get it with
``state(ctx)``. Nothing is global, so tests can run many invocations in one process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from offchain.errors import LoranetError
from offchain.settings import Settings, load_settings

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from offchain.chain.client import ChainClient
    from offchain.chain.protocol import Protocol
    from offchain.chain.provider import ActionResult, ProviderActions
    from offchain.chain.tx import TxSender
    from offchain.keys import Keystore

logger = logging.getLogger(__name__)

JSON_HELP = "Print machine-readable JSON on stdout."
ACCOUNT_HELP = "Provider account alias or address (default: LORANET_ACCOUNT or the only one)."


class NoAccountChosenError(LoranetError):
    """No provider account was named and none can be picked unambiguously."""


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
        """A provider action's outcome: its JSON, or ``headline`` and the transactions sent."""
        from offchain.cli import render

        self.emit(result.as_dict(), lambda console: render.action(console, headline, result))

    def note(self, message: str) -> None:
        """A progress line for people (stderr, silent in ``--json`` mode)."""
        if not self.json_output:
            self.err_console.print(Text(message, style="dim"))

    def spinner(self, message: str) -> AbstractContextManager[Any]:
        if self.json_output:
            return _quiet()
        return self.err_console.status(message, spinner="dots")

    def print_error(self, err: LoranetError) -> None:
        self.err_console.print(Text(str(err), style="bold red"))

    # -- secrets ---------------------------------------------------------------------------

    def password(self, prompt: str, *, confirm: bool = False, node: bool = False) -> str:
        """``LORANET_PASSWORD`` (``LORANET_NODE_PASSWORD`` for node keys) or a hidden prompt."""
        given = self.settings.node_password_value if node else self.settings.password_value
        if given is not None:
            return given
        value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
        return value

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

    def actions(self, account_name: str | None) -> ProviderActions:
        """The provider's actions, signed by the unlocked account."""
        from offchain.chain.provider import ProviderActions

        protocol = self.protocol()  # connect (and fail on chain problems) before the password
        return ProviderActions(protocol, self.sender(self.unlock(account_name)))

    def address_of(self, account_name: str | None) -> str:
        """An address given as such, or the address of a stored account (no unlock)."""
        if account_name and account_name.startswith("0x") and len(account_name) == 42:
            return account_name
        return self.keystore().get(self.account_name(account_name)).address

    def node_address(self, name: str) -> str:
        """A node given by address, or by the alias of a local node key."""
        if name.startswith("0x") and len(name) == 42:
            return name
        return self.node_keystore().get(name).address


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
