"""Reorgs deeper than a service's confirmations, made with anvil's own ``anvil_reorg``.

- The outbox re-sends its own transaction that a reorg dropped after it was confirmed, exactly
  once, with the same signed bytes (or, if another transaction took its nonce on the new
  branch, with a fresh signature).
- A reorg deeper than the watcher's window does not stop the watcher: it re-anchors below the
  window, raises an alert, and keeps delivering the new branch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.chain import TxRequest, TxSender
from offchain.outbox import Outbox, OutboxKey
from offchain.watcher import EventWatcher

MakeSender = Callable[[str, str], TxSender]

pytestmark = pytest.mark.usefixtures(
    "owner", "alice", "bob", "token", "token_watched", "token_start_block", "reorg_account"
)

KEY = OutboxKey(pool=1, round=4, node="0x00000000000000000000000000000000000000bb", kind="report")


@pytest.fixture(scope="session")
def reorg_account(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture
def minter(token: Any, owner: Any, reorg_account: Any) -> Any:
    token.grantRole(token.MINTER_ROLE(), reorg_account, sender=owner)
    return reorg_account


@pytest.fixture
def outbox(
    data_dir: Path, make_tx_sender: MakeSender, rpc_uri: str, reorg_account: Any
) -> Iterator[Outbox]:
    box = Outbox(
        data_dir / "outbox.db",
        sender=make_tx_sender(rpc_uri, reorg_account.private_key),
        recheck_interval_s=0,  # re-check confirmed entries on every pass
    )
    yield box
    box.close()


def _transfers(events: list[Any]) -> list[tuple[str, int]]:
    """(to, value) of the token's Transfer events (the watcher also sees its role events)."""
    return [(e.args["to"], int(e.args["value"])) for e in events if e.event == "Transfer"]


def _reorg(w3: Web3, depth: int) -> None:
    """Replace the newest ``depth`` blocks with empty ones (anvil's own reorg)."""
    response = w3.provider.make_request("anvil_reorg", [depth, []])  # type: ignore[arg-type]
    assert "error" not in response, response


def _mint_request(token: Any, to: Any, amount: int) -> TxRequest:
    data = token.mint.encode_input(to, amount)
    return TxRequest(to=str(token.address), data="0x" + bytes(data).hex(), description="mint")


# First in the module: the other tests' reorgs leave Ape's snapshots of later tests unsure.
def test_strict_watcher_still_refuses_a_too_deep_reorg(
    make_watcher: Callable[..., EventWatcher], token: Any, owner: Any, alice: Any, w3: Web3
) -> None:
    from offchain.watcher.errors import ReorgTooDeepError

    watcher = make_watcher(reorg_window=1, strict_reorgs=True)
    watcher.poll_once()
    for amount in (1, 2, 3):
        token.mint(alice, amount, sender=owner)
    watcher.poll_once()
    _reorg(w3, 3)
    token.mint(alice, 7, sender=owner)
    token.mint(alice, 8, sender=owner)
    with pytest.raises(ReorgTooDeepError):
        watcher.poll_once()


@pytest.mark.usefixtures("minter")
def test_outbox_resends_its_confirmed_transaction_dropped_by_a_reorg(
    outbox: Outbox, token: Any, alice: Any, w3: Web3, chain: Any
) -> None:
    before = token.balanceOf(alice)
    outbox.enqueue(KEY, _mint_request(token, alice, 5))
    first = outbox.wait(KEY.id, timeout=30)
    assert first.status == "confirmed" and first.block is not None
    chain.mine(2)

    _reorg(w3, int(w3.eth.block_number) - first.block + 1)  # drops the mined transaction
    assert token.balanceOf(alice) == before
    assert outbox.recheck_confirmed() == [KEY.id]

    again = outbox.wait(KEY.id, timeout=30)
    assert again.status == "confirmed"
    assert again.tx_hash == first.tx_hash and len(again.attempts) == 1  # the same bytes
    assert token.balanceOf(alice) == before + 5  # exactly once
    assert outbox.recheck_confirmed() == []  # and it stays put


@pytest.mark.usefixtures("minter")
def test_a_reopened_entry_whose_nonce_was_taken_is_signed_again(
    outbox: Outbox, token: Any, alice: Any, bob: Any, reorg_account: Any, w3: Web3
) -> None:
    before = token.balanceOf(alice)
    outbox.enqueue(KEY, _mint_request(token, alice, 9))
    first = outbox.wait(KEY.id, timeout=30)
    assert first.block is not None
    _reorg(w3, int(w3.eth.block_number) - first.block + 1)
    # On the new branch the account sends something else first: the recorded nonce is gone.
    token.mint(bob, 1, sender=reorg_account)

    again = outbox.wait(KEY.id, timeout=30)
    assert again.status == "confirmed"
    assert again.tx_hash != first.tx_hash and len(again.attempts) == 2
    assert token.balanceOf(alice) == before + 9


def test_watcher_survives_a_reorg_deeper_than_its_window(
    make_watcher: Callable[..., EventWatcher],
    dispatcher: Any,
    token: Any,
    owner: Any,
    alice: Any,
    bob: Any,
    w3: Web3,
) -> None:
    watcher = make_watcher(reorg_window=2)
    watcher.poll_once()
    for amount in (1, 2, 3, 4):
        token.mint(alice, amount, sender=owner)  # one block each
    assert watcher.poll_once().events == 4

    _reorg(w3, 4)  # every block the watcher still has a hash for, and more
    for amount in (10, 20, 30, 40, 50):
        token.mint(bob, amount, sender=owner)
    result = watcher.poll_once()  # no exception: the service keeps running

    assert result.reorg is not None and result.reorg.too_deep
    assert watcher.too_deep_reorgs == 1
    new_branch = [v for to, v in _transfers(dispatcher.events) if to == bob.address]
    assert new_branch == [10, 20, 30, 40, 50]
    # the dropped logs the re-read window still covered are reported as orphaned
    dropped = [v for to, v in _transfers(dispatcher.orphans) if to == alice.address]
    assert dropped and set(dropped) <= {1, 2, 3, 4}
    assert watcher.poll_once().reorg is None  # settled on the new branch
