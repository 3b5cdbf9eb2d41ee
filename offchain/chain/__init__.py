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
