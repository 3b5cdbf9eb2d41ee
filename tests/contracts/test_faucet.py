"""LoraFaucet: a drip per address per cooldown from a funded balance; owner-only settings;
and the deployment's initial allocation (genesis supply + faucet) within the cap."""

from __future__ import annotations

import ape
import pytest

from scripts.deploy import AllocationError, DeployParams, deploy_all

LORA = 10**18
DRIP = 5_000 * LORA
DAY = 24 * 3600


@pytest.fixture
def faucet(project, owner, token, minter):
    faucet = owner.deploy(project.LoraFaucet, token, owner, DRIP, DAY)
    token.mint(faucet, 2 * DRIP, sender=minter)
    return faucet


def test_drip_once_per_cooldown(faucet, token, alice, chain):
    before = token.balanceOf(alice)
    tx = faucet.drip(sender=alice)
    assert token.balanceOf(alice) == before + DRIP
    (dripped,) = tx.events.filter(faucet.Dripped)
    assert dripped.account == alice.address and dripped.amount == DRIP
    available = faucet.nextDripAt(alice)
    assert available == chain.blocks[tx.block_number].timestamp + DAY
    with ape.reverts(faucet.LoraFaucetCoolingDown, account=alice.address, availableAt=available):
        faucet.drip(sender=alice)
    chain.mine(1, deltatime=DAY + 1)
    faucet.drip(sender=alice)
    assert token.balanceOf(alice) == before + 2 * DRIP


def test_empty_faucet_and_owner_only_settings(faucet, token, alice, bob, attacker, owner):
    faucet.drip(sender=alice)
    faucet.drip(sender=bob)
    with ape.reverts(faucet.LoraFaucetEmpty, balance=0, needed=DRIP):
        faucet.drip(sender=attacker)
    with ape.reverts(faucet.OwnableUnauthorizedAccount, account=attacker.address):
        faucet.setDripParams(1, 0, sender=attacker)
    with ape.reverts(faucet.OwnableUnauthorizedAccount, account=attacker.address):
        faucet.withdraw(attacker, 1, sender=attacker)
    with ape.reverts(faucet.LoraFaucetInvalidParams):
        faucet.setDripParams(0, 0, sender=owner)
    tx = faucet.setDripParams(LORA, 0, sender=owner)
    (changed,) = tx.events.filter(faucet.DripParamsSet)
    assert changed.dripAmount == LORA and changed.cooldown == 0


def test_deploy_mints_genesis_and_funds_the_faucet(project, owner, treasury, tmp_path, alice):
    params = DeployParams(
        treasury=treasury.address,
        genesis_supply=10_000_000 * LORA,
        faucet=True,
        faucet_drip=DRIP,
        faucet_fund=50_000 * LORA,
    )
    data = deploy_all(owner, params, network="t", out_dir=tmp_path)
    token = project.LoraToken.at(data["contracts"]["LoraToken"])
    faucet = project.LoraFaucet.at(data["contracts"]["LoraFaucet"])
    assert token.balanceOf(treasury) == 10_000_000 * LORA
    assert token.balanceOf(faucet) == 50_000 * LORA
    assert not token.hasRole(token.MINTER_ROLE(), owner)  # nobody mints afterwards
    assert token.mintAllowance() == 0
    assert data["allocation"]["faucet"]["address"] == faucet.address
    assert data["allocation"]["genesis"] == {"to": treasury.address, "amount": str(10**25)}
    assert "LoraFaucet" in data["abi_digests"]
    faucet.drip(sender=alice)
    # an allocation over the cap is refused before anything is minted
    too_much = DeployParams(treasury=treasury.address, genesis_supply=2 * 10**9 * LORA)
    with pytest.raises(AllocationError, match="exceeds what the cap leaves"):
        deploy_all(owner, too_much, network="u", out_dir=tmp_path)
