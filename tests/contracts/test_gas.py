"""Gas targets of issue 4 hold for the register -> add node -> join -> submit -> claim flow
(the same flow `ape run gas_report` measures for docs/gas.md)."""

from __future__ import annotations

from scripts.gas_report import TARGETS, run_flow


def test_gas_targets_hold(chain):
    gas = run_flow()
    for name, (target, _) in TARGETS.items():
        assert target is not None
        assert max(gas[name]) <= target, f"{name}: {gas[name]} over {target}"
    assert {"attest (validator)", "finalize (4 reports, all accepted)", "withdraw"} <= set(gas)
