"""Round work: train this node's share of a round, store the adapter, submit the signed work
report through the outbox — exactly once per (pool, round, node), across crashes and restarts.

Restart safety, step by step:

1. If the outbox already holds the report's key, the report was built before: only drive
   the outbox (it never sends a logical transaction twice; see :mod:`offchain.outbox`).
2. Training writes ``<rounds dir>/<pool>/<round>/trained.json`` when it is done; a restart
   after that point reuses the adapter instead of training again (a restart during training
   trains again: nothing of it left the machine).
3. The report (adapter hash, samples, loss, artifact URI, replay root) is signed with the node
   key (EIP-712, domain ``("loranet WorkLedger", "1", chainId, ledger)``) and enqueued under
   ``(pool, round, node, "report")``; the outbox submits ``WorkLedger.submitReport``.

Integrity: the adapter's bytes are hashed again before every report. A finished training whose
adapter no longer hashes to what ``trained.json`` recorded (a disk that corrupted it, a
process that touched it between training and storing) is never reported: the marker is dropped
and the round is trained again. The report's hash is always the hash of the bytes the store
received, so a validator that fetches the artifact finds exactly what was reported.

Transient faults (a full or read-only disk, a store that does not answer) raise out of
:meth:`RoundWorker.prepare` with nothing half-done: the Celery task retries the round work with
bounded backoff (:mod:`offchain.worker.celery_app`), and a restarted service schedules the
round again while it is current.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3 import Web3

from offchain.abi import load_abi
from offchain.artifacts.digest import same, sha256_file
from offchain.artifacts.store import ArtifactStore
from offchain.chain.signing import WORK_REPORT_TYPE, sign_work_report
from offchain.chain.tx import TxRequest
from offchain.errors import LoranetError
from offchain.logging import kv
from offchain.outbox import Outbox, OutboxEntry, OutboxKey

logger = logging.getLogger(__name__)

REPORT_KIND = "report"
LOSS_SCALE = 1_000_000  # WorkReport.loss is fixed point, 1e6 = 1.0
#: The report's fields in the contract's order (re-exported for callers of this module).
WORK_REPORT_TYPES = WORK_REPORT_TYPE


class TrainedRound(BaseModel):
    """What training leaves for the report (the trainer's ``RoundResult`` has more)."""

    adapter_path: Path
    adapter_hash: str  # 0x + 64 hex
    samples: int
    loss: float
    replay_root: str  # 0x + 64 hex
    #: the ``ExecutionMode`` it really ran in (0 local GPU, 1 custom/CPU); None: the worker's
    execution_mode: int | None = None


#: ``train(pool_id, round, out_dir) -> TrainedRound``
TrainFn = Callable[[int, int, Path], TrainedRound]
#: ``store(adapter_path) -> public artifact URI`` (:func:`store_fn`)
StoreFn = Callable[[Path], str]


def report_message(
    *, pool_id: int, round: int, node: str, trained: TrainedRound, uri: str, mode: int
) -> dict[str, Any]:
    return {
        "poolId": pool_id,
        "round": round,
        "node": Web3.to_checksum_address(node),
        "adapterHash": bytes.fromhex(trained.adapter_hash.removeprefix("0x")),
        "samples": trained.samples,
        "loss": max(0, round_half(trained.loss * LOSS_SCALE)),
        "artifactUri": uri,
        "executionMode": mode,
        "replayRoot": bytes.fromhex(trained.replay_root.removeprefix("0x")),
    }


def round_half(value: float) -> int:
    return int(value + 0.5)


class RoundWorker:
    """Does one node's work for rounds of its pools."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        node_key: LocalAccount,
        ledger: str,
        chain_id: int,
        train: TrainFn,
        store: StoreFn,
        rounds_dir: Path,
        execution_mode: int = 1,
    ) -> None:
        self.outbox = outbox
        self.node_key = node_key
        self.ledger = Web3.to_checksum_address(ledger)
        self.chain_id = chain_id
        self.train = train
        self.store = store
        self.rounds_dir = Path(rounds_dir)
        self.execution_mode = execution_mode
        self._ledger = Web3().eth.contract(address=self.ledger, abi=load_abi("WorkLedger"))

    def key(self, pool_id: int, round: int) -> OutboxKey:
        return OutboxKey(pool_id, round, self.node_key.address, REPORT_KIND)

    def prepare(self, pool_id: int, round: int, *, not_before: int = 0) -> OutboxEntry:
        """Train (or reuse the finished training), then enqueue the signed report once.

        ``not_before``: chain timestamp from which the report may be sent (the round's end).
        """
        key = self.key(pool_id, round)
        entry = self.outbox.get(key.id)
        if entry is not None:
            logger.info("report already in the outbox", extra=kv(key=key.id, status=entry.status))
            return entry
        trained = self._trained(pool_id, round)
        logger.info("round trained", extra=kv(pool=pool_id, round=round, samples=trained.samples))
        stored_at = time.monotonic()
        uri = self.store(trained.adapter_path)
        logger.info(
            "artifacts stored",
            extra=kv(pool=pool_id, round=round, seconds=f"{time.monotonic() - stored_at:.3f}"),
        )
        stored = _hash_of(trained.adapter_path)
        if stored is None or not same(stored, trained.adapter_hash):  # changed while stored
            self._discard(pool_id, round, trained, stored)
            raise AdapterIntegrityError(
                f"the adapter of pool {pool_id} round {round} changed on disk while it was "
                "stored; it will be trained again."
            )
        message = report_message(
            pool_id=pool_id,
            round=round,
            node=self.node_key.address,
            trained=trained,
            uri=uri,
            mode=self.execution_mode if trained.execution_mode is None else trained.execution_mode,
        )
        signature = sign_work_report(
            self.node_key, message, chain_id=self.chain_id, ledger=self.ledger
        )
        report = tuple(message[field["name"]] for field in WORK_REPORT_TYPES)
        data = self._ledger.encode_abi("submitReport", args=[report, signature])
        request = TxRequest(
            to=self.ledger,
            data=data,
            description=f"work report of pool {pool_id} round {round}",
            context={"pool": pool_id, "round": round},
        )
        entry = self.outbox.enqueue(key, request, not_before=not_before)
        logger.info("report enqueued", extra=kv(key=key.id, adapter=trained.adapter_hash))
        return entry

    def run(self, pool_id: int, round: int, *, timeout: float = 120.0) -> OutboxEntry:
        """Prepare the report and drive the outbox until it is mined (or failed)."""
        self.prepare(pool_id, round)
        return self.outbox.wait(self.key(pool_id, round).id, timeout=timeout)

    def _trained(self, pool_id: int, round: int) -> TrainedRound:
        out_dir = self.rounds_dir / str(pool_id) / str(round)
        marker = out_dir / "trained.json"
        if marker.is_file():
            trained = TrainedRound.model_validate_json(marker.read_text())
            actual = _hash_of(trained.adapter_path)
            if actual is not None and same(actual, trained.adapter_hash):
                logger.info("reusing finished training", extra=kv(pool=pool_id, round=round))
                return trained
            self._discard(pool_id, round, trained, actual)
        out_dir.mkdir(parents=True, exist_ok=True)
        trained = self.train(pool_id, round, out_dir)
        actual = _hash_of(trained.adapter_path)
        if actual is None or not same(actual, trained.adapter_hash):
            raise AdapterIntegrityError(
                f"the trainer reported adapter hash {trained.adapter_hash} for pool {pool_id} "
                f"round {round}, but the file hashes to {actual}; nothing was reported."
            )
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(trained.model_dump_json())
        os.replace(tmp, marker)
        return trained

    def _discard(self, pool_id: int, round: int, trained: TrainedRound, actual: str | None) -> None:
        """Forget a finished training whose adapter is gone or corrupted (never report it)."""
        logger.error(
            "finished adapter is missing or corrupted on disk; training the round again",
            extra=kv(
                pool=pool_id, round=round, recorded=trained.adapter_hash, actual=actual or "missing"
            ),
        )
        marker = self.rounds_dir / str(pool_id) / str(round) / "trained.json"
        marker.unlink(missing_ok=True)


class AdapterIntegrityError(LoranetError):
    """The adapter's bytes do not hash to what was recorded for them (transient: retrain)."""

    transient = True


def _hash_of(path: Path) -> str | None:
    """``0x`` + SHA-256 of the file, lower case; ``None`` if it is not a readable file."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def trainer_train_fn(
    cfg: Any,
    *,
    node_index: int,
    node_count: int,
    initial_peers: Sequence[str],
    dht: Any = None,
    on_step: Callable[[Any], None] | None = None,
) -> TrainFn:
    """A :data:`TrainFn` over ``trainer.collab.train_round`` (hivemind peers of the pool).

    ``on_step`` receives the trainer's ``StepProgress`` after every local step (metrics).
    """

    def _train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        from trainer.collab import train_round

        result = train_round(
            cfg,
            pool_id=pool_id,
            round=round,
            node_index=node_index,
            node_count=node_count,
            initial_peers=initial_peers,
            base_adapter=None,
            out_dir=out_dir,
            on_progress=on_step,
            dht=dht,
        )
        return TrainedRound(
            adapter_path=result.adapter_path,
            adapter_hash=result.adapter_hash,
            samples=result.samples,
            loss=result.final_loss,
            replay_root=result.records_root,
        )

    return _train


def artifact_store_fn(root: Path) -> StoreFn:
    """A :data:`StoreFn` over a local folder named by hash (``file://`` URIs: local chains).

    Publishes what :func:`offchain.artifacts.round.publish_round` does: the checkpoints, the
    replay bundle (named in the URI's fragment) and the adapter."""
    from offchain.artifacts import LocalStore

    return store_fn(LocalStore(root))


def store_fn(store: ArtifactStore) -> StoreFn:
    """The worker's :data:`StoreFn` over the configured store (``offchain.artifacts``): puts
    the round's artifacts and returns the adapter's public URI."""
    from offchain.artifacts.round import round_store_fn

    return round_store_fn(store)
