"""Fixtures of the dashboard tests: a played network on the session's anvil, the dashboard
indexing it, and a real uvicorn server in front of it.

The network (3 providers, 2 validators, one pool, 3 finalized rounds with a rejected
cheater, a claim and an unbond) is built once per module on top of the session deployment;
Ape rolls the chain back after the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import Served

from offchain.chain.client import ChainClient
from offchain.gateway.server import BackgroundServer
from offchain.settings import Settings, load_settings
from offchain.web.scenario import Scenario, build_network
from offchain.web.service import Dashboard, build_dashboard
from offchain.web.settings import WebSettings


@pytest.fixture(scope="module")
def chain_settings(deployment: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("web-data")
    return load_settings(
        network="local",
        rpc_url=deployment.rpc_url,
        deployments_file=deployment.file,
        data_dir=data_dir,
        rpc_retries=1,
    )


@pytest.fixture(scope="module")
def scenario(chain_settings: Settings) -> Scenario:
    return build_network(ChainClient.connect(chain_settings), rounds=3)


@pytest.fixture(scope="module")
def dashboard(chain_settings: Settings, scenario: Scenario) -> Iterator[Dashboard]:
    web = WebSettings(poll_interval_s=0.3)
    board = build_dashboard(chain_settings, web)
    board.indexer.catch_up()
    yield board
    board.stop()


@pytest.fixture(scope="module")
def api(dashboard: Dashboard) -> Iterator[TestClient]:
    with TestClient(dashboard.app) as client:
        yield client


@pytest.fixture(scope="module")
def served(dashboard: Dashboard, scenario: Scenario, chain_settings: Settings) -> Iterator[Served]:
    dashboard.start()
    with BackgroundServer(dashboard.app) as server:
        yield Served(dashboard, scenario, chain_settings, server.url, chain_settings.data_dir)
