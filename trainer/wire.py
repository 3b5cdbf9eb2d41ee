"""Bytes on the wire, measured: what the TCP sockets of this peer's ``p2pd`` sent and received.

hivemind moves every byte between peers (DHT, matchmaking, all-reduce) through its libp2p
daemon ``p2pd``, a child process of the DHT. :class:`SocketCounter` reads the kernel's
``tcp_info`` of that process's TCP sockets (``ss -tinpH``: ``bytes_acked`` sent,
``bytes_received`` received) and keeps, per socket, the latest value seen since it started
counting. A background thread re-reads every ``interval`` seconds, so a connection that opens
and closes between two reads is missed (libp2p keeps its connections to the peers open, so
that is rare); :meth:`SocketCounter.read` also reads on demand, e.g. around an all-reduce.
Linux only; elsewhere (no ``ss``) every count stays 0 and ``available`` is False.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

_PID = re.compile(r"pid=(\d+)")
_SENT = re.compile(r"bytes_acked:(\d+)")
_RECEIVED = re.compile(r"bytes_received:(\d+)")


@dataclass(frozen=True)
class WireCount:
    """Bytes sent and received (TCP payload, as acknowledged by the kernel)."""

    sent: int = 0
    received: int = 0

    def __sub__(self, other: WireCount) -> WireCount:
        return WireCount(self.sent - other.sent, self.received - other.received)


def p2pd_pids(dht: Any) -> set[int]:
    """The process ids of the ``p2pd`` daemons under ``dht``'s process."""
    import psutil

    try:
        children = psutil.Process(dht.pid).children(recursive=True)
    except (psutil.Error, AttributeError, TypeError):
        return set()
    return {c.pid for c in children if _name(c) == "p2pd"}


def _name(proc: Any) -> str:
    try:
        return str(proc.name())
    except Exception:
        return ""


def read_sockets(pids: set[int]) -> dict[tuple[str, str], tuple[int, int]]:
    """``(local, peer) -> (bytes sent, bytes received)`` of the TCP sockets of ``pids``."""
    if not pids or shutil.which("ss") is None:
        return {}
    try:
        out = subprocess.run(
            ["ss", "-tinpH"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found: dict[tuple[str, str], tuple[int, int]] = {}
    key: tuple[str, str] | None = None
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            parts = line.split()
            owners = {int(p) for p in _PID.findall(line)}
            key = (parts[3], parts[4]) if len(parts) >= 5 and owners & pids else None
            continue
        if key is None:
            continue
        sent, received = _SENT.search(line), _RECEIVED.search(line)
        found[key] = (int(sent.group(1)) if sent else 0, int(received.group(1)) if received else 0)
        key = None
    return found


class SocketCounter:
    """Counts the bytes the sockets of ``pids`` moved since :meth:`start`."""

    def __init__(self, pids: set[int], *, interval: float = 1.0) -> None:
        self.pids = set(pids)
        self.interval = interval
        self._base: dict[tuple[str, str], tuple[int, int]] = {}
        self._last: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return bool(self.pids) and shutil.which("ss") is not None

    @classmethod
    def for_dht(cls, dht: Any, *, interval: float = 1.0) -> SocketCounter:
        return cls(p2pd_pids(dht), interval=interval)

    def start(self) -> SocketCounter:
        self._base = read_sockets(self.pids)
        self._last = dict(self._base)
        self._thread = threading.Thread(target=self._loop, name="wire-counter", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.read()

    def read(self) -> WireCount:
        """Read the sockets now; the totals since :meth:`start`."""
        now = read_sockets(self.pids)
        with self._lock:
            self._last.update(now)
            sent = sum(v[0] - self._base.get(k, (0, 0))[0] for k, v in self._last.items())
            received = sum(v[1] - self._base.get(k, (0, 0))[1] for k, v in self._last.items())
        return WireCount(max(sent, 0), max(received, 0))

    def stop(self) -> WireCount:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.read()
