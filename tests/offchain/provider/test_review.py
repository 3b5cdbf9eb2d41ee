"""Summary, confirmation, dry run, and checks before passwords, on the deployed protocol.

Every state-changing command shows a summary and asks; ``--yes`` skips the question,
``--dry-run`` prints the transactions and sends nothing, and with no terminal and no ``--yes``
nothing is sent. Checks that need no key refuse before any password is asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def test_no_terminal_and_no_yes_sends_nothing(
    run_cli: Run,
    provider: LocalAccount,
    nonce_of: Callable[[str], int],
    assert_refusal: Refusal,
) -> None:
    before = nonce_of(provider.address)
    result = run_cli("provider", "register", "--stake", "2000")
    assert_refusal(result, "there is no terminal to confirm on; pass --yes")
    assert "register " in result.output and "1,000 LORA" in result.output  # the summary
    declined = run_cli("provider", "register", "--stake", "2000", input="n\n")
    assert_refusal(declined, "cancelled: nothing was sent.")
    assert nonce_of(provider.address) == before


def test_a_yes_line_on_stdin_confirms(
    run_cli: Run, provider: LocalAccount, nonce_of: Callable[[str], int]
) -> None:
    before = nonce_of(provider.address)
    result = run_cli("stake", "add", "5", input="y\n", ok=True)
    assert "stake" in result.output and "0 LORA → 5 LORA" in result.output
    assert "fee ≈" in result.output
    assert nonce_of(provider.address) == before + 2  # approve + stake


def test_dry_run_prints_the_transactions_and_sends_nothing(
    run_cli: Run,
    provider: LocalAccount,
    node_key: str,
    specs_file: Path,
    nonce_of: Callable[[str], int],
) -> None:
    before = nonce_of(provider.address)
    planned = json.loads(
        run_cli("provider", "register", "--stake", "2000", "--dry-run", "--json", ok=True).stdout
    )
    assert planned["dry_run"] is True and planned["transactions"] == []
    [tx] = planned["planned"]
    assert tx["description"] == "register as a provider"
    assert tx["data"].startswith("0x") and tx["gas"] > 0 and int(tx["max_fee_wei"]) > 0
    human = run_cli("provider", "register", "--stake", "2000", "--dry-run", ok=True).output
    assert "dry run: nothing was sent" in human and "data   0x" in human
    assert nonce_of(provider.address) == before


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("stake", "add", "0"), "the amount must be above 0 LORA."),
        (("pool", "join", "99", "--node", "gpu-0"), "pool 99 does not exist."),
        (("provider", "register", "--stake", "10"), "is below the minimum 1,000 LORA"),
        (("stake", "unbond", "5"), "cannot unbond 5 LORA: the free stake is only 0 LORA."),
    ],
)
def test_checks_run_before_any_password(
    run_cli: Run,
    provider: LocalAccount,
    node_key: str,
    assert_refusal: Refusal,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    sentence: str,
) -> None:
    monkeypatch.delenv("LORANET_PASSWORD")  # a prompt would now be refused, not asked
    result = run_cli(*args, "--yes")
    assert_refusal(result, sentence)
    assert "password" not in result.output.lower()


@pytest.mark.usefixtures("registered")
def test_status_and_outputs_show_node_aliases(
    run_cli: Run, node_key: str, add_node: Callable[..., Result]
) -> None:
    added = add_node()
    assert f"added node gpu-0 ({node_key}) with 30 compute units" in added.output
    status = run_cli("status", ok=True).output
    assert "gpu-0" in status
    nodes = json.loads(run_cli("status", "--json", ok=True).stdout)["nodes"]
    assert nodes[0]["alias"] == "gpu-0"


@pytest.mark.usefixtures("registered", "node_key")
def test_specs_that_disagree_with_units_are_refused_before_sending(
    run_cli: Run,
    provider: LocalAccount,
    tmp_path: Path,
    nonce_of: Callable[[str], int],
    assert_refusal: Refusal,
) -> None:
    before = nonce_of(provider.address)
    negative = tmp_path / "negative.json"
    negative.write_text(json.dumps({"gpu": "RTX 4090", "vram_gb": 24, "units": -5}))
    assert_refusal(
        run_cli("node", "add", "--node", "gpu-0", "--specs", str(negative), "--yes"),
        f"the specs file {negative} is invalid: 'units'",
    )
    declared = tmp_path / "declared.json"
    declared.write_text(json.dumps({"gpu": "RTX 4090", "vram_gb": 24, "units": 20}))
    assert_refusal(
        run_cli("node", "add", "--node", "gpu-0", "--specs", str(declared), "--units", "30"),
        "--units 30 disagrees with 'units': 20",
    )
    assert nonce_of(provider.address) == before
    added = run_cli("node", "add", "--node", "gpu-0", "--specs", str(declared), "--yes", "--json")
    assert json.loads(added.stdout)["compute_units"] == 20  # the file's declaration


def test_no_eth_for_gas_is_refused_before_the_password(
    run_cli: Run,
    provider: LocalAccount,
    protocol: Any,
    assert_refusal: Refusal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    protocol.w3.provider.make_request("anvil_setBalance", [provider.address, "0x0"])
    monkeypatch.delenv("LORANET_PASSWORD")
    result = run_cli("stake", "add", "5", "--yes")
    assert_refusal(result, f"{provider.address} holds 0 ETH and cannot pay for gas")
    assert "password" not in result.output.lower()
