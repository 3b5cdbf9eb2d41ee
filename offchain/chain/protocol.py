"""Read-side view of the loranet protocol for one chain: handles and typed snapshots.

``Protocol`` wraps a ``ChainClient`` with the six contract handles and turns their views
(and, where the contracts keep no index, their events) into plain dataclasses that commands
print and prechecks reason about.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain.client import ChainClient
from offchain.chain.errors import PrecheckError

logger = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
POOL_STATUS = ("none", "pending", "active", "completed")
PROTOCOL_CONTRACTS = (
    "LoraToken",
    "NetworkHub",
    "StakeManager",
    "ComputeRegistry",
    "ComputePool",
    "WorkLedger",
)


@dataclass(frozen=True)
class Unbond:
    id: int
    amount: int
    release_at: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "release_at_utc": utc(self.release_at)}


@dataclass(frozen=True)
class NodeView:
    address: str
    provider: str
    compute_units: int
    validated: bool
    blacklisted: bool
    pool_id: int

    @property
    def registered(self) -> bool:
        return self.provider != ZERO_ADDRESS


@dataclass(frozen=True)
class PoolView:
    id: int
    status: str
    creator: str
    domain_id: int
    start_time: int
    end_time: int
    round_length: int
    submission_window: int
    reward_per_round: int
    max_nodes: int
    node_count: int
    min_compute_units: int
    base_model_hash: str
    dataset_hash: str


@dataclass(frozen=True)
class ProviderView:
    address: str
    eth: int
    lora: int
    allowance: int
    registered: bool
    blacklisted: bool
    node_count: int
    total_units: int
    staked: int
    unbonding: int
    withdrawable: int
    min_stake: int
    base_stake: int
    per_unit_stake: int
    pending_rewards: int
    now: int
    unbonds: list[Unbond] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unbonds"] = [u.as_dict() for u in self.unbonds]
        return data


def utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


class Protocol:
    """The deployed protocol as seen through one client."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.token: Contract = client.contract("LoraToken")
        self.hub: Contract = client.contract("NetworkHub")
        self.stake: Contract = client.contract("StakeManager")
        self.registry: Contract = client.contract("ComputeRegistry")
        self.pools: Contract = client.contract("ComputePool")
        self.ledger: Contract = client.contract("WorkLedger")

    @property
    def w3(self) -> Web3:
        return self.client.w3

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def min_stake_for_units(self, total_units: int) -> int:
        """``base + perUnit * units`` (the hub's rule for a provider with nodes)."""
        base = int(self.hub.functions.baseStake().call())
        per_unit = int(self.hub.functions.perUnitStake().call())
        return base + per_unit * total_units

    # -- providers -------------------------------------------------------------------------

    def provider(self, address: str) -> ProviderView:
        who = Web3.to_checksum_address(address)
        record = self.registry.functions.providerOf(who).call()
        account = self.stake.functions.accountOf(who).call()
        staked, unbonding, head, tail = (int(x) for x in account)
        unbonds = []
        for request_id in range(head, tail):
            amount, release_at = self.stake.functions.unbondRequest(who, request_id).call()
            if int(amount) > 0:
                unbonds.append(Unbond(request_id, int(amount), int(release_at)))
        return ProviderView(
            address=who,
            eth=int(self.w3.eth.get_balance(who)),
            lora=int(self.token.functions.balanceOf(who).call()),
            allowance=int(self.token.functions.allowance(who, self.stake.address).call()),
            registered=bool(record[0]),
            blacklisted=bool(record[1]),
            node_count=int(record[2]),
            total_units=int(record[3]),
            staked=staked,
            unbonding=unbonding,
            withdrawable=int(self.stake.functions.withdrawableOf(who).call()),
            min_stake=int(self.hub.functions.minStakeOf(who).call()),
            base_stake=int(self.hub.functions.baseStake().call()),
            per_unit_stake=int(self.hub.functions.perUnitStake().call()),
            pending_rewards=int(self.ledger.functions.pendingRewards(who).call()),
            now=self.now(),
            unbonds=unbonds,
        )

    # -- nodes -----------------------------------------------------------------------------

    def node(self, address: str) -> NodeView:
        who = Web3.to_checksum_address(address)
        provider, units, validated, blacklisted = self.registry.functions.nodeOf(who).call()
        membership = self.pools.functions.membershipOf(who).call()
        return NodeView(
            address=who,
            provider=Web3.to_checksum_address(provider),
            compute_units=int(units),
            validated=bool(validated),
            blacklisted=bool(blacklisted),
            pool_id=int(membership[0]),
        )

    def nodes_of(self, provider: str) -> list[NodeView]:
        """The provider's current nodes (the registry keeps no index: read NodeAdded logs)."""
        who = Web3.to_checksum_address(provider)
        logs = self.registry.events.NodeAdded.get_logs(
            argument_filters={"provider": who}, from_block=self.client.deployment.block
        )
        seen: dict[str, None] = {}
        for log in logs:
            seen.setdefault(Web3.to_checksum_address(log["args"]["node"]), None)
        nodes = [self.node(address) for address in seen]
        return [n for n in nodes if n.provider == who]

    # -- pools -----------------------------------------------------------------------------

    def pool_count(self) -> int:
        return int(self.pools.functions.poolCount().call())

    def pool(self, pool_id: int) -> PoolView:
        if not 1 <= pool_id <= self.pool_count():
            raise PrecheckError(f"pool {pool_id} does not exist.")
        p = self.pools.functions.poolOf(pool_id).call()
        return PoolView(
            id=pool_id,
            start_time=int(p[0]),
            end_time=int(p[1]),
            round_length=int(p[2]),
            submission_window=int(p[3]),
            domain_id=int(p[4]),
            status=POOL_STATUS[int(p[5])],
            reward_per_round=int(p[6]),
            creator=Web3.to_checksum_address(p[7]),
            max_nodes=int(p[8]),
            node_count=int(p[9]),
            min_compute_units=int(p[10]),
            base_model_hash="0x" + bytes(p[11]).hex(),
            dataset_hash="0x" + bytes(p[12]).hex(),
        )

    def all_pools(self) -> list[PoolView]:
        return [self.pool(pool_id) for pool_id in range(1, self.pool_count() + 1)]

    def pool_members(self, pool_id: int) -> list[str]:
        """Nodes now in ``pool_id`` (joined per NodeJoined logs and still members)."""
        logs = self.pools.events.NodeJoined.get_logs(
            argument_filters={"poolId": pool_id}, from_block=self.client.deployment.block
        )
        members: dict[str, None] = {}
        for log in logs:
            node = Web3.to_checksum_address(log["args"]["node"])
            if int(self.pools.functions.membershipOf(node).call()[0]) == pool_id:
                members.setdefault(node, None)
        return list(members)

    def is_pool_blacklisted(self, pool_id: int, node: str) -> bool:
        return bool(
            self.pools.functions.isPoolBlacklisted(pool_id, Web3.to_checksum_address(node)).call()
        )
