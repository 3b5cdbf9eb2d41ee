"""The demo's verdict and outputs (``offchain/demo/report.py``); the demo itself is `make demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offchain.demo.report import DemoOutcome, NodeRow, RoundRow, write_outputs

LORA = 10**18


def outcome(*, paid: int = 10, slashed: int = 200, last_loss: float = 3.6) -> DemoOutcome:
    nodes = [
        NodeRow("provider-0", "0x" + "01" * 20, True, 400, 2, 0, paid * LORA, 0),
        NodeRow("provider-1", "0x" + "02" * 20, True, 400, 2, 0, 30 * LORA, 0),
        NodeRow("provider-3", "0x" + "03" * 20, False, 144, 0, 1, 0, slashed * LORA),
    ]
    rounds = [
        RoundRow(0, 3, 2, 1, True, 6.8, 4.9),
        RoundRow(1, 2, 0, 0, False, 6.8, None),
        RoundRow(2, 2, 2, 0, True, 4.9, last_loss),
    ]
    return DemoOutcome(nodes, rounds)


def test_a_good_run_passes_and_writes_its_outputs(tmp_path: Path) -> None:
    good = outcome()
    assert good.ok and good.first_loss == 6.8 and good.last_loss == 3.6
    summary, png = write_outputs(good, tmp_path / "demo-output")
    assert json.loads(summary.read_text())["ok"] is True
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "bad, failed",
    [
        ({"paid": 0}, "every honest node was paid"),
        ({"slashed": 0}, "the cheater was slashed"),
        ({"last_loss": 7.0}, "eval loss improved"),
    ],
)
def test_the_demo_fails_when_a_promise_is_broken(bad: dict[str, float], failed: str) -> None:
    result = outcome(**bad)  # type: ignore[arg-type]
    assert not result.ok and result.checks()[failed] is False


def test_progress_line_for_logs_names_each_round() -> None:
    from offchain.demo.__main__ import progress_line
    from offchain.demo.chainlog import ChainLog

    log = ChainLog(pool_id=1)
    log.rounds[0].reports, log.rounds[0].finalized = 4, True
    log.rounds[1].reports, log.rounds[1].attestations = 3, 1
    assert progress_line(log, 2) == (
        "round 0: 4 reports, finalized; round 1: 3 reports, 1 attestations"
    )
