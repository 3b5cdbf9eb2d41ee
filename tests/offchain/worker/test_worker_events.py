"""The worker acts on the events it watches, on the real protocol (anvil): round work starts
on ``PoolStarted``/``NodeJoined``, stops on invalidation/ejection/blacklisting (unsigned reports
cancelled) or ``PoolEnded``, resumes when lifted, and a round that paid the node is claimed
once through the outbox — across redelivered tasks and restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from web3 import Web3

from offchain.abi import AbiNotFoundError, load_abi
from offchain.chain import TxSender
from offchain.chain.tx import TxRequest
from offchain.outbox import Outbox, OutboxKey
from offchain.watcher import ChainEvent, EventWatcher, WatchedContract, WatcherStore
from offchain.worker.actions import ServiceActions
from offchain.worker.handlers import HandlerContext, Outcome, kind_of, process
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.round_work import RoundWorker, TrainedRound, artifact_store_fn
from offchain.worker.rounds import RoundClock, RoundScheduler, RoundSlot
from offchain.worker.standing import Standing

pytestmark = pytest.mark.usefixtures("deployment", "pool")

ROUND = 600


@dataclass
class Recorded:
    """The watcher's dispatcher here: keeps the events for the test to run as tasks."""

    events: list[ChainEvent] = field(default_factory=list)

    def dispatch(self, event: ChainEvent) -> None:
        self.events.append(event)

    def orphaned(self, event: ChainEvent) -> None:
        raise AssertionError(f"unexpected reorg of {event}")


@dataclass
class NodeKit:
    """One node's worker pieces, as the service wires them (the Celery hop left out)."""

    ctx: HandlerContext
    actions: ServiceActions
    outbox: Outbox
    standing: Standing
    watcher: EventWatcher
    events: Recorded
    scheduled: list[RoundSlot] = field(default_factory=list)
    seen: int = 0

    def deliver(self) -> list[Outcome]:
        """Read the chain's new events and run each task, as the Celery worker would."""
        self.watcher.poll_once()
        new = self.events.events[self.seen :]
        self.seen = len(self.events.events)
        return [process(self.ctx, kind_of(e.event), e) for e in new]


@pytest.fixture
def make_kit(
    w3: Web3,
    pool: SimpleNamespace,
    deployment: Any,
    make_tx_sender: Callable[[str, str], TxSender],
    data_dir: Path,
) -> Iterator[Callable[..., NodeKit]]:
    """Build the node's pieces over ``data_dir``; a second call is a restart."""
    kits: list[NodeKit] = []

    def _make(claim_rewards: bool = True) -> NodeKit:
        sender = make_tx_sender(deployment.rpc_url, pool.provider.private_key)
        outbox = Outbox(data_dir / "outbox.db", sender=sender)
        standing = Standing(data_dir / "standing.db")
        contracts = []
        for name, address in sorted(deployment.contracts.items()):
            try:
                contracts.append(WatchedContract(name, address, load_abi(name)))
            except AbiNotFoundError:
                continue
        events = Recorded()
        watcher = EventWatcher(
            w3=w3,
            contracts=contracts,
            store=WatcherStore(data_dir / f"watcher-{len(kits)}.db"),
            dispatcher=events,
            start_block=0,
        )
        pools = w3.eth.contract(
            address=deployment.contracts["ComputePool"], abi=load_abi("ComputePool")
        )
        scheduled: list[RoundSlot] = []

        def dispatch(slot: RoundSlot) -> str:
            scheduled.append(slot)
            return f"round:{slot.pool_id}:{slot.round}"

        scheduler = RoundScheduler(RoundClock(pools, pool.node.address), standing, dispatch)
        ledger = w3.eth.contract(address=pool.ledger, abi=load_abi("WorkLedger"))
        actions = ServiceActions(
            standing=standing,
            outbox=outbox,
            ledger=ledger,
            node=pool.node.address,
            schedule=scheduler.schedule,
            claim_rewards=claim_rewards,
        )
        ctx = HandlerContext(
            processed=ProcessedStore(data_dir / "tasks.db"),
            node=pool.node.address,
            provider=pool.provider.address,
            actions=actions,
        )
        kit = NodeKit(ctx, actions, outbox, standing, watcher, events, scheduled)
        kits.append(kit)
        return kit

    yield _make
    for kit in kits:
        kit.outbox.close()
        kit.standing.close()
        kit.watcher.store.close()
        kit.ctx.processed.close()


def _queued_report(kit: NodeKit, pool: SimpleNamespace, round: int) -> str:
    """A signed-later report waiting in the outbox (its round has not ended)."""
    key = OutboxKey(pool.id, round, pool.node.address, "report")
    request = TxRequest(to=pool.ledger, data="0x", description="report")
    return kit.outbox.enqueue(key, request, not_before=2**40).key


def test_events_start_stop_and_resume_the_round_work(
    make_kit: Callable[..., NodeKit], pool: SimpleNamespace, deployment: Any, chain: Any
) -> None:
    hub, admin = _hub(deployment), deployment.deployer
    kit = make_kit()
    kit.deliver()  # NodeJoined (own) and PoolStarted: the current round is scheduled once
    assert [(s.pool_id, s.round) for s in kit.scheduled] == [(pool.id, 0)]
    report = _queued_report(kit, pool, 0)

    hub.setProviderBlacklisted(pool.provider.address, True, sender=admin)
    outcomes = kit.deliver()
    assert any(o.kind == "node_invalidated" and o.result.get("own_node") for o in outcomes)
    assert kit.standing.halts(pool.id) == ["provider_blacklisted"]
    assert kit.outbox.get(report).status == "cancelled"  # never signed, never sent

    # a restart remembers; redelivered events are skipped; the next round is not scheduled
    again = make_kit()
    assert again.standing.halts(pool.id) == ["provider_blacklisted"]
    redelivered = again.deliver()  # its own watcher reads every event again
    assert redelivered and all(not o.ran for o in redelivered)
    chain.pending_timestamp = pool.start + ROUND
    chain.mine()
    assert again.actions.schedule() is None and again.scheduled == []

    hub.setProviderBlacklisted(pool.provider.address, False, sender=admin)
    again.deliver()  # the stop is lifted: round 1 starts at once
    assert again.standing.halts(pool.id) == []
    assert [(s.pool_id, s.round) for s in again.scheduled] == [(pool.id, 1)]


def test_invalidation_ejects_and_revalidation_alone_does_not_resume(
    make_kit: Callable[..., NodeKit], pool: SimpleNamespace, deployment: Any
) -> None:
    hub, admin = _hub(deployment), deployment.deployer
    kit = make_kit()
    kit.deliver()
    report = _queued_report(kit, pool, 0)
    hub.setNodeValidated(pool.node.address, False, sender=admin)  # also ejects from the pool
    kit.deliver()
    assert kit.standing.halts(pool.id) == ["unvalidated", f"pool {pool.id} ejected"]
    assert kit.outbox.get(report).status == "cancelled"
    hub.setNodeValidated(pool.node.address, True, sender=admin)
    kit.deliver()
    assert kit.standing.halts(pool.id) == [f"pool {pool.id} ejected"]  # must join again


def test_latest_event_wins_whatever_the_task_order(
    make_kit: Callable[..., NodeKit], pool: SimpleNamespace, deployment: Any
) -> None:
    hub, admin = _hub(deployment), deployment.deployer
    kit = make_kit()
    kit.deliver()
    for value in (True, False, True, False):
        hub.setProviderBlacklisted(pool.provider.address, value, sender=admin)
    kit.watcher.poll_once()
    new = kit.events.events[kit.seen :]
    for event in reversed(new):  # tasks run out of order: the latest event still wins
        process(kit.ctx, kind_of(event.event), event)
    assert kit.standing.halts(pool.id) == []
    assert kit.standing.halts(pool.id + 1) == []


def test_pool_end_stops_new_work_but_keeps_made_reports(
    make_kit: Callable[..., NodeKit], pool: SimpleNamespace, deployment: Any
) -> None:
    kit = make_kit()
    kit.deliver()
    report = _queued_report(kit, pool, 0)
    _hub(deployment).endPool(pool.id, sender=deployment.deployer)
    kit.deliver()
    assert kit.standing.halts(pool.id) == [f"pool {pool.id} ended"]
    assert kit.outbox.get(report).status == "queued"


@pytest.mark.parametrize("claim_rewards", [True, False])
def test_a_round_that_paid_the_node_is_claimed_once(
    claim_rewards: bool,
    make_kit: Callable[..., NodeKit],
    pool: SimpleNamespace,
    deployment: Any,
    data_dir: Path,
    chain: Any,
    project: Any,
) -> None:
    kit = make_kit(claim_rewards=claim_rewards)
    kit.deliver()
    chain.pending_timestamp = pool.start + ROUND  # round 0 over: its submission window opens
    chain.mine()
    worker = RoundWorker(
        outbox=kit.outbox,
        node_key=pool.node,
        ledger=pool.ledger,
        chain_id=deployment.chain_id,
        train=_stub_train,
        store=artifact_store_fn(data_dir / "artifacts"),
        rounds_dir=data_dir / "rounds",
    )
    assert worker.run(pool.id, 0, timeout=60).status == "confirmed"
    ledger = project.WorkLedger.at(pool.ledger)
    _, _, submission_end = pool.pools.roundWindow(pool.id, 0)
    chain.pending_timestamp = int(submission_end)
    chain.mine()
    admin = deployment.deployer
    ledger.attest(pool.id, 0, 1, b"\x11" * 32, sender=admin)  # quorum 1: decided
    ledger.finalize(pool.id, 0, sender=admin)
    token = project.LoraToken.at(deployment.contracts["LoraToken"])
    before = int(token.balanceOf(pool.provider.address))
    pending = int(ledger.pendingRewards(pool.provider.address))
    assert pending > 0

    outcomes = kit.deliver()  # RewardAccrued (own node) -> claim through the outbox
    rewarded = [o for o in outcomes if o.kind == "rewarded"]
    assert rewarded and rewarded[0].result.get("own_node")
    key = OutboxKey(pool.id, 0, pool.node.address, "claim").id
    if not claim_rewards:
        assert kit.outbox.get(key) is None
        assert int(ledger.pendingRewards(pool.provider.address)) == pending
        return
    assert kit.outbox.wait(key, timeout=60).status == "confirmed"
    assert int(token.balanceOf(pool.provider.address)) == before + pending
    assert int(ledger.pendingRewards(pool.provider.address)) == 0

    # redelivered after a restart: the task is deduped and the outbox key exists
    again = make_kit()
    redelivered = [o for o in again.deliver() if o.kind == "rewarded"]
    assert redelivered and not any(o.ran for o in redelivered)
    assert again.actions.claim(pool.id, 0)["claim"] == "confirmed"
    assert again.outbox.counts() == {"confirmed": 2}  # the report and one claim


def _stub_train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
    data = f"adapter pool={pool_id} round={round}".encode()
    path = out_dir / "adapter.safetensors"
    path.write_bytes(data)
    return TrainedRound(
        adapter_path=path,
        adapter_hash="0x" + hashlib.sha256(data).hexdigest(),
        samples=64,
        loss=1.5,
        replay_root="0x" + "ab" * 32,
    )


def _hub(deployment: Any) -> Any:
    import ape

    return ape.project.NetworkHub.at(deployment.contracts["NetworkHub"])
