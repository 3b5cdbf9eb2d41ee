"""Run N training peers on this machine (loopback), as subprocesses, and watch them.

:class:`LocalSwarm` starts a bootstrap DHT in this process (it also reads the peers'
progress, with the signature validator), then one ``python -m trainer.peer`` process per
node with that DHT as initial peer. Used by ``loranet train --peers N``, the tests and the
benchmark. Always use it as a context manager: leaving it kills every child still running.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from trainer.collab import PeerProgress, RoundResult, create_dht, read_progress, run_id_for
from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.peer import PeerSpec

logger = logging.getLogger(__name__)


class LocalSwarm:
    """N local peers of one round."""

    def __init__(
        self,
        cfg: TrainConfig,
        *,
        peers: int,
        out_root: Path,
        pool_id: int = 0,
        round: int = 0,
        base_adapter: Path | None = None,
        initial_peers: list[str] | None = None,
        node_count: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.peers = peers
        self.node_count = node_count or peers  # members of the round (peers may be fewer)
        self.out_root = Path(out_root)
        self.pool_id, self.round = pool_id, round
        self.base_adapter = base_adapter
        self.run_id = run_id_for(cfg.hivemind.run_prefix, pool_id, round)
        self._initial_peers = initial_peers
        self.dht: Any = None
        self.procs: list[subprocess.Popen[bytes]] = []
        self.maddrs: list[str] = []

    def node_dir(self, index: int) -> Path:
        return self.out_root / f"node{index}"

    def __enter__(self) -> LocalSwarm:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        from trainer.collab import visible_maddrs

        self.dht = create_dht(self.cfg.hivemind, self._initial_peers or (), read_progress=True)
        self.maddrs = visible_maddrs(self.dht)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        for i in range(self.peers):
            node_dir = self.node_dir(i)
            node_dir.mkdir(parents=True, exist_ok=True)
            spec = PeerSpec(
                train=self.cfg,
                pool_id=self.pool_id,
                round=self.round,
                node_index=i,
                node_count=self.node_count,
                initial_peers=self.maddrs,
                base_adapter=self.base_adapter,
                out_dir=node_dir,
            )
            spec_path = node_dir / "spec.json"
            spec_path.write_text(spec.model_dump_json())
            log = (node_dir / "peer.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "trainer.peer", str(spec_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
            log.close()
        logger.info("local swarm started run_id=%s peers=%d", self.run_id, self.peers)

    def progress(self) -> list[PeerProgress]:
        return read_progress(self.dht, self.run_id)

    def running(self) -> list[bool]:
        return [p.poll() is None for p in self.procs]

    def kill(self, index: int) -> None:
        """SIGKILL peer ``index`` (and its hivemind helper processes)."""
        proc = self.procs[index]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def wait(self, timeout: float, *, poll: float = 0.25, on_tick: Any = None) -> list[int | None]:
        """Wait until every peer exited (or ``timeout``); return their exit codes."""
        deadline = time.monotonic() + timeout
        while any(self.running()) and time.monotonic() < deadline:
            if on_tick is not None:
                on_tick(self)
            time.sleep(poll)
        return [p.poll() for p in self.procs]

    def results(self, indices: list[int] | None = None) -> list[RoundResult]:
        """The result of every (or each listed) peer; a readable error if one has none."""
        out = []
        for i in indices if indices is not None else range(self.peers):
            path = self.node_dir(i) / "result.json"
            if not path.is_file():
                tail = (self.node_dir(i) / "peer.log").read_text(errors="replace")[-2000:]
                raise TrainerError(f"Peer {i} produced no result; last log lines:\n{tail}")
            out.append(RoundResult.model_validate_json(path.read_text()))
        return out

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=5)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if self.dht is not None:
            self.dht.shutdown()
            self.dht = None
