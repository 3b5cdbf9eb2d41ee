"""Fixtures for contract tests: role-named accounts, the deployed protocol, node keys and signers.

Runs under `ape test --network ethereum:local:foundry` (ape-foundry starts anvil from
node_modules/.bin). Ape isolates each test with chain snapshots, so module-scoped deployments
are cheap and every test starts from the same state.

The protocol is deployed with `scripts.deploy.deploy_all` (the same code path as
`ape run deploy`) with short test timings: rounds of `ROUND` s, reports accepted for `WINDOW` s
after a round ends, validators attest for `CHALLENGE` s after that, unbonding takes `UNBONDING` s.
Node keys sign EIP-712 typed data with `eth_account.Account.sign_typed_data`, exactly as the
Python worker and CLI will.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from loranet_testkit import (
    BASE_STAKE,
    CHALLENGE,
    DEADLINE,
    FUND,
    PER_UNIT,
    ROUND,
    SLASH_BPS,
    UNBONDING,
    WINDOW,
    ZERO,
    Signer,
    create_pool,
    register,
)

from scripts.deploy import DeployParams, DomainSpec, deploy_all

# ---------------------------------------------------------------------- accounts


@pytest.fixture(scope="session")
def owner(accounts):
    """Deployer: DEFAULT_ADMIN_ROLE on the token and the hub."""
    return accounts[0]


@pytest.fixture(scope="session")
def minter(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def burner(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def alice(accounts):
    """A provider."""
    return accounts[3]


@pytest.fixture(scope="session")
def bob(accounts):
    """Another provider."""
    return accounts[4]


@pytest.fixture(scope="session")
def treasury(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def creator(accounts):
    """Holds POOL_CREATOR_ROLE."""
    return accounts[6]


@pytest.fixture(scope="session")
def validator(accounts):
    """Holds VALIDATOR_ROLE."""
    return accounts[7]


@pytest.fixture(scope="session")
def validator2(accounts):
    """Holds VALIDATOR_ROLE."""
    return accounts[8]


@pytest.fixture(scope="session")
def attacker(accounts):
    """Holds LORA and no role."""
    return accounts[9]


@pytest.fixture(scope="session")
def node_keys() -> list[LocalAccount]:
    """Eight node keys (separate from provider keys; they never send transactions)."""
    return [Account.from_key(keccak(text=f"loranet-test-node-{i}")) for i in range(8)]


@pytest.fixture(scope="session", autouse=True)
def _session_fixtures_first(
    chain, accounts, owner, minter, burner, alice, bob, treasury, creator, validator, validator2,
    attacker, node_keys,
):  # fmt: skip
    """Set up every session fixture before Ape's first module snapshot: a session fixture that
    appears later makes Ape re-base (revert and rebuild) the module fixtures."""


# ---------------------------------------------------------------------- token-only tests


@pytest.fixture(scope="module")
def token(project, owner, minter):
    """A bare token: `minter` holds MINTER_ROLE with an unlimited mint allowance."""
    token = owner.deploy(project.LoraToken, owner)
    token.grantRole(token.MINTER_ROLE(), minter, sender=owner)
    token.setMintAllowance(2**256 - 1, sender=owner)
    return token


# ---------------------------------------------------------------------- the protocol


@pytest.fixture(scope="session")
def test_params(treasury, creator, validator, validator2) -> DeployParams:
    domain = {"quorum": 2, "challenge_window": CHALLENGE, "slash_bps": SLASH_BPS}
    return DeployParams(
        unbonding_period=UNBONDING,
        base_stake=BASE_STAKE,
        per_unit_stake=PER_UNIT,
        burn_bps=5_000,
        treasury=treasury.address,
        validators=(validator.address, validator2.address),
        pool_creators=(creator.address,),
        domains=(DomainSpec(**domain), DomainSpec(name="inference", **domain)),
        fund_amount=FUND,
        dev_admin=True,  # the owner stays admin beside the timelock (governance tests drop it)
        voting_delay=1,
        voting_period=10,
        timelock_delay=60,
        proposal_threshold=0,
        queue_period=5,
    )


@pytest.fixture(scope="module")
def protocol(project, owner, alice, bob, attacker, creator, test_params, tmp_path_factory):
    """Every contract, deployed and wired by `deploy_all`; alice, bob, attacker and the pool
    creator hold 100k LORA."""
    data = deploy_all(
        owner,
        test_params,
        network="contracts-test",
        out_dir=tmp_path_factory.mktemp("deployments"),
        fund=[alice, bob, attacker, creator],
    )
    c = data["contracts"]
    return SimpleNamespace(
        data=data,
        token=project.LoraToken.at(c["LoraToken"]),
        hub=project.NetworkHub.at(c["NetworkHub"]),
        stake=project.StakeManager.at(c["StakeManager"]),
        registry=project.ComputeRegistry.at(c["ComputeRegistry"]),
        domains=project.DomainRegistry.at(c["DomainRegistry"]),
        pools=project.ComputePool.at(c["ComputePool"]),
        ledger=project.WorkLedger.at(c["WorkLedger"]),
    )


@pytest.fixture(scope="module")
def signer(protocol, chain) -> Signer:
    return Signer(protocol, chain.chain_id)


# ---------------------------------------------------------------------- common states


@pytest.fixture(scope="module")
def providers(protocol, signer, alice, bob, validator, node_keys):
    """alice and bob registered with 5000 LORA staked; alice owns nodes 0, 1; bob nodes 2, 3
    (10 compute units each, all validated)."""
    owners = {0: alice, 1: alice, 2: bob, 3: bob}
    for provider in (alice, bob):
        register(protocol, provider)
    for i, provider in owners.items():
        key = node_keys[i]
        protocol.hub.addNode(
            key.address, 10, ZERO, DEADLINE, signer.add_node(key, provider, 10), sender=provider
        )
        protocol.hub.setNodeValidated(key.address, True, sender=validator)
    return owners


@pytest.fixture(scope="module")
def active_pool(protocol, providers, signer, creator, node_keys, chain):
    """Pool 1 (domain 1) started by `creator`, nodes 0..3 joined. Returns a namespace with
    `id`, `start` and `window(round)` -> (start, end, submissionEnd)."""
    create_pool(protocol, creator)
    pool_id = protocol.pools.poolCount()
    protocol.hub.startPool(pool_id, sender=creator)
    for i, provider in providers.items():
        key = node_keys[i]
        protocol.hub.joinPool(
            pool_id, key.address, DEADLINE, signer.join(key, pool_id, provider), sender=provider
        )
    start = protocol.pools.poolOf(pool_id).startTime
    return SimpleNamespace(
        id=pool_id,
        start=start,
        window=lambda r: (
            start + r * ROUND,
            start + (r + 1) * ROUND,
            start + (r + 1) * ROUND + WINDOW,
        ),
    )


@pytest.fixture
def warp(chain):
    """`warp(t)`: the next transaction is mined at timestamp `t` (must not go back in time)."""

    def _warp(timestamp: int) -> None:
        chain.pending_timestamp = int(timestamp)

    return _warp
