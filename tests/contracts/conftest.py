"""Fixtures for contract tests: role-named accounts and freshly deployed contracts.

Runs under `ape test --network ethereum:local:foundry` (ape-foundry starts anvil from
node_modules/.bin). Ape isolates each test with chain snapshots, so module-scoped deployments
are cheap and every test starts from the same state.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def minter(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def burner(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def token(project, owner, minter, burner):
    token = owner.deploy(project.LoraToken, owner)
    token.grantRole(token.MINTER_ROLE(), minter, sender=owner)
    token.grantRole(token.BURNER_ROLE(), burner, sender=owner)
    return token
