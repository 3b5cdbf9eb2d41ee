"""Governance: LoraGovernor (votes from LORA) + LoraTimelock (holds every admin role).

A whole proposal lifecycle on anvil with time travel (propose, vote, queue, wait for the
timelock, execute), a defeated and an expired proposal, and a production-style deployment in
which the deployer renounced everything: then only the timelock changes parameters or roles,
and the guardian may pause but never unpause.

The session's test deployment keeps the deployer as a dev admin beside the timelock and uses
short clocks (voting delay 1 block, period 10 blocks, queue period 5 blocks, timelock 60 s).
"""

from __future__ import annotations

import ape
import pytest
from loranet_testkit import TOKEN

from scripts.deploy import DeployParams, deploy_all

PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
FOR, AGAINST = 1, 0


@pytest.fixture
def gov(protocol, project):
    c = protocol.data["contracts"]
    return project.LoraGovernor.at(c["LoraGovernor"]), project.LoraTimelock.at(c["LoraTimelock"])


def _delegate(protocol, who):
    # Ape's contract instance has its own `delegate` attribute: call the ABI method by name
    protocol.token.invoke_transaction("delegate", who, sender=who)


def _propose(protocol, gov, proposer, chain, period, description="set the unbonding period"):
    governor, _ = gov
    _delegate(protocol, proposer)
    chain.mine(1)  # votes count from the block after the delegation
    call = protocol.hub.setUnbondingPeriod.encode_input(period)
    tx = governor.propose([protocol.hub.address], [0], [call], description, sender=proposer)
    [event] = [e for e in tx.events if e.event_name == "ProposalCreated"]
    chain.mine(governor.votingDelay() + 1)
    assert governor.state(event.proposalId) == ACTIVE
    return event.proposalId


def test_proposal_lifecycle_through_the_timelock(protocol, gov, alice, chain, owner):
    governor, timelock = gov
    assert protocol.hub.hasRole(protocol.hub.DEFAULT_ADMIN_ROLE(), timelock)
    assert protocol.token.hasRole(protocol.token.DEFAULT_ADMIN_ROLE(), timelock)
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor)
    proposal = _propose(protocol, gov, alice, chain, 7_200)
    governor.castVote(proposal, FOR, sender=alice)
    chain.mine(governor.votingPeriod())
    assert governor.state(proposal) == SUCCEEDED
    with ape.reverts():
        governor.execute(proposal, sender=alice)  # must be queued first
    governor.queue(proposal, sender=alice)
    assert governor.state(proposal) == QUEUED
    with ape.reverts():
        governor.execute(proposal, sender=alice)  # the timelock's delay has not passed
    chain.mine(timestamp=chain.blocks.head.timestamp + timelock.getMinDelay() + 1)
    governor.execute(proposal, sender=alice)
    assert governor.state(proposal) == EXECUTED
    assert protocol.stake.unbondingPeriod() == 7_200


def test_defeated_proposal_cannot_be_queued(protocol, gov, alice, bob, chain):
    governor, _ = gov
    _delegate(protocol, bob)
    proposal = _propose(protocol, gov, alice, chain, 7_200)
    governor.castVote(proposal, FOR, sender=alice)
    governor.castVote(proposal, AGAINST, sender=bob)  # same weight: a tie is a defeat
    chain.mine(governor.votingPeriod())
    assert governor.state(proposal) == DEFEATED
    with ape.reverts(governor.GovernorUnexpectedProposalState):
        governor.queue(proposal, sender=alice)


def test_proposal_not_queued_in_time_expires(protocol, gov, alice, chain):
    governor, _ = gov
    proposal = _propose(protocol, gov, alice, chain, 7_200)
    governor.castVote(proposal, FOR, sender=alice)
    chain.mine(governor.votingPeriod())
    assert governor.state(proposal) == SUCCEEDED
    chain.mine(governor.queuePeriod() + 1)
    assert governor.state(proposal) == EXPIRED
    with ape.reverts(governor.GovernorUnexpectedProposalState):
        governor.queue(proposal, sender=alice)


def test_production_deploy_leaves_every_admin_role_to_the_timelock(
    project, owner, alice, treasury, burner, tmp_path
):
    """Without --dev-admin the deployer renounces: only the timelock changes parameters or
    roles; the guardian may pause, never unpause; nobody mints without a governance budget."""
    params = DeployParams(
        treasury=treasury.address, guardians=(burner.address,), dev_admin=False, timelock_delay=60
    )
    data = deploy_all(owner, params, network="prod-like", out_dir=tmp_path)
    c = data["contracts"]
    hub, token = project.NetworkHub.at(c["NetworkHub"]), project.LoraToken.at(c["LoraToken"])
    timelock = project.LoraTimelock.at(c["LoraTimelock"])
    admin = hub.DEFAULT_ADMIN_ROLE()
    assert data["roles"]["admin"] == timelock.address and data["roles"]["dev_admin"] is None
    for contract in (hub, token, timelock):
        assert not contract.hasRole(admin, owner)
    assert hub.hasRole(admin, timelock) and token.hasRole(admin, timelock)
    for contract, call in (
        (hub, lambda: hub.setUnbondingPeriod(10 * 86_400, sender=owner)),
        (hub, lambda: hub.grantRole(hub.VALIDATOR_ROLE(), alice, sender=owner)),
        (hub, lambda: hub.setStakeParams(0, 0, sender=owner)),
        (token, lambda: token.setMintAllowance(10**9 * TOKEN, sender=owner)),
        (token, lambda: token.grantRole(token.MINTER_ROLE(), owner, sender=owner)),
    ):
        with ape.reverts(contract.AccessControlUnauthorizedAccount):
            call()
    assert token.mintAllowance() == 0
    hub.pause(sender=burner)  # the guardian
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.unpause(sender=burner)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.unpause(sender=owner)
