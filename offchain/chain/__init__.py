"""The chain client: web3.py over HTTP, with readable errors.

client      ``ChainClient``: provider with bounded retries, deployment, chain-id check,
            contract handles (ABIs from ``offchain/abi``), view calls with decoded reverts
tx          ``TxSender``: THE transaction path (estimate, EIP-1559 fees, nonce, sign, send,
            receipt with a spinner, decoded reverts); ``TxRequest``, ``TxResult``
revert      ``ErrorDecoder``: revert data → ``DecodedError`` by 4-byte selector
messages    ``describe``: a decoded error → one sentence, from a template per error name
deployment  ``Deployment`` / ``load_deployment``: ``deployments/<network>.json``
units       ``Wei``, ``parse_amount``, ``format_lora``, ``format_eth``
errors      the chain layer's ``LoranetError`` subclasses
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offchain.chain.client import ChainClient
    from offchain.chain.deployment import Deployment, load_deployment
    from offchain.chain.errors import (
        ChainError,
        ChainIdMismatchError,
        ContractMissingError,
        DeploymentError,
        InsufficientFundsError,
        PrecheckError,
        RpcRequestError,
        RpcUnavailableError,
        TransactionRevertedError,
        TransactionTimeoutError,
    )
    from offchain.chain.tx import TxRequest, TxResult, TxSender
    from offchain.chain.units import Wei, format_eth, format_lora, parse_amount

# Names are imported on first use, so that ``loranet --help`` does not pay for web3.
_WHERE = {
    "ChainClient": "client",
    "Deployment": "deployment",
    "load_deployment": "deployment",
    "ChainError": "errors",
    "ChainIdMismatchError": "errors",
    "ContractMissingError": "errors",
    "DeploymentError": "errors",
    "InsufficientFundsError": "errors",
    "PrecheckError": "errors",
    "RpcRequestError": "errors",
    "RpcUnavailableError": "errors",
    "TransactionRevertedError": "errors",
    "TransactionTimeoutError": "errors",
    "TxRequest": "tx",
    "TxResult": "tx",
    "TxSender": "tx",
    "Wei": "units",
    "format_eth": "units",
    "format_lora": "units",
    "parse_amount": "units",
}

__all__ = [
    "ChainClient",
    "ChainError",
    "ChainIdMismatchError",
    "ContractMissingError",
    "Deployment",
    "DeploymentError",
    "InsufficientFundsError",
    "PrecheckError",
    "RpcRequestError",
    "RpcUnavailableError",
    "TransactionRevertedError",
    "TransactionTimeoutError",
    "TxRequest",
    "TxResult",
    "TxSender",
    "Wei",
    "format_eth",
    "format_lora",
    "load_deployment",
    "parse_amount",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'offchain.chain' has no attribute {name!r}")
    return getattr(import_module(f"offchain.chain.{module}"), name)
