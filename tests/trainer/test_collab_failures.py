"""Failure modes of a round: a peer killed mid-round, a member that comes late, peers that
never show up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trainer.collab import train_round
from trainer.config import TrainConfig
from trainer.errors import BarrierTimeoutError
from trainer.local import LocalSwarm
from trainer.membership import LateForRoundError

pytestmark = pytest.mark.slow


@pytest.mark.timeout(240)
def test_killed_peer_does_not_hang_the_others(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    sync_wait = 5.0
    cfg = swarm_cfg.model_copy(
        update={
            "max_epochs": 6,
            "diloco": swarm_cfg.diloco.model_copy(update={"sync_wait": sync_wait}),
        }
    )
    with LocalSwarm(cfg, peers=3, out_root=tmp_path, pool_id=3, round=1) as swarm:
        deadline = time.monotonic() + 120
        while not any(p.epoch >= 1 for p in swarm.progress()):
            assert time.monotonic() < deadline, "the swarm never finished outer step 1"
            assert all(swarm.running()), "a peer exited before the kill"
            time.sleep(0.2)
        swarm.kill(2)
        killed_at = time.monotonic()
        codes = swarm.wait(timeout=150)
        elapsed = time.monotonic() - killed_at
        assert codes[:2] == [0, 0]
        survivors = swarm.results([0, 1])
    for r in survivors:
        assert r.epochs == 6 and r.collaborative
        assert r.group_sizes[0] == 3 and r.group_sizes[-1] == 2
    # each remaining outer step costs at most sync_wait waiting for the dead peer
    assert elapsed < 6 * (sync_wait + 10) + 30


@pytest.mark.timeout(240)
def test_late_member_sits_the_round_out(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    cfg = swarm_cfg.model_copy(
        update={
            "max_epochs": 2,
            "diloco": swarm_cfg.diloco.model_copy(update={"inner_steps": 3}),
            "hivemind": swarm_cfg.hivemind.model_copy(update={"join_grace": 2.0}),
        }
    )
    with LocalSwarm(cfg, peers=2, node_count=3, out_root=tmp_path, pool_id=4, round=0) as swarm:
        deadline = time.monotonic() + 120
        while not swarm.progress():
            assert time.monotonic() < deadline, "the quorum never started"
            time.sleep(0.2)
        with pytest.raises(LateForRoundError, match="sits this round out"):
            train_round(
                cfg,
                pool_id=4,
                round=0,
                node_index=2,
                node_count=3,
                initial_peers=swarm.maddrs,
                base_adapter=None,
                out_dir=tmp_path / "late",
            )
        assert swarm.wait(timeout=150) == [0, 0]
        results = swarm.results()
    for r in results:  # the quorum trained together, as a group of two
        assert r.members == 2 and r.collaborative and r.group_sizes == [2, 2]


@pytest.mark.timeout(60)
def test_barrier_times_out_when_peers_never_come(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    cfg = swarm_cfg.model_copy(
        update={"hivemind": swarm_cfg.hivemind.model_copy(update={"barrier_timeout": 2.0})}
    )
    started = time.monotonic()
    with pytest.raises(BarrierTimeoutError, match="Only 1 of 2 peers joined"):  # need 2
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
