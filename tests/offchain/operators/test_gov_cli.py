"""``loranet gov``: a whole proposal lifecycle on the session deployment (delegate, propose,
vote, show, queue, execute after the timelock's delay) with time travel on anvil, and the
refusals (no votes at the snapshot, executing too early, a non-existent proposal) as one
sentence with nothing sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.protocol import Protocol

Run = Callable[..., Any]
TWO_WEEKS = 14 * 24 * 3600


def test_gov_lifecycle_and_refusals(
    run_cli: Run,
    cli_json: Callable[..., Any],
    refused: Callable[..., Any],
    admin_key: LocalAccount,
    outsider_key: LocalAccount,
    protocol: Protocol,
    chain: Any,
    deployment: Any,
) -> None:
    gov = deployment.data["governance"]
    cli_json("gov", "delegate", "--account", "admin")
    chain.mine(1)
    proposed = cli_json(
        "gov", "propose", "--target", "NetworkHub", "--call", "setUnbondingPeriod(uint256)",
        "--arg", str(TWO_WEEKS), "--description", "two-week unbonding", "--account", "admin",
    )  # fmt: skip
    proposal = proposed["proposal_id"]
    assert proposed["call"] == f"NetworkHub.setUnbondingPeriod({TWO_WEEKS})"
    pending = f"proposal {proposal} is pending: votes are taken only while it is active."
    refused(outsider_key, "gov", "vote", proposal, "for", "--account", "outsider",
            sentence=pending)  # fmt: skip
    chain.mine(gov["voting_delay"] + 1)
    refused(outsider_key, "gov", "vote", proposal, "for", "--account", "outsider",
            sentence=f"{outsider_key.address} had no votes at the proposal's snapshot")  # fmt: skip
    voted = cli_json("gov", "vote", proposal, "for", "--account", "admin")
    assert voted["support"] == "for" and int(voted["weight"]) > 0
    chain.mine(gov["voting_period"])
    [shown] = cli_json("gov", "show", proposal)["proposals"]
    assert shown["state"] == "succeeded"
    assert shown["calls"] == [f"NetworkHub.setUnbondingPeriod(period={TWO_WEEKS})"]
    cli_json("gov", "queue", proposal, "--account", "admin")
    refused(admin_key, "gov", "execute", proposal, "--account", "admin",
            sentence=f"proposal {proposal} is in the timelock until")  # fmt: skip
    chain.mine(timestamp=chain.blocks.head.timestamp + gov["timelock_delay"] + 1)
    cli_json("gov", "execute", proposal, "--account", "admin")
    assert int(protocol.stake.functions.unbondingPeriod().call()) == TWO_WEEKS
    assert cli_json("gov", "show")["proposals"][-1]["state"] == "executed"
    refused(admin_key, "gov", "queue", "12345", "--account", "admin",
            sentence="proposal 12345 does not exist.")  # fmt: skip
