"""loranet across separate hosts (network namespaces), from deployment to claimed rewards.

Eight hosts on a bridge, nothing shared on disk: the chain (anvil as a testnet rehearsal,
chain id 11155111), an S3 store (moto_server), the admin (``ape run deploy``, roles, the
pool, the swarm's bootstrap peer), three providers (one cheats) and two validators. Every
party acts through the ``loranet`` CLI on its own host; nodes learn their shard, their
swarm and their pool's settings from the chain. Skipped (with the reason) where network
namespaces cannot be made, i.e. when not root.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from multihost_network import HOSTS, MultihostNetwork
from multihost_support import CHAIN_ID, NetnsLab, lab_unavailable

from offchain.pools.membership import sort_members

pytestmark = pytest.mark.slow

UNAVAILABLE = lab_unavailable()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultihostNetwork]:
    if UNAVAILABLE:
        pytest.skip(f"multi-host test skipped: {UNAVAILABLE}")
    lab = NetnsLab(tmp_path_factory.mktemp("multihost"), HOSTS).up()
    network = MultihostNetwork(lab)
    try:
        network.start_chain()
        network.start_store()
        yield network
    finally:
        lab.close()


def test_every_role_across_hosts(net: MultihostNetwork) -> None:
    data = net.deploy()
    assert data["chain_id"] == CHAIN_ID and "LoraFaucet" in data["contracts"]
    assert data["allocation"]["faucet"]["funded"] == str(1_000_000 * 10**18)
    net.setup_roles()
    net.start_bootstrap()
    assert net.bootstrap and all("/p2p/" in m for m in net.bootstrap)
    pool_id = net.create_pool()
    p1 = net.party("p1")
    meta = p1.cli("pool", "metadata", str(pool_id))["metadata"]
    assert meta["bootstrap_peers"] == net.bootstrap

    nodes = net.register_providers(("p1", "p2", "p3"))
    after_stake = {name: net.balance_of(net.party(name).address) for name in nodes}
    net.validate_and_join(nodes)
    net.start_services(["p1", "p2", "p3"], cheater="p3")
    net.wait_up()
    net.start_pool()
    members = p1.cli("pool", "members", str(pool_id), "--round", "0")["members"]
    assert tuple(members) == sort_members(list(nodes.values()))

    # bad input: one sentence each, no traceback
    wrong = p1.host.home / "wrong-chain.json"
    deployment = json.loads(p1.deployments_file.read_text())
    wrong.write_text(json.dumps({**deployment, "chain_id": 1}))
    refused = p1.cli("pool", "list", ok=False, LORANET_DEPLOYMENTS_FILE=str(wrong))
    said = refused.stdout + refused.stderr  # --json: {"error": {"code", "message"}}
    assert "serves chain 11155111" in said and "Traceback" not in said
    bogus = "/ip4/" + net.lab.hosts["v2"].ip + "/tcp/9/p2p/" + net.bootstrap[0].split("/p2p/")[1]
    unreachable = p1.cli("dht", "--host-maddr", f"/ip4/{p1.host.ip}/tcp/0",
                         "--initial-peer", bogus, "--identity-path",
                         str(p1.host.home / "other.key"), ok=False)  # fmt: skip
    said = unreachable.stdout + unreachable.stderr
    assert "failed to connect to bootstrap peers" in said and "Traceback" not in said

    # two rounds: trained across hosts, reported with s3:// artifacts, checked, finalized
    rounds = net.cfg.rounds
    cfg = net.cfg
    budget = rounds * cfg.round_length + cfg.submission_window + cfg.challenge_window + 240
    try:
        states = net.wait_finalized(rounds, timeout=budget)
    except Exception as err:
        raise AssertionError(f"{err}\n{net.log_tails()}") from None
    for state in states:
        assert state[3], "a round expired without a quorum"  # decided
    ledger = net.ledger()
    for name in ("p1", "p2"):  # the worker may have claimed already (it claims on its own)
        who = net.party(name)
        pending = int(ledger.functions.pendingRewards(who.address).call())
        if pending:
            claimed = who.cli("rewards", "claim", "--yes")
            assert int(claimed["claimed"]) == pending
        left = net.balance_of(who.address) - after_stake[name]
        assert left > 0 and not ledger.functions.pendingRewards(who.address).call(), (
            f"honest {name} was not paid"
        )
    cheater = net.party("p3")
    assert net.stake_of(cheater.address) < cfg.stake * 10**18, "the cheater was not slashed"
