"""Errors of the event watcher."""

from __future__ import annotations

from offchain.errors import LoranetError


class WatcherError(LoranetError):
    """The watcher cannot go on (deep reorg, unusable RPC answers)."""


class RpcError(WatcherError):
    """A JSON-RPC call answered with an error."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"RPC call {method} failed: {message} (code {code}).")
        self.method = method
        self.code = code
        self.rpc_message = message

    @property
    def too_many_results(self) -> bool:
        """Whether the node refused the query as too large (page must shrink)."""
        text = self.rpc_message.lower()
        markers = ("too many", "more than", "limit", "range", "exceed", "too large", "timeout")
        return self.code == -32005 or any(marker in text for marker in markers)


class ReorgTooDeepError(WatcherError):
    """No stored block hash matches the chain any more."""
