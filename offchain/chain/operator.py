"""The base of every non-provider action (admin, validator, pool creator, faucet user).

An action reads the chain and refuses with a ``PrecheckError`` sentence *before* it asks for
anything secret: the caller's address is known without unlocking its key, and the signer is
asked for (``unlock``, which may prompt for a password) only when a transaction is about to
be sent. Then, as for providers (:mod:`offchain.chain.review`), the transaction is estimated
and shown to the reviewer (the CLI's summary and confirmation, ``--yes``/``--dry-run``)
before it is sent. What a precheck cannot foresee is caught by the gas estimate, whose
revert becomes the same kind of sentence; nothing is sent on a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from web3 import Web3

from offchain.chain.errors import PrecheckError
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ActionResult
from offchain.chain.review import Plan, Reviewer, execute
from offchain.chain.roles import RoleSpec, role_spec
from offchain.chain.tx import TxRequest, TxSender

logger = logging.getLogger(__name__)

#: Called once, when the first transaction is sent: unlocks the caller's key.
Unlock = Callable[[], TxSender]


class OperatorActions:
    """Actions of ``caller`` on ``protocol``; subclasses add the role-specific ones."""

    def __init__(
        self,
        protocol: Protocol,
        caller: str,
        unlock: Unlock | None = None,
        *,
        review: Reviewer | None = None,
    ) -> None:
        self.protocol = protocol
        self.caller = Web3.to_checksum_address(caller)
        self._unlock = unlock
        self.review = review
        self._sender: TxSender | None = None

    # -- sending ---------------------------------------------------------------------------

    def sender(self) -> TxSender:
        if self._sender is None:
            if self._unlock is None:
                raise PrecheckError("this view cannot send transactions (no key given).")
            self._sender = self._unlock()
            signer = str(self._sender.account.address)
            if signer != self.caller:
                raise PrecheckError(f"the unlocked key is {signer}, not the caller {self.caller}.")
        return self._sender

    def call(
        self,
        contract: Any,
        function: str,
        *args: Any,
        description: str,
        rows: list[tuple[str, str]] | None = None,
    ) -> ActionResult:
        """One transaction, reviewed then sent (or planned only, for a dry run)."""
        request = TxRequest.call(contract, function, *args, description=description)
        plan = Plan(description, [("from", self.caller), *(rows or [])])
        outcome = execute(self.sender(), plan, [request], self.review)
        return ActionResult(
            outcome.sent, {}, plan=plan, planned=outcome.planned, dry_run=outcome.dry_run
        )

    # -- role checks -----------------------------------------------------------------------

    def contract_of(self, spec: RoleSpec) -> Any:
        return self.protocol.token if spec.contract == "LoraToken" else self.protocol.hub

    def has_role(self, name: str, who: str | None = None) -> bool:
        spec = role_spec(name)
        account = Web3.to_checksum_address(who or self.caller)
        return bool(self.contract_of(spec).functions.hasRole(spec.role, account).call())

    def require_role(self, name: str, doing: str) -> None:
        if not self.has_role(name):
            raise PrecheckError(
                f"{self.caller} does not hold the {name} role, which {doing} needs: "
                f"an admin grants it with `loranet admin grant {name} {self.caller}`."
            )

    def require_node(self, node: str) -> Any:
        view = self.protocol.node(node)
        if not view.registered:
            raise PrecheckError(f"node {view.address} is not registered.")
        return view


def checksum(address: str, what: str = "address") -> str:
    """A checksummed address, or a ``PrecheckError`` sentence."""
    if not Web3.is_address(address):
        raise PrecheckError(f"'{address}' is not a valid {what} (0x and 40 hex digits).")
    return str(Web3.to_checksum_address(address))


def summary(result: ActionResult, **fields: Any) -> ActionResult:
    """``result`` with ``fields`` added to its summary."""
    return replace(result, summary={**result.summary, **fields})
