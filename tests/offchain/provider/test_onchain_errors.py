"""With the prechecks bypassed, the contracts' own custom errors come back as the same kind of
sentence (decoded from the gas estimate), and nothing is sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offchain.chain.client import ChainClient
from offchain.chain.errors import TransactionRevertedError
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.signing import specs_hash
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import ONE as LORA
from offchain.devnet import dev_account
from offchain.settings import Settings


@pytest.fixture
def actions(settings: Settings) -> ProviderActions:
    client = ChainClient.connect(settings)
    return ProviderActions(Protocol(client), TxSender(client, dev_account(4)))


def refused_on_chain(actions: ProviderActions, request: TxRequest) -> TransactionRevertedError:
    address = actions.address
    before = actions.protocol.w3.eth.get_transaction_count(address)
    with pytest.raises(TransactionRevertedError) as caught:
        actions.sender.send(request)
    assert actions.protocol.w3.eth.get_transaction_count(address) == before
    assert caught.value.tx_hash is None
    return caught.value


def hub_call(actions: ProviderActions, fn: str, *args: Any, **context: Any) -> TxRequest:
    return TxRequest.call(actions.protocol.hub, fn, *args, description=fn, context=context)


def test_register_twice(actions: ProviderActions) -> None:
    actions.register(2_000 * LORA)
    actions.stake_add(1)  # leaves an allowance for the second attempt
    error = refused_on_chain(
        actions, hub_call(actions, "registerProvider", 1, 0, 0, b"\0" * 32, b"\0" * 32)
    )
    assert error.error_name == "ComputeRegistryAlreadyRegistered"
    assert str(error) == f"{actions.address} is already registered as a provider."


def test_register_below_base_stake(actions: ProviderActions) -> None:
    approve = TxRequest.call(
        actions.protocol.token,
        "approve",
        actions.protocol.stake.address,
        500 * LORA,
        description="approve",
    )
    actions.sender.send(approve)
    error = refused_on_chain(
        actions, hub_call(actions, "registerProvider", 500 * LORA, 0, 0, b"\0" * 32, b"\0" * 32)
    )
    assert error.error_name == "NetworkHubInsufficientStake"
    assert str(error) == "stake 500 LORA is below the minimum 1,000 LORA."


def test_unbond_below_minimum(actions: ProviderActions, specs_file: Path) -> None:
    actions.register(2_000 * LORA)
    actions.add_node(dev_account(14), units=30, specs_hash=specs_hash(specs_file))
    error = refused_on_chain(actions, hub_call(actions, "unbond", 800 * LORA, units=30))
    assert str(error) == "stake 1,200 LORA is below the minimum 1,300 LORA for 30 compute units."


def test_withdraw_and_claim_with_nothing(actions: ProviderActions) -> None:
    actions.register(2_000 * LORA)
    withdraw = TxRequest.call(actions.protocol.stake, "withdraw", description="withdraw")
    error = refused_on_chain(actions, withdraw)
    assert str(error) == (
        f"nothing to withdraw yet: no unbond of {actions.address} has been released."
    )
    claim = TxRequest.call(actions.protocol.ledger, "claim", description="claim")
    error = refused_on_chain(actions, claim)
    assert str(error) == f"nothing to claim: {actions.address} has no pending rewards."


def test_join_full_and_ended_pools(
    actions: ProviderActions,
    specs_file: Path,
    make_pool: Callable[..., int],
    other_provider: Callable[..., Any],
    validate: Callable[[str], None],
    hub: Any,
    admin: Any,
) -> None:
    full = make_pool(max_nodes=1)
    other, other_node = other_provider()
    other.join_pool(full, other_node)
    actions.register(2_000 * LORA)
    node = dev_account(15)
    actions.add_node(node, units=10, specs_hash=specs_hash(specs_file))
    validate(node.address)

    def join(pool_id: int) -> TxRequest:
        from offchain.chain.signing import sign_join_pool

        pools = actions.protocol.pools
        deadline = actions.protocol.now() + 600
        signature = sign_join_pool(
            node,
            chain_id=actions.protocol.client.chain_id,
            pool_contract=str(pools.address),
            pool_id=pool_id,
            provider=actions.address,
            nonce=int(pools.functions.nonces(node.address).call()),
            deadline=deadline,
        )
        return hub_call(actions, "joinPool", pool_id, node.address, deadline, signature)

    assert str(refused_on_chain(actions, join(full))) == f"pool {full} is full (1 nodes)."
    ended = make_pool()
    hub.endPool(ended, sender=admin)
    assert str(refused_on_chain(actions, join(ended))) == f"pool {ended} has ended."
