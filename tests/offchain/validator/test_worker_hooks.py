"""The worker's reaction to its own node being rejected or ejected (handlers.py hooks)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from offchain.watcher.events import ChainEvent
from offchain.worker.handlers import HandlerContext, on_node_invalidated, on_slashed
from offchain.worker.idempotency import ProcessedStore

NODE = "0x" + "ab" * 20


def _event(name: str, node: str) -> ChainEvent:
    return ChainEvent(
        chain_id=1, address="0x" + "00" * 20, contract="WorkLedger", event=name,
        args={"poolId": 1, "round": 0, "node": node, "slashed": 10}, block_number=5,
        block_hash="0x" + "11" * 32, tx_hash="0x" + "22" * 32, log_index=0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "handler, event", [(on_slashed, "ReportRejected"), (on_node_invalidated, "NodeEjected")]
)
def test_own_node_is_noticed_others_are_not(
    handler: object, event: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = HandlerContext(
        processed=ProcessedStore(tmp_path / "t.db"), node=NODE.upper().replace("0X", "0x")
    )
    with caplog.at_level(logging.WARNING):
        mine = handler(ctx, _event(event, NODE))  # type: ignore[operator]
        theirs = handler(ctx, _event(event, "0x" + "cd" * 20))  # type: ignore[operator]
    assert mine["own_node"] is True and "own_node" not in theirs
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
