"""The hivemind DHT side of a round: run ids, the start barrier, progress, stragglers.

One ``hivemind.DHT`` per process (:func:`create_dht`). Peers announce themselves under
``<run_id>_ready`` and wait for each other (:func:`wait_for_peers`); hivemind's optimizer
publishes each peer's progress under ``<run_id>_progress`` (signed per peer), which any DHT
peer with the signature validator can read (:func:`read_progress`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainer.config import HivemindConfig
from trainer.errors import BarrierTimeoutError, PeerUnreachableError

logger = logging.getLogger(__name__)

BARRIER_POLL_S = 0.2


def run_id_for(prefix: str, pool_id: int, round: int) -> str:
    """The hivemind run id of a pool's round (DHT keys start with it)."""
    return f"{prefix}_pool{pool_id}_round{round}"


def create_dht(
    cfg: HivemindConfig,
    initial_peers: Sequence[str] = (),
    *,
    client_mode: bool = False,
    read_progress: bool = False,
) -> Any:
    """Start a ``hivemind.DHT`` (one per process). ``read_progress`` adds the signature
    validator a non-training peer needs to read ``<run_id>_progress``."""
    import hivemind
    from hivemind.dht.crypto import RSASignatureValidator

    validators = [RSASignatureValidator()] if read_progress else None
    try:
        dht = hivemind.DHT(
            initial_peers=list(initial_peers),
            host_maddrs=list(cfg.host_maddrs),
            announce_maddrs=list(cfg.announce_maddrs) or None,
            client_mode=client_mode,
            record_validators=validators or (),
            start=True,
        )
    except Exception as err:  # hivemind raises P2PDaemonError (and others) from its daemon
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        if initial_peers:
            raise PeerUnreachableError(
                f"cannot reach the hivemind bootstrap peers {list(initial_peers)} while "
                f"listening on {list(cfg.host_maddrs)}: {reason}. Check the pool's metadata "
                "(`loranet pool metadata`), the peers' firewalls, and that they listen on a "
                "public address."
            ) from None
        raise PeerUnreachableError(
            f"cannot start hivemind on {list(cfg.host_maddrs)}: {reason}."
        ) from None
    logger.info("dht started peer_id=%s client_mode=%s", dht.peer_id, client_mode)
    return dht


def visible_maddrs(dht: Any) -> list[str]:
    """The multiaddresses other peers can use as ``initial_peers``."""
    return [str(m) for m in dht.get_visible_maddrs()]


def wait_for_peers(dht: Any, run_id: str, *, expected: int, timeout: float, name: str) -> float:
    """Announce this peer under ``<run_id>_ready`` and wait until ``expected`` peers did.

    Each peer stores the DHT time of its arrival; once all are there every peer sees the
    same set, so ``max(arrival) + start_delay`` is a start time they all agree on.
    Returns that time; raises :class:`BarrierTimeoutError` after ``timeout`` seconds.
    """
    from hivemind.utils import get_dht_time

    key = f"{run_id}_ready"
    deadline = time.perf_counter() + timeout
    stored = False
    seen: dict[Any, Any] = {}
    while time.perf_counter() < deadline:
        if not stored:
            now = get_dht_time()
            stored = bool(
                dht.store(key, subkey=name, value=now, expiration_time=now + timeout + 60)
            )
        found = dht.get(key, latest=True)
        seen = found.value if found is not None and isinstance(found.value, dict) else {}
        if stored and len(seen) >= expected:
            arrivals = sorted(float(v.value) for v in seen.values())[:expected]
            logger.info("barrier passed run_id=%s peers=%d", run_id, len(seen))
            return arrivals[-1]
        time.sleep(BARRIER_POLL_S)
    raise BarrierTimeoutError(
        f"Only {len(seen)} of {expected} peers joined run {run_id} within {timeout:.0f} s."
    )


def wait_until_visible(opt: Any, *, expected: int, start_at: float, timeout: float) -> None:
    """After the first local step: wait until this peer's progress tracker sees ``expected``
    peers and the agreed start time has come, so that no peer ends epoch 0 alone.

    A peer publishes progress only once it has accumulated samples, hence the first step.
    Gives up with a warning after ``timeout`` (a peer may have died since the barrier).
    """
    from hivemind.utils import get_dht_time

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        visible = opt.tracker.global_progress.num_peers
        if visible >= expected and get_dht_time() >= start_at:
            return
        time.sleep(BARRIER_POLL_S / 4)
    logger.warning("start: only %d of %d peers visible; training on", visible, expected)


@dataclass(frozen=True)
class PeerProgress:
    """One peer's progress as hivemind publishes it under ``<run_id>_progress``."""

    peer_id: str
    epoch: int
    samples_accumulated: int
    samples_per_second: float
    time: float
    client_mode: bool


def read_progress(dht_or_initial_peers: Any, run_id: str) -> list[PeerProgress]:
    """Every peer's published progress, sorted by peer id.

    Pass a DHT created with ``read_progress=True`` (see :func:`create_dht`), or a list of
    multiaddresses: a temporary client-mode DHT with the signature validator is started,
    read from and shut down.
    """
    if isinstance(dht_or_initial_peers, list | tuple):
        dht = create_dht(
            HivemindConfig(), dht_or_initial_peers, client_mode=True, read_progress=True
        )
        try:
            return read_progress(dht, run_id)
        finally:
            dht.shutdown()
    from hivemind.p2p import PeerID

    found = dht_or_initial_peers.get(f"{run_id}_progress", latest=True)
    if found is None or not isinstance(found.value, dict):
        return []
    out = []
    for entry in found.value.values():
        value = getattr(entry, "value", None)
        if not isinstance(value, dict):
            continue
        out.append(
            PeerProgress(
                peer_id=PeerID(value["peer_id"]).to_base58(),
                epoch=int(value["epoch"]),
                samples_accumulated=int(value["samples_accumulated"]),
                samples_per_second=float(value["samples_per_second"]),
                time=float(value["time"]),
                client_mode=bool(value["client_mode"]),
            )
        )
    return sorted(out, key=lambda p: p.peer_id)


def linger_for_stragglers(dht: Any, run_id: str, *, epoch: int, timeout: float) -> None:
    """Keep this finished peer's averagers up until every peer still publishing progress
    reached ``epoch`` (or ``timeout``), so a straggler can download the final state instead of
    waiting alone for a group that will never form."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        behind = [p for p in read_progress(dht, run_id) if p.epoch < epoch and not p.client_mode]
        if not behind:
            return
        time.sleep(BARRIER_POLL_S)
    logger.warning("finishing while %d peer(s) are still below epoch %d", len(behind), epoch)
