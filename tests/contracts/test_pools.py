"""ComputePool through the hub: creation, lifecycle, the round clock, joins signed by node keys,
leaving, pool blacklists. Every test starts from `active_pool` (pool 1 active, nodes 0..3 in)."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from loranet_testkit import DEADLINE, REWARD, ROUND, WINDOW, create_pool, pool_params

ZERO_ADDRESS = "0x" + "00" * 20


@pytest.fixture
def new_pool(protocol, creator):
    """`new_pool(**overrides)` creates a pending pool and returns its id."""

    def _new(**overrides):
        create_pool(protocol, creator, **overrides)
        return protocol.pools.poolCount()

    return _new


@pytest.fixture
def join(protocol, signer, node_keys):
    def _join(pool_id, i, provider, **kw):
        key = node_keys[i]
        sig = signer.join(key, pool_id, provider, **kw)
        return protocol.hub.joinPool(pool_id, key.address, DEADLINE, sig, sender=provider)

    return _join


def test_create_pool_stores_hashes_and_emits_uris(protocol, active_pool, creator):
    tx = create_pool(protocol, creator, maxNodes=3, minComputeUnits=5)
    [event] = [e for e in tx.events if e.event_name == "PoolCreated"]
    assert event.poolId == 2 and event.domainId == 1 and event.creator == creator.address
    params = event.params
    # PoolParams in field order: baseModelUri (2), datasetUri (4), metadataUri (5)
    uris = (params[2], params[4], params[5])
    assert uris == ("hf://tiny-llama", "file:///data/shards", "ipfs://bootstrap-peers")
    pool = protocol.pools.poolOf(2)
    assert pool.status == 1 and pool.creator == creator.address  # Pending
    assert pool.baseModelHash == keccak(text="base-model") and pool.datasetHash == keccak(
        text="dataset"
    )
    assert (pool.roundLength, pool.submissionWindow, pool.rewardPerRound) == (ROUND, WINDOW, REWARD)
    assert (pool.maxNodes, pool.minComputeUnits, pool.nodeCount) == (3, 5, 0)


@pytest.mark.parametrize(
    "overrides",
    [{"roundLength": 0}, {"submissionWindow": 0}, {"submissionWindow": ROUND + 1}, {"maxNodes": 0},
     {"maxNodes": 257}],
)  # fmt: skip
def test_create_pool_rejects_bad_params(protocol, active_pool, creator, overrides):
    with ape.reverts(protocol.pools.ComputePoolInvalidParams):
        create_pool(protocol, creator, **overrides)


def test_create_pool_unknown_domain_and_role(protocol, active_pool, creator, attacker):
    with ape.reverts(protocol.hub.DomainRegistryUnknownDomain, domainId=9):  # the hub checks it
        create_pool(protocol, creator, domain_id=9)
    with ape.reverts(protocol.hub.AccessControlUnauthorizedAccount):
        create_pool(protocol, attacker)


def test_lifecycle_creator_or_admin_only(protocol, active_pool, new_pool, creator, owner, attacker):
    pool_id = new_pool()
    for call in ("startPool", "endPool"):
        with ape.reverts(protocol.hub.NetworkHubNotPoolCreator, caller=attacker.address):
            getattr(protocol.hub, call)(pool_id, sender=attacker)
    tx = protocol.hub.startPool(pool_id, sender=owner)  # an admin may
    assert [e.event_name for e in tx.events] == ["PoolStarted"]
    with ape.reverts(protocol.pools.ComputePoolWrongStatus):
        protocol.hub.startPool(pool_id, sender=creator)
    tx = protocol.hub.endPool(pool_id, sender=creator)
    assert [e.event_name for e in tx.events] == ["PoolEnded"]
    assert protocol.pools.poolOf(pool_id).status == 3
    with ape.reverts(protocol.pools.ComputePoolWrongStatus):
        protocol.hub.endPool(pool_id, sender=creator)
    with ape.reverts(protocol.pools.ComputePoolUnknownPool):
        protocol.hub.startPool(99, sender=owner)


def test_metadata_update(protocol, active_pool, creator, attacker):
    tx = protocol.hub.setPoolMetadataUri(1, "ipfs://new-peers", sender=creator)
    [event] = [e for e in tx.events if e.event_name == "PoolMetadataUpdated"]
    assert event.metadataUri == "ipfs://new-peers"
    with ape.reverts(protocol.hub.NetworkHubNotPoolCreator):
        protocol.hub.setPoolMetadataUri(1, "x", sender=attacker)


def test_round_clock(protocol, active_pool, chain):
    start = active_pool.start
    assert protocol.pools.roundWindow(1, 0) == (start, start + ROUND, start + ROUND + WINDOW)
    assert protocol.pools.roundWindow(1, 5) == (
        start + 5 * ROUND, start + 6 * ROUND, start + 6 * ROUND + WINDOW
    )  # fmt: skip
    chain.mine(timestamp=start + 3 * ROUND + 1)
    assert protocol.pools.currentRound(1) == 3


def test_round_clock_of_ended_pool(protocol, active_pool, creator, chain, warp):
    start = active_pool.start
    warp(start + 2 * ROUND + 10)
    protocol.hub.endPool(1, sender=creator)
    protocol.pools.roundWindow(1, 1)  # ended before the pool: exists
    with ape.reverts(protocol.pools.ComputePoolInvalidRound, round=2):
        protocol.pools.roundWindow(1, 2)  # cut short by the end
    with ape.reverts(protocol.pools.ComputePoolWrongStatus):
        protocol.pools.currentRound(1)


def test_pending_pool_has_no_rounds(protocol, active_pool, new_pool):
    pool_id = new_pool()
    with ape.reverts(protocol.pools.ComputePoolInvalidRound):
        protocol.pools.roundWindow(pool_id, 0)


def test_join_records_membership(protocol, active_pool, new_pool, join, alice, node_keys):
    node = node_keys[0].address
    protocol.hub.leavePool(node, sender=alice)
    pool_id = new_pool()
    tx = join(pool_id, 0, alice)
    [event] = [e for e in tx.events if e.event_name == "NodeJoined"]
    assert event.poolId == pool_id and event.node == node
    m = protocol.pools.membershipOf(node)
    assert m.poolId == pool_id and m.provider == alice.address
    assert protocol.pools.poolOf(pool_id).nodeCount == 1
    assert protocol.ledger.reporterOf(pool_id, node).provider == alice.address


def test_join_signature_for_other_pool_rejected(
    protocol, active_pool, new_pool, signer, alice, node_keys
):
    key = node_keys[0]
    protocol.hub.leavePool(key.address, sender=alice)
    pool_id = new_pool()
    sig = signer.join(key, 1, alice)  # signed for pool 1
    with ape.reverts(protocol.pools.ComputePoolInvalidSignature, node=key.address):
        protocol.hub.joinPool(pool_id, key.address, DEADLINE, sig, sender=alice)


def test_join_signature_other_chain_rejected(
    protocol, active_pool, signer, alice, node_keys, chain
):
    key = node_keys[0]
    protocol.hub.leavePool(key.address, sender=alice)
    sig = signer.join(key, 1, alice, chain_id=chain.chain_id + 1)
    with ape.reverts(protocol.pools.ComputePoolInvalidSignature):
        protocol.hub.joinPool(1, key.address, DEADLINE, sig, sender=alice)


def test_join_signature_cannot_be_replayed(protocol, active_pool, signer, alice, node_keys):
    key = node_keys[0]
    protocol.hub.leavePool(key.address, sender=alice)
    sig = signer.join(key, 1, alice)
    protocol.hub.joinPool(1, key.address, DEADLINE, sig, sender=alice)
    protocol.hub.leavePool(key.address, sender=alice)
    with ape.reverts(protocol.pools.ComputePoolInvalidSignature):
        protocol.hub.joinPool(1, key.address, DEADLINE, sig, sender=alice)


def test_join_expired(protocol, active_pool, signer, alice, node_keys, chain):
    key = node_keys[0]
    protocol.hub.leavePool(key.address, sender=alice)
    deadline = chain.pending_timestamp - 1
    sig = signer.join(key, 1, alice, deadline=deadline)
    with ape.reverts(protocol.pools.ComputePoolExpiredSignature):
        protocol.hub.joinPool(1, key.address, deadline, sig, sender=alice)


def test_join_checks_owner_validation_and_membership(
    protocol, active_pool, new_pool, join, signer, alice, bob, validator, node_keys
):
    pool_id = new_pool()
    with ape.reverts(protocol.hub.NetworkHubNotNodeOwner):
        join(pool_id, 0, bob)  # alice's node
    with ape.reverts(protocol.pools.ComputePoolAlreadyMember, poolId=1):
        join(pool_id, 0, alice)
    protocol.hub.setNodeValidated(node_keys[1].address, False, sender=validator)  # ejects
    assert protocol.pools.membershipOf(node_keys[1].address).poolId == 0
    with ape.reverts(protocol.hub.NetworkHubNodeNotEligible):
        join(pool_id, 1, alice)


def test_join_full_pool_and_min_units(protocol, active_pool, new_pool, join, alice, bob, node_keys):
    for i, who in ((0, alice), (2, bob)):
        protocol.hub.leavePool(node_keys[i].address, sender=who)
    small = new_pool(maxNodes=1)
    join(small, 0, alice)
    with ape.reverts(protocol.pools.ComputePoolFull, maxNodes=1):
        join(small, 2, bob)
    picky = new_pool(minComputeUnits=11)
    with ape.reverts(protocol.pools.ComputePoolInsufficientComputeUnits, computeUnits=10):
        join(picky, 2, bob)


def test_join_completed_pool_reverts(
    protocol, active_pool, new_pool, join, alice, creator, node_keys
):
    protocol.hub.leavePool(node_keys[0].address, sender=alice)
    pool_id = new_pool()
    protocol.hub.endPool(pool_id, sender=creator)
    with ape.reverts(protocol.pools.ComputePoolWrongStatus):
        join(pool_id, 0, alice)


def test_join_needs_minimum_stake(protocol, active_pool, join, alice, owner, node_keys):
    protocol.hub.leavePool(node_keys[0].address, sender=alice)
    protocol.hub.slash(alice, 4_000 * 10**18, b"\0" * 32, sender=owner)  # 1000 left < 1200
    with ape.reverts(protocol.hub.NetworkHubInsufficientStake):
        join(1, 0, alice)


def test_blacklisted_node_cannot_join(
    protocol, active_pool, new_pool, join, alice, creator, owner, node_keys
):
    node = node_keys[0].address
    tx = protocol.hub.setPoolBlacklisted(1, node, True, sender=creator)
    assert [e.event_name for e in tx.events] == ["PoolBlacklistSet", "NodeEjected"]
    assert protocol.pools.isPoolBlacklisted(1, node)
    with ape.reverts(protocol.pools.ComputePoolNodeBlacklisted, poolId=1, node=node):
        join(1, 0, alice)
    other = new_pool()
    join(other, 0, alice)  # the pool blacklist is per pool
    protocol.hub.leavePool(node, sender=alice)
    protocol.hub.setNodeBlacklisted(node, True, sender=owner)  # network-wide
    with ape.reverts(protocol.hub.NetworkHubNodeNotEligible, node=node):
        join(other, 0, alice)


def test_pool_blacklist_creator_or_admin(protocol, active_pool, attacker, node_keys):
    with ape.reverts(protocol.hub.NetworkHubNotPoolCreator):
        protocol.hub.setPoolBlacklisted(1, node_keys[0].address, True, sender=attacker)


def test_leave(protocol, active_pool, alice, bob, node_keys):
    node = node_keys[0].address
    with ape.reverts(protocol.hub.NetworkHubNotNodeOwner):
        protocol.hub.leavePool(node, sender=bob)
    tx = protocol.hub.leavePool(node, sender=alice)
    [event] = [e for e in tx.events if e.event_name == "NodeLeft"]
    assert event.poolId == 1 and event.node == node
    assert protocol.pools.poolOf(1).nodeCount == 3
    assert protocol.pools.membershipOf(node).poolId == 0
    assert not protocol.pools.inActivePool(node) and protocol.pools.inActivePool(
        node_keys[1].address
    )
    with ape.reverts(protocol.pools.ComputePoolNotMember):
        protocol.hub.leavePool(node, sender=alice)


@pytest.mark.parametrize(
    "name", ["createPool", "startPool", "endPool", "join", "leave", "eject", "setPoolBlacklisted",
             "setMetadataUri"],
)  # fmt: skip
def test_pool_only_hub(protocol, active_pool, attacker, node_keys, name):
    node = node_keys[0].address
    args = {
        "createPool": (pool_params(), attacker),
        "startPool": (1,),
        "endPool": (1,),
        "join": (1, node, attacker, 10, DEADLINE, b""),
        "leave": (node,),
        "eject": (1, node, b"\0" * 32),
        "setPoolBlacklisted": (1, node, True),
        "setMetadataUri": (1, "x"),
    }[name]
    with ape.reverts(protocol.pools.HubModuleUnauthorized, caller=attacker.address):
        getattr(protocol.pools, name)(*args, sender=attacker)
    assert ZERO_ADDRESS
