"""Building operator actions (admin, validator, pool creator) for a command.

The chain is reached and the caller's address read from the keystore first; the key is
unlocked (a password asked) only when a transaction is about to be sent, after the
prechecks (:mod:`offchain.chain.operator`).
"""

from __future__ import annotations

from typing import TypeVar

from offchain.chain.operator import OperatorActions
from offchain.cli.context import CliState

A = TypeVar("A", bound=OperatorActions)


def operator_actions(cli: CliState, cls: type[A], account: str | None) -> A:
    protocol = cli.protocol()  # chain problems (RPC, chain id, deployment) before anything else
    caller = cli.address_of(account)
    return cls(protocol, caller, lambda: cli.sender(cli.unlock(account)))
