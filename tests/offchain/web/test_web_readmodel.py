"""The read model and explorer without a chain: idempotent batches, orphans, SQLite and
PostgreSQL, rejection reasons from a validator's store, the server's missing-assets answer."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from offchain.validator.store import ValidatorStore
from offchain.watcher.events import ChainEvent
from offchain.web.app import MISSING_ASSETS, create_app
from offchain.web.explorer import Explorer, Reasons
from offchain.web.readmodel import ReadModel
from offchain.web.service import artifact_finder, heartbeat_reader

PG_URL = os.environ.get(
    "LORANET_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NODE = "0x" + "11" * 20
PROVIDER = "0x" + "22" * 20


def _event(
    event: str, args: dict, block: int, log_index: int = 0, contract: str = "WorkLedger"
) -> ChainEvent:
    return ChainEvent(
        chain_id=31337,
        address="0x" + "33" * 20,
        contract=contract,
        event=event,
        args=args,
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        tx_hash="0x" + f"{block:032x}{log_index:032x}",
        log_index=log_index,
    )


def _report(round_: int, index: int, block: int) -> ChainEvent:
    return _event(
        "ReportSubmitted",
        {
            "poolId": 1,
            "round": round_,
            "node": NODE,
            "provider": PROVIDER,
            "index": index,
            "adapterHash": "0x" + "ab" * 32,
            "samples": 100,
            "loss": 2_000_000,
            "executionMode": 0,
            "replayRoot": "0x" + "cd" * 32,
            "artifactUri": "file:///tmp/a.safetensors",
        },
        block,
        index,
    )


def _postgres_url() -> Iterator[str]:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"loranet_web_{uuid.uuid4().hex[:8]}"
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except Exception as err:  # no server, or no rights: this machine has none
        admin.dispose()
        pytest.skip(f"PostgreSQL at {PG_URL} is not usable: {type(err).__name__}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadModel]:
    if request.param == "sqlite":
        rm = ReadModel(f"sqlite:///{tmp_path / 'explorer.db'}")
        yield rm
        rm.close()
    else:
        gen = _postgres_url()
        url = next(gen)
        rm = ReadModel(url)
        try:
            yield rm
        finally:
            rm.close()
            gen.close()


def test_batches_are_idempotent_and_orphans_disappear(model: ReadModel) -> None:
    created = _event(
        "PoolCreated",
        {
            "poolId": 1,
            "domainId": 1,
            "creator": PROVIDER,
            "params": [1, "0x00", "m", "0x00", "d", "", 60, 30, 10**20, 4, 1],
        },
        1,
        contract="ComputePool",
    )
    reports = [_report(0, 0, 2), _report(0, 1, 2), _report(1, 0, 3)]
    model.apply([created, *reports])
    model.apply([created, *reports])  # redelivered after a crash: nothing changes
    assert model.count() == 4
    explorer = Explorer(model)
    pool = explorer.pool(1)
    assert pool["reports_total"] == 3 and pool["params"]["rewardPerRound"]["lora"] == "100 LORA"
    model.apply([], orphaned=[reports[2]])  # block 3 left the canonical chain
    assert model.count() == 3
    assert [r["round"] for r in explorer.pool(1)["rounds"]] == [0]
    big = _event(
        "Transfer",
        {"from": "0x" + "00" * 20, "to": PROVIDER, "value": 10**27},
        4,
        contract="LoraToken",
    )
    model.apply([big])
    assert explorer.overview()["totals"]["supply"]["lora"] == "1,000,000,000 LORA"


def test_round_page_shows_the_validators_reasons(tmp_path: Path) -> None:
    model = ReadModel(f"sqlite:///{tmp_path / 'explorer.db'}")
    model.apply([_report(0, 0, 2), _report(0, 1, 2)])
    store = ValidatorStore(tmp_path / "validator.db")
    verdict = {
        "reports": [
            {"index": 0, "accepted": True, "reasons": []},
            {"index": 1, "accepted": False, "reasons": ["EVAL_NOT_BETTER", "REPLAY_MISMATCH"]},
        ]
    }
    store.set_status(1, 0, "attested", verdict)
    store.close()
    explorer = Explorer(model, reasons=Reasons([tmp_path / "validator.db", tmp_path / "none.db"]))
    reports = explorer.round(1, 0)["reports"]
    assert reports[0]["reasons"] == []
    assert reports[1]["reasons"] == ["EVAL_NOT_BETTER", "REPLAY_MISMATCH"]
    assert reports[1]["artifact_link"] is None  # file:// is not reachable from a browser
    linked = Explorer(model, has_artifact=lambda digest: digest == "0x" + "ab" * 32)
    assert linked.round(1, 0)["reports"][0]["artifact_link"] == "/artifacts/0x" + "ab" * 32
    model.close()


def test_without_built_assets_the_server_says_how_to_build(tmp_path: Path) -> None:
    model = ReadModel(f"sqlite:///{tmp_path / 'explorer.db'}")
    app = create_app(Explorer(model), static_dir=tmp_path / "static")
    with TestClient(app) as client:
        page = client.get("/pool/1")
        assert page.status_code == 503 and page.text == MISSING_ASSETS
        assert client.get("/api/health").json() == {"ok": True, "assets": False}
        assert client.get("/api/overview").json()["totals"]["providers"] == 0
        assert client.get("/api/nope").status_code == 404
        console = client.post("/api/console/plan", json={"action": "claim", "address": PROVIDER})
        assert console.status_code == 422 and "needs the chain" in console.json()["error"]
    model.close()


def test_node_page_shows_the_workers_heartbeat_and_local_artifacts(tmp_path: Path) -> None:
    model = ReadModel(f"sqlite:///{tmp_path / 'explorer.db'}")
    added = _event(
        "NodeAdded",
        {"provider": PROVIDER, "node": NODE, "computeUnits": 10, "specsHash": "0x" + "00" * 32},
        1,
        contract="ComputeRegistry",
    )
    model.apply([added, _report(0, 0, 2)])
    worker = tmp_path / "worker"
    worker.mkdir()
    beat = {"node": NODE, "ts": 1_800_000_000.0, "cpu_percent": 42.0, "ram_used": 1, "ram_total": 4}
    (worker / "heartbeat.json").write_text(json.dumps(beat))
    explorer = Explorer(model, heartbeats=heartbeat_reader([tmp_path / "missing", worker]))
    node = explorer.node(NODE)
    assert node["heartbeat"]["cpu_percent"] == 42.0
    assert node["provider"] == PROVIDER and node["compute_units"] == 10
    assert explorer.provider(PROVIDER)["nodes"][0]["heartbeat"]["ts"] == beat["ts"]

    store = tmp_path / "artifacts"
    store.mkdir()
    (store / ("ab" * 32 + ".safetensors")).write_bytes(b"adapter bytes")
    find = artifact_finder([store])
    assert find("0x" + "ab" * 32) == store / ("ab" * 32 + ".safetensors")
    assert find("../../etc/passwd") is None and find("0x" + "cd" * 32) is None
    app = create_app(explorer, static_dir=tmp_path / "static", artifact_path=find)
    with TestClient(app) as client:
        assert client.get("/artifacts/0x" + "ab" * 32).content == b"adapter bytes"
        assert client.get("/artifacts/not-a-hash").status_code == 404
        assert client.get("/artifacts/..%2F..%2Fetc%2Fpasswd").status_code != 200
    model.close()
