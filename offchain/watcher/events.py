"""Typed decoded events and their dispatch key."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict


class EventKey(NamedTuple):
    """Identity of one log: each is dispatched at most once per key."""

    chain_id: int
    tx_hash: str
    log_index: int

    @property
    def id(self) -> str:
        """Compact string form, ``"<chain id>:<tx hash>:<log index>"`` (task dedupe key)."""
        return f"{self.chain_id}:{self.tx_hash}:{self.log_index}"


class ChainEvent(BaseModel):
    """One decoded contract event.

    ``args`` holds JSON-native values: addresses as checksummed strings, ``bytes``/``bytesN`` as
    ``0x`` hex strings, integers as ``int``, tuples as lists, so an event survives a JSON round
    trip (Celery, SQLite) unchanged.
    """

    model_config = ConfigDict(frozen=True)

    chain_id: int
    address: str
    contract: str
    event: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int

    @property
    def key(self) -> EventKey:
        return EventKey(self.chain_id, self.tx_hash, self.log_index)


class Dispatcher(Protocol):
    """Where the watcher hands events over (a Celery queue in the service, a list in tests)."""

    def dispatch(self, event: ChainEvent) -> None:
        """Deliver a new event. Must be idempotent per ``event.key`` (it may be redelivered)."""

    def orphaned(self, event: ChainEvent) -> None:
        """Report a delivered event whose block left the canonical chain (compensate)."""
