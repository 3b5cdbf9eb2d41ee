"""A node that found no partner in any all-reduce of a multi-node round does not report it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.validator.errors import SoloRoundError
from offchain.worker import training as publish
from trainer.config import TrainConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


class _Alone:
    """What ``train_round`` returns for a peer whose every all-reduce found nobody."""

    epochs, collaborative, group_sizes = 3, False, [1, 1, 1]


def test_solo_round_is_refused_before_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def train_round(*_a: Any, **_k: Any) -> _Alone:  # the training itself is tested in trainer/
        return _Alone()

    monkeypatch.setattr("trainer.collab.train_round", train_round)
    with pytest.raises(SoloRoundError, match="found no peer to average with in any of the 3"):
        publish.train_verifiable(
            TrainConfig(),
            node_key=Account.from_key("0x" + "22" * 32),
            pool_id=1,
            round=0,
            node_index=0,
            node_count=3,
            initial_peers=[],
            base_adapter=None,
            base_hash="0x" + "00" * 32,
            out_dir=tmp_path,
        )
    assert not any(tmp_path.iterdir())  # no bundle, nothing to publish
