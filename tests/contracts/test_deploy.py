"""scripts/deploy.py: `deploy_all` wires everything, writes a complete file, refuses to clobber a
live deployment, resumes after a crash; `ape run deploy` works end to end."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ape.exceptions import ContractLogicError

from scripts.deploy import CONTRACTS, DeploymentExistsError, DeployParams, DomainSpec, deploy_all
from scripts.export_abi import BUILD_FILE, expected_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def params(validator, creator, treasury):
    return DeployParams(
        validators=(validator.address,), pool_creators=(creator.address,), treasury=treasury.address
    )


def test_deploy_all_writes_complete_wired_file(project, owner, alice, params, tmp_path, chain):
    head = chain.blocks.head.number
    data = deploy_all(owner, params, network="t", out_dir=tmp_path, fund=[alice])
    on_disk = json.loads((tmp_path / "t.json").read_text())
    assert on_disk == json.loads(json.dumps(data))
    assert not (tmp_path / "t.partial.json").exists()
    assert data["chain_id"] == chain.chain_id and data["deployer"] == owner.address
    assert data["block"] == data["start_block"] == head
    assert set(data["contracts"]) == set(CONTRACTS)
    assert data["domains"] == {"lora-finetune": 1, "inference": 2}

    # ABI digests are sha256 of the files scripts/export_abi.py writes to offchain/abi/
    exported = expected_files(json.loads(BUILD_FILE.read_text())["contractTypes"])
    for name in CONTRACTS:
        text = exported[f"{name}.json"]
        assert data["abi_digests"][name] == hashlib.sha256(text.encode()).hexdigest()

    # EIP-170: every contract's code below 24,576 bytes (more optimizer runs, more code)
    for name, address in data["contracts"].items():
        assert 0 < len(chain.provider.get_code(address)) <= 24_576, name

    c = {name: project[name].at(address) for name, address in data["contracts"].items()}
    hub, token = c["NetworkHub"], c["LoraToken"]
    assert hub.workLedger() == c["WorkLedger"].address
    assert c["StakeManager"].treasury() == params.treasury
    assert not token.hasRole(token.MINTER_ROLE(), c["WorkLedger"])  # pays from escrows
    assert not token.hasRole(token.MINTER_ROLE(), owner)  # renounced after funding
    assert token.mintAllowance() == 0  # the funding spent exactly what it allowed itself
    assert hub.hasRole(hub.VALIDATOR_ROLE(), params.validators[0])
    assert hub.hasRole(hub.POOL_CREATOR_ROLE(), params.pool_creators[0])
    assert token.balanceOf(alice) == params.fund_amount


def test_rerun_refuses_then_force_redeploys(owner, params, tmp_path):
    first = deploy_all(owner, params, network="t", out_dir=tmp_path)
    with pytest.raises(DeploymentExistsError, match="--force"):
        deploy_all(owner, params, network="t", out_dir=tmp_path)
    second = deploy_all(owner, params, network="t", out_dir=tmp_path, force=True)
    assert set(first["contracts"].values()).isdisjoint(second["contracts"].values())
    assert json.loads((tmp_path / "t.json").read_text())["contracts"] == second["contracts"]


def test_crash_mid_wiring_resumes_without_redeploying(owner, params, tmp_path):
    broken = params.model_copy(update={"domains": (DomainSpec(local_gpu_multiplier_bps=0),)})
    with pytest.raises(ContractLogicError):  # DomainRegistryInvalidPolicy, after wire()
        deploy_all(owner, broken, network="t", out_dir=tmp_path)
    assert not (tmp_path / "t.json").exists()  # never half-wired on disk
    partial = json.loads((tmp_path / "t.partial.json").read_text())
    assert set(partial["contracts"]) == set(CONTRACTS)

    data = deploy_all(owner, params, network="t", out_dir=tmp_path)  # wire() is not repeated
    assert data["contracts"] == partial["contracts"]
    assert data["block"] == partial["block"]
    assert not (tmp_path / "t.partial.json").exists()


def test_stale_files_of_other_chains_are_ignored(owner, params, tmp_path):
    fake = {"chain_id": 1, "block": 0, "contracts": {name: "0x" + "22" * 20 for name in CONTRACTS}}
    (tmp_path / "t.partial.json").write_text(json.dumps(fake))
    (tmp_path / "t.json").write_text(json.dumps(fake))
    data = deploy_all(owner, params, network="t", out_dir=tmp_path)
    assert "0x" + "22" * 20 not in data["contracts"].values()


def test_ape_run_deploy_cli(chain, tmp_path, owner):
    """`ape run deploy` against the test anvil: a complete file, then an idempotent re-run."""
    env = {
        **os.environ,
        "APE_FOUNDRY_HOST": str(chain.provider.http_uri),
        "LORANET_DEPLOYMENTS_DIR": str(tmp_path),
        "LORANET_DEPLOY_PRINT_JSON": "1",
        "LORANET_UNBONDING_PERIOD": "86400",
        "LORANET_BASE_STAKE": "250",
    }
    ape = Path(sys.executable).with_name("ape")
    command = [str(ape), "run", "deploy", "--network", "ethereum:local:foundry"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    data = json.loads((tmp_path / "local.json").read_text())
    assert set(data["contracts"]) == set(CONTRACTS)
    assert data["params"]["unbonding_period"] == 86400
    assert data["params"]["base_stake"] == str(250 * 10**18)
    assert data["roles"]["validators"] == [owner.address]
    assert len(data["funded"]) == 10  # the deployer too: it creates (and funds) local pools
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert json.loads(again.stdout.strip().splitlines()[-1])["contracts"] == data["contracts"]
