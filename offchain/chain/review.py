"""Plan, review, then send: the shared path of every state-changing command.

A command first runs every check that needs no key (views, arguments), then builds its
transactions (signing what must be signed: keys are unlocked only now, so no password is
asked for an action that a check refuses), then estimates them and hands a ``Plan`` with the
``PlannedTx`` list to a *reviewer*. The reviewer shows the summary and asks; it returns True
to send, False for a dry run (nothing sent), or raises to cancel. ``execute`` does the three
steps for a list of ``TxRequest``; ``LazySender`` defers unlocking the sending key.

Only the first transaction of a plan must estimate: later ones may depend on it (an approval
before the call that spends it) and are estimated again when sent; a plan shows them with
``gas=None``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.errors import ChainError, TransactionRevertedError
from offchain.chain.tx import TxRequest, TxResult, TxSender
from offchain.chain.units import format_eth
from offchain.logging import kv

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What an action is about to do, for people: a title and (label, value) rows such as
    ``("stake", "1,000 LORA → 3,000 LORA")``."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rows": dict(self.rows)}


@dataclass(frozen=True)
class PlannedTx:
    """A transaction about to be sent: its request and the gas and fees it should cost."""

    request: TxRequest
    sender: str
    gas: int | None
    max_fee_per_gas: int
    expected_fee_per_gas: int

    @property
    def expected_fee(self) -> int | None:
        return None if self.gas is None else self.gas * self.expected_fee_per_gas

    @property
    def max_fee(self) -> int | None:
        return None if self.gas is None else self.gas * self.max_fee_per_gas

    def fee_text(self) -> str:
        if self.gas is None:
            return "estimated once the previous transaction is mined"
        return f"≈ {format_eth(self.expected_fee or 0)} (at most {format_eth(self.max_fee or 0)})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.request.description,
            "from": self.sender,
            "to": self.request.to,
            "data": self.request.data,
            "value": str(self.request.value),
            "gas": self.gas,
            "max_fee_per_gas": str(self.max_fee_per_gas),
            "expected_fee_wei": None if self.gas is None else str(self.expected_fee),
            "max_fee_wei": None if self.gas is None else str(self.max_fee),
        }


Reviewer = Callable[[Plan, Sequence[PlannedTx]], bool]


@dataclass(frozen=True)
class Outcome:
    """What ``execute`` did: the transactions sent (none for a dry run) and the plan."""

    sent: list[TxResult]
    plan: Plan
    planned: list[PlannedTx]
    dry_run: bool


class LazySender:
    """A ``TxSender`` whose key is unlocked on first use; until then only its address is known
    (so every check that needs no key runs before the password prompt)."""

    def __init__(self, address: str, open_sender: Callable[[], TxSender]) -> None:
        self.address = address
        self._open = open_sender
        self._sender: TxSender | None = None

    def resolve(self) -> TxSender:
        if self._sender is None:
            self._sender = self._open()
        return self._sender


@dataclass(frozen=True)
class LazyKey:
    """A local key known by address, unlocked (password asked) only when it must sign."""

    address: str
    unlock: Callable[[], LocalAccount]
    alias: str | None = None

    @property
    def label(self) -> str:
        """``gpu-0 (0xAbC…)`` when the key has a local alias, else the address."""
        return f"{self.alias} ({self.address})" if self.alias else self.address


SenderSource = TxSender | LazySender
KeySource = LocalAccount | LazyKey


def resolve_sender(source: SenderSource) -> TxSender:
    return source.resolve() if isinstance(source, LazySender) else source


def sender_address(source: SenderSource) -> str:
    return source.address if isinstance(source, LazySender) else str(source.account.address)


def key_label(source: KeySource) -> str:
    return source.label if isinstance(source, LazyKey) else str(source.address)


def resolve_key(source: KeySource) -> LocalAccount:
    return source.unlock() if isinstance(source, LazyKey) else source


def plan_transactions(sender: TxSender, requests: Sequence[TxRequest]) -> list[PlannedTx]:
    """Estimate ``requests`` as ``TxSender.send`` will (gas x multiplier, EIP-1559 fees).

    Raises:
        TransactionRevertedError: the first request reverts (nothing can be sent).
    """
    settings = sender.client.settings
    max_fee, tip = sender.fees()
    base = max((max_fee - tip) // 2, 0)
    planned = []
    for index, request in enumerate(requests):
        gas: int | None
        try:
            gas = int(sender.estimate(request) * settings.gas_multiplier)
        except (TransactionRevertedError, ChainError):
            if index == 0:
                raise
            gas = None  # depends on an earlier transaction of the plan
        planned.append(
            PlannedTx(
                request=request,
                sender=str(sender.account.address),
                gas=gas,
                max_fee_per_gas=max_fee,
                expected_fee_per_gas=base + tip,
            )
        )
    return planned


def execute(
    sender: TxSender,
    plan: Plan,
    requests: Sequence[TxRequest],
    review: Reviewer | None = None,
) -> Outcome:
    """Review (when a reviewer is given) then send ``requests`` in order."""
    planned: list[PlannedTx] = []
    if review is not None:
        planned = plan_transactions(sender, requests)
        if not review(plan, planned):
            logger.info("dry run", extra=kv(title=plan.title, transactions=len(planned)))
            return Outcome(sent=[], plan=plan, planned=planned, dry_run=True)
    sent = [sender.send(request) for request in requests]
    return Outcome(sent=sent, plan=plan, planned=planned, dry_run=False)
