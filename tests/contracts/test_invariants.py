"""Stateful invariants (hypothesis on anvil, issue 19).

- LORA is conserved across stake, unbond, withdraw, slash, pool escrow (create, fund), rewards
  (finalize, claim) and refunds: the stake manager holds exactly staked + unbonding, the work
  ledger exactly the escrows + the unclaimed rewards, and the supply falls only by the burned
  part of slashes (nothing is minted).
- Nothing but the timelock changes parameters or roles: on a deployment whose deployer
  renounced, every privileged call from any other account reverts.

Each state machine run starts from an anvil snapshot and is rolled back afterwards; example
counts are small to keep the suite fast.
"""

from __future__ import annotations

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from loranet_testkit import CHALLENGE, ROUND, TOKEN, WINDOW, ZERO, create_pool, make_report

from scripts.deploy import DeployParams, deploy_all

STATEFUL = settings(
    max_examples=3,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_lora_is_conserved(protocol, providers, signer, node_keys, creator, validator,
                           validator2, alice, bob, attacker, owner, chain):  # fmt: skip
    who = [alice, bob]
    ledger, stake, token = protocol.ledger, protocol.stake, protocol.token

    class Conservation(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snap = chain.snapshot()
            self.supply = token.totalSupply()
            self.burned = 0
            self.pools: list[int] = []
            self.round = 0

        def teardown(self):
            chain.restore(self.snap)

        @rule(i=st.integers(0, 1), amount=st.integers(1, 500))
        def stake_more(self, i, amount):
            token.approve(stake, amount * TOKEN, sender=who[i])
            protocol.hub.stake(amount * TOKEN, sender=who[i])

        @rule(i=st.integers(0, 1), amount=st.integers(1, 800))
        def unbond(self, i, amount):
            p = who[i]
            free = stake.stakedOf(p) - protocol.hub.minStakeOf(p)
            account = stake.accountOf(p)
            if free >= amount * TOKEN and account.tail - account.head < 16:
                protocol.hub.unbond(amount * TOKEN, sender=p)

        @rule(seconds=st.integers(60, 4_000))
        def time_passes(self, seconds):
            chain.mine(timestamp=chain.blocks.head.timestamp + seconds)

        @rule(i=st.integers(0, 1))
        def withdraw(self, i):
            if stake.withdrawableOf(who[i]):
                stake.withdraw(sender=who[i])

        @rule(i=st.integers(0, 1), amount=st.integers(0, 3_000))
        def slash(self, i, amount):
            tx = protocol.hub.slash(who[i], amount * TOKEN, ZERO, sender=owner)
            self.burned += sum(e.burned for e in tx.events if e.event_name == "Slashed")

        @rule(budget=st.integers(0, 3_000))
        def new_pool(self, budget):
            create_pool(protocol, creator, budget=budget * TOKEN)
            self.pools.append(protocol.pools.poolCount())

        @rule(amount=st.integers(1, 2_000))
        def fund(self, amount):
            if self.pools and protocol.pools.poolOf(self.pools[-1]).status != 3:
                token.approve(ledger, amount * TOKEN, sender=attacker)
                protocol.hub.fundPool(self.pools[-1], amount * TOKEN, 0, 0, ZERO, ZERO,
                                      sender=attacker)  # fmt: skip

        @rule(accept=st.integers(0, 3))
        def work_round(self, accept):
            """Pool 1 (the active pool): nodes 0 and 2 report the next round, both validators
            attest `accept` (a bitmap of the two), anyone finalizes."""
            start = protocol.pools.poolOf(1).startTime
            now = chain.blocks.head.timestamp
            r = max(self.round, (now - start) // ROUND)  # the running round (or a later one)
            self.round = r + 1
            end = start + (r + 1) * ROUND
            chain.pending_timestamp = max(end, now + 1)
            for i in (0, 2):
                if protocol.pools.membershipOf(node_keys[i].address).poolId != 1:
                    continue
                report = make_report(1, r, node_keys[i])
                ledger.submitReport(report, signer.report(node_keys[i], report), sender=attacker)
            chain.pending_timestamp = end + WINDOW
            count = ledger.roundState(1, r).reportCount
            for v in (validator, validator2):
                ledger.attest(1, r, accept & ((1 << count) - 1), ZERO, sender=v)
            tx = ledger.finalize(1, r, sender=attacker)
            self.burned += sum(e.burned for e in tx.events if e.event_name == "Slashed")

        @rule(i=st.integers(0, 1))
        def claim(self, i):
            if ledger.pendingRewards(who[i]):
                ledger.claim(sender=who[i])

        @rule()
        def end_and_refund(self):
            if not self.pools:
                return
            pool = self.pools.pop(0)
            protocol.hub.endPool(pool, sender=creator)
            chain.mine(timestamp=chain.blocks.head.timestamp + WINDOW + 2 * CHALLENGE + 1)
            if ledger.escrowOf(pool):
                ledger.refund(pool, sender=attacker)

        @invariant()
        def conserved(self):
            assert token.balanceOf(stake) == stake.totalStaked() + stake.totalUnbonding()
            escrows = sum(ledger.escrowOf(p) for p in range(1, protocol.pools.poolCount() + 1))
            owed = sum(ledger.pendingRewards(p) for p in (alice, bob))
            assert token.balanceOf(ledger) == escrows + owed
            assert token.totalSupply() == self.supply - self.burned  # nothing minted

    # pool 1 is active with nodes 0..3 (the `active_pool` fixture would snapshot differently)
    create_pool(protocol, creator)
    protocol.hub.startPool(1, sender=creator)
    for i, provider in providers.items():
        key = node_keys[i]
        protocol.hub.joinPool(1, key.address, 2**63, signer.join(key, 1, provider), sender=provider)
    run_state_machine_as_test(Conservation, settings=STATEFUL)


PRIVILEGED = [
    ("hub", "setStakeParams", (1, 1)),
    ("hub", "setUnbondingPeriod", (30 * 86_400,)),
    ("hub", "setSlashSplit", (0, "0x" + "11" * 20)),
    ("hub", "slash", ("0x" + "11" * 20, 1, ZERO)),
    ("hub", "createDomain", ("x", (2, 600, 0, 1, 1, 1, 0, 0))),
    ("hub", "updateDomain", (1, (2, 600, 0, 1, 1, 1, 0, 0))),
    ("hub", "setProviderBlacklisted", ("0x" + "11" * 20, True)),
    ("hub", "setNodeBlacklisted", ("0x" + "11" * 20, True)),
    ("hub", "grantRole", (ZERO, "0x" + "11" * 20)),
    ("hub", "revokeRole", (ZERO, "0x" + "11" * 20)),
    ("hub", "unpause", ()),
    ("token", "setMintAllowance", (10**27,)),
    ("token", "grantRole", (ZERO, "0x" + "11" * 20)),
    ("token", "mint", ("0x" + "11" * 20, 1)),
    ("timelock", "grantRole", (ZERO, "0x" + "11" * 20)),
    ("timelock", "schedule", ("0x" + "11" * 20, 0, b"", ZERO, ZERO, 60)),
    ("timelock", "updateDelay", (1,)),
]


@pytest.fixture(scope="module")
def renounced(project, owner, treasury, burner, tmp_path_factory):
    """A production-style deployment: the deployer renounced; `burner` is the guardian."""
    params = DeployParams(treasury=treasury.address, guardians=(burner.address,), dev_admin=False)
    data = deploy_all(owner, params, network="prod", out_dir=tmp_path_factory.mktemp("prod"))
    c = data["contracts"]
    return {
        "hub": project.NetworkHub.at(c["NetworkHub"]),
        "token": project.LoraToken.at(c["LoraToken"]),
        "timelock": project.LoraTimelock.at(c["LoraTimelock"]),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(caller=st.integers(0, 9), call=st.sampled_from(PRIVILEGED))
def test_only_the_timelock_changes_parameters_or_roles(renounced, accounts, caller, call):
    target, name, args = call
    contract = renounced[target]
    with ape.reverts():
        getattr(contract, name)(*args, sender=accounts[caller])
