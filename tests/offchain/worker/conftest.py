"""Fixtures for the worker-service tests: a web3 client on Ape's anvil, a deployed LoraToken,
watcher state in a temporary data dir, and a dispatcher that records what it receives.

Runs under ``ape test --network ethereum:local:foundry``: Ape starts anvil for the session and
isolates each test with a chain snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from offchain.watcher import ChainEvent, EventWatcher, WatchedContract, WatcherStore


@dataclass
class RecordingDispatcher:
    """Keeps what the watcher hands over; can be told to fail after some deliveries."""

    events: list[ChainEvent] = field(default_factory=list)
    orphans: list[ChainEvent] = field(default_factory=list)
    fail_after: int | None = None

    def dispatch(self, event: ChainEvent) -> None:
        if self.fail_after is not None and len(self.events) >= self.fail_after:
            raise RuntimeError("dispatcher down")
        self.events.append(event)

    def orphaned(self, event: ChainEvent) -> None:
        self.orphans.append(event)


@pytest.fixture(scope="session")
def owner(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def bob(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="session")
def rpc_uri(chain: Any) -> str:
    return str(chain.provider.http_uri)


@pytest.fixture
def w3(rpc_uri: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_uri, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def token(project: Any, owner: Any) -> Any:
    token = owner.deploy(project.LoraToken, owner)
    token.grantRole(token.MINTER_ROLE(), owner, sender=owner)
    return token


@pytest.fixture(scope="module")
def token_start_block(token: Any, chain: Any) -> int:
    """Watchers start here, just above the token's deployment and role set-up."""
    return int(chain.blocks.head.number) + 1


@pytest.fixture(scope="module")
def token_watched(token: Any) -> WatchedContract:
    abi = [entry.model_dump(mode="json", by_alias=True) for entry in token.contract_type.abi]
    return WatchedContract(name="LoraToken", address=str(token.address), abi=abi)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def make_watcher(
    w3: Web3,
    token_watched: WatchedContract,
    token_start_block: int,
    data_dir: Path,
    dispatcher: RecordingDispatcher,
) -> Iterator[Callable[..., EventWatcher]]:
    """Build watchers over the test token; each call opens the store anew (a restart)."""
    stores: list[WatcherStore] = []

    def _make(**overrides: Any) -> EventWatcher:
        store = WatcherStore(data_dir / "watcher.db")
        stores.append(store)
        options: dict[str, Any] = {
            "w3": w3,
            "contracts": [token_watched],
            "store": store,
            "dispatcher": dispatcher,
            "start_block": token_start_block,
        }
        options.update(overrides)
        return EventWatcher(**options)

    yield _make
    for store in stores:
        store.close()
