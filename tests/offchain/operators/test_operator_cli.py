"""Admin, domain, pool-creator and validator commands on a chain: what they do, and every
refusal as one sentence with nothing sent and no password asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from eth_account.signers.local import LocalAccount
from typer.testing import Result

from offchain.chain.protocol import Protocol
from offchain.chain.roles import ROLES
from offchain.devnet import dev_account

Run = Callable[..., Result]
PEER = "/ip4/10.231.0.5/tcp/31337/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"


def test_grant_and_revoke_a_role(
    cli_json: Callable[..., Any], admin_key: LocalAccount, protocol: Protocol
) -> None:
    who = dev_account(4).address
    out = cli_json("admin", "grant", "pool-creator", who, "--account", "admin")
    assert out["role"] == "pool-creator" and out["transactions"]
    role = ROLES["pool-creator"].role
    assert protocol.hub.functions.hasRole(role, who).call()
    roles = cli_json("admin", "roles", who)
    assert roles["roles"]["pool-creator"] and not roles["roles"]["admin"]
    cli_json("admin", "revoke", "pool-creator", who, "--account", "admin")
    assert not protocol.hub.functions.hasRole(role, who).call()


def test_role_refusals(
    refused: Callable[..., Result], admin_key: LocalAccount, outsider_key: LocalAccount
) -> None:
    who = dev_account(4).address
    refused(outsider_key, "admin", "grant", "validator", who, "--account", "outsider",
            sentence="cannot grant validator: only an admin of NetworkHub can.")  # fmt: skip
    refused(admin_key, "admin", "grant", "overlord", who, "--account", "admin",
            sentence="unknown role 'overlord'")  # fmt: skip
    refused(admin_key, "admin", "grant", "validator", admin_key.address, "--account", "admin",
            sentence=f"{admin_key.address} already holds the validator role.")  # fmt: skip
    refused(admin_key, "admin", "revoke", "minter", who, "--account", "admin",
            sentence=f"{who} does not hold the minter role.")  # fmt: skip
    refused(admin_key, "admin", "grant", "validator", "0x1234", "--account", "admin",
            sentence="'0x1234' is not a valid address")  # fmt: skip


def test_domains_and_parameters(
    cli_json: Callable[..., Any],
    admin_key: LocalAccount,
    outsider_key: LocalAccount,
    refused: Callable[..., Result],
) -> None:
    made = cli_json("domain", "create", "vision-lora", "--quorum", "2", "--slash-bps", "500",
                    "--account", "admin")  # fmt: skip
    domain_id = made["domain_id"]
    cli_json("domain", "update", str(domain_id), "--challenge-window", "120", "--account", "admin")
    rows = {r["name"]: r for r in cli_json("domain", "list")}
    assert rows["vision-lora"]["quorum"] == 2
    assert rows["vision-lora"]["challenge_window"] == 120
    assert rows["vision-lora"]["slash_bps"] == 500
    refused(admin_key, "domain", "create", "vision-lora", "--account", "admin",
            sentence=f"a domain named 'vision-lora' exists already (id {domain_id}).")  # fmt: skip
    refused(admin_key, "domain", "create", "x", "--quorum", "0", "--account", "admin",
            sentence="the quorum must be between 1 and 255, not 0.")  # fmt: skip
    refused(admin_key, "domain", "update", "99", "--quorum", "2", "--account", "admin",
            sentence="domain 99 does not exist.")  # fmt: skip
    refused(outsider_key, "domain", "create", "y", "--account", "outsider",
            sentence="does not hold the admin role, which creating a domain needs")  # fmt: skip

    cli_json("admin", "set-stake", "--base", "500", "--per-unit", "5", "--account", "admin")
    refused(admin_key, "admin", "set-unbonding", "3600", "--account", "admin",
            sentence="the unbonding period must be at least 7200 s")  # fmt: skip
    cli_json("admin", "set-unbonding", "7200", "--account", "admin")
    params = cli_json("admin", "params")
    assert params["base_stake"] == str(500 * 10**18)
    assert params["unbonding_period"] == 7200
    refused(admin_key, "admin", "set-slash-split", "--burn-bps", "20000", "--treasury",
            admin_key.address, "--account", "admin",
            sentence="the burned part must be 0..10000 bps, not 20000.")  # fmt: skip


def test_pool_lifecycle_with_metadata(
    cli_json: Callable[..., Any],
    admin_key: LocalAccount,
    outsider_key: LocalAccount,
    refused: Callable[..., Result],
    tmp_path: Path,
) -> None:
    train = tmp_path / "train.yaml"
    train.write_text(yaml.safe_dump({"max_epochs": 2, "hivemind": {"target_batch_size": 32}}))
    created = cli_json(
        "pool", "create", "--base-model-uri", "builtin://tiny-llama",
        "--dataset-uri", "builtin://arithmetic", "--reward", "50", "--round-length", "600",
        "--submission-window", "60", "--max-nodes", "4", "--bootstrap-peer", PEER,
        "--train-config", str(train), "--name", "tiny", "--account", "admin",
    )  # fmt: skip
    pool_id = created["pool_id"]
    assert created["params"]["metadata_uri"].startswith("data:application/json,")
    meta = cli_json("pool", "metadata", str(pool_id))
    assert meta["metadata"]["bootstrap_peers"] == [PEER]
    assert meta["metadata"]["train"]["max_epochs"] == 2
    refused(outsider_key, "pool", "start", str(pool_id), "--account", "outsider",
            sentence=f"cannot start pool {pool_id}: only its creator")  # fmt: skip
    assert cli_json("pool", "start", str(pool_id), "--account", "admin")["status"] == "active"
    refused(admin_key, "pool", "start", str(pool_id), "--account", "admin",
            sentence=f"pool {pool_id} is active: only a pending pool starts.")  # fmt: skip
    other = PEER.replace("10.231.0.5", "10.231.0.6")
    cli_json("pool", "set-metadata", str(pool_id), "--bootstrap-peer", other, "--account", "admin")
    assert cli_json("pool", "metadata", str(pool_id))["metadata"]["bootstrap_peers"] == [other]
    cli_json("pool", "end", str(pool_id), "--account", "admin")
    refused(admin_key, "pool", "end", str(pool_id), "--account", "admin",
            sentence=f"pool {pool_id} has ended already.")  # fmt: skip


def test_pool_create_refusals(
    admin_key: LocalAccount, outsider_key: LocalAccount, refused: Callable[..., Result]
) -> None:
    base = ["pool", "create", "--base-model-uri", "builtin://m", "--dataset-uri",
            "builtin://d", "--reward", "1"]  # fmt: skip
    refused(outsider_key, *base, "--account", "outsider",
            sentence="does not hold the pool-creator role")  # fmt: skip
    refused(admin_key, *base, "--round-length", "60", "--submission-window", "90",
            "--account", "admin",
            sentence="the submission window (90 s) must be above 0 and at most")  # fmt: skip
    refused(admin_key, *base, "--max-nodes", "0", "--account", "admin",
            sentence="the node limit must be between 1 and 256, not 0.")  # fmt: skip
    refused(admin_key, *base, "--domain", "nope", "--account", "admin",
            sentence="no domain is named 'nope'.")  # fmt: skip
    refused(admin_key, *base, "--bootstrap-peer", "/ip4/1.2.3.4/tcp/1", "--account", "admin",
            sentence="is not a dialable multiaddr")  # fmt: skip
    refused(admin_key, "pool", "create", "--base-model-uri", "https://x/m", "--dataset-uri",
            "builtin://d", "--reward", "1", "--account", "admin",
            sentence="the base model needs a content hash")  # fmt: skip


def test_validator_validates_and_blacklists_nodes(
    cli_json: Callable[..., Any],
    run_cli: Run,
    admin_key: LocalAccount,
    outsider_key: LocalAccount,
    refused: Callable[..., Result],
    protocol: Protocol,
    tmp_path: Path,
) -> None:
    key = dev_account(3)
    run_cli("account", "import", "prov", input=f"{key.key.hex()}\n", ok=True)
    node = json.loads(run_cli("node", "keygen", "gpu-0", "--json", ok=True).stdout)["address"]
    specs = tmp_path / "specs.json"
    specs.write_text('{"gpu": "RTX A4000", "vram_gb": 16}')  # up to 16 compute units
    run_cli("provider", "register", "--stake", "2000", "--account", "prov", "--yes", ok=True)
    run_cli("node", "add", "--node", "gpu-0", "--units", "10", "--specs", str(specs),
            "--account", "prov", "--yes", ok=True)  # fmt: skip
    refused(outsider_key, "validator", "validate-node", node, "--account", "outsider",
            sentence="does not hold the validator role, which validating a node needs")  # fmt: skip
    out = cli_json("validator", "validate-node", "gpu-0", "--account", "admin")
    assert out["validated"] is True and protocol.node(node).validated
    refused(admin_key, "validator", "validate-node", node, "--account", "admin",
            sentence=f"node {node} is already validated.")  # fmt: skip
    cli_json("validator", "blacklist", node, "--account", "admin")
    assert protocol.node(node).blacklisted
    refused(admin_key, "validator", "blacklist", node, "--account", "admin",
            sentence=f"node {node} is already blacklisted.")  # fmt: skip
    refused(admin_key, "validator", "validate-node", dev_account(8).address, "--account", "admin",
            sentence="is not registered.")  # fmt: skip


def test_faucet_drips_once_per_cooldown(
    cli_json: Callable[..., Any],
    run_cli: Run,
    refused: Callable[..., Result],
    outsider_key: LocalAccount,
    deployment: Any,
    deployment_file: Path,
    project: Any,
    protocol: Protocol,
) -> None:
    refused(outsider_key, "faucet", "--account", "outsider",
            sentence="has no faucet: ask its operator for LORA")  # fmt: skip
    token = project.LoraToken.at(deployment.contracts["LoraToken"])
    faucet = deployment.deployer.deploy(
        project.LoraFaucet, token, deployment.deployer, 10**21, 3600
    )
    token.transfer(faucet, 10**21, sender=deployment.accounts[1])
    data = json.loads(deployment_file.read_text())
    data["contracts"]["LoraFaucet"] = faucet.address
    deployment_file.write_text(json.dumps(data))
    before = protocol.token.functions.balanceOf(outsider_key.address).call()
    out = cli_json("faucet", "--account", "outsider")
    assert out["received"] == str(10**21)
    assert protocol.token.functions.balanceOf(outsider_key.address).call() == before + 10**21
    refused(outsider_key, "faucet", "--account", "outsider",
            sentence="took a drip recently: the next one is possible at")  # fmt: skip
    shown = cli_json("faucet", "--show", "--account", "outsider")
    assert shown["balance"] == "0" and shown["cooldown"] == 3600


def test_confirmation_and_dry_run(
    run_cli: Run,
    admin_key: LocalAccount,
    nonce_of: Callable[[str], int],
    assert_refusal: Callable[[Result, str], None],
    protocol: Protocol,
) -> None:
    who = dev_account(4).address
    before = nonce_of(admin_key.address)
    unconfirmed = run_cli("admin", "grant", "validator", who, "--account", "admin", input="")
    assert_refusal(unconfirmed, "pass --yes to send without confirmation")
    planned = run_cli("admin", "grant", "validator", who, "--account", "admin", "--dry-run",
                      "--json", ok=True)  # fmt: skip
    data = json.loads(planned.stdout)
    assert data["dry_run"] is True and data["planned"][0]["description"] == "grant validator"
    assert nonce_of(admin_key.address) == before, "a transaction was sent"
    run_cli("admin", "grant", "validator", who, "--account", "admin", "--yes", ok=True)
    assert protocol.hub.functions.hasRole(ROLES["validator"].role, who).call()


def test_operator_branches_and_headlines(
    run_cli: Run, admin_key: LocalAccount, protocol: Protocol
) -> None:
    """``pool create --start``, blacklisting in one pool, a provider's blacklist and its
    undo: each sends what it says and tells people in one line."""

    def sent(*args: str) -> str:
        return " ".join(run_cli(*args, "--account", "admin", "--yes", ok=True).output.split())

    created = sent("pool", "create", "--base-model-uri", "builtin://tiny-llama",
                   "--dataset-uri", "builtin://arithmetic", "--reward", "5", "--start")  # fmt: skip
    pool_id = protocol.pool_count()
    assert f"pool {pool_id} created and started" in created
    assert protocol.pool(pool_id).status == "active"
    node = dev_account(8).address
    in_pool = sent("validator", "blacklist", node, "--pool", str(pool_id))
    assert f"node {node} blacklisted in pool {pool_id}" in in_pool
    assert protocol.is_pool_blacklisted(pool_id, node)
    cleared = sent("validator", "blacklist", node, "--pool", str(pool_id), "--undo")
    assert f"node {node} cleared in pool {pool_id}" in cleared
    assert not protocol.is_pool_blacklisted(pool_id, node)

    key = dev_account(3)
    run_cli("account", "import", "prov", input=f"{key.key.hex()}\n", ok=True)
    run_cli("provider", "register", "--stake", "2000", "--account", "prov", "--yes", ok=True)
    assert f"provider {key.address} blacklisted" in sent(
        "admin", "blacklist", key.address, "--provider"
    )
    assert protocol.provider(key.address).blacklisted
    assert f"provider {key.address} cleared" in sent(
        "admin", "blacklist", key.address, "--provider", "--undo"
    )
    assert not protocol.provider(key.address).blacklisted
    assert "unbonding period is now 9000 s" in sent("admin", "set-unbonding", "9000")
