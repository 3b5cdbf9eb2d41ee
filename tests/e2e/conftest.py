"""End-to-end fixtures: the protocol on anvil, a pool with four nodes, one real hivemind round.

The module fixture ``trained_round`` trains round 0 of the pool ONCE: three real hivemind
peers (subprocesses running the worker's ``offchain.worker.node_process``) train together
while a DHT reader in this process records the progress each node published (what a
validator does during the round). Nodes 0 and 1 are honest; node 2 trained too (the
``inflate`` and ``noise`` cheaters start from its work); node 3 never trained (the ``copy``
and ``lazy`` cheaters). Each test then submits the
reports of its scenario and runs validators in-process against the real contracts; Ape
rolls the chain back after every test, so the scenarios do not see each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from e2e_support import (
    CHALLENGE_WINDOW,
    EVAL_TOLERANCE,
    NODES,
    PEERS,
    QUORUM,
    REWARD,
    ROUND_LENGTH,
    SLASH_BPS,
    STAKE,
    SUBMISSION_WINDOW,
    TRAIN_TIMEOUT_S,
    Protocol4,
    TrainedRound0,
    client_for,
)
from eth_account import Account
from eth_utils import keccak

from offchain.chain import TxSender
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.signing import WORK_REPORT_TYPE as WORK_REPORT_TYPES
from offchain.chain.signing import sign_work_report
from offchain.validator.progress import ProgressLog, ProgressRecorder
from offchain.validator.service import ValidatorService
from offchain.validator.settings import ValidatorSettings
from offchain.worker.node_process import RESULT_FILE, NodeSpec
from offchain.worker.round_work import TrainedRound, report_message
from offchain.worker.training import publishing_store_fn
from trainer.collab import create_dht, run_id_for, visible_maddrs
from trainer.config import DilocoConfig, HivemindConfig, TrainConfig


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def e2e_cfg() -> TrainConfig:
    """A short DiLoCo round: 3 outer steps of 4 inner steps (batch 8) per peer."""
    return TrainConfig(
        max_epochs=3,
        max_local_steps=60,
        torch_threads=1,
        diloco=DilocoConfig(inner_steps=4, sync_wait=30.0),
        hivemind=HivemindConfig(
            averaging_timeout=30.0,
            barrier_timeout=90.0,
            join_grace=60.0,
            start_delay=1.0,
            run_prefix="e2e",
        ),
    )


@pytest.fixture(scope="module")
def protocol(
    deployment: Any, project: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory
) -> Protocol4:
    c = deployment.contracts
    hub = project.NetworkHub.at(c["NetworkHub"])
    admin = deployment.deployer
    policy = (QUORUM, CHALLENGE_WINDOW, EVAL_TOLERANCE, 15_000, 10_000, 5_000, SLASH_BPS, 0)
    hub.createDomain("e2e-lora", policy, sender=admin)
    domain_id = int(project.DomainRegistry.at(c["DomainRegistry"]).domainIdOf("e2e-lora"))
    validators = [deployment.accounts[7], deployment.accounts[8], deployment.accounts[9]]
    for v in validators:
        hub.grantRole(hub.VALIDATOR_ROLE(), v, sender=admin)

    client = client_for(deployment.rpc_url, c, deployment.chain_id, tmp_path_factory.mktemp("e2e"))
    proto = Protocol(client)
    providers = [deployment.accounts[i] for i in range(1, 1 + NODES)]
    nodes = [Account.from_key(keccak(text=f"loranet-e2e-node-{i}")) for i in range(NODES)]
    for provider, node in zip(providers, nodes, strict=True):
        actions = ProviderActions(proto, TxSender(client, Account.from_key(provider.private_key)))
        actions.register(STAKE)
        actions.add_node(node, units=10, specs_hash=b"\x00" * 32)
        hub.setNodeValidated(node.address, True, sender=admin)
    params = (
        domain_id,
        keccak(text="tiny"),
        "tiny://llama",
        keccak(text="arithmetic"),
        "builtin://arithmetic",
        "{}",
        ROUND_LENGTH,
        SUBMISSION_WINDOW,
        REWARD,
        8,
        1,
    )
    budget = 100 * REWARD  # the creator escrows 100 rounds of rewards
    project.LoraToken.at(c["LoraToken"]).approve(c["WorkLedger"], budget, sender=admin)
    hub.createPool(params, budget, 0, 0, b"\x00" * 32, b"\x00" * 32, sender=admin)
    pools = project.ComputePool.at(c["ComputePool"])
    pool_id = int(pools.poolCount())
    hub.startPool(pool_id, sender=admin)
    for provider, node in zip(providers, nodes, strict=True):
        actions = ProviderActions(proto, TxSender(client, Account.from_key(provider.private_key)))
        actions.join_pool(pool_id, node)
    return Protocol4(
        rpc_url=deployment.rpc_url,
        chain_id=deployment.chain_id,
        contracts=dict(c),
        pool_id=pool_id,
        start=int(pools.poolOf(pool_id).startTime),
        first_block=int(chain.blocks.head.number),
        providers=providers,
        nodes=nodes,
        validators=validators,
        ledger=project.WorkLedger.at(c["WorkLedger"]),
        stake=project.StakeManager.at(c["StakeManager"]),
        pools=pools,
    )


@pytest.fixture(scope="module")
def trained_round(
    protocol: Protocol4, e2e_cfg: TrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> TrainedRound0:
    root = tmp_path_factory.mktemp("swarm")
    node_dirs = [root / f"node{i}" for i in range(NODES)]
    run_id = run_id_for(e2e_cfg.hivemind.run_prefix, protocol.pool_id, 0)
    bootstrap = create_dht(e2e_cfg.hivemind, read_progress=True)
    log = ProgressLog(root / "progress.db")
    recorder = ProgressRecorder(bootstrap, log, lambda: [run_id], interval_s=0.2)
    procs: list[subprocess.Popen[bytes]] = []
    started = time.perf_counter()
    try:
        recorder.start()
        for i in range(PEERS):
            out = node_dirs[i] / "rounds" / str(protocol.pool_id) / "0"
            out.mkdir(parents=True)
            spec = NodeSpec(
                cfg=e2e_cfg,
                node_key="0x" + bytes(protocol.nodes[i].key).hex(),
                pool_id=protocol.pool_id,
                round=0,
                node_index=i,
                node_count=PEERS,
                initial_peers=visible_maddrs(bootstrap),
                base_adapter=None,
                base_hash="0x" + "00" * 32,
                out_dir=out,
            )
            with (out / "train.log").open("wb") as peer_log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "offchain.worker.node_process"],
                    stdin=subprocess.PIPE,
                    stdout=peer_log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "OMP_NUM_THREADS": "1"},
                    start_new_session=True,
                )
            assert proc.stdin is not None
            proc.stdin.write(spec.payload().encode())
            proc.stdin.close()
            procs.append(proc)
        deadline = time.monotonic() + TRAIN_TIMEOUT_S
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
        recorder.stop()
        log.close()
        bootstrap.shutdown()
    trained: dict[int, TrainedRound] = {}
    uris: dict[int, str] = {}
    for i in range(PEERS):
        out = node_dirs[i] / "rounds" / str(protocol.pool_id) / "0"
        result = out / RESULT_FILE
        assert result.is_file(), (out / "train.log").read_text()[-3000:]
        trained[i] = TrainedRound.model_validate_json(result.read_text())
        (out / "trained.json").write_text(result.read_text())  # the worker's marker
        uris[i] = publishing_store_fn(node_dirs[i] / "artifacts")(trained[i].adapter_path)
    node_dirs[3].mkdir(parents=True, exist_ok=True)
    return TrainedRound0(
        e2e_cfg, node_dirs, trained, uris, root / "progress.db", time.perf_counter() - started
    )


# -- per test ---------------------------------------------------------------------------------


@pytest.fixture
def submit(protocol: Protocol4, chain: Any) -> Callable[[int, TrainedRound, str], int]:
    """Submit node ``i``'s signed report of round 0 (sent by its provider); returns the index."""

    def _submit(i: int, trained: TrainedRound, uri: str) -> int:
        if chain.pending_timestamp < protocol.end:
            chain.pending_timestamp = protocol.end
        node = protocol.nodes[i]
        message = report_message(
            pool_id=protocol.pool_id,
            round=0,
            node=node.address,
            trained=trained,
            uri=uri,
            mode=1 if trained.execution_mode is None else trained.execution_mode,
        )
        signature = sign_work_report(
            node, message, chain_id=protocol.chain_id, ledger=protocol.contracts["WorkLedger"]
        )
        report = tuple(message[f["name"]] for f in WORK_REPORT_TYPES)
        protocol.ledger.submitReport(report, signature, sender=protocol.providers[i])
        return int(protocol.ledger.roundState(protocol.pool_id, 0).reportCount) - 1

    return _submit


@pytest.fixture
def make_validator(
    protocol: Protocol4, trained_round: TrainedRound0, tmp_path: Path
) -> Iterator[Callable[[int], ValidatorService]]:
    """Validator ``k`` (of ``protocol.validators``) as ``loranet validator run`` builds it,
    with the progress recorded during the round (one recorder stood in for every validator's)."""
    built: list[ValidatorService] = []

    def _make(k: int, **settings: Any) -> ValidatorService:
        data = tmp_path / f"validator{k}"
        if not data.exists():  # a second call with the same k is a restart of that validator
            data.mkdir()
            shutil.copyfile(trained_round.progress_db, data / "progress.db")
        account = protocol.validators[k]
        service = ValidatorService.build(
            client=client_for(protocol.rpc_url, protocol.contracts, protocol.chain_id, data),
            account=Account.from_key(account.private_key),
            cfg=trained_round.cfg,
            data_dir=data,
            # a 12-step round: every validator replays every segment, so each catch is certain
            # (REPLAY_BUDGET counts the quorum's replays; real rounds stay within 5 %); the
            # swarm above trains 3 of the pool's 4 members as shards i/3 (node 3 never trains,
            # by design), not their places among the round's members on chain
            settings=ValidatorSettings(
                poll_interval_s=0.1, replay_budget=100.0, check_shard=False, **settings
            ),
            pools=[protocol.pool_id],
            start_block=protocol.first_block,
        )
        built.append(service)
        return service

    yield _make
    for service in built:
        service.close()


@pytest.fixture
def after_submission(protocol: Protocol4, chain: Any) -> Callable[[], None]:
    """Move the chain past the submission window (and mine the block that seeds replays)."""

    def _move() -> None:
        chain.pending_timestamp = protocol.submission_end
        chain.mine()

    return _move
