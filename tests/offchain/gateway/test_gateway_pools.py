"""Serving a pool's latest finalized adapter: fetched by hash from artifact servers over
HTTP, verified, swapped when a new round is recorded; the chain read on the real deployment."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch

from offchain.artifacts import ArtifactServer, Fetcher, FetchLimits
from offchain.gateway.app import create_app
from offchain.gateway.config import GatewayConfig
from offchain.gateway.pools import ZERO_HASH, ChainPoolSource, with_pool_bases
from offchain.gateway.server import BackgroundServer
from offchain.settings import Settings
from trainer.artifacts import adapter_hash, save_adapter
from trainer.config import ModelConfig
from trainer.models import attach_lora, build_base_model, lora_named_parameters


class Ledger:
    """The pool's recorded adapter hash, set by the test (the rest is real: HTTP servers,
    the artifacts fetcher and its hash check)."""

    def __init__(self, cache: Path) -> None:
        self.digest = ZERO_HASH
        self.fetcher = Fetcher(cache_dir=cache, limits=FetchLimits(attempts=1))

    def adapter_hash(self, pool_id: int) -> str:
        return self.digest

    def adapter_sources(self, pool_id: int) -> list[str]:
        return []  # the pool's metadata names none: the gateway config's sources are used

    def fetch(self, uri: str, sha256: str) -> Path:
        return self.fetcher.fetch(uri, sha256)

    def train_model(self, pool_id: int) -> dict[str, Any] | None:
        return {3: {"hidden_size": 32, "intermediate_size": 64}, 4: {"seed": 0}}.get(pool_id)


@pytest.fixture(scope="module")
def other_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = ModelConfig()
    model = attach_lora(build_base_model(cfg), cfg)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for _, param in lora_named_parameters(model):
            param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    path = tmp_path_factory.mktemp("other") / "other.safetensors"
    save_adapter(model, path)
    return path


@contextmanager
def _static(folder: Path) -> Iterator[str]:
    """A plain static web server of ``folder`` (any host a validator publishes to)."""
    handler = partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_gateway_serves_and_follows_the_pools_adapter(
    tmp_path: Path, adapter_file: Path, other_adapter: Path
) -> None:
    first, second = adapter_hash(adapter_file), adapter_hash(other_adapter)
    honest, liar, folder = tmp_path / "honest", tmp_path / "liar", tmp_path / "validator"
    for d in (honest, liar, folder):
        d.mkdir()
    shutil.copy(adapter_file, honest / first.removeprefix("0x"))  # an artifact store
    shutil.copy(other_adapter, liar / first.removeprefix("0x"))  # wrong bytes under a name
    # a validator's adapters folder (<hash hex>.safetensors) behind a static web server
    shutil.copy(other_adapter, folder / f"{second.removeprefix('0x')}.safetensors")
    ledger = Ledger(tmp_path / "cache")
    with (
        ArtifactServer(liar) as bad,
        ArtifactServer(honest) as good,
        _static(folder) as static,
    ):
        config = GatewayConfig.model_validate(
            {
                "adapters": [{"name": "arith", "base": "tiny", "path": str(adapter_file)}],
                "pools": [
                    {
                        "pool": 7,
                        "adapter_sources": [
                            bad.url + "/artifacts",
                            good.url + "/artifacts",
                            static,
                        ],
                        "poll_s": 0.1,
                    }
                ],
                "auth": {"enabled": False},
                "rate_limit": {"enabled": False},
                "retry_after_s": 0,
            }
        )
        app = create_app(config, pool_source=ledger)
        with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
            body = {"model": "pool-7", "prompt": "12+30=", "max_tokens": 12, "temperature": 0}

            def pool() -> dict[str, Any]:
                return client.get("/health").json()["pools"][0]

            _wait(lambda: "no finalized round" in pool()["error"], "the chain was not read")
            assert client.get("/health").json()["models"]["pool-7"]["ready"] is False
            assert client.post("/v1/completions", json=body).status_code == 503

            ledger.digest = first  # round finalized: the liar's copy is refused
            _wait(lambda: pool()["adapter_hash"] == first, "the first adapter was not served")
            served = client.post("/v1/completions", json=body).json()
            assert served["loranet"]["adapter_hash"] == first
            same = client.post("/v1/completions", json={**body, "model": "arith"}).json()
            assert served["choices"][0]["text"] == same["choices"][0]["text"]
            assert (tmp_path / "cache" / first.removeprefix("0x")).is_file()

            ledger.digest = second  # the next round: found as <hash>.safetensors
            _wait(lambda: pool()["adapter_hash"] == second, "the new round was not followed")
            assert pool()["error"] is None
            served = client.post("/v1/completions", json=body).json()
            assert served["loranet"]["adapter_hash"] == second
            cards = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
            assert cards["pool-7"]["adapter_hash"] == second
            assert cards["pool-7"]["pool"] == 7


def test_a_pool_is_served_on_the_model_it_trains(tmp_path: Path) -> None:
    config = GatewayConfig.model_validate(
        {"pools": [{"pool": 3}, {"pool": 4}, {"pool": 5}, {"pool": 6, "base": "tiny"}]}
    )
    resolved = with_pool_bases(config, Ledger(tmp_path))
    bases = {p.pool: resolved.pool_base(p) for p in resolved.pools}
    assert bases == {3: "pool-3-base", 4: "tiny", 5: "tiny", 6: "tiny"}
    assert resolved.base_models["pool-3-base"].hidden_size == 32  # what pool 3 trains
    assert resolved.base_models["tiny"] == config.base_models["tiny"]


def _finalize_round(client: Any, scenario: Any, next_hash: str) -> None:
    """Round 0 of the scenario's pool: every node reports, the validator accepts them all
    and records ``next_hash`` as the aggregate; the round is finalized."""
    from web3 import Web3

    from offchain.chain.protocol import Protocol
    from offchain.chain.signing import LEDGER_DOMAIN, WORK_REPORT_TYPE, sign_typed
    from offchain.chain.tx import TxRequest, TxSender
    from offchain.web.scenario import advance

    protocol = Protocol(client)
    ledger, pool = protocol.ledger, protocol.pool(scenario.pool_id)
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    advance(client, max(1, pool.start_time + pool.round_length - now))

    def send(who: Any, fn: str, *args: Any) -> None:
        TxSender(client, who).send(TxRequest.call(ledger, fn, *args, description=fn))

    for i, (prov, node) in enumerate(zip(scenario.providers, scenario.nodes, strict=True)):
        report = {
            "poolId": scenario.pool_id,
            "round": 0,
            "node": node.address,
            "adapterHash": bytes(Web3.keccak(text=f"node adapter {i}")),
            "samples": 512,
            "loss": 1_000_000,
            "artifactUri": "http://127.0.0.1:9/artifacts/x",
            "executionMode": 0,
            "replayRoot": bytes(Web3.keccak(text=f"replay {i}")),
        }
        signature = sign_typed(
            node,
            domain=LEDGER_DOMAIN,
            chain_id=client.chain_id,
            verifying_contract=str(ledger.address),
            primary="WorkReport",
            fields=WORK_REPORT_TYPE,
            message=report,
        ).signature
        send(prov, "submitReport", tuple(report.values()), bytes(signature))
    advance(client, pool.submission_window)
    accepted = (1 << len(scenario.providers)) - 1
    digest = bytes.fromhex(next_hash.removeprefix("0x"))
    for val in scenario.validators:
        send(val, "attest", scenario.pool_id, 0, accepted, digest)
    send(scenario.validators[0], "finalize", scenario.pool_id, 0)


def test_serve_what_a_finalized_round_recorded_on_chain(
    deployment: Any, tmp_path: Path, adapter_file: Path
) -> None:
    """The whole path on the test chain: a pool whose metadata names a validator's adapters
    folder (behind a web server), a round finalized with the adapter's hash as the next
    base adapter, and the gateway serving exactly those bytes."""
    from offchain.chain.client import ChainClient
    from offchain.chain.tx import TxRequest, TxSender
    from offchain.devnet import dev_account
    from offchain.pools.metadata import PoolMetadata
    from offchain.settings import load_settings
    from offchain.web.scenario import setup_network

    settings = load_settings(
        network="local",
        rpc_url=deployment.rpc_url,
        deployments_file=deployment.file,
        data_dir=tmp_path / "data",
        rpc_retries=1,
    )
    client = ChainClient.connect(settings)
    scenario = setup_network(client, providers=1, validators=1)
    digest = adapter_hash(adapter_file)
    folder = tmp_path / "validator-adapters"
    folder.mkdir()
    shutil.copy(adapter_file, folder / f"{digest.removeprefix('0x')}.safetensors")
    with _static(folder) as url:
        meta = PoolMetadata(adapter_sources=[url]).to_data_uri()
        hub = client.contract("NetworkHub")
        TxSender(client, dev_account(0)).send(
            TxRequest.call(hub, "setPoolMetadataUri", scenario.pool_id, meta, description="meta")
        )
        source = ChainPoolSource(client, Fetcher(cache_dir=tmp_path / "cache"))
        assert source.adapter_hash(scenario.pool_id) == ZERO_HASH
        _finalize_round(client, scenario, digest)
        assert source.adapter_hash(scenario.pool_id) == digest
        assert source.adapter_sources(scenario.pool_id) == [url]
        config = GatewayConfig.model_validate(
            {
                "pools": [{"pool": scenario.pool_id}],
                "auth": {"enabled": False},
                "rate_limit": {"enabled": False},
            }
        )
        config = with_pool_bases(config, source)
        with (
            BackgroundServer(create_app(config, pool_source=source)) as server,
            httpx.Client(base_url=server.url) as http,
        ):
            name = f"pool-{scenario.pool_id}"
            _wait(
                lambda: http.get("/health").json()["pools"][0]["adapter_hash"] == digest,
                "the pool's adapter was not served",
            )
            body = {"model": name, "prompt": "1+2=", "max_tokens": 4}
            served = http.post("/v1/completions", json=body).json()
            assert served["loranet"]["adapter_hash"] == digest


@pytest.fixture
def deployment_file(deployment: Any, tmp_path: Path) -> Path:
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    shutil.copy(deployment.file, path)
    return path


def test_the_chain_source_reads_the_ledger(settings: Settings, tmp_path: Path) -> None:
    from offchain.chain.client import ChainClient

    source = ChainPoolSource(ChainClient.connect(settings), Fetcher(cache_dir=tmp_path))
    assert source.adapter_hash(1) == ZERO_HASH  # no round of pool 1 was ever finalized
