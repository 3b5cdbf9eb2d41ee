"""Property-based tests (hypothesis) of the protocol's money invariants.

- Stake: for any sequence of stake / unbond / time / withdraw / slash, tokens deposited =
  staked + unbonding + slashed + withdrawn (per provider and in total), the stake manager holds
  exactly staked + unbonding, and a slash never reduces what has matured (no stranded unbonds).
- Rewards: for any reports (samples, execution modes) and any accepted subset, each accepted
  report gets floor(reward * weight / total weight), a round awards at most its reward, claims
  mint exactly what accrued, and the supply stays under the cap.

Each example runs between an anvil snapshot and its revert, so examples do not see each other.
Example counts are small to keep the contract suite fast.
"""

from __future__ import annotations

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loranet_testkit import BUDGET, REWARD, TOKEN, UNBONDING, ZERO, make_report

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

provider_ix = st.integers(0, 1)
stake_actions = st.lists(
    st.one_of(
        st.tuples(st.just("stake"), provider_ix, st.integers(1, 3_000)),
        st.tuples(st.just("unbond"), provider_ix, st.integers(1, 3_000)),
        st.tuples(st.just("time"), st.integers(1, 2 * UNBONDING)),
        st.tuples(st.just("withdraw"), provider_ix),
        st.tuples(st.just("slash"), provider_ix, st.integers(0, 4_000), st.integers(0, 10_000)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def snapshot(chain):
    """`with snapshot(): ...` reverts the chain afterwards (one hypothesis example)."""

    class _Snapshot:
        def __enter__(self):
            self.id = chain.snapshot()

        def __exit__(self, *exc):
            chain.restore(self.id)

    return _Snapshot


@FAST
@given(actions=stake_actions)
def test_stake_conservation_and_matured_unbonds(protocol, alice, bob, chain, snapshot, actions):
    providers = [alice, bob]
    hub_signer = ape.accounts[protocol.hub.address]  # the hub may slash with a bps share
    chain.provider.set_balance(protocol.hub.address, 10**20)
    stake = protocol.stake
    with snapshot():
        deposited = {p.address: 0 for p in providers}
        slashed = {p.address: 0 for p in providers}
        withdrawn = {p.address: 0 for p in providers}
        for p in providers:
            protocol.token.approve(stake, 2**256 - 1, sender=p)
        for action in actions:
            kind = action[0]
            if kind == "stake":
                p, amount = providers[action[1]], action[2] * TOKEN
                protocol.hub.stake(amount, sender=p)
                deposited[p.address] += amount
            elif kind == "unbond":
                p = providers[action[1]]
                amount = min(action[2] * TOKEN, stake.stakedOf(p))
                pending = stake.accountOf(p)
                if amount and pending.tail - pending.head < stake.MAX_PENDING_UNBONDS():
                    protocol.hub.unbond(amount, sender=p)
            elif kind == "time":
                chain.mine(timestamp=chain.blocks.head.timestamp + action[1])
            elif kind == "withdraw":
                p = providers[action[1]]
                ready = stake.withdrawableOf(p)
                if ready:
                    tx = stake.withdraw(sender=p)
                    got = sum(e.amount for e in tx.events if e.event_name == "Withdrawn")
                    assert got >= ready  # the tx block is a second later: never less
                    withdrawn[p.address] += got
            else:
                p, amount, bps = providers[action[1]], action[2] * TOKEN, action[3]
                matured_before = stake.withdrawableOf(p)
                slashable = stake.slashableOf(p)
                tx = stake.slash(p, amount, bps, ZERO, sender=hub_signer)
                [event] = [e for e in tx.events if e.event_name == "Slashed"]
                assert event.amount <= slashable
                assert event.amount == min(amount + slashable * bps // 10_000, slashable)
                assert stake.withdrawableOf(p) >= matured_before  # matured unbonds untouched
                slashed[p.address] += event.amount

            for p in providers:
                a = p.address
                assert (
                    stake.stakedOf(p) + stake.unbondingOf(p) + slashed[a] + withdrawn[a]
                    == deposited[a]
                )
            total = stake.totalStaked() + stake.totalUnbonding()
            assert protocol.token.balanceOf(stake) == total
            assert total + stake.totalSlashed() + sum(withdrawn.values()) == sum(deposited.values())
            for p in providers:  # no empty request ever sits in a queue (issue 19, item 1)
                account = stake.accountOf(p)
                for i in range(account.head, account.tail):
                    assert stake.unbondRequest(p, i).amount > 0


reports = st.lists(
    st.tuples(st.booleans(), st.integers(1, 10**9), st.integers(0, 2)),  # (reports?, samples, mode)
    min_size=4,
    max_size=4,
)


@settings(FAST, max_examples=15)
@given(entries=reports, accept=st.integers(0, 15))
def test_rewards_bounded_and_exact(
    protocol, active_pool, signer, node_keys, validator, validator2, alice, bob, chain, warp,
    snapshot, entries, accept,
):  # fmt: skip
    owners = [alice, alice, bob, bob]
    _, end, sub_end = active_pool.window(0)
    with snapshot():
        warp(end)
        submitted = []  # (node index, weight)
        for i, (reports_, samples, mode) in enumerate(entries):
            if reports_:
                report = make_report(1, 0, node_keys[i], samples=samples, mode=mode)
                protocol.ledger.submitReport(
                    report, signer.report(node_keys[i], report), sender=alice
                )
                submitted.append((i, samples * (15_000, 10_000, 5_000)[mode]))
        bitmap = accept & ((1 << len(submitted)) - 1)
        warp(sub_end)
        for v in (validator, validator2):
            protocol.ledger.attest(1, 0, bitmap, ZERO, sender=v)
        tx = protocol.ledger.finalize(1, 0, sender=validator)

        accepted = [(i, w) for k, (i, w) in enumerate(submitted) if bitmap >> k & 1]
        total = sum(w for _, w in accepted)
        expected = [REWARD * w // total for _, w in accepted]
        accrued = [e.reward for e in tx.events if e.event_name == "RewardAccrued"]
        assert accrued == expected
        awarded = protocol.ledger.roundState(1, 0).awarded
        assert awarded == sum(expected) <= REWARD
        assert REWARD - awarded < max(len(accepted), 1) or not accepted  # only rounding dust
        owed = {p.address: 0 for p in (alice, bob)}
        for (i, _), reward in zip(accepted, expected, strict=True):
            owed[owners[i].address] += reward
        supply = protocol.token.totalSupply()
        escrow_balance = protocol.token.balanceOf(protocol.ledger)
        for p in (alice, bob):
            assert protocol.ledger.pendingRewards(p) == owed[p.address]
            if owed[p.address]:
                protocol.ledger.claim(sender=p)
        # paid from the escrow: nothing minted, the ledger's balance fell by what was claimed
        assert protocol.token.totalSupply() == supply
        assert escrow_balance - protocol.token.balanceOf(protocol.ledger) == sum(owed.values())
        assert sum(owed.values()) <= REWARD
        assert protocol.ledger.escrowOf(1) == BUDGET - awarded
