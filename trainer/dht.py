"""The hivemind DHT side of a round: run ids, progress.

One ``hivemind.DHT`` per process (:func:`create_dht`). Each training peer publishes its
progress under ``<run_id>_progress`` in hivemind's own signed schema (:func:`publish_progress`),
which any DHT peer with the signature validator can read (:func:`read_progress`). The start
barrier is :mod:`trainer.membership`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainer.config import HivemindConfig
from trainer.errors import PeerUnreachableError

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


def publish_progress(
    dht: Any, run_id: str, *, epoch: int, samples: int, samples_per_second: float, ttl: float
) -> bool:
    """Publish this peer's progress under ``<run_id>_progress`` in hivemind's schema
    (``LocalTrainingProgress``), signed by the process's RSA key: the DHT must carry the
    ``RSASignatureValidator`` (``create_dht(..., read_progress=True)``). Once per outer step:
    the record says the peer finished ``samples`` samples of outer step ``epoch``."""
    from hivemind.dht.crypto import RSASignatureValidator
    from hivemind.utils import get_dht_time

    now = get_dht_time()
    value = {
        "peer_id": dht.peer_id.to_bytes(),
        "epoch": int(epoch),
        "samples_accumulated": int(samples),
        "samples_per_second": float(samples_per_second),
        "time": now,
        "client_mode": False,
    }
    owner = RSASignatureValidator().local_public_key
    return bool(
        dht.store(f"{run_id}_progress", subkey=owner, value=value, expiration_time=now + ttl)
    )


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
