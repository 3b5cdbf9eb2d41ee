"""Round work on the real protocol: a node's report is submitted exactly once, whatever point
of the round the worker dies at and restarts from."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from offchain.abi import load_abi
from offchain.chain import TxSender
from offchain.outbox import Outbox
from offchain.watcher import EventWatcher, WatchedContract, WatcherStore
from offchain.worker.round_work import RoundWorker, TrainedRound, artifact_store_fn

pytestmark = pytest.mark.usefixtures("deployment", "pool")

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
        "file:///data",
        "{}",
        ROUND,
        WINDOW,
        1_000 * TOKEN,
        8,
        1,
    )
    hub.createPool(params, sender=admin)
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
        first_block=int(chain.blocks.head.number) + 1,
    )


@pytest.fixture
def in_submission_window(pool: SimpleNamespace, chain: Any) -> None:
    chain.pending_timestamp = pool.start + ROUND  # round 0 ended: its reports are accepted
    chain.mine()


class StubTrainer:
    """Stands in for ``trainer.collab.train_round`` (tested in tests/trainer): writes a small
    adapter file; can die on its first call."""

    def __init__(self, crash: type[BaseException] | None = None) -> None:
        self.calls = 0
        self.crash = crash

    def __call__(self, pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        self.calls += 1
        if self.crash is not None and self.calls == 1:
            raise self.crash
        data = f"adapter pool={pool_id} round={round}".encode()
        path = out_dir / "adapter.safetensors"
        path.write_bytes(data)
        return TrainedRound(
            adapter_path=path,
            adapter_hash="0x" + hashlib.sha256(data).hexdigest(),
            samples=640,
            loss=2.25,
            replay_root="0x" + keccak(text="records").hex().removeprefix("0x"),
        )


@pytest.fixture
def make_worker(
    pool: SimpleNamespace,
    deployment: Any,
    make_tx_sender: Callable[[str, str], TxSender],
    data_dir: Path,
) -> Callable[..., RoundWorker]:
    """A round worker of the pool's node, as a fresh process would build it."""

    def _make(train: StubTrainer, outbox_cls: type[Outbox] = Outbox, **kw: Any) -> RoundWorker:
        sender = make_tx_sender(deployment.rpc_url, pool.provider.private_key)
        return RoundWorker(
            outbox=outbox_cls(data_dir / "outbox.db", sender=sender, **kw),
            node_key=pool.node,
            ledger=pool.ledger,
            chain_id=deployment.chain_id,
            train=train,
            store=artifact_store_fn(data_dir / "artifacts"),
            rounds_dir=data_dir / "rounds",
        )

    return _make


def _reports_on_chain(w3: Web3, pool: SimpleNamespace, data_dir: Path) -> list[Any]:
    """ReportSubmitted events of the pool, read with the watcher."""

    class Keep:
        def __init__(self) -> None:
            self.events: list[Any] = []

        def dispatch(self, event: Any) -> None:
            self.events.append(event)

        def orphaned(self, event: Any) -> None:
            raise AssertionError("no reorg here")

    keep = Keep()
    store = WatcherStore(data_dir / "check-watcher.db")
    watched = WatchedContract("WorkLedger", pool.ledger, load_abi("WorkLedger"))
    EventWatcher(
        w3=w3, contracts=[watched], store=store, dispatcher=keep, start_block=pool.first_block
    ).poll_once()
    store.close()
    return [e for e in keep.events if e.event == "ReportSubmitted" and e.args["poolId"] == pool.id]


@pytest.mark.usefixtures("in_submission_window")
def test_round_work_submits_a_signed_report(
    make_worker: Callable[..., RoundWorker], pool: SimpleNamespace, w3: Web3, data_dir: Path
) -> None:
    train = StubTrainer()
    worker = make_worker(train)
    entry = worker.run(pool.id, 0, timeout=30)
    assert entry.status == "confirmed", entry.error

    (report,) = _reports_on_chain(w3, pool, data_dir)
    assert report.args["node"] == pool.node.address
    assert report.args["provider"] == pool.provider.address
    assert report.args["samples"] == 640 and report.args["loss"] == 2_250_000
    assert report.args["artifactUri"].startswith("file://")
    assert Path(report.args["artifactUri"].removeprefix("file://")).is_file()
    # running the round again (a redelivered task) is a no-op
    assert worker.run(pool.id, 0, timeout=30).tx_hash == entry.tx_hash
    assert train.calls == 1
    worker.outbox.close()


@pytest.mark.usefixtures("in_submission_window")
@pytest.mark.parametrize("crash_at", ["training", "before-send", "after-send"])
def test_killed_mid_round_and_restarted_submits_exactly_once(
    crash_at: str,
    crash_kit: Any,
    make_worker: Callable[..., RoundWorker],
    pool: SimpleNamespace,
    w3: Web3,
    data_dir: Path,
) -> None:
    simulated_crash, crashing_outbox = crash_kit
    if crash_at == "training":
        dying = make_worker(StubTrainer(crash=simulated_crash))
    else:
        dying = make_worker(StubTrainer(), outbox_cls=crashing_outbox, crash=crash_at)
    with pytest.raises(simulated_crash):
        dying.run(pool.id, 0, timeout=30)
    dying.outbox.close()

    train = StubTrainer()
    restarted = make_worker(train)
    entry = restarted.run(pool.id, 0, timeout=30)
    restarted.outbox.close()

    assert entry.status == "confirmed", entry.error
    assert len(entry.attempts) == 1
    assert train.calls == (1 if crash_at == "training" else 0)  # finished training is reused
    assert len(_reports_on_chain(w3, pool, data_dir)) == 1


def test_outside_the_window_the_report_fails_readably(
    make_worker: Callable[..., RoundWorker], pool: SimpleNamespace
) -> None:
    worker = make_worker(StubTrainer())
    entry = worker.run(pool.id, 0, timeout=30)  # round 0 has not ended yet
    worker.outbox.close()
    assert entry.status == "failed" and entry.attempts == ()
    assert entry.error
