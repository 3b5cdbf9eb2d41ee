"""The chain client and the one transaction path, on Ape's anvil."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.chain import (
    ChainClient,
    ChainIdMismatchError,
    ContractMissingError,
    DeploymentError,
    InsufficientFundsError,
    RpcUnavailableError,
    TransactionRevertedError,
    TransactionTimeoutError,
    TxRequest,
    TxSender,
)
from offchain.chain.client import make_web3
from offchain.chain.units import ONE as LORA
from offchain.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def client(settings: Settings) -> ChainClient:
    return ChainClient.connect(settings)


def nonce(client: ChainClient, address: str) -> int:
    return int(client.w3.eth.get_transaction_count(address))


def test_transfer_through_the_one_path(client: ChainClient, funded_key: LocalAccount) -> None:
    token = client.contract("LoraToken")
    to = Account.create().address
    before = nonce(client, funded_key.address)
    spinner_messages: list[str] = []

    from contextlib import nullcontext

    def spinner(message: str) -> nullcontext[None]:
        spinner_messages.append(message)
        return nullcontext()

    sender = TxSender(client, funded_key, spinner=spinner)
    result = sender.send(TxRequest.call(token, "transfer", to, 3 * LORA, description="transfer"))
    assert token.functions.balanceOf(to).call() == 3 * LORA
    assert nonce(client, funded_key.address) == before + 1
    assert result.gas_used > 0 and result.fee_wei > 0
    receipt_tx = client.w3.eth.get_transaction(result.tx_hash)
    assert receipt_tx["type"] == 2  # EIP-1559
    assert spinner_messages and spinner_messages[0].startswith("transfer: waiting for 0x")


def test_revert_in_estimate_is_decoded_and_nothing_sent(
    client: ChainClient, funded_key: LocalAccount
) -> None:
    token = client.contract("LoraToken")
    before = nonce(client, funded_key.address)
    request = TxRequest.call(
        token, "transfer", Account.create().address, 20_000 * LORA, description="transfer"
    )
    with pytest.raises(TransactionRevertedError) as caught:
        TxSender(client, funded_key).send(request)
    assert str(caught.value) == (
        f"insufficient balance: {funded_key.address} holds 10,000 LORA but 20,000 LORA is needed."
    )
    assert caught.value.error_name == "ERC20InsufficientBalance"
    assert caught.value.tx_hash is None
    assert nonce(client, funded_key.address) == before


def test_mined_revert_is_decoded_from_a_replay(
    client: ChainClient, funded_key: LocalAccount
) -> None:
    """A transaction that reverts only once mined (here: the estimate is skipped)."""

    class NoEstimate(TxSender):
        def estimate(self, request: TxRequest) -> int:
            return 200_000

    token = client.contract("LoraToken")
    request = TxRequest.call(
        token, "transfer", Account.create().address, 20_000 * LORA, description="transfer"
    )
    before = nonce(client, funded_key.address)
    with pytest.raises(TransactionRevertedError, match="insufficient balance") as caught:
        NoEstimate(client, funded_key).send(request)
    assert caught.value.tx_hash is not None
    assert nonce(client, funded_key.address) == before + 1


def test_no_eth_for_gas_sends_nothing(client: ChainClient) -> None:
    poor = Account.create()
    token = client.contract("LoraToken")
    request = TxRequest.call(token, "approve", poor.address, 1, description="approve")
    with pytest.raises(InsufficientFundsError, match=r"holds 0 ETH but approve needs up to"):
        TxSender(client, poor).send(request)
    assert nonce(client, poor.address) == 0


def test_rpc_down_is_a_sentence_after_bounded_retries(settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(RpcUnavailableError, match=f"cannot reach the RPC at {url}"):
        ChainClient.connect(settings.model_copy(update={"rpc_url": url, "rpc_retries": 2}))
    assert time.monotonic() - start < 5


def test_chain_id_mismatch(settings: Settings, deployment_file: Path) -> None:
    data = json.loads(deployment_file.read_text())
    data["chain_id"] = 1
    deployment_file.write_text(json.dumps(data))
    with pytest.raises(ChainIdMismatchError, match=r"serves chain 31337 but .* for chain 1"):
        ChainClient.connect(settings)


def test_missing_deployment(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(DeploymentError, match=f"deployment file {missing} not found"):
        ChainClient.connect(settings.model_copy(update={"deployments_file": missing}))


def test_contract_without_code(settings: Settings, deployment_file: Path) -> None:
    data = json.loads(deployment_file.read_text())
    data["contracts"]["LoraToken"] = "0x" + "12" * 20
    deployment_file.write_text(json.dumps(data))
    client = ChainClient.connect(settings)
    with pytest.raises(ContractMissingError, match="no contract code at the deployed address"):
        client.require_code()


def test_unknown_contract_name(client: ChainClient) -> None:
    with pytest.raises(DeploymentError, match="the deployment has no StakeManager"):
        client.contract("StakeManager")


@pytest.fixture
def flaky_rpc() -> Iterator[tuple[str, list[str]]]:
    """A JSON-RPC endpoint that answers 503 to its first two requests, then eth_chainId."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body["method"])
            if len(seen) <= 2:
                self.send_response(503)
                self.end_headers()
                return
            answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x7a69"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    thread.join()


def test_transient_errors_are_retried(settings: Settings, flaky_rpc: tuple[str, list[str]]) -> None:
    url, seen = flaky_rpc
    w3 = make_web3(settings.model_copy(update={"rpc_url": url, "rpc_retries": 3}))
    assert w3.eth.chain_id == 31337
    assert seen == ["eth_chainId"] * 3


def test_retries_are_bounded(settings: Settings, flaky_rpc: tuple[str, list[str]]) -> None:
    url, seen = flaky_rpc
    w3 = make_web3(settings.model_copy(update={"rpc_url": url, "rpc_retries": 1}))
    with pytest.raises(RpcUnavailableError):
        w3.eth.chain_id  # noqa: B018
    assert seen == ["eth_chainId"] * 2


def test_interrupt_while_waiting_says_it_was_sent(
    client: ChainClient, funded_key: LocalAccount
) -> None:
    class Interrupted(TxSender):
        def _wait(self, tx_hash: str) -> Any:
            raise KeyboardInterrupt

    token = client.contract("LoraToken")
    request = TxRequest.call(token, "transfer", Account.create().address, 1, description="x")
    with pytest.raises(TransactionTimeoutError, match="it was sent and may still be mined"):
        Interrupted(client, funded_key).send(request)
