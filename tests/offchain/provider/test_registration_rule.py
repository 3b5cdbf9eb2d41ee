"""The docs and the contracts agree on what registration needs.

The rule is read from the deployed contracts by behaviour (a registered provider without
nodes tries to unbond its whole stake) and compared with the rule docs/provider.md states
between its ``registration-rule`` markers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from eth_account.signers.local import LocalAccount
from typer.testing import Result

from offchain.settings import project_root

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def documented_rule() -> str:
    text = (project_root() / "docs" / "provider.md").read_text(encoding="utf-8")
    start = text.index("<!-- registration-rule -->")
    end = text.index("<!-- /registration-rule -->")
    return " ".join(text[start:end].split())


def test_docs_state_the_contracts_registration_rule(
    run_cli: Run, provider: LocalAccount, assert_refusal: Refusal, loranet_env: Path
) -> None:
    rule = documented_rule()
    assert "registering needs the base stake" in rule
    run_cli("provider", "register", "--stake", "2000", "--yes", ok=True)
    status = json.loads(run_cli("status", "--json", ok=True).stdout)
    everything = run_cli("stake", "unbond", "2000", "--yes")
    if everything.exit_code == 0:  # no minimum without nodes
        assert status["min_stake"] == "0" or status["min_stake"] == 0
        assert "may unbond its whole stake" in rule and "stays registered" in rule
        assert json.loads(run_cli("status", "--json", ok=True).stdout)["registered"] is True
        return
    # the base stake is kept while registered; deregistering frees it
    assert int(status["min_stake"]) == int(status["base_stake"])
    assert_refusal(everything, "below the minimum 1,000 LORA")
    assert "keeps the base stake" in rule and "provider deregister" in rule
    run_cli("provider", "deregister", "--yes", ok=True)
    run_cli("stake", "unbond", "2000", "--yes", ok=True)
