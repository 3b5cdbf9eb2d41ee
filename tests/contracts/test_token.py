"""LoraToken: role-gated mint within a governance-set allowance, burn, the hard cap, EIP-2612
permit, ERC-5805 votes."""

from __future__ import annotations

import ape
import pytest
from loranet_testkit import permit_vrs

TOKEN = 10**18
CAP = 1_000_000_000 * TOKEN


def _permit_signature(token, owner_acct, spender, value, deadline, signer_key, *, chain_id):
    """EIP-712 signature of an ERC-2612 Permit, as a wallet would produce it."""
    return permit_vrs(
        token,
        owner=owner_acct.address,
        spender=spender.address,
        value=value,
        deadline=deadline,
        signer_key=signer_key,
        chain_id=chain_id,
    )


def _delegate(token, delegatee, *, sender):
    # Ape reserves `.delegate` on addresses (EIP-7702), so call the ERC-5805 method by name.
    return token.invoke_transaction("delegate", delegatee, sender=sender)


def test_metadata(token):
    assert token.name() == "loranet"
    assert token.symbol() == "LORA"
    assert token.decimals() == 18
    assert token.cap() == CAP
    assert token.totalSupply() == 0


def test_mint_by_minter(token, minter, alice):
    tx = token.mint(alice, 5 * TOKEN, sender=minter)
    assert token.balanceOf(alice) == 5 * TOKEN
    assert token.totalSupply() == 5 * TOKEN
    [event] = tx.events
    assert event.event_name == "Transfer"
    assert event.to == alice.address
    assert event.value == 5 * TOKEN


@pytest.mark.parametrize("who", ["owner", "burner", "attacker"])
def test_mint_without_role_reverts(token, who, request, alice):
    caller = request.getfixturevalue(who)
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.mint(alice, 1, sender=caller)


def test_cap_enforced(token, minter, alice):
    token.mint(alice, CAP - 1, sender=minter)
    with ape.reverts(token.LoraTokenCapExceeded, increasedSupply=CAP + 1, cap=CAP):
        token.mint(alice, 2, sender=minter)
    token.mint(alice, 1, sender=minter)  # exactly the cap is allowed
    assert token.totalSupply() == CAP
    with ape.reverts(token.LoraTokenCapExceeded):
        token.mint(alice, 1, sender=minter)


def test_cap_frees_up_after_burn(token, minter, alice):
    token.mint(alice, CAP, sender=minter)
    token.burn(10 * TOKEN, sender=alice)
    token.mint(alice, 10 * TOKEN, sender=minter)
    assert token.totalSupply() == CAP


def test_mint_spends_the_governance_allowance(token, owner, minter, alice, attacker):
    """Issue 19, item 4: minting only within a budget that only the admin (the timelock) sets;
    nobody can burn another account's tokens (no BURNER_ROLE, no burnFrom)."""
    tx = token.setMintAllowance(10 * TOKEN, sender=owner)
    assert [e.allowance for e in tx.events if e.event_name == "MintAllowanceSet"] == [10 * TOKEN]
    token.mint(alice, 4 * TOKEN, sender=minter)
    assert token.mintAllowance() == 6 * TOKEN
    with ape.reverts(token.LoraTokenMintAllowanceExceeded, amount=7 * TOKEN, allowance=6 * TOKEN):
        token.mint(alice, 7 * TOKEN, sender=minter)
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.setMintAllowance(2**255, sender=attacker)
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.setMintAllowance(2**255, sender=minter)
    assert not hasattr(token, "burnFrom") and not hasattr(token, "BURNER_ROLE")


def test_self_burn(token, minter, alice):
    token.mint(alice, 3 * TOKEN, sender=minter)
    token.burn(TOKEN, sender=alice)
    assert token.balanceOf(alice) == 2 * TOKEN


def test_roles_are_admin_managed(token, owner, attacker):
    minter_role = token.MINTER_ROLE()
    with ape.reverts(token.AccessControlUnauthorizedAccount):
        token.grantRole(minter_role, attacker, sender=attacker)
    token.grantRole(minter_role, attacker, sender=owner)
    assert token.hasRole(minter_role, attacker)
    token.revokeRole(minter_role, attacker, sender=owner)
    assert not token.hasRole(minter_role, attacker)


def test_permit_valid(token, minter, alice, bob, chain):
    token.mint(alice, 10 * TOKEN, sender=minter)
    deadline = chain.pending_timestamp + 3600
    v, r, s = _permit_signature(
        token, alice, bob, 7 * TOKEN, deadline, alice.private_key, chain_id=chain.chain_id
    )
    token.permit(alice, bob, 7 * TOKEN, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 7 * TOKEN
    assert token.nonces(alice) == 1
    token.transferFrom(alice, bob, 7 * TOKEN, sender=bob)
    assert token.balanceOf(bob) == 7 * TOKEN


def test_permit_replay_rejected(token, alice, bob, chain):
    deadline = chain.pending_timestamp + 3600
    v, r, s = _permit_signature(
        token, alice, bob, TOKEN, deadline, alice.private_key, chain_id=chain.chain_id
    )
    token.permit(alice, bob, TOKEN, deadline, v, r, s, sender=bob)
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, TOKEN, deadline, v, r, s, sender=bob)


def test_permit_expired(token, alice, bob, chain):
    deadline = chain.pending_timestamp + 60
    v, r, s = _permit_signature(
        token, alice, bob, TOKEN, deadline, alice.private_key, chain_id=chain.chain_id
    )
    chain.mine(deltatime=120)
    with ape.reverts(token.ERC2612ExpiredSignature, deadline=deadline):
        token.permit(alice, bob, TOKEN, deadline, v, r, s, sender=bob)


def test_permit_wrong_signer(token, alice, bob, attacker, chain):
    deadline = chain.pending_timestamp + 3600
    # The attacker signs a permit that claims to come from alice.
    v, r, s = _permit_signature(
        token, alice, attacker, TOKEN, deadline, attacker.private_key, chain_id=chain.chain_id
    )
    with ape.reverts(token.ERC2612InvalidSigner, signer=attacker.address, owner=alice.address):
        token.permit(alice, attacker, TOKEN, deadline, v, r, s, sender=attacker)
    assert token.allowance(alice, attacker) == 0


def test_permit_other_chain_rejected(token, alice, bob, chain):
    deadline = chain.pending_timestamp + 3600
    v, r, s = _permit_signature(
        token, alice, bob, TOKEN, deadline, alice.private_key, chain_id=chain.chain_id + 1
    )
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, TOKEN, deadline, v, r, s, sender=bob)


def test_votes_need_delegation(token, minter, alice, bob, chain):
    token.mint(alice, 100 * TOKEN, sender=minter)
    assert token.getVotes(alice) == 0  # balances do not vote until delegated
    tx = _delegate(token, alice, sender=alice)
    assert token.getVotes(alice) == 100 * TOKEN
    assert token.delegates(alice) == alice.address
    names = [e.event_name for e in tx.events]
    assert names == ["DelegateChanged", "DelegateVotesChanged"]

    _delegate(token, bob, sender=alice)
    assert token.getVotes(alice) == 0
    assert token.getVotes(bob) == 100 * TOKEN


def test_votes_follow_transfers_and_history(token, minter, alice, bob, chain):
    token.mint(alice, 100 * TOKEN, sender=minter)
    _delegate(token, alice, sender=alice)
    _delegate(token, bob, sender=bob)
    checkpoint = chain.blocks.head.number
    chain.mine(1)
    token.transfer(bob, 30 * TOKEN, sender=alice)
    chain.mine(1)
    assert token.getVotes(alice) == 70 * TOKEN
    assert token.getVotes(bob) == 30 * TOKEN
    assert token.getPastVotes(alice, checkpoint) == 100 * TOKEN
    assert token.getPastVotes(bob, checkpoint) == 0
    assert token.getPastTotalSupply(checkpoint) == 100 * TOKEN


def test_mint_moves_delegated_votes(token, minter, alice):
    _delegate(token, alice, sender=alice)
    token.mint(alice, 5 * TOKEN, sender=minter)
    assert token.getVotes(alice) == 5 * TOKEN
