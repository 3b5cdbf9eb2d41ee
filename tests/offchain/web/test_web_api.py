"""The dashboard's JSON API over a real indexed network (anvil, real transactions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.testclient import TestClient
from web_support import Served

from offchain.chain.client import ChainClient
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.tx import TxSender
from offchain.chain.units import ONE
from offchain.web.app import assets_built
from offchain.web.scenario import Scenario


def test_overview_counts_what_the_chain_did(api: TestClient, scenario: Scenario) -> None:
    body = api.get("/api/overview").json()
    totals = body["totals"]
    assert totals["providers"] == 3
    assert totals["nodes"] == 3
    assert totals["reports"] == len(scenario.artifact_hashes) == 3 + 3 + 2  # cheater ejected
    assert totals["rounds_finalized"] == 3
    assert totals["pools"] == 1 and totals["active_pools"] == 1
    assert totals["supply"]["lora"].endswith("LORA")
    assert [p["id"] for p in body["pools"]] == [scenario.pool_id]
    assert body["meta"]["cursor"] > 0


def test_pool_round_provider_and_node_pages(api: TestClient, scenario: Scenario) -> None:
    pool = api.get(f"/api/pools/{scenario.pool_id}").json()
    assert pool["status"] == "active"
    assert pool["params"]["baseModelUri"] == "builtin://tiny-llama"
    assert [r["round"] for r in pool["rounds"]] == [2, 1, 0]
    losses = [p["loss"] for p in pool["loss_series"]]
    assert losses == sorted(losses, reverse=True)  # the scenario's loss falls round by round
    assert len(pool["slashes"]) == 1 and pool["slashes"][0]["round"] == 1
    paged = api.get(f"/api/pools/{scenario.pool_id}?per_page=2&page=2").json()
    assert [r["round"] for r in paged["rounds"]] == [0]
    assert paged["rounds_page"] == {"page": 2, "per_page": 2, "pages": 2, "total": 3}

    rnd = api.get(f"/api/pools/{scenario.pool_id}/rounds/1").json()
    assert [r["outcome"] for r in rnd["reports"]] == ["accepted", "accepted", "rejected"]
    cheat = rnd["reports"][2]
    assert [v["accept"] for v in cheat["verdicts"]] == [False, False]
    assert {v["validator"] for v in cheat["verdicts"]} == {v.address for v in scenario.validators}
    assert cheat["artifact_link"] == cheat["artifact_uri"]  # http(s) URIs link as they are
    assert rnd["finalized"]["accepted"] == 2 and rnd["finalized"]["rejected"] == 1

    first = scenario.providers[0].address
    prov = api.get(f"/api/providers/{first.lower()}").json()
    assert prov["address"] == first
    assert prov["staked"]["lora"] == "2,000 LORA"
    assert prov["rewards_pending"]["wei"] == "0"  # it claimed
    assert [n["address"] for n in prov["nodes"]] == [scenario.nodes[0].address]
    second = api.get(f"/api/providers/{scenario.providers[1].address}").json()
    assert second["unbonding"]["lora"] == "100 LORA"
    assert second["unbonds"][0]["withdrawn"] is False

    node = api.get(f"/api/nodes/{scenario.nodes[0].address}").json()
    assert node["provider"] == first and node["validated"] is True
    assert [r["round"] for r in node["reports"]] == [2, 1, 0]


def test_search_and_not_found(api: TestClient, scenario: Scenario) -> None:
    assert api.get("/api/search", params={"q": str(scenario.pool_id)}).json()["kind"] == "pool"
    assert api.get("/api/search", params={"q": "1/2"}).json()["path"] == "/pool/1/round/2"
    who = scenario.providers[0].address
    assert api.get("/api/search", params={"q": who}).json()["path"] == f"/provider/{who}"
    node = scenario.nodes[0].address
    assert api.get("/api/search", params={"q": node}).json()["kind"] == "node"
    missing = api.get("/api/pools/99")
    assert missing.status_code == 404
    assert missing.json() == {"error": "pool 99 is not in the index."}
    assert api.get("/api/nodes/0x1234").status_code == 404


def test_console_plan_is_the_cli_path(api: TestClient, scenario: Scenario) -> None:
    who = scenario.providers[1].address
    plan = api.post(
        "/api/console/plan", json={"action": "stake", "address": who, "amount": "10"}
    ).json()
    assert [tx["description"] for tx in plan["transactions"]] == [
        "approve 10 LORA for the stake manager",
        "add stake",
    ]
    refused = api.post("/api/console/plan", json={"action": "claim", "address": who})
    # provider 2 still has rewards here (the browser test claims them in its own network)
    assert refused.status_code == 200
    nothing = api.post(
        "/api/console/plan", json={"action": "claim", "address": scenario.providers[0].address}
    )
    assert nothing.status_code == 422
    assert nothing.json()["error"] == (
        f"nothing to claim: {scenario.providers[0].address} has no pending rewards."
    )
    bad = api.post("/api/console/plan", json={"action": "unbond", "address": who, "amount": "x"})
    assert bad.json()["error"] == "'x' is not an amount of LORA."


def test_revert_data_becomes_the_cli_sentence(api: TestClient, scenario: Scenario) -> None:
    from eth_abi import encode
    from eth_utils import keccak

    who = scenario.providers[0].address
    data = keccak(text="WorkLedgerNothingToClaim(address)")[:4] + encode(["address"], [who])
    body = api.post("/api/console/revert", json={"data": "0x" + data.hex()}).json()
    assert body["sentence"] == f"nothing to claim: {who} has no pending rewards."
    stake = keccak(text="NetworkHubInsufficientStake(address,uint256,uint256)")[:4] + encode(
        ["address", "uint256", "uint256"], [who, 10**21, 2 * 10**21]
    )
    body = api.post(
        "/api/console/revert", json={"data": "0x" + stake.hex(), "context": {"units": 20}}
    ).json()
    assert body["sentence"] == (
        "stake 1,000 LORA is below the minimum 2,000 LORA for 20 compute units."
    )
    unknown = api.post("/api/console/revert", json={"data": "0xdeadbeef"}).json()
    assert unknown["sentence"] == "the contract refused the call without a known reason."


def test_live_stream_announces_new_blocks(served: Served) -> None:
    """The indexer thread picks up a new transaction and the SSE stream announces it."""
    client = ChainClient.connect(served.settings)
    who = served.scenario.providers[0]

    def blocks(stream: httpx.Response) -> Iterator[dict[str, Any]]:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line.removeprefix("data: "))

    with (
        httpx.Client(timeout=httpx.Timeout(120.0)) as http,
        http.stream("GET", served.url + "/api/stream") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = blocks(stream)
        first = next(events)
        ProviderActions(Protocol(client), TxSender(client, who)).stake_add(5 * ONE)
        head = int(client.w3.eth.block_number)
        for message in events:
            if message["cursor"] >= head:
                break
        assert message["version"] > first["version"]
    overview = httpx.get(served.url + "/api/overview").json()
    assert overview["meta"]["cursor"] >= head
    if assets_built():  # links such as /pool/1 load the app
        assert httpx.get(served.url + "/pool/1").text.startswith("<!doctype html>")
