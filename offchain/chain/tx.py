"""The one transaction path: estimate → EIP-1559 fees → nonce → sign → send → receipt.

Every state-changing call of loranet goes through ``TxSender.send``. A revert in the gas
estimate is decoded before anything is sent; a mined revert (status 0) is replayed with
``eth_call`` to recover its reason. Waiting shows a spinner supplied by the caller.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from offchain.chain.client import ChainClient
from offchain.chain.errors import (
    InsufficientFundsError,
    RpcRequestError,
    TransactionRevertedError,
    TransactionTimeoutError,
)
from offchain.chain.units import format_eth
from offchain.logging import kv

logger = logging.getLogger(__name__)

Spinner = Callable[[str], AbstractContextManager[Any]]
GWEI = 10**9


@contextlib.contextmanager
def no_spinner(_message: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class TxRequest:
    """What to send: target, calldata, value, a description for people, a message context."""

    to: str
    data: str
    description: str
    value: int = 0
    context: Mapping[str, Any] = field(default_factory=dict)
    #: Extra factor on the gas limit, on top of ``gas_multiplier``, for calls whose cost can
    #: grow between the estimate and the block (an attestation that turns out to decide its
    #: round does the deciding work too).
    gas_headroom: float = 1.0

    @classmethod
    def call(
        cls,
        contract: Contract,
        function: str,
        *args: Any,
        description: str,
        value: int = 0,
        context: Mapping[str, Any] | None = None,
        gas_headroom: float = 1.0,
    ) -> TxRequest:
        return cls(
            to=str(contract.address),
            data=contract.encode_abi(function, args=list(args)),
            description=description,
            value=value,
            context=dict(context or {}),
            gas_headroom=gas_headroom,
        )


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block: int
    gas_used: int
    fee_wei: int
    receipt: TxReceipt

    def as_dict(self) -> dict[str, Any]:
        return {
            "tx_hash": self.tx_hash,
            "block": self.block,
            "gas_used": self.gas_used,
            "fee_wei": self.fee_wei,
        }


class TxSender:
    """Signs with one local account and sends through one client."""

    def __init__(
        self, client: ChainClient, account: LocalAccount, *, spinner: Spinner = no_spinner
    ) -> None:
        self.client = client
        self.account = account
        self.spinner = spinner

    @property
    def w3(self) -> Web3:
        return self.client.w3

    def base_tx(self, request: TxRequest) -> TxParams:
        return {
            "from": self.account.address,
            "to": Web3.to_checksum_address(request.to),
            "data": HexBytes(request.data),
            "value": Web3.to_wei(request.value, "wei"),
            "chainId": self.client.chain_id,
        }

    def estimate(self, request: TxRequest) -> int:
        """Gas for ``request``; a revert raises ``TransactionRevertedError`` (nothing sent)."""
        try:
            # "pending": the block the transaction lands in (block.number-dependent code, such
            # as ERC20Votes checkpoints, costs more there than in "latest").
            return int(self.w3.eth.estimate_gas(self.base_tx(request), "pending"))
        except ContractLogicError as err:
            logger.info("estimate reverted", extra=kv(description=request.description))
            raise self.client.revert_error(err.data, context=request.context) from None
        except Web3RPCError as err:
            raise self._rpc_error(err, request) from None

    def fees(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas: twice the latest base fee plus the tip."""
        settings = self.client.settings
        tip = int(settings.priority_fee_gwei * GWEI)
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        return 2 * base + tip, tip

    def send(self, request: TxRequest) -> TxResult:
        """Send ``request`` and wait for its receipt and confirmations."""
        settings = self.client.settings
        gas = int(self.estimate(request) * settings.gas_multiplier * request.gas_headroom)
        max_fee, tip = self.fees()
        needed = gas * max_fee + request.value
        balance = int(self.w3.eth.get_balance(self.account.address))
        if balance < needed:
            raise InsufficientFundsError(
                f"{self.account.address} holds {format_eth(balance)} but {request.description} "
                f"needs up to {format_eth(needed)} for gas: fund it with ETH first."
            )
        nonce = int(self.w3.eth.get_transaction_count(self.account.address, "pending"))
        tx: TxParams = {
            **self.base_tx(request),
            "gas": gas,
            "maxFeePerGas": Wei(max_fee),
            "maxPriorityFeePerGas": Wei(tip),
            "nonce": Nonce(nonce),
            "type": 2,
        }
        signed = self.account.sign_transaction(dict(tx))  # type: ignore[arg-type]
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as err:
            raise self._rpc_error(err, request) from None
        hash_hex = "0x" + bytes(tx_hash).hex()
        logger.info(
            "tx sent",
            extra=kv(
                description=request.description,
                tx=hash_hex,
                sender=self.account.address,
                nonce=nonce,
                gas=gas,
            ),
        )
        try:
            with self.spinner(f"{request.description}: waiting for {hash_hex[:10]}…"):
                receipt = self._wait(hash_hex)
        except KeyboardInterrupt:
            raise TransactionTimeoutError(
                f"interrupted while waiting for {hash_hex}: it was sent and may still be mined; "
                "check `loranet status` before sending again."
            ) from None
        if receipt["status"] != 1:
            if int(receipt["gasUsed"]) >= gas:
                raise TransactionRevertedError(
                    f"{request.description} ran out of gas ({gas:,} gas) in {hash_hex}: "
                    "raise LORANET_GAS_MULTIPLIER and try again.",
                    tx_hash=hash_hex,
                )
            raise self._mined_revert(tx, receipt, request, hash_hex)
        gas_used = int(receipt["gasUsed"])
        price = int(receipt.get("effectiveGasPrice", max_fee) or 0)
        logger.info(
            "tx mined",
            extra=kv(description=request.description, tx=hash_hex, block=receipt["blockNumber"]),
        )
        return TxResult(
            tx_hash=hash_hex,
            block=int(receipt["blockNumber"]),
            gas_used=gas_used,
            fee_wei=gas_used * price,
            receipt=receipt,
        )

    # -- internals -------------------------------------------------------------------------

    def _wait(self, tx_hash: str) -> TxReceipt:
        settings = self.client.settings
        deadline = time.monotonic() + settings.tx_timeout_s
        receipt: TxReceipt | None = None
        while receipt is None:
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise TransactionTimeoutError(
                        f"no receipt for {tx_hash} after {settings.tx_timeout_s:.0f} s: it may "
                        "still be mined; check it before sending again."
                    ) from None
                time.sleep(settings.poll_interval_s)
        target = int(receipt["blockNumber"]) + settings.confirmations - 1
        while int(self.w3.eth.block_number) < target:
            if time.monotonic() > deadline:
                raise TransactionTimeoutError(
                    f"{tx_hash} was mined but did not reach {settings.confirmations} "
                    f"confirmations within {settings.tx_timeout_s:.0f} s."
                )
            time.sleep(settings.poll_interval_s)
        return receipt

    def _mined_revert(
        self, tx: TxParams, receipt: TxReceipt, request: TxRequest, tx_hash: str
    ) -> Exception:
        block = max(int(receipt["blockNumber"]) - 1, 0)
        replay: TxParams = {key: value for key, value in tx.items() if key != "nonce"}  # type: ignore[assignment]
        try:
            self.w3.eth.call(replay, block_identifier=block)
        except ContractLogicError as err:
            return self.client.revert_error(err.data, context=request.context, tx_hash=tx_hash)
        except Web3RPCError:
            pass
        return self.client.revert_error(None, context=request.context, tx_hash=tx_hash)

    def _rpc_error(self, err: Web3RPCError, request: TxRequest) -> Exception:
        message = _rpc_message(err)
        if "insufficient funds" in message.lower():
            balance = int(self.w3.eth.get_balance(self.account.address))
            return InsufficientFundsError(
                f"{self.account.address} holds {format_eth(balance)}, not enough to pay for "
                f"{request.description}: fund it with ETH first."
            )
        return RpcRequestError(f"the node refused {request.description}: {message}.")


def _rpc_message(err: Web3RPCError) -> str:
    response = getattr(err, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"]).rstrip(".")
    return str(err).rstrip(".")
