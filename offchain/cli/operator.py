"""Building and running operator actions (admin, validator, pool creator, voter, faucet user).

The chain is reached and the caller's address read from the keystore first; the key is
unlocked (a password asked) only when a transaction is about to be sent, after the
prechecks (:mod:`offchain.chain.operator`); then the summary and confirmation of every
state-changing command (``--yes``, ``--dry-run``: :mod:`offchain.cli.options`).

:func:`run_operator` is the whole body of such a command; the command only says which
actions class, which action and which headline::

    run_operator(
        ctx, AdminActions, lambda actions: actions.grant(role, address),
        lambda result: f"{result.summary['account']} now holds {result.summary['role']}",
        account=account, yes=yes, dry_run=dry_run, as_json=as_json,
    )

Nothing heavy is imported here at module level (``loranet --help`` stays fast).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from offchain.cli.context import CliState, state

if TYPE_CHECKING:
    from offchain.chain.operator import OperatorActions
    from offchain.chain.provider import ActionResult

A = TypeVar("A", bound="OperatorActions")


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


def run_operator(
    ctx: typer.Context,
    cls: type[A],
    act: Callable[[A], ActionResult],
    headline: str | Callable[[ActionResult], str],
    *,
    account: str | None,
    as_json: bool,
    yes: bool = False,
    dry_run: bool = False,
) -> None:
    """One operator command: the output mode (``--json``), the actions of ``account``
    (:func:`operator_actions`: checks, password, review), ``act`` on them, then the outcome:
    its JSON, or ``headline`` (fixed, or made from the result) and the transactions (for a
    dry run, the plan)."""
    cli = state(ctx)
    cli.use_json(as_json)
    result = act(operator_actions(cli, cls, account, yes=yes, dry_run=dry_run))
    cli.emit_action(result, headline if isinstance(headline, str) else headline(result))
