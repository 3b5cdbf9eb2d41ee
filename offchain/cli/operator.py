"""Building operator actions (admin, validator, pool creator) for a command.

The chain is reached and the caller's address read from the keystore first; the key is
unlocked (a password asked) only when a transaction is about to be sent, after the
prechecks (:mod:`offchain.chain.operator`); then the summary and confirmation of every
state-changing command (``--yes``, ``--dry-run``: :mod:`offchain.cli.options`).
"""

from __future__ import annotations

from typing import TypeVar

from offchain.chain.operator import OperatorActions
from offchain.cli.context import CliState

A = TypeVar("A", bound=OperatorActions)


def operator_actions(
    cli: CliState, cls: type[A], account: str | None, *, yes: bool = False, dry_run: bool = False
) -> A:
    """Checks first, then the password, then the summary and confirmation (``--yes`` sends
    without asking, ``--dry-run`` sends nothing), then the transaction."""
    protocol = cli.protocol()  # chain problems (RPC, chain id, deployment) before anything else
    caller = cli.address_of(account)
    return cls(
        protocol,
        caller,
        lambda: cli.sender(cli.unlock(account)),
        review=cli.reviewer(yes=yes, dry_run=dry_run),
    )
