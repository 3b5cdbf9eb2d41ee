"""Round work on the real protocol: a node's report is submitted exactly once, whatever point
of the round the worker dies at and restarts from."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak

from offchain.chain import TxSender
from offchain.outbox import Outbox
from offchain.worker.round_work import (
    RoundWorker,
    TrainedRound,
    artifact_store_fn,
    trainer_train_fn,
)

pytestmark = pytest.mark.usefixtures("deployment", "pool")

ROUND = 600


@pytest.fixture
def in_submission_window(pool: SimpleNamespace, chain: Any) -> None:
    chain.pending_timestamp = pool.start + ROUND  # round 0 ended: its reports are accepted
    chain.mine()


class StubTrainer:
    """Stands in for ``trainer.collab.train_round`` (tested in tests/trainer): writes a small
    adapter file; can die on its first call."""

    def __init__(self, crash: type[BaseException] | None = None) -> None:
        self.calls = 0
        self.crash = crash

    def __call__(self, pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        self.calls += 1
        if self.crash is not None and self.calls == 1:
            raise self.crash
        data = f"adapter pool={pool_id} round={round}".encode()
        path = out_dir / "adapter.safetensors"
        path.write_bytes(data)
        return TrainedRound(
            adapter_path=path,
            adapter_hash="0x" + hashlib.sha256(data).hexdigest(),
            samples=640,
            loss=2.25,
            replay_root="0x" + keccak(text="records").hex().removeprefix("0x"),
        )


@pytest.fixture
def make_worker(
    pool: SimpleNamespace,
    deployment: Any,
    make_tx_sender: Callable[[str, str], TxSender],
    data_dir: Path,
) -> Callable[..., RoundWorker]:
    """A round worker of the pool's node, as a fresh process would build it."""

    def _make(train: StubTrainer, outbox_cls: type[Outbox] = Outbox, **kw: Any) -> RoundWorker:
        sender = make_tx_sender(deployment.rpc_url, pool.provider.private_key)
        return RoundWorker(
            outbox=outbox_cls(data_dir / "outbox.db", sender=sender, **kw),
            node_key=pool.node,
            ledger=pool.ledger,
            chain_id=deployment.chain_id,
            train=train,
            store=artifact_store_fn(data_dir / "artifacts"),
            rounds_dir=data_dir / "rounds",
        )

    return _make


@pytest.mark.usefixtures("in_submission_window")
def test_round_work_submits_a_signed_report(
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    read_reports: Callable[[], list[Any]],
) -> None:
    train = StubTrainer()
    worker = make_worker(train)
    entry = worker.run(pool.id, 0, timeout=30)
    assert entry.status == "confirmed", entry.error

    (report,) = read_reports()
    assert report.args["node"] == pool.node.address
    assert report.args["provider"] == pool.provider.address
    assert report.args["samples"] == 640 and report.args["loss"] == 2_250_000
    assert report.args["artifactUri"].startswith("file://")
    assert Path(report.args["artifactUri"].removeprefix("file://")).is_file()
    # running the round again (a redelivered task) is a no-op
    assert worker.run(pool.id, 0, timeout=30).tx_hash == entry.tx_hash
    assert train.calls == 1
    worker.outbox.close()


@pytest.mark.usefixtures("in_submission_window")
@pytest.mark.parametrize("crash_at", ["training", "before-send", "after-send"])
def test_killed_mid_round_and_restarted_submits_exactly_once(
    crash_at: str,
    crash_kit: Any,
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    read_reports: Callable[[], list[Any]],
) -> None:
    simulated_crash, crashing_outbox = crash_kit
    if crash_at == "training":
        dying = make_worker(StubTrainer(crash=simulated_crash))
    else:
        dying = make_worker(StubTrainer(), outbox_cls=crashing_outbox, crash=crash_at)
    with pytest.raises(simulated_crash):
        dying.run(pool.id, 0, timeout=30)
    dying.outbox.close()

    train = StubTrainer()
    restarted = make_worker(train)
    entry = restarted.run(pool.id, 0, timeout=30)
    restarted.outbox.close()

    assert entry.status == "confirmed", entry.error
    assert len(entry.attempts) == 1
    assert train.calls == (1 if crash_at == "training" else 0)  # finished training is reused
    assert len(read_reports()) == 1


@pytest.mark.usefixtures("in_submission_window")
def test_an_adapter_corrupted_on_disk_is_trained_again_not_reported(
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    data_dir: Path,
    read_reports: Callable[[], list[Any]],
) -> None:
    first = make_worker(StubTrainer())
    trained = first._trained(pool.id, 0)  # training finished, then the process died
    first.outbox.close()
    trained.adapter_path.write_bytes(b"bit rot")  # the disk changed the file before storing

    train = StubTrainer()
    restarted = make_worker(train)
    entry = restarted.run(pool.id, 0, timeout=30)
    restarted.outbox.close()

    assert entry.status == "confirmed", entry.error
    assert train.calls == 1  # trained again instead of reusing the corrupted file
    (report,) = read_reports()
    stored = Path(report.args["artifactUri"].split("#")[0].removeprefix("file://"))
    assert "0x" + hashlib.sha256(stored.read_bytes()).hexdigest() == report.args["adapterHash"]


class LyingTrainer(StubTrainer):
    """A trainer whose result names a hash its file does not have."""

    def __call__(self, pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        result = super().__call__(pool_id, round, out_dir)
        return result.model_copy(update={"adapter_hash": "0x" + "11" * 32})


@pytest.mark.usefixtures("in_submission_window")
def test_a_hash_that_the_adapter_does_not_have_is_never_reported(
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    read_reports: Callable[[], list[Any]],
) -> None:
    from offchain.worker.round_work import AdapterIntegrityError

    worker = make_worker(LyingTrainer())
    with pytest.raises(AdapterIntegrityError, match="file hashes to"):
        worker.prepare(pool.id, 0)
    assert worker.outbox.counts() == {}
    worker.outbox.close()
    assert read_reports() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a read-only tmpfs")
@pytest.mark.usefixtures("in_submission_window")
def test_a_read_only_artifact_disk_loses_nothing_once_fixed(
    pool: SimpleNamespace,
    deployment: Any,
    make_tx_sender: Callable[[str, str], TxSender],
    data_dir: Path,
    read_reports: Callable[[], list[Any]],
) -> None:
    """The artifact folder is a real read-only file system: the round work fails with a
    transient error and nothing half-done; once remounted read-write the same work reports."""
    from offchain.runtime import is_transient

    artifacts = data_dir / "artifacts"
    artifacts.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,ro", "tmpfs", str(artifacts)], check=True
    )
    try:
        sender = make_tx_sender(deployment.rpc_url, pool.provider.private_key)
        worker = RoundWorker(
            outbox=Outbox(data_dir / "outbox.db", sender=sender),
            node_key=pool.node,
            ledger=pool.ledger,
            chain_id=deployment.chain_id,
            train=StubTrainer(),
            store=artifact_store_fn(artifacts),
            rounds_dir=data_dir / "rounds",
        )
        with pytest.raises(Exception) as failed:
            worker.prepare(pool.id, 0)
        assert is_transient(failed.value), repr(failed.value)
        assert worker.outbox.counts() == {}  # nothing signed or queued

        subprocess.run(["mount", "-o", "remount,rw", str(artifacts)], check=True)
        entry = worker.run(pool.id, 0, timeout=30)  # what the retried task does
        worker.outbox.close()
        assert entry.status == "confirmed", entry.error
        assert len(read_reports()) == 1
    finally:
        subprocess.run(["umount", "-l", str(artifacts)], check=False)


def test_outside_the_window_the_report_fails_readably(
    make_worker: Callable[..., RoundWorker], pool: SimpleNamespace
) -> None:
    worker = make_worker(StubTrainer())
    entry = worker.run(pool.id, 0, timeout=30)  # round 0 has not ended yet
    worker.outbox.close()
    assert entry.status == "failed" and entry.attempts == ()
    assert entry.error


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("in_submission_window")
def test_round_work_with_the_real_trainer(
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    read_reports: Callable[[], list[Any]],
) -> None:
    """One node trains the tiny model over hivemind (a swarm of one), then reports."""
    from trainer.config import HivemindConfig, TrainConfig

    cfg = TrainConfig(
        max_epochs=2,
        max_local_steps=16,
        torch_threads=1,
        hivemind=HivemindConfig(
            target_batch_size=16, matchmaking_time=0.5, averaging_timeout=5.0, start_delay=0.0
        ),
    )
    steps: list[Any] = []
    train = trainer_train_fn(
        cfg, node_index=0, node_count=1, initial_peers=[], on_step=steps.append
    )
    worker = make_worker(train)
    entry = worker.run(pool.id, 0, timeout=30)
    worker.outbox.close()

    assert entry.status == "confirmed", entry.error
    (report,) = read_reports()
    assert report.args["samples"] == len(steps) * cfg.batch_size > 0
    assert 0 < report.args["loss"] < 20 * 1_000_000
    uri = report.args["artifactUri"]
    stored = Path(uri.removeprefix("file://"))
    assert stored.is_file() and stored.name.startswith(report.args["adapterHash"][2:])
