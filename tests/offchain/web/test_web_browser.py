"""The dashboard in headless Chromium against a real anvil with the protocol deployed.

``web/tests/browser.mjs`` (playwright-core driving Debian's ``/usr/bin/chromium``, nothing
downloaded) visits every explorer page, runs axe-core on each, walks them by keyboard and on
a phone-sized screen, and drives the console with an injected EIP-1193 test wallet (anvil's
unlocked dev account): stake, claim, a pool join signed by ``loranet node sign``, and the
CLI's refusals. Screenshots go to a temporary folder, or to ``docs/img`` when
``LORANET_WEB_SCREENSHOTS=docs/img`` (how the documentation's pictures are made).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3
from web_support import Served

from offchain.chain.client import ChainClient
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import format_lora
from offchain.devnet import dev_account
from offchain.keys import Keystore
from offchain.web.app import assets_built
from offchain.web.scenario import node_key

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node")
SCRIPT = ROOT / "web" / "tests" / "browser.mjs"
PLAYWRIGHT = ROOT / "web" / "node_modules" / "playwright-core"
PASSWORD = "web test password"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="/usr/bin/chromium is missing: `make setup` installs Debian's chromium (as root).",
    ),
    pytest.mark.skipif(NODE is None, reason="node is not on PATH (Node.js 20+ runs the browser)."),
    pytest.mark.skipif(
        not PLAYWRIGHT.is_dir(), reason="web/node_modules is missing: run `make setup`."
    ),
    pytest.mark.skipif(not assets_built(), reason="the front end is not built: run `make setup`."),
]


@pytest.fixture(scope="module")
def spare_node(served: Served) -> Any:
    """A second validated node of provider 2 (the wallet), in no pool yet."""
    client = ChainClient.connect(served.settings)
    provider = served.scenario.providers[1]
    node = node_key(100)
    ProviderActions(Protocol(client), TxSender(client, provider)).add_node(
        node, units=10, specs_hash=Web3.keccak(text="specs")
    )
    hub = client.contract("NetworkHub")
    TxSender(client, dev_account(0)).send(
        TxRequest.call(hub, "setNodeValidated", node.address, True, description="validate")
    )
    return node


def _node_sign(served: Served, node: Any, provider: str, tmp: Path) -> dict[str, Any]:
    """``loranet node sign`` with the node key in its own keystore, as on the node's machine."""
    from offchain.cli.main import app

    keys = tmp / "node-keys"
    Keystore(keys, kind="node key", scrypt_n=2**10).import_key(
        "spare", "0x" + bytes(node.key).hex(), PASSWORD
    )
    env = {
        "LORANET_NETWORK": "local",
        "LORANET_RPC_URL": served.settings.resolved_rpc_url,
        "LORANET_DEPLOYMENTS_FILE": str(served.settings.resolved_deployments_file),
        "LORANET_DATA_DIR": str(tmp / "data"),
        "LORANET_NODE_KEYSTORE_DIR": str(keys),
        "LORANET_NODE_PASSWORD": PASSWORD,
    }
    pool = str(served.scenario.pool_id)
    args = ["node", "sign", "--node", "spare", "--pool", pool, "--provider", provider, "--json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def browser_run(
    served: Served, spare_node: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("browser")
    wallet = served.scenario.providers[1].address
    signed = _node_sign(served, spare_node, wallet, tmp)
    shots = Path(os.environ.get("LORANET_WEB_SCREENSHOTS") or tmp / "shots")
    if not shots.is_absolute():
        shots = ROOT / shots
    result_file = tmp / "result.json"
    env = {
        **os.environ,
        "BASE_URL": served.url,
        "RPC_URL": served.settings.resolved_rpc_url,
        "WALLET": wallet,
        "POOL": str(served.scenario.pool_id),
        "ROUND": "1",
        "PROVIDER": served.scenario.providers[0].address,
        "NODE": served.scenario.nodes[0].address,
        "SHOTS": str(shots),
        "RESULT": str(result_file),
        "CHROMIUM": CHROMIUM,
        "JOIN_SIGNED": json.dumps(signed),
    }
    done = subprocess.run(
        [str(NODE), str(SCRIPT)],
        cwd=ROOT / "web",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = dict(json.loads(result_file.read_text()))
    assert not result["errors"], result["errors"]
    result["shots"] = shots
    result["signed"] = signed
    return result


def test_every_explorer_page_renders_real_data(browser_run: dict[str, Any], served: Served) -> None:
    pages = browser_run["pages"]
    scenario = served.scenario
    overview = pages["overview"]["text"]
    assert "Providers\n3" in overview or "Providers\t3" in overview or "3" in overview
    assert f"pool {scenario.pool_id}" in overview
    assert "LORA supply" in overview
    pool = pages["pool"]
    assert "Eval loss per round" in pool["text"] and "round 2" in pool["text"]
    assert f"/pool/{scenario.pool_id}/round/1" in pool["links"]
    assert "rejected" in pool["text"]  # the cheater's report of round 1
    round_text = pages["round"]["text"]
    for validator in scenario.validators:
        assert validator.address[:8] in round_text  # each validator's verdict is listed
    assert "reject" in round_text and "accept" in round_text
    assert any(link.startswith("http://127.0.0.1:9/artifacts/") for link in pages["round"]["links"])
    provider = pages["provider"]["text"]
    assert "Rewards claimed" in provider and "Nodes" in provider
    assert f"/node/{scenario.nodes[0].address}" in pages["provider"]["links"]
    assert f"/provider/{scenario.providers[0].address}" in pages["node"]["links"]
    for name, page in pages.items():
        assert page["title"].endswith("· loranet"), name
        assert (browser_run["shots"] / f"dashboard-{name}.png").stat().st_size > 10_000


def test_accessibility_axe_keyboard_and_phone(browser_run: dict[str, Any]) -> None:
    for name, page in browser_run["pages"].items():
        assert page["violations"] == [], (name, page["violations"])
    assert browser_run["console"]["violations"] == []
    keyboard = browser_run["keyboard"]
    assert keyboard["first"] == "Skip to content"
    assert keyboard["afterSkip"] == "main"
    focusable = ("a:", "button:", "input:", "div:")  # never <body>: live updates keep the focus
    assert all(item.startswith(focusable) for item in keyboard["focused"]), keyboard["focused"]
    assert keyboard["followed"].endswith("/round/1")
    for name, widths in browser_run["phone"].items():
        assert widths["scroll"] <= widths["inner"], (name, widths)


def test_console_stakes_claims_and_joins_with_the_wallet(
    browser_run: dict[str, Any], served: Served
) -> None:
    console = browser_run["console"]
    assert console["stake"]["refusal"] == "", console["stake"]
    assert console["stake"]["result"].startswith("done: approve 50 LORA")
    assert console["stakedAfter"] != console["stakedBefore"]
    assert console["claim"]["refusal"] == ""
    assert console["pendingAfter"] == "0 LORA" != console["pendingBefore"]
    assert console["join"]["refusal"] == "", console["join"]
    assert f"join pool {served.scenario.pool_id}" in console["join"]["result"]
    client = ChainClient.connect(served.settings)
    protocol = Protocol(client)
    wallet = served.scenario.providers[1].address
    assert protocol.node(browser_run["signed"]["node"]).pool_id == served.scenario.pool_id
    assert protocol.provider(wallet).pending_rewards == 0


def test_console_refusals_are_the_cli_sentences(
    browser_run: dict[str, Any], served: Served
) -> None:
    console = browser_run["console"]
    wallet = served.scenario.providers[1].address
    assert console["claimAgain"]["refusal"] == (
        f"nothing to claim: {wallet} has no pending rewards."
    )
    staked = Protocol(ChainClient.connect(served.settings)).provider(wallet).staked
    assert console["unbondTooMuch"]["refusal"] == (
        f"cannot unbond 1,000,000 LORA: the free stake is only {format_lora(staked)}."
    )
