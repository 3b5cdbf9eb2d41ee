"""The event watcher against LoraToken Transfer events on a real anvil."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from offchain.watcher import ChainEvent, EventWatcher

MakeWatcher = Callable[..., EventWatcher]

# Module-scoped deployments first, before Ape's per-test snapshot.
pytestmark = pytest.mark.usefixtures("owner", "alice", "bob", "token_watched", "token_start_block")


def _mint(token: Any, owner: Any, to: Any, amounts: list[int]) -> None:
    for amount in amounts:
        token.mint(to, amount, sender=owner)


def _values(events: list[ChainEvent]) -> list[int]:
    return [int(e.args["value"]) for e in events]


def test_decodes_transfers_as_typed_events(
    make_watcher: MakeWatcher, dispatcher: Any, token: Any, owner: Any, alice: Any
) -> None:
    receipt = token.mint(alice, 7, sender=owner)
    result = make_watcher().poll_once()

    assert result.events == 1 and result.delivered == 1
    (event,) = dispatcher.events
    assert event.event == "Transfer" and event.contract == "LoraToken"
    assert event.args == {"from": "0x" + "00" * 20, "to": str(alice.address), "value": 7}
    assert event.address == str(token.address)
    assert event.block_number == receipt.block_number
    assert event.tx_hash == receipt.txn_hash
    assert event.key.id == f"{event.chain_id}:{event.tx_hash}:{event.log_index}"
    # The JSON form is lossless: this is what travels through the broker.
    assert ChainEvent.model_validate_json(event.model_dump_json()) == event


def test_each_log_dispatched_once_across_polls_and_restarts(
    make_watcher: MakeWatcher, dispatcher: Any, token: Any, owner: Any, alice: Any
) -> None:
    _mint(token, owner, alice, [1, 2, 3])
    watcher = make_watcher()
    assert watcher.poll_once().events == 3
    assert watcher.poll_once().events == 0

    _mint(token, owner, alice, [4, 5])
    restarted = make_watcher()  # same data dir: the cursor and dispatched table persist
    assert restarted.poll_once().events == 2
    assert _values(dispatcher.events) == [1, 2, 3, 4, 5]
    assert len({e.key for e in dispatcher.events}) == 5


def test_waits_for_confirmations(
    make_watcher: MakeWatcher,
    dispatcher: Any,
    token: Any,
    owner: Any,
    alice: Any,
    chain: Any,
) -> None:
    watcher = make_watcher(confirmations=3)
    _mint(token, owner, alice, [10])
    assert watcher.poll_once().events == 0
    chain.mine(2)
    assert watcher.poll_once().events == 0
    chain.mine(1)
    assert watcher.poll_once().events == 1
    assert _values(dispatcher.events) == [10]


class _LimitedProvider(BaseProvider):
    """Forwards to anvil but refuses ``eth_getLogs`` over more than ``max_blocks`` blocks, as
    hosted RPC providers do (anvil itself has no limit)."""

    def __init__(self, inner: BaseProvider, max_blocks: int) -> None:
        super().__init__()
        self.inner = inner
        self.max_blocks = max_blocks
        self.refused = 0

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_getLogs":
            query = params[0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if span > self.max_blocks:
                self.refused += 1
                error = {"code": -32005, "message": "query returned more than 10000 results"}
                return {"jsonrpc": "2.0", "id": 0, "error": error}
        return self.inner.make_request(method, params)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def test_shrinks_pages_when_the_node_refuses_large_ranges(
    make_watcher: MakeWatcher,
    dispatcher: Any,
    w3: Web3,
    token: Any,
    owner: Any,
    alice: Any,
) -> None:
    _mint(token, owner, alice, [1, 2, 3, 4, 5, 6])
    limited = _LimitedProvider(w3.provider, max_blocks=2)
    watcher = make_watcher(w3=Web3(limited), page_size=64, max_page_size=64)
    result = watcher.poll_once()

    assert limited.refused > 0
    assert watcher.page_size <= 4
    assert result.events == 6 and _values(dispatcher.events) == [1, 2, 3, 4, 5, 6]


def test_small_pages_catch_up_in_order(
    make_watcher: MakeWatcher, dispatcher: Any, token: Any, owner: Any, alice: Any
) -> None:
    _mint(token, owner, alice, list(range(1, 9)))
    result = make_watcher(page_size=1, max_page_size=1).poll_once()
    assert result.pages >= 8
    assert _values(dispatcher.events) == list(range(1, 9))


def test_failed_delivery_resumes_without_repeats(
    make_watcher: MakeWatcher, dispatcher: Any, token: Any, owner: Any, alice: Any
) -> None:
    _mint(token, owner, alice, [1, 2, 3, 4])
    dispatcher.fail_after = 2
    with pytest.raises(RuntimeError, match="dispatcher down"):
        make_watcher().poll_once()
    assert _values(dispatcher.events) == [1, 2]

    dispatcher.fail_after = None
    result = make_watcher().poll_once()  # restart: the page is committed, deliveries resume
    assert result.events == 0 and result.delivered == 2
    assert _values(dispatcher.events) == [1, 2, 3, 4]


def test_reorg_orphans_dropped_logs_and_dispatches_the_new_branch(
    make_watcher: MakeWatcher,
    dispatcher: Any,
    token: Any,
    owner: Any,
    alice: Any,
    bob: Any,
    chain: Any,
) -> None:
    watcher = make_watcher()
    _mint(token, owner, alice, [1])  # before the fork point: must survive untouched
    watcher.poll_once()
    fork = chain.snapshot()
    _mint(token, owner, alice, [2, 3])  # the branch that will be dropped
    assert watcher.poll_once().events == 2

    chain.restore(fork)
    _mint(token, owner, bob, [20, 30, 40])  # the new branch, longer than the old one
    result = watcher.poll_once()

    assert result.reorg is not None and result.reorg.reorged_logs == 2
    assert result.events == 3 and result.orphaned == 2
    assert _values(dispatcher.events) == [1, 2, 3, 20, 30, 40]  # nothing repeated
    assert _values(dispatcher.orphans) == [2, 3]  # dropped ones reported once
    counts = watcher.store.counts(watcher.chain_id)
    assert (counts.dispatched, counts.orphaned, counts.reorged) == (4, 2, 0)
    assert _values(watcher.store.events(watcher.chain_id)) == [1, 20, 30, 40]
    assert watcher.poll_once().events == 0 and len(dispatcher.orphans) == 2


def test_reorg_that_reincludes_a_transaction_does_not_repeat_it(
    make_watcher: MakeWatcher,
    dispatcher: Any,
    w3: Web3,
    token: Any,
    owner: Any,
    alice: Any,
    chain: Any,
) -> None:
    watcher = make_watcher()
    watcher.poll_once()
    fork = chain.snapshot()
    call = token.mint.as_transaction(alice, 5, sender=owner)
    signed = w3.eth.account.sign_transaction(
        {
            "to": str(token.address),
            "data": "0x" + bytes(call.data).hex(),
            "gas": 200_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "nonce": w3.eth.get_transaction_count(str(owner.address)),
            "chainId": w3.eth.chain_id,
        },
        owner.private_key,
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert watcher.poll_once().events == 1

    chain.restore(fork)
    chain.mine(1)  # a different block at the old height...
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    result = watcher.poll_once()  # ...and the same transaction one block later

    assert result.reorg is not None
    assert _values(dispatcher.events) == [5]
    assert result.events + result.revived + result.orphaned >= 1
    # Same tx hash, same log index (first log of its block) -> the same key: revived, not new.
    assert result.revived == 1 and result.events == 0 and dispatcher.orphans == []
