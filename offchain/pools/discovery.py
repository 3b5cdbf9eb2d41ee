"""One node's plan for one round, from chain data plus the node's own settings.

:class:`PoolDiscovery` answers, for ``(pool, round, node)``: the node's shard index and the
node count (:mod:`offchain.pools.membership`), the swarm's bootstrap peers and the pool's
training settings (the pool-metadata document, :mod:`offchain.pools.metadata`), and the
adapter sources. The node adds what only it knows: extra initial peers, its hivemind listen
and announce addresses (``LORANET_HIVEMIND_HOST_MADDRS``/``LORANET_HIVEMIND_ANNOUNCE_MADDRS``)
and machine knobs of its local train config.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from offchain.logging import kv
from offchain.pools.errors import PoolDiscoveryError
from offchain.pools.membership import MembershipReader, RoundMembership
from offchain.pools.metadata import Fetcher, PoolMetadata, load_metadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundPlan:
    """What a node needs to train one round with its pool."""

    pool_id: int
    round: int
    node: str
    node_index: int
    node_count: int
    members: tuple[str, ...]
    initial_peers: list[str]
    train: dict[str, Any] = field(default_factory=dict)
    adapter_sources: list[str] = field(default_factory=list)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top, nested mappings merged key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def hivemind_overrides(
    host_maddrs: Sequence[str] | None, announce_maddrs: Sequence[str] | None
) -> dict[str, Any]:
    """The node's own listen/announce addresses as a ``TrainConfig`` fragment."""
    hivemind: dict[str, Any] = {}
    if host_maddrs:
        hivemind["host_maddrs"] = list(host_maddrs)
    if announce_maddrs:
        hivemind["announce_maddrs"] = list(announce_maddrs)
    return {"hivemind": hivemind} if hivemind else {}


class PoolDiscovery:
    """Reads pools' metadata and rounds' members from one ``ChainClient``."""

    def __init__(self, client: Any, *, fetch: Fetcher | None = None) -> None:
        self.client = client
        self.pools = client.contract("ComputePool")
        self.reader = MembershipReader(self.pools, from_block=int(client.deployment.block))
        self.fetch = fetch
        self._metadata: dict[str, PoolMetadata] = {}

    @property
    def allow_file(self) -> bool:
        """``file://`` metadata only on local chains (one machine)."""
        return bool(getattr(self.client.settings, "is_local", False))

    def _require_pool(self, pool_id: int) -> None:
        count = int(self.pools.functions.poolCount().call())
        if not 1 <= pool_id <= count:
            raise PoolDiscoveryError(f"pool {pool_id} does not exist.")

    def metadata_uri(self, pool_id: int) -> str:
        """The pool's current ``metadataUri`` (last update, else the creation's)."""
        self._require_pool(pool_id)
        since = self.reader.from_block
        updates = self.pools.events.PoolMetadataUpdated.get_logs(
            argument_filters={"poolId": pool_id}, from_block=since
        )
        if updates:
            last = max(updates, key=lambda log: (log["blockNumber"], log["logIndex"]))
            return str(last["args"]["metadataUri"])
        created = self.pools.events.PoolCreated.get_logs(
            argument_filters={"poolId": pool_id}, from_block=since
        )
        if not created:
            raise PoolDiscoveryError(f"no PoolCreated event of pool {pool_id} since block {since}.")
        return str(created[0]["args"]["params"]["metadataUri"])

    def metadata(self, pool_id: int) -> PoolMetadata:
        """The pool's metadata document (cached per URI)."""
        uri = self.metadata_uri(pool_id)
        if uri not in self._metadata:
            self._metadata[uri] = load_metadata(uri, fetch=self.fetch, allow_file=self.allow_file)
        return self._metadata[uri]

    def members(self, pool_id: int, round: int) -> RoundMembership:
        self._require_pool(pool_id)
        return self.reader.members(pool_id, round)

    def plan(
        self,
        pool_id: int,
        round: int,
        node: str,
        *,
        extra_peers: Sequence[str] = (),
        local_train: Mapping[str, Any] | None = None,
        host_maddrs: Sequence[str] | None = None,
        announce_maddrs: Sequence[str] | None = None,
        extra_sources: Sequence[str] = (),
    ) -> RoundPlan:
        """The node's plan for the round.

        Training settings: the pool's (metadata ``train``), then the node's local file on top,
        then the node's listen/announce addresses. Peers: the metadata's bootstrap peers,
        then ``extra_peers``.

        Raises:
            NotARoundMemberError: the node is not among the round's members.
            PoolDiscoveryError / MetadataError: the pool or its metadata cannot be read.
        """
        membership = self.members(pool_id, round)
        index = membership.index_of(node)
        meta = self.metadata(pool_id)
        peers = list(dict.fromkeys([*meta.bootstrap_peers, *extra_peers]))
        train = deep_merge(
            deep_merge(meta.train, local_train or {}),
            hivemind_overrides(host_maddrs, announce_maddrs),
        )
        plan = RoundPlan(
            pool_id=pool_id,
            round=round,
            node=membership.members[index],
            node_index=index,
            node_count=membership.count,
            members=membership.members,
            initial_peers=peers,
            train=train,
            adapter_sources=list(dict.fromkeys([*meta.adapter_sources, *extra_sources])),
        )
        logger.info(
            "round plan",
            extra=kv(
                pool=pool_id,
                round=round,
                node=plan.node,
                index=index,
                count=plan.node_count,
                peers=len(peers),
            ),
        )
        if not peers:
            logger.warning(
                "no bootstrap peers: the pool's metadata names none and none were given",
                extra=kv(pool=pool_id),
            )
        return plan
