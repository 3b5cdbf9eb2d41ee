"""The docs and the contracts agree on what registration needs.

docs/provider.md states the rule between its ``registration-rule`` markers, for the
protocol v2 contracts (the hub has ``deregisterProvider``: the base stake is kept while
registered) and for the first ones (no minimum without nodes). The deployed hub's ABI says
which contracts run; a registered provider without nodes then tries to unbond its whole
stake, and what happens must be what the docs say for those contracts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from offchain.chain.protocol import Protocol
from offchain.settings import project_root

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def documented_rule() -> str:
    text = (project_root() / "docs" / "provider.md").read_text(encoding="utf-8")
    start = text.index("<!-- registration-rule -->")
    end = text.index("<!-- /registration-rule -->")
    return " ".join(text[start:end].split())


@pytest.mark.usefixtures("registered")
def test_docs_state_the_contracts_registration_rule(
    run_cli: Run,
    protocol: Protocol,
    assert_refusal: Refusal,
    loranet_env: Path,
) -> None:
    rule = documented_rule()
    assert "registering needs the base stake (1,000 LORA by default)" in rule
    assert "`base + perUnit \N{MULTIPLICATION SIGN} compute units`" in rule
    v2 = any(entry.get("name") == "deregisterProvider" for entry in protocol.hub.abi)
    status = json.loads(run_cli("status", "--json", ok=True).stdout)
    everything = run_cli("stake", "unbond", "2000", "--yes")
    if not v2:
        assert "set no minimum for a provider without nodes" in rule
        assert "may unbond its whole stake, stays registered" in rule
        assert int(status["min_stake"]) == 0
        assert everything.exit_code == 0, everything.output
        assert json.loads(run_cli("status", "--json", ok=True).stdout)["registered"] is True
        return
    assert "keeps the base stake even without nodes" in rule
    assert "`loranet provider deregister`" in rule
    assert int(status["min_stake"]) == int(status["base_stake"])
    assert_refusal(everything, "below the minimum 1,000 LORA for 0 compute units")
    assert "provider deregister" in everything.output
    run_cli("provider", "deregister", "--yes", ok=True)
    run_cli("stake", "unbond", "2000", "--yes", ok=True)
