"""NetworkHub: wiring, roles (every admin / validator / pool-creator entry point refuses other
callers), stake parameters, and the domain registry behind it."""

from __future__ import annotations

import ape
import pytest
from loranet_testkit import BASE_STAKE, PER_UNIT, TOKEN, ZERO, create_pool

POLICY = (2, 600, 50_000, 15_000, 10_000, 5_000, 1_000, 0)
NODE = "0x" + "11" * 20


def test_wiring(protocol):
    hub = protocol.hub
    assert hub.token() == protocol.token.address
    assert hub.stakeManager() == protocol.stake.address
    assert hub.computeRegistry() == protocol.registry.address
    assert hub.domainRegistry() == protocol.domains.address
    assert hub.computePool() == protocol.pools.address
    assert hub.workLedger() == protocol.ledger.address
    for module in (
        protocol.stake,
        protocol.registry,
        protocol.domains,
        protocol.pools,
        protocol.ledger,
    ):
        assert module.hub() == hub.address
    assert not protocol.token.hasRole(protocol.token.MINTER_ROLE(), protocol.ledger)  # never mints


def test_wire_only_once(protocol, owner):
    modules = (protocol.stake, protocol.registry, protocol.domains, protocol.pools, protocol.ledger)
    with ape.reverts(protocol.hub.NetworkHubAlreadyWired):
        protocol.hub.wire(modules, sender=owner)


def test_wire_rejects_foreign_modules(project, protocol, owner, attacker):
    hub = owner.deploy(project.NetworkHub, owner, protocol.token, BASE_STAKE, PER_UNIT)
    modules = (protocol.stake, protocol.registry, protocol.domains, protocol.pools, protocol.ledger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.wire(modules, sender=attacker)
    with ape.reverts(hub.NetworkHubInvalidModule, module=protocol.stake.address):
        hub.wire(modules, sender=owner)  # they obey the other hub
    with ape.reverts(hub.NetworkHubInvalidModule):
        hub.wire((attacker, attacker, attacker, attacker, attacker), sender=owner)  # no code


def test_stake_params(protocol, owner, attacker, alice):
    tx = protocol.hub.setStakeParams(5 * TOKEN, 2 * TOKEN, sender=owner)
    [event] = [e for e in tx.events if e.event_name == "StakeParamsSet"]
    assert (event.baseStake, event.perUnitStake) == (5 * TOKEN, 2 * TOKEN)
    assert (protocol.hub.baseStake(), protocol.hub.perUnitStake()) == (5 * TOKEN, 2 * TOKEN)
    assert protocol.hub.minStakeOf(alice) == 0  # not registered
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setStakeParams(0, 0, sender=attacker)


ADMIN_CALLS = {
    "setStakeParams": (1, 1),
    "setUnbondingPeriod": (1,),
    "setSlashSplit": (0, NODE),
    "slash": (NODE, 1, ZERO),
    "createDomain": ("x", POLICY),
    "updateDomain": (1, POLICY),
    "setProviderBlacklisted": (NODE, True),
    "setNodeBlacklisted": (NODE, True),
    "grantRole": (ZERO, NODE),
    "unpause": (),
}


@pytest.mark.parametrize("name", sorted(ADMIN_CALLS))
@pytest.mark.parametrize("who", ["attacker", "validator", "creator"])
def test_admin_calls_refuse_others(protocol, request, name, who):
    caller = request.getfixturevalue(who)
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount, account=caller.address):
        getattr(protocol.hub, name)(*ADMIN_CALLS[name], sender=caller)


@pytest.mark.parametrize("who", ["attacker", "creator", "owner"])
def test_validator_calls_refuse_others(protocol, request, who):
    caller = request.getfixturevalue(who)
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount, account=caller.address):
        protocol.hub.setNodeValidated(NODE, True, sender=caller)
    with ape.reverts(protocol.ledger.WorkLedgerNotValidator, account=caller.address):
        protocol.ledger.attest(1, 0, 0, ZERO, sender=caller)


@pytest.mark.parametrize("who", ["attacker", "validator", "owner"])
def test_pool_creator_role_required(protocol, request, who):
    caller = request.getfixturevalue(who)  # even the admin needs the role to create pools
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount, account=caller.address):
        create_pool(protocol, caller)


def test_ledger_hook_only_hub(protocol, attacker):
    with ape.reverts(protocol.ledger.WorkLedgerUnauthorized, caller=attacker.address):
        protocol.ledger.onNodeJoined(1, NODE, attacker, sender=attacker)


def test_roles_granted_by_deploy(protocol, validator, validator2, creator, owner):
    hub = protocol.hub
    assert hub.hasRole(hub.VALIDATOR_ROLE(), validator) and hub.hasRole(
        hub.VALIDATOR_ROLE(), validator2
    )
    assert hub.hasRole(hub.POOL_CREATOR_ROLE(), creator)
    assert hub.hasRole(hub.DEFAULT_ADMIN_ROLE(), owner)
    assert not protocol.token.hasRole(
        protocol.token.MINTER_ROLE(), owner
    )  # renounced after funding


# ---------------------------------------------------------------------- domains


def test_default_domains(protocol):
    assert protocol.domains.domainCount() == 2
    assert protocol.domains.domainIdOf("lora-finetune") == 1
    assert protocol.domains.domainIdOf("inference") == 2
    policy = protocol.domains.policyOf(1)
    assert policy.quorum == 2 and policy.slashBps == 1_000
    assert [protocol.domains.multiplierOf(1, mode) for mode in (0, 1, 2)] == [15_000, 10_000, 5_000]


def test_create_and_update_domain(protocol, owner):
    tx = protocol.hub.createDomain("eval", POLICY, sender=owner)
    [event] = [e for e in tx.events if e.event_name == "DomainCreated"]
    assert event.domainId == 3 and event.name == "eval"
    with ape.reverts(protocol.domains.DomainRegistryNameTaken):
        protocol.hub.createDomain("eval", POLICY, sender=owner)
    with ape.reverts(protocol.domains.DomainRegistryNameTaken):
        protocol.hub.createDomain("", POLICY, sender=owner)
    updated = (3, 900, 1, 12_000, 10_000, 8_000, 0, 5 * TOKEN)
    tx = protocol.hub.updateDomain(3, updated, sender=owner)
    assert [e.event_name for e in tx.events] == ["DomainUpdated"]
    policy = protocol.domains.policyOf(3)
    assert policy.quorum == 3 and policy.slashAmount == 5 * TOKEN
    # the hub's ABI carries the registry's error (createPool raises it in the hub itself)
    with ape.reverts(protocol.hub.DomainRegistryUnknownDomain, domainId=7):
        protocol.hub.updateDomain(7, updated, sender=owner)
    with ape.reverts(protocol.domains.DomainRegistryUnknownDomain):
        protocol.domains.policyOf(0)


@pytest.mark.parametrize(
    "policy",
    [
        (0, 600, 0, 1, 1, 1, 0, 0),  # quorum 0
        (1, 0, 0, 1, 1, 1, 0, 0),  # no challenge window
        (1, 600, 0, 0, 1, 1, 0, 0),  # zero multiplier
        (1, 600, 0, 1, 1, 1, 10_001, 0),  # slash over 100 %
    ],
)
def test_invalid_policies(protocol, owner, policy):
    with ape.reverts(protocol.domains.DomainRegistryInvalidPolicy):
        protocol.hub.createDomain("bad", policy, sender=owner)


@pytest.mark.parametrize("name", ["createDomain", "updateDomain"])
def test_domains_only_hub(protocol, attacker, name):
    args = ("x", POLICY) if name == "createDomain" else (1, POLICY)
    with ape.reverts(protocol.domains.HubModuleUnauthorized, caller=attacker.address):
        getattr(protocol.domains, name)(*args, sender=attacker)


@pytest.mark.parametrize("name", ["setUnbondingPeriod", "setSlashSplit"])
def test_stake_setters_only_hub(protocol, attacker, name):
    args = (1,) if name == "setUnbondingPeriod" else (0, attacker)
    with ape.reverts(protocol.stake.HubModuleUnauthorized):
        getattr(protocol.stake, name)(*args, sender=attacker)


def test_pools_take_the_domains_the_hub_created(protocol, owner, creator):
    """createPool checks the domain against the hub's copy of the registry's domain count
    (gas, issue 19): a domain created through the hub is usable at once, ids 0 and count + 1
    are not, and bad parameters revert first as before."""
    assert protocol.domains.domainCount() == 2
    for unknown in (0, 3):
        with ape.reverts(protocol.hub.DomainRegistryUnknownDomain, domainId=unknown):
            create_pool(protocol, creator, budget=0, domain_id=unknown)
    with ape.reverts(protocol.pools.ComputePoolInvalidParams):
        create_pool(protocol, creator, budget=0, domain_id=3, maxNodes=0)
    protocol.hub.createDomain("eval", POLICY, sender=owner)
    tx = create_pool(protocol, creator, budget=0, domain_id=3)
    [event] = [e for e in tx.events if e.event_name == "PoolCreated"]
    assert event.domainId == 3 and protocol.pools.poolOf(event.poolId).domainId == 3


# ---------------------------------------------------------------------- verdict span (issue 19)


def test_windows_longer_than_unbonding_are_refused(protocol, owner, creator):
    """A report's verdict comes at most `submissionWindow + 2 * challengeWindow` after it; an
    unbond requested after the report must not mature earlier, or a provider could report bad
    work, leave, unbond and withdraw before the rejection slashes it."""
    hub = protocol.hub
    period = protocol.stake.unbondingPeriod()  # 3600; domains have a 600 s challenge window
    assert hub.maxChallengeWindow() == 600
    too_long = period - 2 * 600 + 1
    with ape.reverts(hub.NetworkHubUnbondingTooShort, unbondingPeriod=period, span=period + 1):
        create_pool(protocol, creator, roundLength=too_long, submissionWindow=too_long)
    create_pool(protocol, creator, roundLength=too_long, submissionWindow=too_long - 1)
    assert hub.maxSubmissionWindow() == too_long - 1
    create_pool(protocol, creator, budget=0, submissionWindow=1)  # a shorter one keeps the longest
    assert protocol.pools.maxSubmissionWindow() == hub.maxSubmissionWindow() == too_long - 1
    with ape.reverts(hub.NetworkHubUnbondingTooShort):
        hub.setUnbondingPeriod(period - 1, sender=owner)
    wide = (1, 601, 0, 1, 1, 1, 0, 0)  # challenge window 601: span 3600 - 1 + 2
    with ape.reverts(hub.NetworkHubUnbondingTooShort):
        hub.createDomain("wide", wide, sender=owner)
    with ape.reverts(hub.NetworkHubUnbondingTooShort):
        hub.updateDomain(1, wide, sender=owner)
    hub.setUnbondingPeriod(period + 2, sender=owner)
    hub.updateDomain(1, wide, sender=owner)


# ---------------------------------------------------------------------- pause


def test_guardian_pauses_only_governance_unpauses(protocol, owner, burner, alice, attacker):
    hub = protocol.hub
    guardian = burner
    hub.grantRole(hub.GUARDIAN_ROLE(), guardian, sender=owner)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.pause(sender=attacker)
    hub.pause(sender=guardian)
    assert hub.paused() and protocol.stake.paused()
    protocol.token.approve(protocol.stake, 2_000 * TOKEN, sender=alice)
    with ape.reverts(hub.EnforcedPause):
        hub.registerProvider(2_000 * TOKEN, 0, 0, ZERO, ZERO, sender=alice)
    with ape.reverts(protocol.stake.EnforcedPause):
        protocol.stake.withdraw(sender=alice)
    with ape.reverts(hub.AccessControlUnauthorizedAccount, account=guardian.address):
        hub.unpause(sender=guardian)
    hub.unpause(sender=owner)
    assert not hub.paused() and not protocol.stake.paused()
    hub.registerProvider(2_000 * TOKEN, 0, 0, ZERO, ZERO, sender=alice)
