"""StakeManager through the hub: stake, unbond, withdraw, slash, parameters, and the Prime
Intellect bug (a slash that strands matured unbonds) being absent."""

from __future__ import annotations

import ape
import pytest
from loranet_testkit import (
    BASE_STAKE,
    CHALLENGE,
    DEADLINE,
    TOKEN,
    UNBONDING,
    ZERO,
    permit_vrs,
    register,
)


def _permit(token, owner, spender, value, deadline, chain_id):
    return permit_vrs(
        token,
        owner=owner.address,
        spender=str(spender.address),
        value=value,
        deadline=deadline,
        signer_key=owner.private_key,
        chain_id=chain_id,
    )


# ---------------------------------------------------------------------- register + stake


def test_register_with_permit_in_one_transaction(protocol, alice, chain):
    amount = 2_000 * TOKEN
    v, r, s = _permit(protocol.token, alice, protocol.stake, amount, DEADLINE, chain.chain_id)
    tx = protocol.hub.registerProvider(amount, DEADLINE, v, r, s, sender=alice)
    names = [e.event_name for e in tx.events]
    assert "ProviderRegistered" in names and "Staked" in names
    assert protocol.stake.stakedOf(alice) == amount
    assert protocol.registry.providerOf(alice).registered
    assert protocol.token.allowance(alice, protocol.stake) == 0


def test_register_with_frontrun_permit_still_works(protocol, alice, attacker, chain):
    amount = 2_000 * TOKEN
    v, r, s = _permit(protocol.token, alice, protocol.stake, amount, DEADLINE, chain.chain_id)
    protocol.token.permit(alice, protocol.stake, amount, DEADLINE, v, r, s, sender=attacker)
    protocol.hub.registerProvider(amount, DEADLINE, v, r, s, sender=alice)  # permit fails, ignored
    assert protocol.stake.stakedOf(alice) == amount


def test_register_below_base_stake_reverts(protocol, alice):
    protocol.token.approve(protocol.stake, BASE_STAKE, sender=alice)
    with ape.reverts(protocol.hub.NetworkHubInsufficientStake, required=BASE_STAKE):
        protocol.hub.registerProvider(BASE_STAKE - 1, 0, 0, ZERO, ZERO, sender=alice)


def test_register_without_allowance_reverts(protocol, alice):
    with ape.reverts(protocol.token.ERC20InsufficientAllowance):
        protocol.hub.registerProvider(BASE_STAKE, 0, 0, ZERO, ZERO, sender=alice)


def test_register_twice_reverts(protocol, alice):
    register(protocol, alice)
    protocol.token.approve(protocol.stake, BASE_STAKE, sender=alice)
    with ape.reverts(protocol.registry.ComputeRegistryAlreadyRegistered):
        protocol.hub.registerProvider(BASE_STAKE, 0, 0, ZERO, ZERO, sender=alice)


def test_stake_adds(protocol, alice):
    register(protocol, alice, 1_000 * TOKEN)
    protocol.token.approve(protocol.stake, 500 * TOKEN, sender=alice)
    tx = protocol.hub.stake(500 * TOKEN, sender=alice)
    [event] = [e for e in tx.events if e.event_name == "Staked"]
    assert event.amount == 500 * TOKEN and event.staked == 1_500 * TOKEN
    assert protocol.stake.totalStaked() == 1_500 * TOKEN
    with ape.reverts(protocol.stake.StakeManagerZeroAmount):
        protocol.hub.stake(0, sender=alice)


# ---------------------------------------------------------------------- unbond + withdraw


def test_unbond_then_withdraw_after_period(protocol, alice, warp, chain):
    register(protocol, alice, 2_000 * TOKEN)
    tx = protocol.hub.unbond(800 * TOKEN, sender=alice)
    [event] = [e for e in tx.events if e.event_name == "UnbondRequested"]
    assert event.requestId == 0 and event.amount == 800 * TOKEN
    release = event.releaseAt
    assert release == chain.blocks.head.timestamp + UNBONDING
    assert protocol.stake.stakedOf(alice) == 1_200 * TOKEN
    assert protocol.stake.unbondingOf(alice) == 800 * TOKEN
    assert protocol.stake.withdrawableOf(alice) == 0
    with ape.reverts(protocol.stake.StakeManagerNothingToWithdraw):
        protocol.stake.withdraw(sender=alice)
    warp(release)
    balance = protocol.token.balanceOf(alice)
    tx = protocol.stake.withdraw(sender=alice)
    [event] = [e for e in tx.events if e.event_name == "Withdrawn"]
    assert event.amount == 800 * TOKEN and (event.fromId, event.toId) == (0, 1)
    assert protocol.token.balanceOf(alice) - balance == 800 * TOKEN
    assert protocol.stake.unbondingOf(alice) == 0


def test_several_pending_unbonds_withdraw_fifo(protocol, alice, warp, chain):
    register(protocol, alice, 3_000 * TOKEN)
    t0 = chain.pending_timestamp
    warp(t0)
    protocol.hub.unbond(100 * TOKEN, sender=alice)
    warp(t0 + 100)
    protocol.hub.unbond(200 * TOKEN, sender=alice)
    chain.mine(timestamp=t0 + UNBONDING + 50)  # only the first matured (views read the head block)
    assert protocol.stake.withdrawableOf(alice) == 100 * TOKEN
    protocol.stake.withdraw(sender=alice)
    assert protocol.stake.unbondingOf(alice) == 200 * TOKEN
    warp(t0 + UNBONDING + 100)
    protocol.stake.withdraw(sender=alice)
    assert protocol.stake.unbondingOf(alice) == 0
    account = protocol.stake.accountOf(alice)
    assert account.head == account.tail == 2


def test_unbond_bounds(protocol, alice):
    register(protocol, alice, 2_000 * TOKEN)
    with ape.reverts(protocol.stake.StakeManagerZeroAmount):
        protocol.hub.unbond(0, sender=alice)
    with ape.reverts(protocol.hub.NetworkHubInsufficientStake):
        protocol.hub.unbond(2_001 * TOKEN, sender=alice)


def test_too_many_pending_unbonds(protocol, alice):
    register(protocol, alice, 2_000 * TOKEN)
    limit = protocol.stake.MAX_PENDING_UNBONDS()
    for _ in range(limit):
        protocol.hub.unbond(TOKEN, sender=alice)
    with ape.reverts(protocol.stake.StakeManagerTooManyUnbonds, max=limit):
        protocol.hub.unbond(TOKEN, sender=alice)


def test_registered_provider_keeps_base_stake_until_deregistered(protocol, alice):
    """Issue 18: registration needs the base stake, also without nodes; deregistering (no
    nodes left) frees it."""
    register(protocol, alice, 2_000 * TOKEN)
    assert protocol.hub.minStakeOf(alice) == BASE_STAKE
    with ape.reverts(protocol.hub.NetworkHubInsufficientStake, required=BASE_STAKE):
        protocol.hub.unbond(2_000 * TOKEN, sender=alice)
    protocol.hub.unbond(2_000 * TOKEN - BASE_STAKE, sender=alice)
    tx = protocol.hub.deregisterProvider(sender=alice)
    assert [
        e.event_arguments["provider"] for e in tx.events if e.event_name == "ProviderDeregistered"
    ] == [alice.address]
    assert protocol.hub.minStakeOf(alice) == 0
    protocol.hub.unbond(BASE_STAKE, sender=alice)
    assert protocol.stake.stakedOf(alice) == 0
    with ape.reverts(protocol.registry.ComputeRegistryNotRegistered):
        protocol.hub.deregisterProvider(sender=alice)


def test_deregister_needs_no_nodes(protocol, signer, node_keys, alice):
    register(protocol, alice, 2_000 * TOKEN)
    key = node_keys[5]
    sig = signer.add_node(key, alice, 1)
    protocol.hub.addNode(key.address, 1, ZERO, DEADLINE, sig, sender=alice)
    with ape.reverts(protocol.registry.ComputeRegistryHasNodes, nodeCount=1):
        protocol.hub.deregisterProvider(sender=alice)
    protocol.hub.removeNode(key.address, sender=alice)
    protocol.hub.deregisterProvider(sender=alice)


def test_shorter_period_keeps_release_times_monotone(protocol, alice, owner):
    register(protocol, alice, 2_000 * TOKEN)
    protocol.hub.unbond(TOKEN, sender=alice)
    first = protocol.stake.unbondRequest(alice, 0).releaseAt
    protocol.hub.setUnbondingPeriod(2 * CHALLENGE, sender=owner)  # the shortest allowed
    protocol.hub.unbond(TOKEN, sender=alice)
    assert protocol.stake.unbondRequest(alice, 1).releaseAt == first


# ---------------------------------------------------------------------- slash


def test_admin_slash_splits_burn_and_treasury(protocol, alice, owner, treasury):
    register(protocol, alice, 2_000 * TOKEN)
    supply = protocol.token.totalSupply()
    tx = protocol.hub.slash(alice, 300 * TOKEN, b"fraud".ljust(32, b"\0"), sender=owner)
    [event] = [e for e in tx.events if e.event_name == "Slashed"]
    assert event.amount == 300 * TOKEN and event.fromStake == 300 * TOKEN
    assert event.burned == 150 * TOKEN and event.toTreasury == 150 * TOKEN
    assert protocol.token.totalSupply() == supply - 150 * TOKEN
    assert protocol.token.balanceOf(treasury) == 150 * TOKEN
    assert protocol.stake.totalSlashed() == 300 * TOKEN


def test_slash_more_than_staked_is_capped(protocol, alice, owner):
    register(protocol, alice, 2_000 * TOKEN)
    tx = protocol.hub.slash(alice, 10**9 * TOKEN, ZERO, sender=owner)
    [event] = [e for e in tx.events if e.event_name == "Slashed"]
    assert event.amount == 2_000 * TOKEN
    assert protocol.stake.stakedOf(alice) == 0
    tx = protocol.hub.slash(alice, TOKEN, ZERO, sender=owner)  # nothing left: slashes 0
    assert [e.amount for e in tx.events if e.event_name == "Slashed"] == [0]


def test_slash_never_strands_matured_unbonds(protocol, alice, owner, warp, chain):
    """Prime Intellect's bug: a slash left matured unbond requests unwithdrawable. Here a slash
    takes free stake, then immature unbonds (newest first) and never touches matured ones."""
    register(protocol, alice, 1_500 * TOKEN)
    t0 = chain.pending_timestamp
    warp(t0)
    protocol.hub.unbond(300 * TOKEN, sender=alice)  # request 0: matures at t0 + UNBONDING
    warp(t0 + UNBONDING + 1)
    protocol.hub.unbond(200 * TOKEN, sender=alice)  # request 1: immature
    assert protocol.stake.slashableOf(alice) == 1_000 * TOKEN + 200 * TOKEN

    tx = protocol.hub.slash(alice, 10_000 * TOKEN, ZERO, sender=owner)
    [event] = [e for e in tx.events if e.event_name == "Slashed"]
    assert (event.fromStake, event.fromUnbonding) == (1_000 * TOKEN, 200 * TOKEN)
    assert protocol.stake.unbondRequest(alice, 0).amount == 300 * TOKEN
    assert protocol.stake.unbondRequest(alice, 1).amount == 0
    assert protocol.stake.accountOf(alice).tail == 1  # the emptied request 1 was popped
    assert protocol.stake.unbondingOf(alice) == 300 * TOKEN
    balance = protocol.token.balanceOf(alice)
    protocol.stake.withdraw(sender=alice)
    assert protocol.token.balanceOf(alice) - balance == 300 * TOKEN
    warp(t0 + 2 * UNBONDING + 2)
    with ape.reverts(protocol.stake.StakeManagerNothingToWithdraw):
        protocol.stake.withdraw(sender=alice)


def test_slash_emptying_a_full_queue_never_locks_future_stake(protocol, alice, owner, warp, chain):
    """Issue 19, item 1: a slash that empties all 16 pending requests used to leave them in
    the queue for good (withdraw reverted without moving the head, unbond reverted
    TooManyUnbonds). Emptied requests are popped: the provider can unbond and withdraw again."""
    limit = protocol.stake.MAX_PENDING_UNBONDS()
    register(protocol, alice, BASE_STAKE + limit * TOKEN)
    for _ in range(limit):
        protocol.hub.unbond(TOKEN, sender=alice)
    protocol.hub.slash(alice, 10**6 * TOKEN, ZERO, sender=owner)  # stake and every request
    account = protocol.stake.accountOf(alice)
    assert account.head == account.tail and account.unbonding == 0
    protocol.token.approve(protocol.stake, BASE_STAKE + 5 * TOKEN, sender=alice)
    protocol.hub.stake(BASE_STAKE + 5 * TOKEN, sender=alice)
    tx = protocol.hub.unbond(5 * TOKEN, sender=alice)
    [event] = [e for e in tx.events if e.event_name == "UnbondRequested"]
    warp(event.releaseAt)
    balance = protocol.token.balanceOf(alice)
    protocol.stake.withdraw(sender=alice)
    assert protocol.token.balanceOf(alice) - balance == 5 * TOKEN


def test_partial_slash_of_unbonds_newest_first(protocol, alice, owner):
    register(protocol, alice, 1_800 * TOKEN)
    protocol.hub.unbond(400 * TOKEN, sender=alice)
    protocol.hub.unbond(400 * TOKEN, sender=alice)
    protocol.hub.slash(alice, 1_300 * TOKEN, ZERO, sender=owner)  # 1000 stake + 300 of request 1
    assert protocol.stake.stakedOf(alice) == 0
    assert protocol.stake.unbondRequest(alice, 1).amount == 100 * TOKEN
    assert protocol.stake.unbondRequest(alice, 0).amount == 400 * TOKEN
    assert protocol.stake.unbondingOf(alice) == 500 * TOKEN
    assert protocol.stake.totalUnbonding() == 500 * TOKEN


@pytest.mark.parametrize("name", ["stakeFor", "requestUnbond", "pause", "unpause", "slash"])
def test_stake_manager_only_hub_or_ledger(protocol, attacker, alice, name):
    args = {
        "stakeFor": (alice, TOKEN),
        "requestUnbond": (alice, TOKEN),
        "pause": (),
        "unpause": (),
        "slash": (alice, TOKEN, 0, ZERO),
    }[name]
    with ape.reverts(protocol.stake.HubModuleUnauthorized, caller=attacker.address):
        getattr(protocol.stake, name)(*args, sender=attacker)


def test_slash_rejects_bps_over_100_percent(protocol, alice, chain):
    # only reachable through the ledger/hub; impersonate the hub to check the guard
    hub = protocol.hub.address
    chain.provider.set_balance(hub, 10**18)
    with ape.reverts(protocol.stake.StakeManagerInvalidBps, bps=10_001):
        protocol.stake.slash(alice, 0, 10_001, ZERO, sender=ape.accounts[hub])


# ---------------------------------------------------------------------- parameters


def test_parameters_admin_only_and_validated(protocol, owner, attacker, treasury):
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setUnbondingPeriod(1, sender=attacker)
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setSlashSplit(0, attacker, sender=attacker)
    tx = protocol.hub.setUnbondingPeriod(7 * 86_400, sender=owner)
    assert [e.period for e in tx.events if e.event_name == "UnbondingPeriodSet"] == [7 * 86_400]
    with ape.reverts(protocol.stake.StakeManagerInvalidUnbondingPeriod):
        protocol.hub.setUnbondingPeriod(366 * 86_400, sender=owner)
    tx = protocol.hub.setSlashSplit(10_000, treasury, sender=owner)
    assert protocol.stake.burnBps() == 10_000
    with ape.reverts(protocol.stake.StakeManagerInvalidBps):
        protocol.hub.setSlashSplit(10_001, treasury, sender=owner)
    with ape.reverts(protocol.stake.StakeManagerZeroTreasury):
        protocol.hub.setSlashSplit(5_000, "0x" + "00" * 20, sender=owner)
