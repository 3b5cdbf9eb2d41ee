"""WorkLedger finalization in batches (issue 19, item 5): a round is finalized by as many
``finalize`` calls as it has batches of ``finalizeBatch`` reports, so every call stays far below
a block's gas limit however many reports (and slashes) the round has.

This module deploys the protocol with ``finalizeBatch = 2`` (the default is 32), so a round of
four reports takes two calls.
"""

from __future__ import annotations

import ape
import pytest
from loranet_testkit import CHALLENGE, REWARD, ZERO, make_report

from scripts.deploy import DeployParams


@pytest.fixture(scope="module")
def test_params(test_params: DeployParams) -> DeployParams:  # overrides the session's
    return test_params.model_copy(update={"finalize_batch": 2})


@pytest.fixture
def reported(protocol, active_pool, signer, node_keys, warp, attacker):
    """Round 0 of pool 1 reported by nodes 0..3 (1000 samples each, LOCAL_GPU)."""
    _, end, sub_end = active_pool.window(0)
    warp(end)
    for i in range(4):
        report = make_report(1, 0, node_keys[i])
        protocol.ledger.submitReport(report, signer.report(node_keys[i], report), sender=attacker)
    warp(sub_end)
    return active_pool


def _events(tx, name):
    return [e for e in tx.events if e.event_name == name]


def test_decided_round_finalizes_in_batches(
    protocol, reported, validator, validator2, attacker, alice, bob, node_keys
):
    assert protocol.ledger.finalizeBatch() == 2
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, 0b0111, ZERO, sender=v)  # bob's node 3 rejected
    first = protocol.ledger.finalize(1, 0, sender=attacker)
    assert [(e.settled, e.reportCount) for e in _events(first, "RoundSettling")] == [(2, 4)]
    assert not _events(first, "RoundFinalized")
    state = protocol.ledger.roundState(1, 0)
    assert not state.finalized and state.settled == 2
    assert protocol.ledger.pendingRewards(alice) == 2 * (REWARD // 3)
    assert protocol.ledger.baseAdapterOf(1) == ZERO  # moves only with the last batch

    staked = protocol.stake.stakedOf(bob)
    second = protocol.ledger.finalize(1, 0, sender=attacker)
    [fin] = _events(second, "RoundFinalized")
    assert (fin.decided, fin.accepted, fin.rejected) == (True, 3, 1)
    assert fin.awarded == 3 * (REWARD // 3)  # shares of the whole round, not of each batch
    [rejected] = _events(second, "ReportRejected")
    assert rejected.node == node_keys[3].address and rejected.slashed > 0
    assert protocol.stake.stakedOf(bob) == staked - rejected.slashed
    assert protocol.ledger.pendingRewards(bob) == REWARD // 3
    assert protocol.ledger.roundState(1, 0).finalized
    with ape.reverts(protocol.ledger.WorkLedgerAlreadyFinalized):
        protocol.ledger.finalize(1, 0, sender=attacker)


def test_expired_round_settles_in_batches(protocol, reported, warp, attacker, node_keys):
    _, _, sub_end = reported.window(0)
    warp(sub_end + 2 * CHALLENGE)
    first = protocol.ledger.finalize(1, 0, sender=attacker)
    assert _events(first, "RoundSettling") and not _events(first, "RoundFinalized")
    assert protocol.ledger.reporterOf(1, node_keys[0].address).pending == 0
    assert protocol.ledger.reporterOf(1, node_keys[3].address).pending == 1
    second = protocol.ledger.finalize(1, 0, sender=attacker)
    [fin] = _events(second, "RoundFinalized")
    assert not fin.decided and fin.awarded == 0
    assert protocol.ledger.reporterOf(1, node_keys[3].address).pending == 0


def test_batch_size_is_bounded(project, protocol, owner):
    c = protocol.data["contracts"]
    args = [c[n] for n in ("NetworkHub", "LoraToken", "StakeManager", "ComputeRegistry")]
    args += [c["DomainRegistry"], c["ComputePool"]]
    for bad in (0, 257):
        with ape.reverts(project.WorkLedger.WorkLedgerInvalidBatch, batch=bad):
            owner.deploy(project.WorkLedger, *args, bad)
