"""Readable errors of the chain layer (all ``LoranetError``: the CLI prints one sentence)."""

from __future__ import annotations

from offchain.errors import LoranetError


class ChainError(LoranetError):
    """Base of the chain client's errors."""


class RpcUnavailableError(ChainError):
    """The JSON-RPC endpoint cannot be reached (after the bounded retries)."""


class ChainIdMismatchError(ChainError):
    """The RPC serves another chain than the deployment file was written for."""


class DeploymentError(ChainError):
    """The deployment file is missing, invalid, or lacks a contract."""


class ContractMissingError(ChainError):
    """The deployment names an address without code on this chain."""


class InsufficientFundsError(ChainError):
    """The sender cannot pay for gas (or for the value sent)."""


class PrecheckError(ChainError):
    """A client-side check refused an action before anything was sent."""


class TransactionRevertedError(ChainError):
    """A contract refused the call (decoded into ``error_name`` / ``args`` when known).

    Raised from the gas estimate (nothing was sent, ``tx_hash`` is None) or from a mined
    receipt with status 0.
    """

    def __init__(
        self,
        message: str,
        *,
        error_name: str | None = None,
        args: dict[str, object] | None = None,
        tx_hash: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = args or {}
        self.tx_hash = tx_hash


class TransactionTimeoutError(ChainError):
    """No receipt arrived in time; the transaction may still be mined later."""


class RpcRequestError(ChainError):
    """The node rejected a request for a reason other than a revert (e.g. nonce too low)."""
