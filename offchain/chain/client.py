"""The web3.py connection to one network: provider with bounded retries, deployment, handles."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint, RPCResponse

from offchain import abi as abi_files
from offchain.chain.deployment import Deployment, load_deployment
from offchain.chain.errors import (
    ChainIdMismatchError,
    ContractMissingError,
    RpcUnavailableError,
    TransactionRevertedError,
)
from offchain.chain.messages import describe
from offchain.chain.revert import ErrorDecoder
from offchain.logging import kv
from offchain.settings import Settings

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.HTTPError)
RETRY_BACKOFF_S = 0.1


class LoranetHTTPProvider(HTTPProvider):
    """web3's HTTP provider; read-only methods retry transient failures with exponential backoff
    (``eth_sendRawTransaction`` never does), and a failure left after the retries becomes
    ``RpcUnavailableError``."""

    def __init__(self, url: str, *, timeout_s: float, retries: int) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": timeout_s},
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=TRANSIENT_ERRORS, retries=retries + 1, backoff_factor=RETRY_BACKOFF_S
            ),
        )

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except TRANSIENT_ERRORS as err:
            logger.info("rpc failed", extra=kv(method=method, error=type(err).__name__))
            raise RpcUnavailableError(
                f"cannot reach the RPC at {self.endpoint_uri}: is the node running? "
                "(`loranet devnet up` starts a local one)"
            ) from None


def make_web3(settings: Settings) -> Web3:
    provider = LoranetHTTPProvider(
        settings.resolved_rpc_url, timeout_s=settings.rpc_timeout_s, retries=settings.rpc_retries
    )
    return Web3(provider)


@dataclass
class ChainClient:
    """A checked connection: the RPC answers and serves the chain of the deployment."""

    settings: Settings
    w3: Web3
    deployment: Deployment
    decoder: ErrorDecoder = field(default_factory=ErrorDecoder.from_exported)

    @classmethod
    def connect(cls, settings: Settings) -> ChainClient:
        """Load the deployment, reach the RPC and compare chain ids.

        Raises:
            DeploymentError: the deployment file is missing or invalid.
            RpcUnavailableError: the RPC cannot be reached.
            ChainIdMismatchError: the RPC serves another chain.
        """
        path = settings.resolved_deployments_file
        deployment = load_deployment(path, network=settings.network)
        w3 = make_web3(settings)
        chain_id = w3.eth.chain_id
        if chain_id != deployment.chain_id:
            raise ChainIdMismatchError(
                f"the RPC at {settings.resolved_rpc_url} serves chain {chain_id} but {path} "
                f"was written for chain {deployment.chain_id}: check --network and --rpc-url."
            )
        logger.info("connected", extra=kv(rpc=settings.resolved_rpc_url, chain_id=chain_id))
        return cls(settings=settings, w3=w3, deployment=deployment)

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    def contract(self, name: str) -> Contract:
        """A web3 contract handle: ABI from ``offchain/abi``, address from the deployment."""
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.deployment.address(name)),
            abi=abi_files.load_abi(name),
        )

    def has(self, name: str) -> bool:
        return name in self.deployment.contracts

    def missing_code(self, names: Iterable[str] | None = None) -> list[str]:
        """Names of deployed contracts whose address holds no code on this chain."""
        chosen = list(names) if names is not None else sorted(self.deployment.contracts)
        return [
            name
            for name in chosen
            if len(self.w3.eth.get_code(Web3.to_checksum_address(self.deployment.address(name))))
            == 0
        ]

    def require_code(self, names: Iterable[str] | None = None) -> None:
        missing = self.missing_code(names)
        if missing:
            raise ContractMissingError(
                f"no contract code at the deployed address of {', '.join(missing)} on chain "
                f"{self.chain_id}: the chain was reset since the deployment; redeploy."
            )

    def read(self, call: ContractFunction, *, context: Mapping[str, Any] | None = None) -> Any:
        """A view call; a revert becomes a readable ``TransactionRevertedError``."""
        try:
            return call.call()
        except ContractLogicError as err:
            raise self.revert_error(err.data, context=context) from None

    def revert_error(
        self,
        data: Any,
        *,
        context: Mapping[str, Any] | None = None,
        tx_hash: str | None = None,
    ) -> TransactionRevertedError:
        """Turn revert data into an exception carrying one sentence."""
        decoded = self.decoder.decode(data)
        if decoded is None:
            message = "the contract refused the call without a known reason."
            return TransactionRevertedError(message, tx_hash=tx_hash)
        return TransactionRevertedError(
            describe(decoded, context),
            error_name=decoded.name,
            args=decoded.args,
            tx_hash=tx_hash,
        )
