"""``loranet gov delegate|propose|vote|queue|execute|show``: governance by LORA votes.

The governor (LoraGovernor) counts delegated LORA votes; the timelock (LoraTimelock), which
holds every admin role of a production deployment, executes what passed after its delay.
Every refusal is one sentence with a non-zero exit, checked before the key is unlocked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.operator import run_operator
from offchain.cli.options import AccountOpt, JsonOpt

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult

app = typer.Typer(
    help="Governance: delegate votes, propose, vote, queue, execute, show proposals.",
    no_args_is_help=True,
)


@app.command("delegate")
def delegate(
    ctx: typer.Context,
    to: str | None = typer.Argument(None, help="Address to delegate to (default: yourself)."),
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delegate your LORA votes (to yourself to vote): votes count from the next block."""
    from offchain.chain.governance import GovernanceActions

    cli = state(ctx)
    run_operator(
        ctx,
        GovernanceActions,
        lambda actions: actions.delegate(cli.address_of(to) if to else None),
        lambda result: f"votes delegated to {result.summary['delegatee']}",
        account=account,
        as_json=as_json,
    )


@app.command("propose")
def propose(
    ctx: typer.Context,
    target: str = typer.Option(..., "--target", help="Contract name, e.g. NetworkHub."),
    call: str = typer.Option(
        ..., "--call", help="Function signature, e.g. 'setUnbondingPeriod(uint256)'."
    ),
    arg: list[str] = typer.Option([], "--arg", help="An argument of the call (repeatable)."),
    description: str = typer.Option(..., "--description", help="What and why (shown to voters)."),
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose one call that the timelock executes if the vote passes."""
    from offchain.chain.governance import GovernanceActions

    def headline(result: ActionResult) -> str:
        s = result.summary
        return (
            f"proposal {s['proposal_id']} ({s['call']}): voting from block "
            f"{s['voting_starts_block']} to {s['voting_ends_block']}"
        )

    run_operator(
        ctx,
        GovernanceActions,
        lambda actions: actions.propose(target, call, list(arg), description),
        headline,
        account=account,
        as_json=as_json,
    )


@app.command("vote")
def vote(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., help="The proposal id."),
    support: str = typer.Argument(..., help="for, against or abstain."),
    reason: str = typer.Option("", "--reason", help="A reason recorded with the vote."),
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vote on an active proposal with your delegated LORA."""
    from offchain.chain.governance import GovernanceActions

    run_operator(
        ctx,
        GovernanceActions,
        lambda actions: actions.vote(_id(proposal_id), support, reason),
        f"voted {support} on proposal {proposal_id}",
        account=account,
        as_json=as_json,
    )


@app.command("queue")
def queue(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., help="The proposal id."),
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a succeeded proposal in the timelock (before it expires)."""
    from offchain.chain.governance import GovernanceActions

    run_operator(
        ctx,
        GovernanceActions,
        lambda actions: actions.queue(_id(proposal_id)),
        lambda result: f"proposal {proposal_id} queued; executable from {result.summary['eta']}",
        account=account,
        as_json=as_json,
    )


@app.command("execute")
def execute(
    ctx: typer.Context,
    proposal_id: str = typer.Argument(..., help="The proposal id."),
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Execute a queued proposal once the timelock's delay has passed."""
    from offchain.chain.governance import GovernanceActions

    run_operator(
        ctx,
        GovernanceActions,
        lambda actions: actions.execute(_id(proposal_id)),
        f"proposal {proposal_id} executed",
        account=account,
        as_json=as_json,
    )


@app.command("show")
def show(
    ctx: typer.Context,
    proposal_id: str | None = typer.Argument(None, help="A proposal id (default: all)."),
    as_json: JsonOpt = False,
) -> None:
    """Show proposals: state, calls, votes, quorum, deadline."""
    from offchain.chain.governance import GovernanceActions
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    protocol = cli.protocol()
    view = GovernanceActions(protocol, protocol.hub.address)
    found = [view.proposal(_id(proposal_id))] if proposal_id else view.proposals()

    def render(console: Console) -> None:
        if not found:
            console.print("no proposals yet")
            return
        table = Table("id", "state", "calls", "for", "against", "abstain", "quorum", "deadline")
        for p in found:
            table.add_row(
                str(p.proposal_id)[:12] + ("…" if len(str(p.proposal_id)) > 12 else ""),
                p.state.name.lower(),
                "\n".join(p.calls),
                format_lora(p.votes_for),
                format_lora(p.votes_against),
                format_lora(p.votes_abstain),
                format_lora(p.quorum),
                f"block {p.deadline}",
            )
        console.print(table)

    cli.emit({"proposals": [p.as_dict() for p in found]}, render)


def _id(text: str) -> int:
    from offchain.chain.errors import PrecheckError

    try:
        return int(text, 0)
    except ValueError as err:
        raise PrecheckError(f"'{text}' is not a proposal id (a number).") from err
