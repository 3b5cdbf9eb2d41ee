"""The worker's training child: a round it cannot report ends as one sentence, no result."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from offchain.worker import node_process
from offchain.worker.node_process import ERROR_FILE, EXIT_REFUSED, RESULT_FILE, NodeSpec
from trainer.config import HivemindConfig, TrainConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_no_quorum_is_one_sentence_and_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = TrainConfig(torch_threads=1, hivemind=HivemindConfig(barrier_timeout=2.0))
    spec = NodeSpec(
        cfg=cfg,
        node_key="0x" + "11" * 32,
        pool_id=9,
        round=0,
        node_index=0,
        node_count=2,
        initial_peers=[],
        base_adapter=None,
        base_hash="0x" + "00" * 32,
        out_dir=tmp_path,
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(spec.payload()))
    with pytest.raises(SystemExit) as exited:
        node_process.main()  # what the child runs (train_in_child raises the file's sentence)
    assert exited.value.code == EXIT_REFUSED
    message = (tmp_path / ERROR_FILE).read_text()
    assert message.startswith("Only 1 of 2 peers joined run loranet_pool9_round0")
    assert not (tmp_path / RESULT_FILE).exists()
