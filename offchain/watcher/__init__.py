"""Reorg-safe event watcher.

- :mod:`offchain.watcher.events` — :class:`ChainEvent`, the typed decoded log, and its
  dispatch key :class:`EventKey` (chain id, tx hash, log index).
- :mod:`offchain.watcher.decoder` — :class:`EventDecoder`: raw ``eth_getLogs`` entries to events.
- :mod:`offchain.watcher.store` — :class:`WatcherStore`: cursor, recent block hashes, the
  ``dispatched`` table and the delivery queue in one SQLite file.
- :mod:`offchain.watcher.watcher` — :class:`EventWatcher`: paging, confirmations, reorgs.
"""

from __future__ import annotations

from offchain.watcher.decoder import EventDecoder, WatchedContract, deployed_contracts
from offchain.watcher.errors import RpcError, WatcherError
from offchain.watcher.events import ChainEvent, Dispatcher, EventKey
from offchain.watcher.store import WatcherStore
from offchain.watcher.watcher import EventWatcher, PollResult, ReorgInfo

__all__ = [
    "ChainEvent",
    "Dispatcher",
    "EventDecoder",
    "EventKey",
    "EventWatcher",
    "PollResult",
    "ReorgInfo",
    "RpcError",
    "WatchedContract",
    "WatcherError",
    "WatcherStore",
    "deployed_contracts",
]
