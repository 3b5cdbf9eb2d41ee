"""Failure modes of a round: a peer killed mid-round, peers that never show up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trainer.collab import train_round
from trainer.config import TrainConfig
from trainer.errors import BarrierTimeoutError
from trainer.local import LocalSwarm

pytestmark = pytest.mark.slow


@pytest.mark.timeout(180)
def test_killed_peer_does_not_hang_the_others(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    averaging_timeout = 5.0
    cfg = swarm_cfg.model_copy(
        update={
            "max_epochs": 8,
            "hivemind": swarm_cfg.hivemind.model_copy(
                update={"averaging_timeout": averaging_timeout, "progress_expiration": 5.0}
            ),
        }
    )
    with LocalSwarm(cfg, peers=3, out_root=tmp_path, pool_id=3, round=1) as swarm:
        deadline = time.monotonic() + 90
        while not any(p.epoch >= 2 for p in swarm.progress()):
            assert time.monotonic() < deadline, "the swarm never reached epoch 2"
            assert all(swarm.running()), "a peer exited before the kill"
            time.sleep(0.2)
        swarm.kill(2)
        killed_at = time.monotonic()
        codes = swarm.wait(timeout=90)
        elapsed = time.monotonic() - killed_at
        assert codes[:2] == [0, 0]
        survivors = swarm.results([0, 1])
    assert [r.epochs for r in survivors] == [8, 8]
    # 6 epochs left: each costs ~matchmaking_time; the dead peer may cost a few failed
    # averaging rounds (bounded by averaging_timeout each) and a bounded linger at the end.
    assert elapsed < 6 * 2 * swarm_cfg.hivemind.matchmaking_time + 4 * averaging_timeout + 15


@pytest.mark.timeout(60)
def test_barrier_times_out_when_peers_never_come(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    cfg = swarm_cfg.model_copy(
        update={"hivemind": swarm_cfg.hivemind.model_copy(update={"barrier_timeout": 2.0})}
    )
    started = time.monotonic()
    with pytest.raises(BarrierTimeoutError, match="Only 1 of 2 peers joined"):
        train_round(
            cfg,
            pool_id=1,
            round=0,
            node_index=0,
            node_count=2,
            initial_peers=[],
            base_adapter=None,
            out_dir=tmp_path,
        )
    assert time.monotonic() - started < 30
