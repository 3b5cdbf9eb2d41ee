"""The transaction outbox: one logical transaction is mined exactly once, across crashes,
restarts, redeliveries and stuck transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.chain import TxRequest, TxSender
from offchain.outbox import Outbox, OutboxKey

MakeSender = Callable[[str, str], TxSender]

pytestmark = pytest.mark.usefixtures("owner", "alice", "bob", "token", "node_account")

KEY = OutboxKey(pool=1, round=3, node="0x00000000000000000000000000000000000000aa", kind="report")


@pytest.fixture(scope="session")
def node_account(accounts: Any) -> Any:
    return accounts[5]


@pytest.fixture
def minter(token: Any, owner: Any, node_account: Any) -> Any:
    token.grantRole(token.MINTER_ROLE(), node_account, sender=owner)
    return node_account


@pytest.fixture
def sender(make_tx_sender: MakeSender, rpc_uri: str, node_account: Any) -> TxSender:
    return make_tx_sender(rpc_uri, node_account.private_key)


@pytest.fixture
def outbox_path(data_dir: Path) -> Path:
    return data_dir / "outbox.db"


@pytest.fixture
def outbox(outbox_path: Path, sender: TxSender) -> Iterator[Outbox]:
    box = Outbox(outbox_path, sender=sender)
    yield box
    box.close()


def _mint_request(token: Any, to: Any, amount: int) -> TxRequest:
    data = token.mint.encode_input(to, amount)
    return TxRequest(to=str(token.address), data="0x" + bytes(data).hex(), description="mint")


def _nonce(w3: Web3, account: Any) -> int:
    return int(w3.eth.get_transaction_count(str(account.address)))


@pytest.mark.usefixtures("minter")
def test_sends_once_and_ignores_a_second_enqueue(
    outbox: Outbox, token: Any, alice: Any, node_account: Any, w3: Web3
) -> None:
    before, nonce = token.balanceOf(alice), _nonce(w3, node_account)
    outbox.enqueue(KEY, _mint_request(token, alice, 5))
    entry = outbox.wait(KEY.id, timeout=30)
    assert entry.status == "confirmed" and entry.tx_hash == entry.attempts[0].tx_hash

    outbox.enqueue(KEY, _mint_request(token, alice, 5))  # a redelivered task
    assert outbox.process_once()["submitted"] == 0
    assert token.balanceOf(alice) == before + 5
    assert _nonce(w3, node_account) == nonce + 1
    assert outbox.counts() == {"confirmed": 1}


@pytest.mark.usefixtures("minter")
@pytest.mark.parametrize("crash", ["before-send", "after-send"])
def test_restart_after_a_crash_submits_exactly_once(
    crash: str,
    crash_kit: Any,
    outbox_path: Path,
    sender: TxSender,
    make_tx_sender: MakeSender,
    rpc_uri: str,
    token: Any,
    alice: Any,
    node_account: Any,
    w3: Web3,
) -> None:
    simulated_crash, crashing_outbox = crash_kit
    before, nonce = token.balanceOf(alice), _nonce(w3, node_account)
    dying = crashing_outbox(outbox_path, sender=sender, crash=crash)
    dying.enqueue(KEY, _mint_request(token, alice, 7))
    with pytest.raises(simulated_crash):
        dying.process_once()
    dying.close()

    # A new process: new connection, same database. The task that enqueued runs again too.
    restarted = Outbox(outbox_path, sender=make_tx_sender(rpc_uri, node_account.private_key))
    restarted.enqueue(KEY, _mint_request(token, alice, 7))
    entry = restarted.wait(KEY.id, timeout=30)
    restarted.close()

    assert entry.status == "confirmed"
    assert len(entry.attempts) == 1  # the recorded transaction, never a second one
    assert token.balanceOf(alice) == before + 7
    assert _nonce(w3, node_account) == nonce + 1


def test_a_reverting_call_fails_readably_without_sending(
    outbox: Outbox, token: Any, owner: Any, alice: Any, node_account: Any, w3: Web3
) -> None:
    # node_account must not hold MINTER_ROLE, whatever earlier tests left on the chain
    if token.hasRole(token.MINTER_ROLE(), node_account):
        token.revokeRole(token.MINTER_ROLE(), node_account, sender=owner)
    nonce = _nonce(w3, node_account)
    outbox.enqueue(KEY, _mint_request(token, alice, 1))
    assert outbox.process_once()["failed"] == 1
    entry = outbox.get(KEY.id)
    assert entry is not None and entry.status == "failed" and entry.attempts == ()
    assert entry.error and "." in entry.error
    assert _nonce(w3, node_account) == nonce


def test_cancel_drops_only_unsigned_entries(outbox: Outbox, token: Any, alice: Any) -> None:
    outbox.enqueue(KEY, _mint_request(token, alice, 1))
    assert outbox.cancel(KEY.id)
    assert outbox.process_once()["submitted"] == 0
    assert outbox.counts() == {"cancelled": 1}


ANVIL_KEYS = (
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",  # anvil account 1
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",  # anvil account 1's address
)


def test_a_stuck_transaction_is_replaced_with_bumped_fees(
    manual_anvil: str, make_tx_sender: MakeSender, data_dir: Path, clock: Any
) -> None:
    w3 = Web3(Web3.HTTPProvider(manual_anvil))
    sender = make_tx_sender(manual_anvil, ANVIL_KEYS[0])
    box = Outbox(data_dir / "stuck.db", sender=sender, stuck_after_s=30, clock=clock)
    payee = "0x000000000000000000000000000000000000dEaD"
    box.enqueue(KEY, TxRequest(to=payee, data="0x", value=12345, description="pay"))

    assert box.process_once()["submitted"] == 1
    clock.advance(10)
    assert box.process_once()["replaced"] == 0  # not stuck yet
    clock.advance(25)
    assert box.process_once()["replaced"] == 1

    entry = box.get(KEY.id)
    assert entry is not None
    first, second = entry.attempts
    assert first.nonce == second.nonce == 0
    assert second.max_fee * 1000 >= first.max_fee * 1125
    assert second.priority_fee * 1000 >= first.priority_fee * 1125

    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert box.process_once()["confirmed"] == 1
    entry = box.get(KEY.id)
    assert entry is not None and entry.status == "confirmed" and entry.tx_hash == second.tx_hash
    assert w3.eth.get_transaction_count(ANVIL_KEYS[1]) == 1
    assert w3.eth.get_balance(payee) == 12345  # paid once
    box.close()


@pytest.mark.usefixtures("minter")
def test_a_transaction_dropped_by_a_reorg_is_sent_again_once(
    outbox_path: Path,
    sender: TxSender,
    token: Any,
    alice: Any,
    node_account: Any,
    w3: Web3,
    chain: Any,
) -> None:
    box = Outbox(outbox_path, sender=sender, confirmations=3)
    before, nonce = token.balanceOf(alice), _nonce(w3, node_account)
    fork = chain.snapshot()
    box.enqueue(KEY, _mint_request(token, alice, 11))
    assert box.process_once()["submitted"] == 1  # mined at once (automine), 1 block deep
    assert box.process_once()["confirmed"] == 0

    chain.restore(fork)  # the block with the transaction is gone
    assert box.process_once()["rebroadcast"] == 1  # the same signed bytes, the same hash
    chain.mine(2)
    assert box.process_once()["confirmed"] == 1
    entry = box.get(KEY.id)
    box.close()

    assert entry is not None and len(entry.attempts) == 1
    assert entry.tx_hash == entry.attempts[0].tx_hash
    assert token.balanceOf(alice) == before + 11
    assert _nonce(w3, node_account) == nonce + 1


@pytest.mark.usefixtures("minter")
def test_gas_headroom_of_a_request_raises_its_gas_limit(
    outbox: Outbox, token: Any, alice: Any, w3: Web3
) -> None:
    """An attestation may decide its round once mined (more gas than estimated): its request
    asks for headroom, which the signed transaction's gas limit carries."""
    plain = _mint_request(token, alice, 1)
    request = TxRequest(to=plain.to, data=plain.data, description="roomy", gas_headroom=2.0)
    estimate = outbox.sender.estimate(request)
    multiplier = outbox.sender.client.settings.gas_multiplier
    outbox.enqueue(KEY, request)
    entry = outbox.wait(KEY.id, timeout=30)
    assert entry.status == "confirmed"
    gas = int(w3.eth.get_transaction(entry.tx_hash)["gas"])  # type: ignore[arg-type]
    assert gas == int(estimate * multiplier * 2.0)
