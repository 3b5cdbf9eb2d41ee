"""ComputeRegistry through the hub: nodes signed by their keys, the minimum-stake rule,
validation, blacklisting. Every test starts from `providers` (alice: nodes 0, 1; bob: 2, 3)."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from loranet_testkit import BASE_STAKE, DEADLINE, PER_UNIT, TOKEN, ZERO, create_pool, register


@pytest.fixture
def add(protocol, signer, node_keys):
    """`add(i, provider, units=10, **signer_kwargs)` adds node i with its own signature."""

    def _add(i, provider, units=10, **kw):
        key = node_keys[i]
        sig = signer.add_node(key, provider, units, **kw)
        specs = kw.get("specs", ZERO)
        return protocol.hub.addNode(key.address, units, specs, DEADLINE, sig, sender=provider)

    return _add


def test_add_node_records_and_emits(protocol, providers, add, alice, node_keys):
    specs = keccak(text="gpu=A100;vram=80")
    tx = add(4, alice, 25, specs=specs)
    [event] = [e for e in tx.events if e.event_name == "NodeAdded"]
    assert event.node == node_keys[4].address and event.computeUnits == 25
    assert event.specsHash == specs
    node = protocol.registry.nodeOf(node_keys[4].address)
    assert node.provider == alice.address and node.computeUnits == 25 and not node.validated
    p = protocol.registry.providerOf(alice)
    assert p.nodeCount == 3 and p.totalComputeUnits == 45
    assert protocol.registry.nonces(node_keys[4].address) == 1
    assert protocol.hub.minStakeOf(alice) == BASE_STAKE + 45 * PER_UNIT


def test_add_node_signed_by_other_key_rejected(protocol, providers, signer, node_keys, alice):
    sig = signer.add_node(node_keys[5], alice, 10)  # node 5 signs for node 4's address below
    with ape.reverts(protocol.registry.ComputeRegistryInvalidSignature, node=node_keys[4].address):
        protocol.hub.addNode(node_keys[4].address, 10, ZERO, DEADLINE, sig, sender=alice)


def test_add_node_signature_is_bound_to_provider_and_units(
    protocol, providers, signer, node_keys, alice, bob
):
    key = node_keys[4]
    sig = signer.add_node(key, bob, 10)  # consented to bob, not alice
    with ape.reverts(protocol.registry.ComputeRegistryInvalidSignature):
        protocol.hub.addNode(key.address, 10, ZERO, DEADLINE, sig, sender=alice)
    sig = signer.add_node(key, alice, 10)
    with ape.reverts(protocol.registry.ComputeRegistryInvalidSignature):
        protocol.hub.addNode(key.address, 99, ZERO, DEADLINE, sig, sender=alice)


def test_add_node_other_chain_or_contract_rejected(
    protocol, providers, signer, node_keys, alice, chain
):
    key = node_keys[4]
    for sig in (
        signer.add_node(key, alice, 10, chain_id=chain.chain_id + 1),
        signer.add_node(key, alice, 10, contract=protocol.pools),  # other verifying contract
    ):
        with ape.reverts(protocol.registry.ComputeRegistryInvalidSignature):
            protocol.hub.addNode(key.address, 10, ZERO, DEADLINE, sig, sender=alice)


def test_add_node_signature_cannot_be_replayed(protocol, providers, signer, node_keys, alice):
    key = node_keys[4]
    sig = signer.add_node(key, alice, 10)
    protocol.hub.addNode(key.address, 10, ZERO, DEADLINE, sig, sender=alice)
    protocol.hub.removeNode(key.address, sender=alice)
    with ape.reverts(protocol.registry.ComputeRegistryInvalidSignature):
        protocol.hub.addNode(key.address, 10, ZERO, DEADLINE, sig, sender=alice)  # nonce used


def test_add_node_expired(protocol, providers, signer, node_keys, alice, chain):
    key = node_keys[4]
    deadline = chain.pending_timestamp - 1
    sig = signer.add_node(key, alice, 10, deadline=deadline)
    with ape.reverts(protocol.registry.ComputeRegistryExpiredSignature, deadline=deadline):
        protocol.hub.addNode(key.address, 10, ZERO, deadline, sig, sender=alice)


def test_add_node_needs_stake_for_new_minimum(protocol, providers, add, alice):
    # alice staked 5000; 20 units used; 5000 = 1000 + 400 units * 10
    add(4, alice, 380)
    with ape.reverts(
        protocol.hub.NetworkHubInsufficientStake, required=BASE_STAKE + 401 * PER_UNIT
    ):
        add(5, alice, 1)


def test_add_node_checks(protocol, providers, add, alice, attacker):
    with ape.reverts(protocol.registry.ComputeRegistryNotRegistered):
        add(4, attacker)
    with ape.reverts(protocol.registry.ComputeRegistryNodeExists):
        add(0, alice)
    with ape.reverts(protocol.registry.ComputeRegistryInvalidNode):
        add(4, alice, 0)


def test_remove_node(protocol, providers, add, alice, bob, node_keys):
    add(4, alice)
    with ape.reverts(protocol.registry.ComputeRegistryNotNodeOwner):
        protocol.hub.removeNode(node_keys[4].address, sender=bob)
    tx = protocol.hub.removeNode(node_keys[4].address, sender=alice)
    assert [e.event_name for e in tx.events] == ["NodeRemoved"]
    assert protocol.registry.nodeOf(node_keys[4].address).provider == "0x" + "00" * 20
    assert protocol.registry.providerOf(alice).totalComputeUnits == 20
    with ape.reverts(protocol.registry.ComputeRegistryUnknownNode):
        protocol.hub.removeNode(node_keys[4].address, sender=alice)


def test_node_in_active_pool_cannot_be_removed(
    protocol, providers, signer, creator, alice, node_keys
):
    create_pool(protocol, creator)
    pool_id = protocol.pools.poolCount()
    key = node_keys[0]
    protocol.hub.joinPool(
        pool_id, key.address, DEADLINE, signer.join(key, pool_id, alice), sender=alice
    )
    with ape.reverts(protocol.hub.NetworkHubNodeInActivePool, node=key.address):
        protocol.hub.removeNode(key.address, sender=alice)
    protocol.hub.endPool(pool_id, sender=creator)  # a completed pool no longer holds it
    protocol.hub.removeNode(key.address, sender=alice)


def test_unbond_below_minimum_while_in_pool_reverts(
    protocol, providers, signer, creator, alice, node_keys
):
    create_pool(protocol, creator)
    key = node_keys[0]
    protocol.hub.joinPool(1, key.address, DEADLINE, signer.join(key, 1, alice), sender=alice)
    minimum = BASE_STAKE + 20 * PER_UNIT  # two nodes of 10 units
    assert protocol.hub.minStakeOf(alice) == minimum
    free = 5_000 * TOKEN - minimum
    with ape.reverts(
        protocol.hub.NetworkHubInsufficientStake, staked=minimum - 1, required=minimum
    ):
        protocol.hub.unbond(free + 1, sender=alice)
    protocol.hub.unbond(free, sender=alice)  # exactly down to the minimum is allowed
    assert protocol.stake.stakedOf(alice) == minimum


def test_validation_is_validator_only(
    protocol, providers, add, alice, attacker, validator, node_keys
):
    add(4, alice)
    node = node_keys[4].address
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setNodeValidated(node, True, sender=attacker)
    tx = protocol.hub.setNodeValidated(node, True, sender=validator)
    assert [(e.node, e.validated) for e in tx.events if e.event_name == "NodeValidationSet"] == [
        (node, True)
    ]
    with ape.reverts(protocol.registry.ComputeRegistryUnknownNode):
        protocol.hub.setNodeValidated(node_keys[6].address, True, sender=validator)


def test_blacklisted_node_cannot_come_back(
    protocol, providers, add, alice, owner, attacker, node_keys
):
    add(4, alice)
    node = node_keys[4].address
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setNodeBlacklisted(node, True, sender=attacker)
    protocol.hub.setNodeBlacklisted(node, True, sender=owner)
    protocol.hub.removeNode(node, sender=alice)
    assert protocol.registry.nodeOf(node).blacklisted
    with ape.reverts(protocol.registry.ComputeRegistryNodeBlacklisted, node=node):
        add(4, alice)


def test_blacklisted_provider_is_locked_out(protocol, providers, add, owner, alice, attacker):
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        protocol.hub.setProviderBlacklisted(alice, True, sender=attacker)
    tx = protocol.hub.setProviderBlacklisted(alice, True, sender=owner)
    assert [e.event_name for e in tx.events] == ["ProviderBlacklistSet"]
    with ape.reverts(protocol.registry.ComputeRegistryProviderBlacklisted):
        add(4, alice)
    protocol.hub.setProviderBlacklisted(attacker, True, sender=owner)
    protocol.token.approve(protocol.stake, BASE_STAKE, sender=attacker)
    with ape.reverts(protocol.registry.ComputeRegistryProviderBlacklisted):
        protocol.hub.registerProvider(BASE_STAKE, 0, 0, ZERO, ZERO, sender=attacker)


@pytest.mark.parametrize(
    "name",
    ["registerProvider", "addNode", "removeNode", "setNodeValidated", "setNodeBlacklisted",
     "setProviderBlacklisted"],
)  # fmt: skip
def test_registry_only_hub(protocol, providers, attacker, node_keys, name):
    node = node_keys[0].address
    args = {
        "registerProvider": (attacker,),
        "addNode": (attacker, node, 1, ZERO, DEADLINE, b""),
        "removeNode": (attacker, node),
        "setNodeValidated": (node, True),
        "setNodeBlacklisted": (node, True),
        "setProviderBlacklisted": (attacker, True),
    }[name]
    with ape.reverts(protocol.registry.HubModuleUnauthorized, caller=attacker.address):
        getattr(protocol.registry, name)(*args, sender=attacker)


def test_register_helper_stakes(protocol, providers, attacker):
    register(protocol, attacker, BASE_STAKE)
    assert protocol.registry.providerOf(attacker).registered
