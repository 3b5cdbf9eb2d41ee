"""``loranet dht``: a long-lived bootstrap (and relay) peer of a pool's hivemind swarm.

Operators run one (or more) per pool on a host others can reach, and put the multiaddrs it
prints into the pool's metadata (``loranet pool create --bootstrap-peer ...`` or
``loranet pool set-metadata``). With ``--identity-path`` the peer id (and so the multiaddrs)
survive restarts. The peer only routes the DHT: it trains nothing and holds no key.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from pathlib import Path

import typer
from rich.console import Console

from offchain.cli.context import state
from offchain.cli.options import JsonOpt
from offchain.errors import LoranetError
from offchain.logging import configure_logging, kv

logger = logging.getLogger(__name__)


class DhtCliError(LoranetError):
    """The bootstrap peer was given unusable options."""


def dialable(maddrs: list[str], announce: list[str]) -> list[str]:
    """The addresses to hand out: the announced ones, else every non-loopback one (loopback
    only when nothing else is there)."""
    if announce:
        chosen = [m for m in maddrs if any(m.startswith(a.rstrip("/")) for a in announce)]
        if chosen:
            return chosen
    public = [m for m in maddrs if not _is_loopback(m)]
    return public or maddrs


def _is_loopback(maddr: str) -> bool:
    parts = maddr.split("/")
    if len(parts) > 2 and parts[1] in ("ip4", "ip6"):
        try:
            return ipaddress.ip_address(parts[2]).is_loopback
        except ValueError:
            return False
    return False


def dht(
    ctx: typer.Context,
    host_maddr: list[str] = typer.Option(
        [],
        "--host-maddr",
        help="Listen multiaddr (repeatable); default /ip4/0.0.0.0/tcp/<LORANET_HIVEMIND_PORT>.",
    ),
    announce_maddr: list[str] = typer.Option(
        [], "--announce-maddr", help="Public multiaddr others dial (behind NAT; repeatable)."
    ),
    identity_path: Path | None = typer.Option(
        None, "--identity-path", help="Key file of a stable peer id (default: <data dir>/dht.key)."
    ),
    initial_peer: list[str] = typer.Option(
        [], "--initial-peer", help="Another bootstrap peer to join (repeatable)."
    ),
    relay: bool = typer.Option(False, "--relay", help="Also relay for peers behind NAT."),
    run_for: float | None = typer.Option(None, "--run-for", hidden=True, help="Tests: seconds."),
    as_json: JsonOpt = False,
) -> None:
    """Run a bootstrap peer of a pool's swarm; print the multiaddrs for the pool's metadata."""
    import hivemind

    from offchain.pools.metadata import PoolMetadata
    from offchain.shutdown import StopFlag, stop_on_signals
    from trainer.errors import PeerUnreachableError

    cli = state(ctx)
    cli.use_json(as_json)
    configure_logging(logging.INFO)
    settings = cli.settings
    hosts = host_maddr or [f"/ip4/0.0.0.0/tcp/{settings.hivemind_port}"]
    announce = announce_maddr or list(settings.hivemind_announce_maddrs or [])
    identity = identity_path or settings.data_dir / "dht.key"
    identity.parent.mkdir(parents=True, exist_ok=True)
    try:
        node = hivemind.DHT(
            initial_peers=list(initial_peer),
            host_maddrs=hosts,
            announce_maddrs=announce or None,
            identity_path=str(identity),
            use_relay=relay,
            use_auto_relay=False,
            start=True,
        )
    except Exception as err:  # the daemon's errors: one sentence
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise PeerUnreachableError(
            f"the bootstrap peer could not start on {hosts}: {reason}."
        ) from None
    try:
        maddrs = dialable([str(m) for m in node.get_visible_maddrs()], announce)
        meta = PoolMetadata(bootstrap_peers=maddrs)
        payload = {
            "peer_id": str(node.peer_id),
            "multiaddrs": maddrs,
            "identity_path": str(identity),
            "metadata_uri": meta.to_data_uri(),
        }

        def render(console: Console) -> None:
            console.print(f"bootstrap peer {node.peer_id} is up; give pools these multiaddrs:")
            for maddr in maddrs:
                console.print(f"  --bootstrap-peer {maddr}")
            console.print("stop it with Ctrl-C (SIGTERM)")

        cli.emit(payload, render)
        logger.info("bootstrap peer up", extra=kv(peer=str(node.peer_id), maddrs=maddrs))
        deadline = time.monotonic() + run_for if run_for is not None else None
        with stop_on_signals(StopFlag()) as stop:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stop.wait(1.0)
    finally:
        node.shutdown()
    logger.info("bootstrap peer stopped", extra=kv(peer=str(node.peer_id)))
