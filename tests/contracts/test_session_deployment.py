"""The project-wide `deployment` fixture (tests/conftest.py) that offchain tests build on."""

from __future__ import annotations

import json

from web3 import Web3

from scripts.deploy import CONTRACTS


def test_deployment_fixture_is_complete_and_reachable_over_http(deployment):
    assert set(deployment.contracts) == set(CONTRACTS)
    assert json.loads(deployment.file.read_text())["contracts"] == deployment.contracts
    w3 = Web3(Web3.HTTPProvider(deployment.rpc_url))
    assert w3.eth.chain_id == deployment.chain_id
    for address in deployment.contracts.values():
        assert len(w3.eth.get_code(address)) > 0
    assert deployment.deployer.address == deployment.data["deployer"]


def test_deployment_survives_test_isolation(deployment, project):
    token = project.LoraToken.at(deployment.contracts["LoraToken"])
    for account in deployment.accounts[1:10]:
        assert token.balanceOf(account) == 100_000 * 10**18
    hub = project.NetworkHub.at(deployment.contracts["NetworkHub"])
    token.approve(deployment.contracts["StakeManager"], 10**21, sender=deployment.accounts[1])
    hub.registerProvider(10**21, 0, 0, b"\0" * 32, b"\0" * 32, sender=deployment.accounts[1])


def test_previous_test_was_rolled_back(deployment, project):
    registry = project.ComputeRegistry.at(deployment.contracts["ComputeRegistry"])
    assert not registry.providerOf(deployment.accounts[1]).registered
    assert project.ComputePool.at(deployment.contracts["ComputePool"]).poolCount() == 0
