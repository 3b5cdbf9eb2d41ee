"""WorkLedger: signed reports, windows, attestations and quorum, finalization, rewards, claims."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from loranet_testkit import (
    BUDGET,
    CHALLENGE,
    REWARD,
    ROUND,
    SLASH_BPS,
    TOKEN,
    WINDOW,
    ZERO,
    create_pool,
    make_report,
)


@pytest.fixture
def submit(protocol, signer, node_keys, attacker):
    """`submit(node_index, round, **report_fields)`: signs with the node key and sends (from
    the attacker: anyone may relay a report)."""

    def _submit(i: int, round_: int, pool_id: int = 1, sender=None, **fields):
        report = make_report(pool_id, round_, node_keys[i], **fields)
        sig = signer.report(node_keys[i], report)
        return protocol.ledger.submitReport(report, sig, sender=sender or attacker)

    return _submit


@pytest.fixture
def reported(active_pool, submit, warp):
    """Round 0 reported by nodes 0..3 (samples 1000, 1000, 2000 with CUSTOM mode, 500 REMOTE),
    clock moved to the start of the challenge window."""
    _, end, sub_end = active_pool.window(0)
    warp(end + 1)
    submit(0, 0, samples=1000, mode=0)
    submit(1, 0, samples=1000, mode=0)
    submit(2, 0, samples=2000, mode=1)
    submit(3, 0, samples=500, mode=2)
    warp(sub_end)
    return active_pool


# ---------------------------------------------------------------------- submit


def test_submit_records_report_and_emits_everything(
    protocol, active_pool, submit, warp, alice, node_keys
):
    _, end, _ = active_pool.window(0)
    warp(end)
    tx = submit(0, 0, samples=1234, mode=1, loss=1_750_000, uri="http://node0/a.safetensors")
    [event] = [e for e in tx.events if e.event_name == "ReportSubmitted"]
    assert event.poolId == 1 and event.round == 0 and event.index == 0
    assert event.node == node_keys[0].address and event.event_arguments["provider"] == alice.address
    assert event.samples == 1234 and event.loss == 1_750_000 and event.executionMode == 1
    assert event.artifactUri == "http://node0/a.safetensors"
    assert event.replayRoot == keccak(text=f"replay-{node_keys[0].address}")
    stored = protocol.ledger.reportOf(1, 0, 0)
    assert stored.node == node_keys[0].address
    assert stored.samples == 1234 and stored.executionMode == 1
    reporter = protocol.ledger.reporterOf(1, node_keys[0].address)
    assert reporter.provider == alice.address and reporter.lastRoundPlusOne == 1
    assert protocol.ledger.roundState(1, 0).reportCount == 1


def test_node_itself_or_provider_may_send(active_pool, submit, warp, alice):
    _, end, _ = active_pool.window(0)
    warp(end)
    submit(0, 0, sender=alice)


@pytest.mark.parametrize("offset", [-1, WINDOW])
def test_submit_outside_window_reverts(protocol, active_pool, submit, warp, offset):
    _, end, sub_end = active_pool.window(0)
    warp(end + offset)
    with ape.reverts(protocol.ledger.WorkLedgerWindowClosed, opensAt=end, closesAt=sub_end):
        submit(0, 0)


def test_double_submission_reverts(protocol, active_pool, submit, warp, node_keys):
    _, end, _ = active_pool.window(0)
    warp(end)
    submit(0, 0)
    with ape.reverts(protocol.ledger.WorkLedgerDuplicateReport, node=node_keys[0].address):
        submit(0, 0, samples=5)


def test_report_for_earlier_round_after_later_reverts(protocol, active_pool, submit, warp):
    _, end1, _ = active_pool.window(1)
    warp(end1)
    submit(0, 1)
    with ape.reverts(protocol.ledger.WorkLedgerWindowClosed):
        submit(0, 0)  # round 0's window is long closed


def _replay(protocol, signer, node_keys, signed_for, sent_as, **kw):
    sig = signer.report(node_keys[0], make_report(*signed_for, node_keys[0]), **kw)
    report = make_report(*sent_as, node_keys[0])
    return report, sig


def test_signature_for_other_round_rejected(
    protocol, active_pool, signer, node_keys, warp, attacker
):
    _, end, _ = active_pool.window(1)
    warp(end)
    report, sig = _replay(protocol, signer, node_keys, (1, 0), (1, 1))
    with ape.reverts(protocol.ledger.WorkLedgerInvalidSignature):
        protocol.ledger.submitReport(report, sig, sender=attacker)


def test_signature_for_other_pool_rejected(
    protocol, active_pool, signer, node_keys, warp, attacker
):
    _, end, _ = active_pool.window(0)
    warp(end)
    report, sig = _replay(protocol, signer, node_keys, (2, 0), (1, 0))
    with ape.reverts(protocol.ledger.WorkLedgerInvalidSignature):
        protocol.ledger.submitReport(report, sig, sender=attacker)


def test_signature_for_other_chain_rejected(
    protocol, active_pool, signer, node_keys, warp, attacker, chain
):
    _, end, _ = active_pool.window(0)
    warp(end)
    report = make_report(1, 0, node_keys[0])
    sig = signer.report(node_keys[0], report, chain_id=chain.chain_id + 1)
    with ape.reverts(protocol.ledger.WorkLedgerInvalidSignature):
        protocol.ledger.submitReport(report, sig, sender=attacker)


def test_tampered_report_rejected(protocol, active_pool, signer, node_keys, warp, attacker):
    _, end, _ = active_pool.window(0)
    warp(end)
    report = make_report(1, 0, node_keys[0], samples=100)
    sig = signer.report(node_keys[0], report)
    inflated = make_report(1, 0, node_keys[0], samples=10_000)
    with ape.reverts(protocol.ledger.WorkLedgerInvalidSignature):
        protocol.ledger.submitReport(inflated, sig, sender=attacker)


def test_signature_by_other_key_rejected(protocol, active_pool, signer, node_keys, warp, attacker):
    _, end, _ = active_pool.window(0)
    warp(end)
    report = make_report(1, 0, node_keys[0])
    with ape.reverts(protocol.ledger.WorkLedgerInvalidSignature, node=node_keys[0].address):
        protocol.ledger.submitReport(report, signer.report(node_keys[1], report), sender=attacker)


def test_non_member_cannot_report(protocol, active_pool, signer, node_keys, warp, attacker):
    _, end, _ = active_pool.window(0)
    warp(end)
    outsider = node_keys[7]  # never registered
    report = make_report(1, 0, outsider)
    with ape.reverts(protocol.ledger.WorkLedgerNotPoolMember):
        protocol.ledger.submitReport(report, signer.report(outsider, report), sender=attacker)


def test_node_joined_after_round_end_cannot_report(
    protocol, active_pool, signer, node_keys, warp, alice, submit
):
    _, end, _ = active_pool.window(0)
    protocol.hub.leavePool(node_keys[0].address, sender=alice)
    warp(end + 1)
    key = node_keys[0]
    protocol.hub.joinPool(1, key.address, 2**63, signer.join(key, 1, alice), sender=alice)
    with ape.reverts(protocol.ledger.WorkLedgerNotPoolMember):
        submit(0, 0)


def test_blacklisted_node_cannot_submit(
    protocol, active_pool, submit, warp, owner, creator, node_keys
):
    _, end, _ = active_pool.window(0)
    protocol.hub.setNodeBlacklisted(node_keys[0].address, True, sender=owner)
    protocol.hub.setPoolBlacklisted(1, node_keys[1].address, True, sender=creator)
    warp(end)
    for i in (0, 1):
        with ape.reverts(protocol.ledger.WorkLedgerNotPoolMember):
            submit(i, 0)


def test_blacklisted_provider_cannot_submit(protocol, active_pool, submit, warp, owner, alice):
    _, end, _ = active_pool.window(0)
    protocol.hub.setProviderBlacklisted(alice, True, sender=owner)
    warp(end)
    with ape.reverts(protocol.ledger.WorkLedgerProviderBlacklisted, provider=alice.address):
        submit(0, 0)
    submit(2, 0)  # bob's node is fine


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("mode", 3, "WorkLedgerInvalidMode"),
        ("samples", 0, "WorkLedgerInvalidSamples"),
        ("samples", 2**64, "WorkLedgerInvalidSamples"),
    ],
)
def test_invalid_fields_rejected(protocol, active_pool, submit, warp, field, value, error):
    _, end, _ = active_pool.window(0)
    warp(end)
    with ape.reverts(getattr(protocol.ledger, error)):
        submit(0, 0, **{field: value})


def test_report_for_unstarted_pool_reverts(protocol, providers, submit, creator):
    create_pool(protocol, creator)
    with ape.reverts(protocol.pools.ComputePoolInvalidRound):
        submit(0, 0, pool_id=protocol.pools.poolCount())


# ---------------------------------------------------------------------- attest


def test_attest_requires_validator_role(protocol, reported, attacker, owner):
    for who in (attacker, owner):
        with ape.reverts(protocol.ledger.WorkLedgerNotValidator, account=who.address):
            protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=who)


def test_attest_only_in_challenge_window(protocol, active_pool, submit, warp, validator):
    _, end, sub_end = active_pool.window(0)
    warp(end)
    submit(0, 0)
    with ape.reverts(
        protocol.ledger.WorkLedgerWindowClosed, opensAt=sub_end, closesAt=sub_end + 2 * CHALLENGE
    ):
        protocol.ledger.attest(1, 0, 1, ZERO, sender=validator)
    warp(sub_end + 2 * CHALLENGE)  # challenge window + grace
    with ape.reverts(protocol.ledger.WorkLedgerWindowClosed):
        protocol.ledger.attest(1, 0, 1, ZERO, sender=validator)


def test_attest_twice_reverts(protocol, reported, validator):
    protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=validator)
    with ape.reverts(protocol.ledger.WorkLedgerAlreadyAttested):
        protocol.ledger.attest(1, 0, 0b0111, ZERO, sender=validator)


def test_attest_bitmap_beyond_reports_reverts(protocol, reported, validator):
    with ape.reverts(protocol.ledger.WorkLedgerInvalidBitmap, bitmap=0b10000, reportCount=4):
        protocol.ledger.attest(1, 0, 0b10000, ZERO, sender=validator)


def test_quorum_needs_identical_attestations(protocol, reported, validator, validator2):
    nxt = keccak(text="A1")
    tx = protocol.ledger.attest(1, 0, 0b1111, nxt, sender=validator)
    assert [e.event_name for e in tx.events] == ["Attested"]
    protocol.ledger.attest(1, 0, 0b1111, keccak(text="other"), sender=validator2)  # disagrees
    assert not protocol.ledger.roundState(1, 0).decided
    with ape.reverts(protocol.ledger.WorkLedgerNotFinalizable):
        protocol.ledger.finalize(1, 0, sender=validator)


# ---------------------------------------------------------------------- finalize (quorum path)


def test_quorum_path_finalizes_and_pays(
    protocol, reported, validator, validator2, attacker, alice, bob
):
    """Prime Intellect's quorum contract always reverted; ours must decide and pay."""
    nxt = keccak(text="adapter-round-1")
    protocol.ledger.attest(1, 0, 0b1111, nxt, sender=validator)
    tx = protocol.ledger.attest(1, 0, 0b1111, nxt, sender=validator2)
    assert [e.event_name for e in tx.events] == ["Attested", "QuorumReached"]
    assert protocol.ledger.roundState(1, 0).decided
    assert protocol.ledger.outcomeOf(1, 0) == (0b1111, nxt)
    assert protocol.ledger.hasAttested(1, 0, validator) and not protocol.ledger.hasAttested(
        1, 0, alice
    )

    tx = protocol.ledger.finalize(1, 0, sender=attacker)  # anyone may finalize
    # weights: 1000*1.5, 1000*1.5, 2000*1.0, 500*0.5 = 1500 + 1500 + 2000 + 250 = 5250
    expected = [REWARD * w // 5250 for w in (1500, 1500, 2000, 250)]
    accrued = [e.reward for e in tx.events if e.event_name == "RewardAccrued"]
    assert accrued == expected
    assert protocol.ledger.pendingRewards(alice) == expected[0] + expected[1]
    assert protocol.ledger.pendingRewards(bob) == expected[2] + expected[3]
    state = protocol.ledger.roundState(1, 0)
    assert state.finalized and state.accepted == 4 and state.rejected == 0
    assert state.awarded == sum(expected) <= REWARD
    assert protocol.ledger.baseAdapterOf(1) == nxt
    [fin] = [e for e in tx.events if e.event_name == "RoundFinalized"]
    assert fin.decided and fin.baseAdapterHash == nxt and fin.awarded == sum(expected)


def test_finalize_twice_reverts(protocol, reported, validator, validator2):
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=v)
    protocol.ledger.finalize(1, 0, sender=validator)
    with ape.reverts(protocol.ledger.WorkLedgerAlreadyFinalized):
        protocol.ledger.finalize(1, 0, sender=validator)


def test_attest_after_finalize_reverts(protocol, reported, validator, validator2, accounts, owner):
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=v)
    protocol.ledger.finalize(1, 0, sender=validator)
    third = accounts[1]
    protocol.hub.grantRole(protocol.hub.VALIDATOR_ROLE(), third, sender=owner)
    with ape.reverts(protocol.ledger.WorkLedgerAlreadyFinalized):
        protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=third)


def test_rejected_report_slashed_and_node_ejected(
    protocol, reported, validator, validator2, bob, treasury, node_keys
):
    slashable = protocol.stake.slashableOf(bob)
    treasury_before = protocol.token.balanceOf(treasury)
    supply_before = protocol.token.totalSupply()
    accept = 0b0111  # report 3 (node 3, bob) rejected
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, accept, ZERO, sender=v)
    tx = protocol.ledger.finalize(1, 0, sender=validator)

    expected_slash = slashable * SLASH_BPS // 10_000
    [rejected] = [e for e in tx.events if e.event_name == "ReportRejected"]
    assert rejected.node == node_keys[3].address and rejected.slashed == expected_slash
    assert protocol.stake.stakedOf(bob) == slashable - expected_slash
    assert (
        protocol.token.balanceOf(treasury) - treasury_before == expected_slash - expected_slash // 2
    )
    assert supply_before - protocol.token.totalSupply() == expected_slash // 2
    assert protocol.pools.membershipOf(node_keys[3].address).poolId == 0
    assert protocol.pools.poolOf(1).nodeCount == 3
    # the round's reward goes entirely to the accepted reports: 1500, 1500, 2000
    assert protocol.ledger.roundState(1, 0).awarded == sum(
        REWARD * w // 5000 for w in (1500, 1500, 2000)
    )
    state = protocol.ledger.roundState(1, 0)
    assert state.accepted == 3 and state.rejected == 1


def test_all_rejected_pays_nothing(protocol, reported, validator, validator2, alice):
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, 0, ZERO, sender=v)
    protocol.ledger.finalize(1, 0, sender=validator)
    assert protocol.ledger.roundState(1, 0).awarded == 0
    assert protocol.ledger.pendingRewards(alice) == 0
    assert protocol.pools.poolOf(1).nodeCount == 0


# ---------------------------------------------------------------------- finalize (expiry path)


def test_no_quorum_expires_after_challenge_window_and_grace(
    protocol, reported, validator, warp, alice
):
    protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=validator)  # quorum is 2
    _, _, sub_end = reported.window(0)
    expires = sub_end + 2 * CHALLENGE
    assert protocol.ledger.deadlinesOf(1, 0) == (sub_end, sub_end + CHALLENGE, expires)
    warp(sub_end + CHALLENGE)  # challenge window over: still within the grace period
    with ape.reverts(protocol.ledger.WorkLedgerNotFinalizable, expiresAt=expires):
        protocol.ledger.finalize(1, 0, sender=validator)
    warp(expires)
    tx = protocol.ledger.finalize(1, 0, sender=validator)
    [fin] = [e for e in tx.events if e.event_name == "RoundFinalized"]
    assert not fin.decided and fin.awarded == 0 and fin.baseAdapterHash == ZERO
    assert protocol.ledger.pendingRewards(alice) == 0
    assert protocol.ledger.roundState(1, 0).finalized


def test_late_quorum_in_grace_period_still_decides_and_pays(
    protocol, reported, validator, validator2, warp, alice
):
    """Issues 13/19: a validator slowed down past the challenge window must not see the round
    finalized undecided: its late attestation still reaches the quorum, and the round pays."""
    _, _, sub_end = reported.window(0)
    protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=validator)
    warp(sub_end + CHALLENGE + 1)  # the second validator is late
    with ape.reverts(protocol.ledger.WorkLedgerNotFinalizable):
        protocol.ledger.finalize(1, 0, sender=validator)
    protocol.ledger.attest(1, 0, 0b1111, ZERO, sender=validator2)
    tx = protocol.ledger.finalize(1, 0, sender=validator)
    [fin] = [e for e in tx.events if e.event_name == "RoundFinalized"]
    assert fin.decided and fin.accepted == 4
    assert protocol.ledger.pendingRewards(alice) > 0


def test_empty_round_can_expire(protocol, active_pool, warp, attacker):
    _, _, sub_end = active_pool.window(0)
    warp(sub_end + 2 * CHALLENGE)
    protocol.ledger.finalize(1, 0, sender=attacker)
    assert protocol.ledger.roundState(1, 0).finalized


def test_base_adapter_follows_latest_decided_round(
    protocol, active_pool, submit, warp, validator, validator2
):
    a1, a2 = keccak(text="A1"), keccak(text="A2")
    for r in (0, 1):
        _, end, _ = active_pool.window(r)
        warp(end)
        submit(0, r)
    _, _, sub1 = active_pool.window(1)
    warp(sub1)
    for v in (validator, validator2):
        protocol.ledger.attest(1, 1, 1, a2, sender=v)
    protocol.ledger.finalize(1, 1, sender=validator)
    assert protocol.ledger.baseAdapterOf(1) == a2
    # round 0 expires later without a quorum: it does not roll the adapter back
    _, _, sub0 = active_pool.window(0)
    warp(sub0 + 2 * CHALLENGE)  # round 0 expires
    protocol.ledger.finalize(1, 0, sender=validator)
    assert protocol.ledger.baseAdapterOf(1) == a2
    del a1


# ---------------------------------------------------------------------- claim


def _decide_all(protocol, validators, accept=0b1111, round_=0):
    for v in validators:
        protocol.ledger.attest(1, round_, accept, ZERO, sender=v)
    protocol.ledger.finalize(1, round_, sender=validators[0])


def test_claim_pays_from_escrow_and_claim_twice_reverts(
    protocol, reported, validator, validator2, alice
):
    _decide_all(protocol, [validator, validator2])
    owed = protocol.ledger.pendingRewards(alice)
    assert protocol.ledger.escrowOf(1) == BUDGET - protocol.ledger.roundState(1, 0).awarded
    before, supply = protocol.token.balanceOf(alice), protocol.token.totalSupply()
    tx = protocol.ledger.claim(sender=alice)
    [event] = [e for e in tx.events if e.event_name == "RewardsClaimed"]
    assert event.amount == owed
    assert protocol.token.balanceOf(alice) - before == owed
    assert protocol.token.totalSupply() == supply  # nothing minted
    with ape.reverts(protocol.ledger.WorkLedgerNothingToClaim, provider=alice.address):
        protocol.ledger.claim(sender=alice)


def test_claim_without_rewards_reverts(protocol, attacker):
    with ape.reverts(protocol.ledger.WorkLedgerNothingToClaim):
        protocol.ledger.claim(sender=attacker)


def test_rewards_never_exceed_the_escrow(
    protocol, providers, signer, node_keys, creator, warp, validator, validator2, alice, bob,
    attacker, chain,
):  # fmt: skip
    """Issue 19, item 3: a pool pays only what its creator escrowed, however large its
    rewardPerRound; when the escrow runs dry the reports in index order get what is left."""
    create_pool(protocol, creator, budget=REWARD // 2, rewardPerRound=10 * REWARD)
    pool = protocol.pools.poolCount()
    protocol.hub.startPool(pool, sender=creator)
    for i in (0, 2):
        owner = providers[i]
        key = node_keys[i]
        if protocol.pools.membershipOf(key.address).poolId:
            protocol.hub.leavePool(key.address, sender=owner)  # from the module's pool 1
        protocol.hub.joinPool(pool, key.address, 2**63, signer.join(key, pool, owner), sender=owner)
    start = protocol.pools.poolOf(pool).startTime
    warp(start + ROUND)
    for i in (0, 2):
        report = make_report(pool, 0, node_keys[i])
        protocol.ledger.submitReport(report, signer.report(node_keys[i], report), sender=attacker)
    warp(start + ROUND + WINDOW)
    for v in (validator, validator2):
        protocol.ledger.attest(pool, 0, 0b11, ZERO, sender=v)
    tx = protocol.ledger.finalize(pool, 0, sender=attacker)
    assert [e.reward for e in tx.events if e.event_name == "RewardAccrued"] == [REWARD // 2, 0]
    assert protocol.ledger.escrowOf(pool) == 0
    assert protocol.ledger.pendingRewards(alice) == REWARD // 2
    assert protocol.ledger.pendingRewards(bob) == 0


def test_unspent_escrow_returns_to_creator_after_the_last_round(
    protocol, active_pool, creator, warp, attacker, chain
):
    with ape.reverts(protocol.ledger.WorkLedgerPoolNotEnded, refundableAt=0):
        protocol.ledger.refund(1, sender=attacker)
    protocol.hub.endPool(1, sender=creator)
    end = protocol.pools.poolOf(1).endTime
    refundable = end + WINDOW + 2 * CHALLENGE
    with ape.reverts(protocol.ledger.WorkLedgerPoolNotEnded, refundableAt=refundable):
        protocol.ledger.refund(1, sender=attacker)
    warp(refundable)
    before = protocol.token.balanceOf(creator)
    tx = protocol.ledger.refund(1, sender=attacker)  # anyone may trigger; the creator is paid
    [event] = [e for e in tx.events if e.event_name == "PoolRefunded"]
    assert event.amount == BUDGET and event.creator == creator.address
    assert protocol.token.balanceOf(creator) - before == BUDGET
    with ape.reverts(protocol.ledger.WorkLedgerNothingToRefund):
        protocol.ledger.refund(1, sender=attacker)


def test_fund_pool_tops_up_the_escrow(protocol, active_pool, alice, creator):
    protocol.token.approve(protocol.ledger, 5 * TOKEN, sender=alice)
    tx = protocol.hub.fundPool(1, 5 * TOKEN, 0, 0, ZERO, ZERO, sender=alice)
    [event] = [e for e in tx.events if e.event_name == "PoolFunded"]
    assert event.escrow == BUDGET + 5 * TOKEN and event.event_arguments["from"] == alice.address
    protocol.hub.endPool(1, sender=creator)
    with ape.reverts(protocol.hub.NetworkHubPoolEnded, poolId=1):
        protocol.hub.fundPool(1, 5 * TOKEN, 0, 0, ZERO, ZERO, sender=alice)


def test_minted_per_round_never_exceeds_reward(
    protocol, active_pool, submit, warp, validator, validator2
):
    # odd sample counts make every share a floor; the sum stays <= the round reward
    _, end, sub_end = active_pool.window(0)
    warp(end)
    for i, samples in enumerate((7, 11, 13, 17)):
        submit(i, 0, samples=samples, mode=i % 3)
    warp(sub_end)
    _decide_all(protocol, [validator, validator2])
    assert protocol.ledger.roundState(1, 0).awarded <= REWARD
    assert TOKEN  # units used in docs


def test_node_moved_to_other_provider_waits_for_settlement(
    protocol, active_pool, submit, signer, warp, alice, bob, validator, validator2, node_keys
):
    """Rewards and slashes of a report go to the provider that owned the node when it reported,
    even if the node changes hands before the round is finalized."""
    key = node_keys[0]
    _, end0, sub0 = active_pool.window(0)
    warp(end0)
    submit(0, 0)  # alice's node reports round 0
    protocol.hub.leavePool(key.address, sender=alice)
    protocol.hub.removeNode(key.address, sender=alice)  # no longer in an active pool
    sig = signer.add_node(key, bob, 10)
    protocol.hub.addNode(key.address, 10, ZERO, 2**63, sig, sender=bob)
    protocol.hub.setNodeValidated(key.address, True, sender=validator)
    protocol.hub.joinPool(1, key.address, 2**63, signer.join(key, 1, bob), sender=bob)
    assert protocol.ledger.reporterOf(1, key.address).provider == alice.address

    _, end1, _ = active_pool.window(1)
    warp(end1)
    with ape.reverts(protocol.ledger.WorkLedgerPreviousReportPending, round=0):
        submit(0, 1)
    assert end1 < sub0 + CHALLENGE  # round 0 can still be decided now
    for v in (validator, validator2):
        protocol.ledger.attest(1, 0, 1, ZERO, sender=v)
    protocol.ledger.finalize(1, 0, sender=validator)
    assert protocol.ledger.pendingRewards(alice) == REWARD  # the only report of round 0
    assert protocol.ledger.pendingRewards(bob) == 0
    submit(0, 1)  # settled: bob's node may report now
    assert protocol.ledger.reporterOf(1, key.address).provider == bob.address


def test_provider_change_waits_for_every_pending_report(
    protocol, active_pool, submit, signer, warp, alice, bob, validator, validator2, node_keys
):
    """Round 1 is finalized but round 0 is not: the node still may not change hands, or
    finalizing round 0 would credit the new provider."""
    key = node_keys[0]
    for r in (0, 1):
        warp(active_pool.window(r)[1])
        submit(0, r)
    warp(active_pool.window(1)[2])
    for v in (validator, validator2):
        protocol.ledger.attest(1, 1, 1, ZERO, sender=v)
    protocol.ledger.finalize(1, 1, sender=validator)  # round 0 left pending
    assert protocol.ledger.reporterOf(1, key.address).pending == 1
    protocol.hub.leavePool(key.address, sender=alice)
    protocol.hub.removeNode(key.address, sender=alice)
    sig = signer.add_node(key, bob, 10)
    protocol.hub.addNode(key.address, 10, ZERO, 2**63, sig, sender=bob)
    protocol.hub.setNodeValidated(key.address, True, sender=validator)
    protocol.hub.joinPool(1, key.address, 2**63, signer.join(key, 1, bob), sender=bob)

    warp(active_pool.window(2)[1])
    with ape.reverts(protocol.ledger.WorkLedgerPreviousReportPending, round=1):
        submit(0, 2)
    warp(active_pool.window(3)[1])  # round 0 has expired (challenge window + grace) by now
    assert active_pool.window(0)[2] + 2 * CHALLENGE <= active_pool.window(3)[1]
    protocol.ledger.finalize(1, 0, sender=validator)  # expired: settles without paying
    assert protocol.ledger.reporterOf(1, key.address).pending == 0
    submit(0, 3)
    reporter = protocol.ledger.reporterOf(1, key.address)
    assert reporter.provider == bob.address and reporter.pending == 1
