"""Transaction outbox: every transaction the service sends is first written here.

Each logical transaction has a deterministic key ``(pool, round, node, kind)`` (unique) and a
payload (target, calldata, value). The sender (:meth:`Outbox.process_once`) moves entries
through ``queued → submitted → confirmed | failed``:

- **submit**: estimate (a revert fails the entry with a readable reason, nothing is sent),
  pick fees and the nonce, sign, **record the signed transaction (hash, nonce, raw bytes)**,
  then broadcast. Recording before broadcasting is what makes restarts safe: whatever happens
  after the record, the next pass knows the nonce and the hash.
- **track**: a receipt for any attempt settles the entry. Without one, an attempt that never
  reached the node (crash between record and broadcast, or dropped from its pool) is
  broadcast again, byte for byte: the same hash, the same nonce, so it can be mined at most
  once. An attempt unmined for ``stuck_after_s`` is replaced: the same nonce with fees raised
  by ``fee_bump_bps`` (≥ 12.5 %, what nodes require of a replacement) or to the current
  market fees if higher. Whichever attempt is mined, only one can be: they share a nonce.
- If the account's mined nonce passes the entry's nonce and none of its attempts has a
  receipt, another transaction took the nonce: the entry fails (never re-sent with a new nonce).

Signing, gas estimates, fees and revert decoding come from :class:`offchain.chain.TxSender`
(the one transaction path); the outbox adds the split between signing and broadcasting.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from hexbytes import HexBytes
from prometheus_client import Counter
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxParams

from offchain.chain.errors import TransactionRevertedError
from offchain.chain.tx import TxRequest, TxSender
from offchain.db import Schema, SqliteDb
from offchain.errors import LoranetError
from offchain.logging import kv

logger = logging.getLogger(__name__)

Status = Literal["queued", "submitted", "confirmed", "failed", "cancelled"]
FINAL: tuple[Status, ...] = ("confirmed", "failed", "cancelled")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    pool INTEGER NOT NULL,
    round INTEGER NOT NULL,
    node TEXT NOT NULL,
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    data TEXT NOT NULL,
    value TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    nonce INTEGER,
    gas INTEGER,
    tx_hash TEXT,
    block INTEGER,
    error TEXT,
    not_before INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL REFERENCES outbox (key),
    tx_hash TEXT NOT NULL UNIQUE,
    nonce INTEGER NOT NULL,
    max_fee INTEGER NOT NULL,
    priority_fee INTEGER NOT NULL,
    raw TEXT NOT NULL,
    created_at REAL NOT NULL,
    broadcast_at REAL
);
"""
#: v2: ``reopened`` counts re-sends after a reorg dropped a confirmed transaction.
_SCHEMA_V2 = "ALTER TABLE outbox ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;"
#: v3: ``gas_headroom``, the request's extra factor on the gas limit (``TxRequest``).
_SCHEMA_V3 = "ALTER TABLE outbox ADD COLUMN gas_headroom REAL NOT NULL DEFAULT 1.0;"
SCHEMA = Schema("outbox", (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3))


class OutboxMetrics(Protocol):
    """The counters the outbox moves, labelled by transaction kind (the worker's
    :class:`~offchain.worker.metrics.WorkerMetrics` has them); the outbox imports no service."""

    tx_sent: Counter
    tx_failed: Counter
    tx_replaced: Counter
    tx_reopened: Counter


class OutboxError(LoranetError):
    """The outbox cannot accept or process an entry."""


class OutboxKey(NamedTuple):
    """Identity of one logical transaction."""

    pool: int
    round: int
    node: str
    kind: str

    @property
    def id(self) -> str:
        return f"{self.pool}:{self.round}:{self.node.lower()}:{self.kind}"


@dataclass(frozen=True)
class Attempt:
    tx_hash: str
    nonce: int
    max_fee: int
    priority_fee: int
    raw: str
    created_at: float
    broadcast_at: float | None


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    kind: str
    status: Status
    description: str
    nonce: int | None
    tx_hash: str | None
    block: int | None
    error: str | None
    attempts: tuple[Attempt, ...]


def _bump(value: int, bps: int) -> int:
    return -(-value * (10_000 + bps) // 10_000)  # ceiling: never below the required bump


class Outbox:
    """The outbox of one sending account, in one SQLite file.

    Args:
        path: the database file (``<data dir>/outbox.db``).
        sender: the transaction path (account, client, estimates, fees).
        stuck_after_s: replace an attempt unmined for this long.
        fee_bump_bps: fee increase of a replacement, in basis points (≥ 1250).
        confirmations: blocks a receipt must be deep before the entry is final; until then a
            reorg that drops the transaction sends the recorded bytes again.
        reorg_window: confirmed entries mined within this many blocks of the head are
            re-checked (a deeper reorg than ``confirmations`` can still drop them).
        recheck_interval_s: how often (wall clock) that re-check runs; 0 = every pass.
        clock: wall-clock seconds (tests pass a controllable one).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        sender: TxSender,
        stuck_after_s: float = 60.0,
        fee_bump_bps: int = 1_250,
        confirmations: int = 1,
        reorg_window: int = 128,
        recheck_interval_s: float = 10.0,
        metrics: OutboxMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if fee_bump_bps < 1_250:
            raise OutboxError("a replacement must raise fees by at least 12.5% (1250 bps).")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sender = sender
        self.stuck_after_s = stuck_after_s
        self.fee_bump_bps = fee_bump_bps
        self.confirmations = max(1, confirmations)
        self.reorg_window = max(1, reorg_window)
        self.recheck_interval_s = recheck_interval_s
        self.metrics = metrics
        self.clock = clock
        # FULL: a recorded signed transaction must survive a power loss (see the doc above).
        self._store = SqliteDb(self.path, SCHEMA, synchronous="FULL")
        self._lock = self._store.lock
        self._db = self._store
        self._last_recheck = 0.0

    def close(self) -> None:
        self._store.close()

    @property
    def address(self) -> str:
        return str(self.sender.account.address)

    def _tx(self) -> Any:
        return self._store.tx()

    # -- entries ---------------------------------------------------------------------------------

    def enqueue(self, key: OutboxKey, request: TxRequest, *, not_before: int = 0) -> OutboxEntry:
        """Write a logical transaction once; a second call with the same key changes nothing.

        ``not_before``: a chain timestamp; the entry is not submitted before the latest block
        reaches it (a report waits for its round's submission window).
        """
        now = self.clock()
        with self._tx() as db:
            db.execute(
                "INSERT INTO outbox (key, pool, round, node, kind, to_address, data, value, "
                "description, status, not_before, created_at, updated_at, gas_headroom) "
                "VALUES (?,?,?,?,?,?,?,?,?, 'queued', ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key.id, key.pool, key.round, key.node.lower(), key.kind, request.to,
                 request.data, str(request.value), request.description, not_before, now, now,
                 request.gas_headroom),
            )  # fmt: skip
        entry = self.get(key.id)
        assert entry is not None
        return entry

    def cancel(self, key: str) -> bool:
        """Drop an entry that was never signed (compensation for an orphaned event)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET status='cancelled', updated_at=? "
                "WHERE key=? AND status='queued'",
                (self.clock(), key),
            )
        return cur.rowcount == 1

    def get(self, key: str) -> OutboxEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, kind, status, description, nonce, tx_hash, block, error "
                "FROM outbox WHERE key=?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            attempts = self._attempts(key)
        return OutboxEntry(*row, attempts=tuple(attempts))

    def entries(self, status: Status | None = None) -> list[OutboxEntry]:
        with self._lock:
            query = "SELECT key FROM outbox"
            params: tuple[Any, ...] = ()
            if status is not None:
                query += " WHERE status=?"
                params = (status,)
            keys = [k for (k,) in self._db.execute(query + " ORDER BY created_at, key", params)]
        return [entry for key in keys if (entry := self.get(key)) is not None]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            return {str(status): int(n) for status, n in rows}

    def _attempts(self, key: str) -> list[Attempt]:
        rows = self._db.execute(
            "SELECT tx_hash, nonce, max_fee, priority_fee, raw, created_at, broadcast_at "
            "FROM attempts WHERE key=? ORDER BY id",
            (key,),
        ).fetchall()
        return [Attempt(*row) for row in rows]

    # -- the sender ------------------------------------------------------------------------------

    def process_once(self) -> dict[str, int]:
        """One pass: re-open reorged entries, settle or re-drive submitted entries, then submit
        queued ones."""
        done = {"confirmed": 0, "failed": 0, "submitted": 0, "replaced": 0, "rebroadcast": 0}
        now = self.clock()
        if now - self._last_recheck >= self.recheck_interval_s:
            self._last_recheck = now
            done["reopened"] = len(self.recheck_confirmed())
        for entry in self.entries("submitted"):
            outcome = self._track(entry)
            if outcome:
                done[outcome] += 1
        queued = self.entries("queued")
        if not queued:
            return done
        chain_time = int(self.sender.w3.eth.get_block("latest")["timestamp"])
        for entry in queued:
            if self._not_before(entry.key) > chain_time:
                continue
            if self._submit(entry):
                done["submitted"] += 1
            else:
                done["failed"] += 1
        return done

    def recheck_confirmed(self) -> list[str]:
        """Re-open confirmed entries whose transaction a reorg removed from the chain.

        A receipt ``confirmations`` deep settles an entry, but a deeper reorg can still drop
        the block. For every entry confirmed within ``reorg_window`` blocks of the head, the
        receipt is asked for again; an entry whose transaction has no receipt any more goes
        back to ``submitted`` with its recorded attempts (``reopened`` + 1). The next pass
        re-broadcasts the same signed bytes, or, if another transaction of this account took
        the nonce on the new branch, queues it for a fresh signature: the contract refuses a
        second copy (a duplicate report or a closed window fails the estimate, nothing is sent).
        Returns the re-opened keys.
        """
        head = int(self.sender.w3.eth.block_number)
        with self._lock:
            rows = self._db.execute(
                "SELECT key, tx_hash FROM outbox WHERE status='confirmed' AND block>=?",
                (head - self.reorg_window,),
            ).fetchall()
        reopened: list[str] = []
        for key, tx_hash in rows:
            if tx_hash is None or self._receipt(tx_hash) is not None:
                continue
            with self._tx() as db:
                cur = db.execute(
                    "UPDATE outbox SET status='submitted', block=NULL, reopened=reopened+1, "
                    "updated_at=? WHERE key=? AND status='confirmed'",
                    (self.clock(), key),
                )
            if cur.rowcount == 1:
                reopened.append(key)
                logger.warning(
                    "confirmed transaction dropped by a reorg; re-sending",
                    extra=kv(key=key, tx=tx_hash),
                )
                if self.metrics is not None:
                    self.metrics.tx_reopened.labels(kind=key.rsplit(":", 1)[-1]).inc()
        return reopened

    def _reopened(self, key: str) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT reopened FROM outbox WHERE key=?", (key,)
            ).fetchone()
        return int(count)

    def _requeue(self, entry: OutboxEntry) -> None:
        """A re-opened entry whose nonce another transaction took: sign again, new nonce."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET status='queued', nonce=NULL, updated_at=? WHERE key=?",
                (self.clock(), entry.key),
            )
        logger.warning(
            "re-opened entry lost its nonce on the new branch; queued for a new signature",
            extra=kv(key=entry.key, nonce=entry.nonce),
        )

    def _chain_nonce(self, block: str) -> int:
        return int(self.sender.w3.eth.get_transaction_count(self.address, block))  # type: ignore[arg-type]

    def _next_nonce(self) -> int:
        with self._lock:
            (highest,) = self._db.execute(
                "SELECT MAX(nonce) FROM outbox WHERE status='submitted'"
            ).fetchone()
        pending = self._chain_nonce("pending")
        return pending if highest is None else max(pending, int(highest) + 1)

    def _not_before(self, key: str) -> int:
        with self._lock:
            (value,) = self._db.execute(
                "SELECT not_before FROM outbox WHERE key=?", (key,)
            ).fetchone()
        return int(value)

    def _request(self, entry_key: str) -> TxRequest:
        with self._lock:
            to, data, value, description, headroom = self._db.execute(
                "SELECT to_address, data, value, description, gas_headroom FROM outbox WHERE key=?",
                (entry_key,),
            ).fetchone()
        return TxRequest(
            to=to,
            data=data,
            value=int(value),
            description=description,
            gas_headroom=float(headroom),
        )

    def _submit(self, entry: OutboxEntry) -> bool:
        request = self._request(entry.key)
        try:
            gas = int(
                self.sender.estimate(request)
                * self.sender.client.settings.gas_multiplier
                * request.gas_headroom
            )
        except TransactionRevertedError as err:
            self._finish(entry, "failed", error=str(err))
            return False
        max_fee, tip = self.sender.fees()
        nonce = self._next_nonce()
        tx: TxParams = {
            **self.sender.base_tx(request),
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "nonce": nonce,
            "type": 2,
        }
        attempt = self._sign_and_record(entry.key, tx, gas=gas)
        self._broadcast(entry.key, attempt)
        return True

    def _sign_and_record(self, key: str, tx: TxParams, *, gas: int | None = None) -> Attempt:
        signed = self.sender.account.sign_transaction(dict(tx))  # type: ignore[arg-type]
        now = self.clock()
        attempt = Attempt(
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=int(tx["nonce"]),
            max_fee=int(tx["maxFeePerGas"]),
            priority_fee=int(tx["maxPriorityFeePerGas"]),
            raw="0x" + bytes(signed.raw_transaction).hex(),
            created_at=now,
            broadcast_at=None,
        )
        with self._tx() as db:
            db.execute(
                "INSERT INTO attempts (key, tx_hash, nonce, max_fee, priority_fee, raw, "
                "created_at) VALUES (?,?,?,?,?,?,?)",
                (key, attempt.tx_hash, attempt.nonce, attempt.max_fee, attempt.priority_fee,
                 attempt.raw, now),
            )  # fmt: skip
            db.execute(
                "UPDATE outbox SET status='submitted', nonce=?, gas=COALESCE(?, gas), "
                "updated_at=? WHERE key=?",
                (attempt.nonce, gas, now, key),
            )
        return attempt

    def _broadcast(self, key: str, attempt: Attempt) -> None:
        """Hand a recorded attempt to the node; a node that already has it is fine."""
        try:
            self.send_raw(attempt.raw)
        except Web3RPCError as err:
            message = str(err).lower()
            if "already known" not in message and "already imported" not in message:
                logger.warning(
                    "broadcast refused, will retry",
                    extra=kv(key=key, tx=attempt.tx_hash, error=str(err)),
                )
                return
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET broadcast_at=? WHERE tx_hash=?",
                (self.clock(), attempt.tx_hash),
            )
        kind = key.rsplit(":", 1)[-1]
        if self.metrics is not None:
            self.metrics.tx_sent.labels(kind=kind).inc()
        logger.info(
            "tx broadcast",
            extra=kv(key=key, tx=attempt.tx_hash, nonce=attempt.nonce, max_fee=attempt.max_fee),
        )

    def send_raw(self, raw: str) -> None:
        """The one call that puts bytes on the network (tests wrap it to simulate crashes)."""
        self.sender.w3.eth.send_raw_transaction(HexBytes(raw))

    def _receipt(self, tx_hash: str) -> Any:
        try:
            return self.sender.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _known(self, tx_hash: str) -> bool:
        try:
            self.sender.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def _settled(self, entry: OutboxEntry) -> str | None:
        """``confirmed``/``failed`` once a receipt is ``confirmations`` deep; ``mined`` before."""
        for attempt in reversed(entry.attempts):
            receipt = self._receipt(attempt.tx_hash)
            if receipt is None:
                continue
            depth = int(self.sender.w3.eth.block_number) - int(receipt["blockNumber"]) + 1
            if depth < self.confirmations:
                return "mined"  # may still be reorged out: keep tracking
            if int(receipt["status"]) == 1:
                self._finish(entry, "confirmed", tx_hash=attempt.tx_hash, receipt=receipt)
                return "confirmed"
            error = f"transaction {attempt.tx_hash} reverted in block {receipt['blockNumber']}."
            self._finish(entry, "failed", tx_hash=attempt.tx_hash, receipt=receipt, error=error)
            return "failed"
        return None

    def _track(self, entry: OutboxEntry) -> str | None:
        settled = self._settled(entry)
        if settled == "mined":
            return None
        if settled or not entry.attempts or entry.nonce is None:
            return settled
        if self._chain_nonce("latest") > entry.nonce:
            settled = self._settled(entry)  # it may have been mined between the two calls
            if settled == "mined":
                return None
            if settled:
                return settled
            if self._reopened(entry.key):
                self._requeue(entry)
                return None
            self._finish(
                entry,
                "failed",
                error=f"nonce {entry.nonce} was used by a transaction outside the outbox.",
            )
            return "failed"
        latest = entry.attempts[-1]
        if latest.broadcast_at is None or not self._known(latest.tx_hash):
            logger.info("re-broadcasting recorded tx", extra=kv(key=entry.key, tx=latest.tx_hash))
            self._broadcast(entry.key, latest)
            return "rebroadcast"
        if self.clock() - latest.broadcast_at < self.stuck_after_s:
            return None
        self._replace(entry, latest)
        return "replaced"

    def _replace(self, entry: OutboxEntry, latest: Attempt) -> None:
        request = self._request(entry.key)
        with self._lock:
            (gas,) = self._db.execute("SELECT gas FROM outbox WHERE key=?", (entry.key,)).fetchone()
        market_fee, market_tip = self.sender.fees()
        tip = max(_bump(latest.priority_fee, self.fee_bump_bps), market_tip)
        max_fee = max(_bump(latest.max_fee, self.fee_bump_bps), market_fee, tip)
        tx: TxParams = {
            **self.sender.base_tx(request),
            "gas": int(gas),
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "nonce": latest.nonce,
            "type": 2,
        }
        attempt = self._sign_and_record(entry.key, tx)
        logger.warning(
            "replacing stuck tx",
            extra=kv(key=entry.key, old=latest.tx_hash, new=attempt.tx_hash, max_fee=max_fee),
        )
        if self.metrics is not None:
            self.metrics.tx_replaced.labels(kind=entry.kind).inc()
        self._broadcast(entry.key, attempt)

    def _finish(
        self,
        entry: OutboxEntry,
        status: Status,
        *,
        tx_hash: str | None = None,
        receipt: Any = None,
        error: str | None = None,
    ) -> None:
        block = int(receipt["blockNumber"]) if receipt is not None else None
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET status=?, tx_hash=?, block=?, error=?, updated_at=? WHERE key=?",
                (status, tx_hash, block, error, self.clock(), entry.key),
            )
        if status == "failed" and self.metrics is not None:
            self.metrics.tx_failed.labels(kind=entry.kind).inc()
        log = logger.info if status == "confirmed" else logger.warning
        log(f"outbox entry {status}", extra=kv(key=entry.key, tx=tx_hash, block=block, error=error))

    def wait(self, key: str, *, timeout: float = 60.0, poll_s: float = 0.2) -> OutboxEntry:
        """Process until the entry is final; raise ``OutboxError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.process_once()
            entry = self.get(key)
            if entry is None:
                raise OutboxError(f"no outbox entry {key}.")
            if entry.status in FINAL:
                return entry
            if time.monotonic() > deadline:
                raise OutboxError(f"outbox entry {key} still {entry.status} after {timeout} s.")
            time.sleep(poll_s)


def dump_entry(entry: OutboxEntry) -> str:
    """One-line JSON of an entry (for ``loranet worker status``)."""
    return json.dumps(
        {
            "key": entry.key,
            "status": entry.status,
            "nonce": entry.nonce,
            "tx_hash": entry.tx_hash,
            "attempts": len(entry.attempts),
            "error": entry.error,
        }
    )
