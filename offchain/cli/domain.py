"""``loranet domain list|show|create|update``: kinds of work and their validation policy."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.operator import run_operator
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult

app = typer.Typer(
    help="Domains (kinds of work) and their validation policy: list, create, update.",
    no_args_is_help=True,
)

QUORUM = "Identical validator attestations that decide a round (1..255)."
CHALLENGE = "Seconds after a round's submission window during which validators attest."
TOLERANCE = "Eval tolerance, fixed point with 1000000 = 1.0 (read by validators)."
SLASH = "Part of a provider's slashable stake taken per rejected report (bps)."


def _policies(cli: Any) -> list[dict[str, Any]]:
    from offchain.chain.admin import AdminActions

    protocol = cli.protocol()
    registry = protocol.client.contract("DomainRegistry")
    view = AdminActions(protocol, protocol.hub.address)
    out = []
    for domain_id in range(1, int(registry.functions.domainCount().call()) + 1):
        out.append({"domain_id": domain_id, **asdict(view.domain_policy(domain_id))})
    names = {
        int(log["args"]["domainId"]): str(log["args"]["name"])
        for log in registry.events.DomainCreated.get_logs(
            from_block=protocol.client.deployment.block
        )
    }
    for row in out:
        row["name"] = names.get(row["domain_id"], "")
    return out


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """List every domain with its policy."""
    cli = state(ctx)
    cli.use_json(as_json)
    rows = _policies(cli)

    def render(console: Console) -> None:
        table = Table("id", "name", "quorum", "challenge", "tolerance", "slash", title="domains")
        for r in rows:
            table.add_row(
                str(r["domain_id"]), r["name"], str(r["quorum"]), f"{r['challenge_window']} s",
                str(r["eval_tolerance"]), f"{r['slash_bps']} bps",
            )  # fmt: skip
        console.print(table if rows else "no domains yet")

    cli.emit(rows, render)


def _policy(
    base: Any,
    quorum: int | None,
    challenge_window: int | None,
    eval_tolerance: int | None,
    local_gpu_bps: int | None,
    custom_bps: int | None,
    remote_api_bps: int | None,
    slash_bps: int | None,
    slash_amount: str | None,
) -> Any:
    from offchain.chain.units import parse_amount

    given = {
        "quorum": quorum,
        "challenge_window": challenge_window,
        "eval_tolerance": eval_tolerance,
        "local_gpu_multiplier_bps": local_gpu_bps,
        "custom_multiplier_bps": custom_bps,
        "remote_api_multiplier_bps": remote_api_bps,
        "slash_bps": slash_bps,
        "slash_amount": parse_amount(slash_amount) if slash_amount is not None else None,
    }
    return replace(base, **{k: v for k, v in given.items() if v is not None})


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Unique name, e.g. lora-finetune."),
    quorum: int | None = typer.Option(None, "--quorum", help=QUORUM + " Default 1."),
    challenge_window: int | None = typer.Option(
        None, "--challenge-window", help=CHALLENGE + " Default 3600."
    ),
    eval_tolerance: int | None = typer.Option(None, "--eval-tolerance", help=TOLERANCE),
    local_gpu_bps: int | None = typer.Option(None, "--local-gpu-bps", help="Default 15000."),
    custom_bps: int | None = typer.Option(None, "--custom-bps", help="Default 10000."),
    remote_api_bps: int | None = typer.Option(None, "--remote-api-bps", help="Default 5000."),
    slash_bps: int | None = typer.Option(None, "--slash-bps", help=SLASH + " Default 1000."),
    slash_amount: str | None = typer.Option(None, "--slash-amount", help="Fixed slash (LORA)."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a domain (admin)."""
    from offchain.chain.admin import AdminActions, Policy

    policy = _policy(
        Policy(), quorum, challenge_window, eval_tolerance, local_gpu_bps, custom_bps,
        remote_api_bps, slash_bps, slash_amount,
    )  # fmt: skip
    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.create_domain(name, policy),
        lambda result: f"domain {result.summary['domain_id']} '{name}' created",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("update")
def update(
    ctx: typer.Context,
    domain_id: int = typer.Argument(..., help="Domain id."),
    quorum: int | None = typer.Option(None, "--quorum", help=QUORUM),
    challenge_window: int | None = typer.Option(None, "--challenge-window", help=CHALLENGE),
    eval_tolerance: int | None = typer.Option(None, "--eval-tolerance", help=TOLERANCE),
    local_gpu_bps: int | None = typer.Option(None, "--local-gpu-bps"),
    custom_bps: int | None = typer.Option(None, "--custom-bps"),
    remote_api_bps: int | None = typer.Option(None, "--remote-api-bps"),
    slash_bps: int | None = typer.Option(None, "--slash-bps", help=SLASH),
    slash_amount: str | None = typer.Option(None, "--slash-amount", help="Fixed slash (LORA)."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a domain's policy (admin); options not given keep their current value."""
    from offchain.chain.admin import AdminActions

    def act(actions: AdminActions) -> ActionResult:
        policy = _policy(
            actions.domain_policy(domain_id), quorum, challenge_window, eval_tolerance,
            local_gpu_bps, custom_bps, remote_api_bps, slash_bps, slash_amount,
        )  # fmt: skip
        return actions.update_domain(domain_id, policy)

    run_operator(
        ctx,
        AdminActions,
        act,
        f"domain {domain_id} updated",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )
