"""One round end to end on anvil: 2 honest nodes + 1 cheater of each kind, 2 validators.

Each cheater is caught by the checks, rejected by both validators (quorum 2), slashed and
ejected when the round is finalized; the honest nodes are paid and the next base adapter is
the mean of the honest adapters. Training is one real hivemind round shared by the module
(see conftest.py); the cheaters are built from it with ``offchain.worker.cheats`` and
``offchain.worker.contribution_cheats``; :func:`play` submits a scenario's reports.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SLASH_BPS, STAKE, Protocol4, TrainedRound0, client_for
from eth_account import Account
from typer.testing import CliRunner

from offchain.artifacts import ArtifactServer, LocalStore
from offchain.artifacts.round import round_store_fn
from offchain.cli.main import app
from offchain.rounds.adapters import fresh_adapter
from offchain.validator.errors import ValidatorError
from offchain.validator.reasons import Reason
from offchain.validator.service import ValidatorService
from offchain.worker import cheats, contribution_cheats
from offchain.worker.round_work import TrainedRound
from offchain.worker.training import publishing_store_fn
from trainer.aggregate import aggregate_adapters
from trainer.config import TrainConfig
from trainer.evaluation import evaluate_adapters

#: what each cheater must be rejected for (at least these reasons)
CAUGHT_BY = {
    "copy": {Reason.SAMPLES_UNPUBLISHED},
    "inflate": {Reason.SAMPLES_INFLATED, Reason.REPLAY_BUNDLE_MISMATCH},
    "noise": {Reason.DISAGREES_WITH_MAJORITY, Reason.EVAL_NOT_BETTER},
    "lazy": {Reason.EVAL_NOT_BETTER, Reason.SAMPLES_UNPUBLISHED, Reason.REPLAY_MISMATCH},
    # inside the old tolerances (cosine >= 0.8, distance <= 0.75), outside the calibrated ones
    # (the 0.3x update is unit-tested: tests/offchain/validator/test_calibration.py)
    "scale-1.7": {Reason.DISAGREES_WITH_MAJORITY},
    "drift": {Reason.DISAGREES_WITH_MAJORITY},
    # partial training with full claims: a faked segment fails its replay
    "partial": {Reason.REPLAY_MISMATCH},
    # trained on a CPU, claims (and says in its bundle) the local-GPU rate
    "falsemode": {Reason.EXECUTION_MODE_FALSE},
    # trained with the swarm, then committed other updates than its own (the final adapter is
    # the swarm's: agreement, eval and samples pass); the usefulness check rejects each
    "copygrad": {Reason.CONTRIBUTION_NOT_USEFUL},
    "scalegrad": {Reason.CONTRIBUTION_NOT_USEFUL},
    "poison": {Reason.CONTRIBUTION_NOT_USEFUL},
}
NODE2_CHEATS = ("noise", "scale-0.3", "scale-1.7", "drift", "partial", "falsemode", "copygrad",
                "scalegrad", "poison")  # fmt: skip


def cheater_report(
    kind: str, protocol: Protocol4, run: TrainedRound0, tmp: Path
) -> tuple[int, TrainedRound, str]:
    """(node index, trained round, artifact URI) of the cheater of ``kind``."""
    pool = protocol.pool_id
    store = publishing_store_fn(tmp / "cheater-artifacts")
    if kind == "inflate":  # node 2 trained with the others and claims 10x
        return 2, cheats.inflate(run.trained[2]), run.uris[2]
    if kind in NODE2_CHEATS:
        out = tmp / kind  # node 2 trained, then cheats with its round folder
        shutil.copytree(run.out_dir(2, pool), out)
        trained = run.trained[2].model_copy(update={"adapter_path": out / "adapter.safetensors"})
        base = fresh_adapter(run.cfg, tmp / "fresh")
        if kind == "noise":
            faked = cheats.noise(trained, out, seed=7)
        elif kind.startswith("scale-"):
            faked = cheats.scale(trained, base, out, factor=float(kind.removeprefix("scale-")))
        elif kind == "drift":
            faked = cheats.drift(trained, base, out, seed=7)
        elif kind == "partial":
            faked = cheats.partial(trained, out, seed=7)
        elif kind == "copygrad":
            faked = contribution_cheats.copy_grad(trained, out, run.out_dir(0, pool))
        elif kind == "scalegrad":
            faked = contribution_cheats.scale_grad(trained, out)
        elif kind == "poison":
            faked = contribution_cheats.poison(trained, out)
        else:
            faked = cheats.false_mode(trained, out)
        return 2, faked, store(faked.adapter_path)
    node = protocol.nodes[3].address  # never trained
    out = tmp / kind
    out.mkdir()
    if kind == "copy":
        faked = cheats.copy(run.node_dirs[0], out, node=node, pool_id=pool, round=0, wait_s=0)
    else:
        faked = cheats.lazy(
            fresh_adapter(run.cfg, tmp / "fresh"),
            out,
            node=node,
            pool_id=pool,
            round=0,
            steps=6,
            batch_size=run.cfg.batch_size,
            projection_dim=run.cfg.replay.projection_dim,
        )
    return 3, faked, store(faked.adapter_path)


def settle(validators: list[ValidatorService], protocol: Protocol4, rounds: int = 4) -> None:
    """Step the validators until round 0 is finalized (each step sends at most one tx each)."""
    for _ in range(rounds):
        for v in validators:
            v.step()
        if protocol.ledger.roundState(protocol.pool_id, 0).finalized:
            return


@dataclass
class Played:
    """The reports of a scenario, submitted; the chain past the submission window."""

    run: TrainedRound0
    pool: int
    honest: list[int]  # report indices of nodes 0 and 1
    cheater: int | None = None  # node index of the cheater
    cheat_index: int | None = None  # its report index


@pytest.fixture
def play(
    protocol: Protocol4,
    trained_round: TrainedRound0,
    submit: Callable[[int, TrainedRound, str], int],
    after_submission: Callable[[], None],
    tmp_path: Path,
) -> Callable[..., Played]:
    """``play(kind=None, extra={})``: nodes 0 and 1 report honestly, then the cheater of
    ``kind`` (if any) and node ``i``'s honest round at URI ``extra[i]``; the chain then moves
    past the submission window."""

    def _play(kind: str | None = None, extra: dict[int, str] | None = None) -> Played:
        run = trained_round
        played = Played(
            run, protocol.pool_id, [submit(i, run.trained[i], run.uris[i]) for i in (0, 1)]
        )
        if kind is not None:
            cheater, faked, uri = cheater_report(kind, protocol, run, tmp_path)
            played.cheater, played.cheat_index = cheater, submit(cheater, faked, uri)
        for i, uri in (extra or {}).items():
            submit(i, run.trained[i], uri)
        after_submission()
        return played

    return _play


@pytest.mark.parametrize("kind", sorted(CAUGHT_BY))
def test_cheater_is_caught_and_slashed_honest_nodes_paid(
    kind: str,
    protocol: Protocol4,
    play: Callable[..., Played],
    make_validator: Callable[[int], ValidatorService],
    tmp_path: Path,
) -> None:
    played = play(kind)
    run, pool, honest = played.run, played.pool, played.honest
    cheater, cheat_index = played.cheater, played.cheat_index
    assert cheater is not None
    cheat_provider = protocol.providers[cheater]

    validators = [make_validator(0), make_validator(1)]
    settle(validators, protocol)

    state = protocol.ledger.roundState(pool, 0)
    assert state.finalized and state.decided
    assert (state.accepted, state.rejected) == (2, 1)
    for v in validators:
        verdict = v.store.status(pool, 0)[1]
        assert verdict is not None
        by_index = {r["index"]: r for r in verdict["reports"]}
        assert all(by_index[i]["accepted"] for i in honest), verdict
        assert not by_index[cheat_index]["accepted"]
        assert CAUGHT_BY[kind] <= set(by_index[cheat_index]["reasons"]), by_index[cheat_index]
    # honest providers paid, in proportion to samples; the cheater slashed and ejected
    for i in (0, 1):
        assert protocol.ledger.pendingRewards(protocol.providers[i]) > 0
        assert protocol.stake.stakedOf(protocol.providers[i]) == STAKE
        assert int(protocol.pools.membershipOf(protocol.nodes[i].address).poolId) == pool
    assert protocol.ledger.pendingRewards(cheat_provider) == 0
    assert protocol.stake.stakedOf(cheat_provider) == STAKE - STAKE * SLASH_BPS // 10_000
    assert int(protocol.pools.membershipOf(protocol.nodes[cheater].address).poolId) == 0
    # the next base adapter is the canonical mean of the honest adapters, and it learned
    expected = aggregate_adapters(
        {protocol.nodes[i].address: run.trained[i].adapter_path for i in (0, 1)},
        tmp_path / "mean.safetensors",
    )
    assert "0x" + bytes(protocol.ledger.baseAdapterOf(pool)).hex() == expected
    losses = evaluate_adapters(
        run.cfg,
        {"base": fresh_adapter(run.cfg, tmp_path / "f"), "next": tmp_path / "mean.safetensors"},
    )
    assert losses["next"].loss < losses["base"].loss


@pytest.mark.parametrize("offline", ["one of three", "one of two"])
def test_offline_validator(
    offline: str,
    protocol: Protocol4,
    play: Callable[..., Played],
    make_validator: Callable[[int], ValidatorService],
    chain: Any,
) -> None:
    """Quorum 2: with one validator offline out of three, the other two still decide the
    round; with one of two, the round expires at the end of the challenge window and nobody
    is paid or slashed."""
    pool = play("noise").pool
    online = (
        [make_validator(0), make_validator(2)] if offline == "one of three" else [make_validator(0)]
    )
    settle(online, protocol)
    state = protocol.ledger.roundState(pool, 0)
    if offline == "one of three":
        assert state.finalized and state.decided and (state.accepted, state.rejected) == (2, 1)
        return
    assert not state.decided and not state.finalized  # one attestation, quorum is 2
    chain.pending_timestamp = protocol.expires_at
    chain.mine()
    settle(online, protocol)
    state = protocol.ledger.roundState(pool, 0)
    assert state.finalized and not state.decided
    assert (state.accepted, state.rejected, state.awarded) == (0, 0, 0)
    for i in range(4):
        assert protocol.ledger.pendingRewards(protocol.providers[i]) == 0
        assert protocol.stake.stakedOf(protocol.providers[i]) == STAKE


def test_validator_restart_never_attests_twice(
    protocol: Protocol4,
    play: Callable[..., Played],
    make_validator: Callable[[int], ValidatorService],
) -> None:
    """A validator restarted after attesting (same data dir) resumes without a second
    attestation; the round is then decided with the other validator and finalized once."""
    pool = play("inflate").pool
    first = make_validator(0)
    first.step()
    first.step()  # the outbox confirms the attestation
    address = first.account.address
    assert protocol.ledger.hasAttested(pool, 0, address)
    first.close()

    again = make_validator(0)  # same data dir: watcher cursor, verdict, outbox
    again.step()
    assert again.outbox.counts() == {"confirmed": 1}
    settle([again, make_validator(1)], protocol)
    state = protocol.ledger.roundState(pool, 0)
    assert state.finalized and (state.accepted, state.rejected) == (2, 1)
    attests = again.view.ledger.events.Attested().get_logs(from_block=protocol.first_block)
    assert [e["args"]["validator"] for e in attests].count(address) == 1
    settle([again], protocol, rounds=1)  # sees the finalization

    shown = CliRunner().invoke(
        app, ["validator", "status", "--data-dir", str(again.data_dir), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    (round0,) = json.loads(shown.stdout)["rounds"]
    assert (round0["pool_id"], round0["round"], round0["status"]) == (pool, 0, "finalized")
    assert round0["accepted"] == 2 and "SAMPLES_INFLATED" in str(round0["rejected"])


def test_racing_validators_finalize_once_and_send_no_reverting_finalize(
    protocol: Protocol4,
    play: Callable[..., Played],
    make_validator: Callable[..., ValidatorService],
) -> None:
    """Both validators may finalize the decided round; with the finalize jitter they take
    turns, the first call lands and the other validator drops its own before signing it."""
    pool = play().pool
    validators = [make_validator(k, finalize_jitter_s=1.5) for k in (0, 1)]
    deadline = time.monotonic() + 120
    while not protocol.ledger.roundState(pool, 0).finalized:
        assert time.monotonic() < deadline, "round not finalized"
        for v in validators:
            v.step()
        time.sleep(0.1)
    for v in validators:
        v.step()  # each sees the finalization
    ledger = validators[0].view.ledger
    finalized = ledger.events.RoundFinalized().get_logs(from_block=protocol.first_block)
    assert len(finalized) == 1
    entries = [e for v in validators for e in v.outbox.entries() if ":finalize" in e.key]
    assert [e.status for e in entries if e.status != "cancelled"] == ["confirmed"]
    assert all(e.attempts == () for e in entries if e.status == "cancelled")


def test_validator_needs_the_role(protocol: Protocol4, deployment: Any, tmp_path: Path) -> None:
    outsider = deployment.accounts[6]
    with pytest.raises(ValidatorError, match="does not hold VALIDATOR_ROLE"):
        ValidatorService.build(
            client=client_for(protocol.rpc_url, protocol.contracts, protocol.chain_id, tmp_path),
            account=Account.from_key(outsider.private_key),
            cfg=TrainConfig(),
            data_dir=tmp_path / "v",
        )


@pytest.mark.parametrize("store", ["comes back", "stays down"])
def test_unreachable_store_is_not_a_cheat(
    store: str,
    protocol: Protocol4,
    trained_round: TrainedRound0,
    play: Callable[..., Played],
    make_validator: Callable[[int], ValidatorService],
    chain: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Node 2 trained honestly and serves its artifacts over HTTP from its own server, which
    is down when the validators judge. They abstain (no attestation, nobody rejected), and
    judge again: if the server comes back within the challenge window the round is decided
    with node 2 accepted; if not, the round expires and nobody is slashed."""
    monkeypatch.setenv("LORANET_ARTIFACTS_ATTEMPTS", "2")
    monkeypatch.setenv("LORANET_ARTIFACTS_BACKOFF_S", "0.05")
    monkeypatch.setenv("LORANET_VALIDATOR_ARTIFACT_RETRY_S", "0")
    run, pool = trained_round, protocol.pool_id
    port = _free_port()
    node2 = LocalStore(tmp_path / "node2", base_url=f"http://127.0.0.1:{port}/artifacts")
    uri = round_store_fn(node2)(run.trained[2].adapter_path)
    assert uri.startswith(f"http://127.0.0.1:{port}/artifacts/") and "#replay=" in uri
    play(extra={2: uri})

    validators = [make_validator(0), make_validator(1)]
    statuses = [v.step()[(pool, 0)] for v in validators]
    assert all(s.startswith("abstaining: artifacts unavailable") for s in statuses), statuses
    state = protocol.ledger.roundState(pool, 0)
    assert not state.decided and not any(
        protocol.ledger.hasAttested(pool, 0, v.account.address) for v in validators
    )
    status, verdict = validators[0].store.status(pool, 0)
    assert status == "abstaining" and verdict is not None and not verdict["complete"]
    (unavailable,) = [r for r in verdict["reports"] if r["inconclusive"]]
    assert unavailable["node"] == protocol.nodes[2].address
    shown = CliRunner().invoke(
        app, ["validator", "status", "--data-dir", str(validators[0].data_dir), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    (round0,) = json.loads(shown.stdout)["rounds"]
    assert round0["status"] == "abstaining" and round0["rejected"] == {}
    assert list(round0["unavailable"]) == [str(unavailable["index"])]

    if store == "comes back":
        with ArtifactServer(tmp_path / "node2", "127.0.0.1", port):
            settle(validators, protocol)
        state = protocol.ledger.roundState(pool, 0)
        assert state.finalized and state.decided and (state.accepted, state.rejected) == (3, 0)
        assert protocol.ledger.pendingRewards(protocol.providers[2]) > 0
        return
    chain.pending_timestamp = protocol.expires_at  # challenge window + grace: no quorum
    chain.mine()
    settle(validators, protocol)
    state = protocol.ledger.roundState(pool, 0)
    assert state.finalized and not state.decided and state.rejected == 0
    assert validators[0].store.status(pool, 0)[0] in ("abstained", "finalized")
    for i in range(3):
        assert protocol.stake.stakedOf(protocol.providers[i]) == STAKE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
