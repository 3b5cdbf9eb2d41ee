"""Who trains a round: a quorum start barrier over the run's DHT.

Two DHT keys per run:

* ``<run_id>_ready`` — one entry per waiting peer (subkey: its peer id, value: its arrival
  time). A waiting peer refreshes its entry every :data:`REFRESH_S` seconds with a lifetime of
  :data:`READY_TTL_S`: an entry of a peer that gave up or died is gone seconds later, so
  **stale readiness can admit nobody**.
* ``<run_id>_start`` — the decision: ``{"at": start time, "members": [peer ids]}``, stored by
  the peer that decided (subkey: its peer id) and kept for the whole round. When several
  peers decide at once, every reader takes the same one (earliest ``at``, then smallest
  subkey).

A peer decides once every expected member is ready, or — after ``join_grace`` seconds since
the first arrival — once ``quorum`` of them are (at least two in a multi-node round). A peer
that finds a decision it is not part of arrived too late: :class:`LateForRoundError`, it does
not train that round (it would train alone). No quorum within ``barrier_timeout``:
:class:`~trainer.errors.BarrierTimeoutError`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from trainer.errors import BarrierTimeoutError, TrainerError

logger = logging.getLogger(__name__)

POLL_S = 0.25
REFRESH_S = 1.0
READY_TTL_S = 5.0
START_TTL_S = 24 * 3600.0


class LateForRoundError(TrainerError):
    """The round started without this peer."""


@dataclass(frozen=True)
class Admission:
    """The round's decided start: when, and who is in."""

    start_at: float  # DHT time
    members: tuple[str, ...]
    waited_s: float

    @property
    def size(self) -> int:
        return len(self.members)


def quorum_size(expected: int, quorum: float) -> int:
    """Peers needed after the grace period: ``ceil(quorum x expected)``, at least 2 when the
    round has more than one member (a quorum of one would be training alone)."""
    if expected <= 1:
        return 1
    return min(expected, max(2, math.ceil(quorum * expected - 1e-9)))


def _entries(dht: Any, key: str) -> dict[str, Any]:
    found = dht.get(key, latest=True)
    if found is None or not isinstance(found.value, dict):
        return {}
    out = {}
    for subkey, entry in found.value.items():
        value = getattr(entry, "value", None)
        if isinstance(subkey, str) and value is not None:
            out[subkey] = value
    return out


def _decision(dht: Any, run_id: str) -> tuple[float, tuple[str, ...]] | None:
    """The canonical start decision of the run, if any."""
    best: tuple[float, str, tuple[str, ...]] | None = None
    for subkey, value in _entries(dht, f"{run_id}_start").items():
        if not isinstance(value, dict):
            continue
        try:
            at = float(value["at"])
            members = tuple(str(m) for m in value["members"])
        except (KeyError, TypeError, ValueError):
            continue
        if best is None or (at, subkey) < best[:2]:
            best = (at, subkey, members)
    return None if best is None else (best[0], best[2])


def join_round(
    dht: Any,
    run_id: str,
    *,
    name: str,
    expected: int,
    quorum: float,
    grace: float,
    timeout: float,
    start_delay: float,
) -> Admission:
    """Wait at the run's barrier until the round starts; see the module doc."""
    from hivemind.utils import get_dht_time

    started = time.perf_counter()
    deadline = started + timeout
    need = quorum_size(expected, quorum)
    arrived = get_dht_time()
    last_store = -math.inf
    ready: dict[str, Any] = {}
    while time.perf_counter() < deadline:
        decided = _decision(dht, run_id)
        if decided is not None:
            at, members = decided
            if name not in members:
                raise LateForRoundError(
                    f"Run {run_id} started with {len(members)} other peer(s) before this one "
                    "arrived; it sits this round out instead of training alone."
                )
            return Admission(at, members, time.perf_counter() - started)
        now = time.perf_counter()
        if now - last_store >= REFRESH_S:
            dht.store(
                f"{run_id}_ready",
                subkey=name,
                value=arrived,
                expiration_time=get_dht_time() + READY_TTL_S,
            )
            last_store = now
        ready = _entries(dht, f"{run_id}_ready")
        if name in ready:
            first = min(float(v) for v in ready.values())
            full = len(ready) >= expected
            if full or (len(ready) >= need and get_dht_time() >= first + grace):
                members = tuple(sorted(ready))[: max(expected, need)]
                at = get_dht_time() + start_delay
                dht.store(
                    f"{run_id}_start",
                    subkey=name,
                    value={"at": at, "members": list(members)},
                    expiration_time=get_dht_time() + START_TTL_S,
                )
                logger.info(
                    "round start decided run_id=%s members=%d of %d", run_id, len(members), expected
                )
                continue  # re-read: another peer may have decided at the same time
        time.sleep(POLL_S)
    raise BarrierTimeoutError(
        f"Only {len(ready)} of {expected} peers joined run {run_id} within {timeout:.0f} s "
        f"(a quorum is {need})."
    )


def wait_until(start_at: float) -> None:
    """Sleep until the DHT time ``start_at``."""
    from hivemind.utils import get_dht_time

    delay = start_at - get_dht_time()
    if delay > 0:
        time.sleep(delay)
