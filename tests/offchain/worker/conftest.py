"""Fixtures for the worker-service tests: a web3 client on Ape's anvil, a deployed LoraToken,
watcher state in a temporary data dir, and a dispatcher that records what it receives.

Runs under ``ape test --network ethereum:local:foundry``: Ape starts anvil for the session and
isolates each test with a chain snapshot.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from offchain.abi import load_abi
from offchain.chain import ChainClient, Deployment, TxSender
from offchain.keys import Keystore
from offchain.outbox import Outbox
from offchain.settings import Settings
from offchain.watcher import ChainEvent, EventWatcher, WatchedContract, WatcherStore
from offchain.worker.settings import WorkerSettings


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
    token.setMintAllowance(2**256 - 1, sender=owner)  # emissions are governance-budgeted
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


# -- Celery -------------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """Wait for a condition (polled), failing with ``message`` after ``timeout`` seconds."""

    def _wait(predicate: Callable[[], bool], *, timeout: float = 60.0, message: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s: {message}")
            time.sleep(0.05)

    return _wait


@pytest.fixture(params=["sqlite", "redis"])
def worker_settings(request: pytest.FixtureRequest, data_dir: Path) -> WorkerSettings:
    """Settings of one node on each broker: the embedded SQLite one and Redis."""
    queue = f"loranet-test-{uuid.uuid4().hex[:10]}"  # no cross-talk on a shared Redis
    if request.param == "redis":
        if not _redis_answers(REDIS_URL):
            print(f"no Redis server answers at {REDIS_URL}: skipping the Redis broker run")
            pytest.skip(f"no Redis server answers at {REDIS_URL}")
        return WorkerSettings(data_dir=data_dir, broker_url=REDIS_URL, queue=queue)
    return WorkerSettings(data_dir=data_dir, queue=queue)


@pytest.fixture
def celery_worker(worker_settings: WorkerSettings) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (``-P solo``) on the test's broker; stopped on teardown."""
    env = {
        **os.environ,
        "LORANET_DATA_DIR": str(worker_settings.data_dir),
        "LORANET_QUEUE": worker_settings.queue,
    }
    env.pop("LORANET_BROKER_URL", None)
    if worker_settings.broker_url:
        env["LORANET_BROKER_URL"] = worker_settings.broker_url
    log = (worker_settings.data_dir / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "offchain.worker.celery_app"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


# -- transactions -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def manual_anvil() -> Iterator[str]:
    """A second anvil that mines only when told (``evm_mine``): transactions can get stuck."""
    port = _free_port()
    proc = subprocess.Popen(
        ["anvil", "--no-mining", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    deadline = time.monotonic() + 20
    while not w3.is_connected():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("anvil --no-mining did not start")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def make_tx_sender(tmp_path: Path) -> Callable[[str, str], TxSender]:
    """A ``TxSender`` (the chain client's transaction path) for an RPC URL and a private key."""

    def _make(rpc_url: str, private_key: str) -> TxSender:
        settings = Settings(network="local", rpc_url=rpc_url, data_dir=tmp_path / "chain")
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        deployment = Deployment(chain_id=int(w3.eth.chain_id), contracts={})
        client = ChainClient(settings=settings, w3=w3, deployment=deployment)
        return TxSender(client, Account.from_key(private_key))

    return _make


class FakeClock:
    """Wall clock the test moves by hand (the outbox persists wall-clock times)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class SimulatedCrash(BaseException):
    """The process dies here (a BaseException: nothing in the code under test swallows it)."""


class CrashingOutbox(Outbox):
    """An outbox whose process dies right before, or right after, bytes reach the node."""

    def __init__(self, *args: Any, crash: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crash = crash

    def send_raw(self, raw: str) -> None:
        if self.crash == "before-send":
            raise SimulatedCrash
        super().send_raw(raw)
        raise SimulatedCrash


@pytest.fixture
def crash_kit() -> tuple[type[SimulatedCrash], type[CrashingOutbox]]:
    """``(SimulatedCrash, CrashingOutbox)`` for crash-and-restart tests."""
    return SimulatedCrash, CrashingOutbox


# -- the protocol ---------------------------------------------------------------------------------

ROUND, WINDOW, DEADLINE, ZERO = 600, 300, 2**63, b"\x00" * 32
TOKEN = 10**18


def _sign(
    key: LocalAccount,
    domain: str,
    contract: Any,
    chain_id: int,
    primary: str,
    fields: list[tuple[str, str]],
    message: dict[str, Any],
) -> bytes:
    signed = Account.sign_typed_data(
        key.key,
        domain_data={
            "name": domain,
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": str(contract.address),
        },
        message_types={primary: [{"name": n, "type": t} for n, t in fields]},
        message_data=message,
    )
    return bytes(signed.signature)


@pytest.fixture(scope="module")
def pool(deployment: Any, project: Any, chain: Any) -> SimpleNamespace:
    """Pool with one validated node of a staked provider, started; round 0 running."""
    c = deployment.contracts
    hub = project.NetworkHub.at(c["NetworkHub"])
    token = project.LoraToken.at(c["LoraToken"])
    registry = project.ComputeRegistry.at(c["ComputeRegistry"])
    pools = project.ComputePool.at(c["ComputePool"])
    admin, provider = deployment.deployer, deployment.accounts[6]
    node = Account.from_key(keccak(text="loranet-worker-round-node"))

    token.approve(c["StakeManager"], 5_000 * TOKEN, sender=provider)
    hub.registerProvider(5_000 * TOKEN, 0, 0, ZERO, ZERO, sender=provider)
    add = {
        "provider": provider.address,
        "node": node.address,
        "computeUnits": 10,
        "specsHash": ZERO,
        "nonce": registry.nonces(node.address),
        "deadline": DEADLINE,
    }
    fields = [
        ("provider", "address"),
        ("node", "address"),
        ("computeUnits", "uint32"),
        ("specsHash", "bytes32"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ]
    sig = _sign(node, "loranet ComputeRegistry", registry, chain.chain_id, "AddNode", fields, add)
    hub.addNode(node.address, 10, ZERO, DEADLINE, sig, sender=provider)
    hub.setNodeValidated(node.address, True, sender=admin)

    params = (
        1,
        keccak(text="base-model"),
        "hf://tiny",
        keccak(text="data"),
        "builtin://arithmetic",  # the built-in data set (no artifact)
        "{}",
        ROUND,
        WINDOW,
        1_000 * TOKEN,
        8,
        1,
    )
    budget = 100 * params[8]  # the creator escrows 100 rounds of rewards
    token.approve(c["WorkLedger"], budget, sender=admin)
    hub.createPool(params, budget, 0, 0, ZERO, ZERO, sender=admin)
    pool_id = int(pools.poolCount())
    hub.startPool(pool_id, sender=admin)
    join = {
        "poolId": pool_id,
        "node": node.address,
        "provider": provider.address,
        "nonce": pools.nonces(node.address),
        "deadline": DEADLINE,
    }
    fields = [
        ("poolId", "uint256"),
        ("node", "address"),
        ("provider", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ]
    sig = _sign(node, "loranet ComputePool", pools, chain.chain_id, "JoinPool", fields, join)
    hub.joinPool(pool_id, node.address, DEADLINE, sig, sender=provider)
    return SimpleNamespace(
        id=pool_id,
        start=int(pools.poolOf(pool_id).startTime),
        node=node,
        provider=provider,
        ledger=c["WorkLedger"],
        pools=pools,
        first_block=int(chain.blocks.head.number) + 1,
    )


@pytest.fixture
def read_reports(w3: Web3, pool: SimpleNamespace, tmp_path: Path) -> Callable[[], list[ChainEvent]]:
    """``ReportSubmitted`` events of the test pool on chain, read with a fresh watcher."""

    def _read() -> list[ChainEvent]:
        keep = RecordingDispatcher()
        store = WatcherStore(tmp_path / f"reports-{uuid.uuid4().hex[:6]}.db")
        watched = WatchedContract("WorkLedger", pool.ledger, load_abi("WorkLedger"))
        watcher = EventWatcher(
            w3=w3, contracts=[watched], store=store, dispatcher=keep, start_block=pool.first_block
        )
        watcher.poll_once()
        store.close()
        assert keep.orphans == []
        return [e for e in keep.events if e.event == "ReportSubmitted"]

    return _read


# -- the worker as users run it ------------------------------------------------------------------

PASSWORD = "worker-test-password"


@pytest.fixture
def worker_env(deployment: Any, pool: SimpleNamespace, data_dir: Path) -> dict[str, str]:
    """Environment of a node operator: keystores, deployment, RPC, data dir."""
    keys, node_keys = data_dir.parent / "keys", data_dir.parent / "node-keys"
    Keystore(keys, scrypt_n=16).import_key("provider", pool.provider.private_key, PASSWORD)
    Keystore(node_keys, kind="node key", scrypt_n=16).import_key(
        "node", "0x" + bytes(pool.node.key).hex(), PASSWORD
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORANET_")}
    env.update(
        {
            "LORANET_NETWORK": "local",
            "LORANET_RPC_URL": deployment.rpc_url,
            "LORANET_DEPLOYMENTS_FILE": str(deployment.file),
            "LORANET_DATA_DIR": str(data_dir),
            "LORANET_KEYSTORE_DIR": str(keys),
            "LORANET_NODE_KEYSTORE_DIR": str(node_keys),
            "LORANET_PASSWORD": PASSWORD,
            "LORANET_NODE_PASSWORD": PASSWORD,
            "LORANET_QUEUE": f"loranet-test-{uuid.uuid4().hex[:8]}",
            "LORANET_METRICS_PORT": str(_free_port()),
            "LORANET_WATCH_POLL_INTERVAL_S": "0.2",
            "LORANET_HEARTBEAT_INTERVAL_S": "0.5",
        }
    )
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str], data_dir: Path) -> Iterator[Callable[[], Any]]:
    """Start ``loranet worker run`` (dry-run trainer) as a process; all are killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def _start() -> subprocess.Popen[bytes]:
        log = (data_dir / f"worker-{len(procs)}.log").open("wb")
        cmd = [str(Path(sys.executable).parent / "loranet"), "worker", "run"]
        cmd += ["--node", "node", "--account", "provider", "--trainer", "dry-run"]
        proc = subprocess.Popen(cmd, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
