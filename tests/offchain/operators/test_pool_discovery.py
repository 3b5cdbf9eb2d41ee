"""Discovery from the chain: a round's members (shard order) from membership events, and
the pool-metadata document behind ``metadataUri`` (data:, JSON, http, file)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from offchain.chain.client import ChainClient
from offchain.chain.pool_admin import PoolCreatorActions, PoolSpec
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.tx import TxSender
from offchain.chain.units import ONE as LORA
from offchain.devnet import dev_account
from offchain.pools.discovery import PoolDiscovery
from offchain.pools.errors import MetadataError, NotARoundMemberError, PoolDiscoveryError
from offchain.pools.membership import apply_events, sort_members
from offchain.pools.metadata import PoolMetadata, load_metadata
from offchain.settings import Settings

PEER = "/ip4/10.231.0.5/tcp/31337/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
ROUND = 600


# -- metadata ------------------------------------------------------------------------------


def test_metadata_round_trips_through_a_data_uri() -> None:
    meta = PoolMetadata(bootstrap_peers=[PEER], train={"max_epochs": 2}, name="a b/c")
    uri = meta.to_data_uri()
    assert uri.startswith("data:application/json,") and " " not in uri
    assert load_metadata(uri) == meta
    assert load_metadata(json.dumps({"initial_peers": [PEER]})).bootstrap_peers == [PEER]
    assert load_metadata("") == PoolMetadata()


@pytest.mark.parametrize(
    ("uri", "sentence"),
    [
        ("{nope", "the pool's inline metadata is not JSON"),
        ('{"bootstrap_peers": ["/ip4/1.2.3.4/tcp/5"]}', "is not a dialable multiaddr"),
        ("ftp://host/meta.json", "has an unsupported scheme"),
        ("file:///etc/hostname", "is a local file, which no other machine can read"),
        ("http://127.0.0.1:9/meta.json", "cannot fetch the pool metadata at"),
    ],
)
def test_bad_metadata_is_one_sentence(uri: str, sentence: str) -> None:
    with pytest.raises(MetadataError, match=sentence.replace("(", r"\(")):
        load_metadata(uri)


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on loopback serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_metadata_over_http_and_file(http_folder: tuple[str, Path], tmp_path: Path) -> None:
    url, root = http_folder
    doc = PoolMetadata(bootstrap_peers=[PEER], adapter_sources=["s3://bucket/adapters"])
    (root / "pool.json").write_text(doc.to_json())
    assert load_metadata(f"{url}/pool.json") == doc
    with pytest.raises(MetadataError, match="cannot fetch the pool metadata"):
        load_metadata(f"{url}/missing.json")
    local = tmp_path / "pool.json"
    local.write_text(doc.to_json())
    assert load_metadata(local.as_uri(), allow_file=True) == doc


def test_members_are_sorted_by_address() -> None:
    a, b, c = (dev_account(i).address for i in (11, 12, 13))
    assert sort_members([c, a, b, a.lower()]) == tuple(sorted({a, b, c}, key=lambda x: int(x, 16)))
    events = [("joined", a), ("joined", b), ("left", a), ("joined", c), ("ejected", b)]
    assert apply_events(events) == (c,)


# -- members from the chain ----------------------------------------------------------------


@pytest.fixture
def deployment_file(deployment: Any, tmp_path: Path) -> Path:
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    path.write_text(json.dumps(deployment.data))
    return path


@pytest.fixture
def client(settings: Settings) -> ChainClient:
    return ChainClient.connect(settings)


@pytest.fixture
def join(client: ChainClient, deployment: Any, project: Any) -> Callable[[int, int, int], str]:
    """``join(provider_index, node_index, pool)``: a provider (dev account) with a validated
    node (dev account) that joins ``pool``; returns the node's address."""
    hub = project.NetworkHub.at(deployment.contracts["NetworkHub"])
    protocol = Protocol(client)

    def _join(provider: int, node: int, pool_id: int) -> str:
        actions = ProviderActions(protocol, TxSender(client, dev_account(provider)))
        if not actions.view().registered:
            actions.register(5_000 * LORA)
        key: LocalAccount = dev_account(node)
        actions.add_node(key, units=10, specs_hash=b"\x01" * 32)
        hub.setNodeValidated(key.address, True, sender=deployment.deployer)
        actions.join_pool(pool_id, key)
        return str(key.address)

    return _join


def test_round_members_follow_joins_and_leaves(
    client: ChainClient, join: Callable[[int, int, int], str], chain: Any
) -> None:
    admin = dev_account(0)
    creator = PoolCreatorActions(Protocol(client), admin.address, lambda: TxSender(client, admin))
    meta = PoolMetadata(bootstrap_peers=[PEER]).to_data_uri()
    spec = PoolSpec(1, "builtin://m", b"\x01" * 32, "builtin://d", b"\x02" * 32, meta,
                    ROUND, 60, LORA, 8)  # fmt: skip
    pool_id = int(creator.create(spec).summary["pool_id"])
    discovery = PoolDiscovery(client)
    with pytest.raises(PoolDiscoveryError, match=f"pool {pool_id} has not started"):
        discovery.members(pool_id, 0)
    first = [join(3, 13, pool_id), join(3, 14, pool_id), join(4, 15, pool_id)]
    creator.start(pool_id)
    round0 = discovery.members(pool_id, 0)
    assert round0.members == sort_members(first)
    plan = discovery.plan(pool_id, 0, first[1], extra_peers=["/ip4/1.1.1.1/tcp/1/p2p/QmX"],
                          announce_maddrs=["/ip4/203.0.113.9/tcp/4000"])  # fmt: skip
    assert plan.node_index == round0.members.index(first[1]) and plan.node_count == 3
    assert plan.initial_peers[0] == PEER
    assert plan.train["hivemind"]["announce_maddrs"] == ["/ip4/203.0.113.9/tcp/4000"]

    # during round 0: one node leaves, another joins; round 0 keeps its members
    ProviderActions(Protocol(client), TxSender(client, dev_account(3))).leave_pool(first[0])
    late = join(4, 16, pool_id)
    with pytest.raises(NotARoundMemberError, match="it trains from the next round"):
        discovery.plan(pool_id, 0, late)
    chain.mine(1, deltatime=ROUND + 5)
    assert discovery.members(pool_id, 0).members == round0.members
    assert discovery.members(pool_id, 1).members == sort_members([first[1], first[2], late])
    with pytest.raises(PoolDiscoveryError, match="pool 99 does not exist"):
        discovery.members(99, 0)
