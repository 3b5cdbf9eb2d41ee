"""What a provider does, with client-side prechecks before anything is sent.

Each action checks what it can from the chain's views and refuses with a ``PrecheckError``
sentence (nothing sent); what it cannot foresee is caught by the gas estimate, whose revert
is decoded into the same kind of sentence. Every transaction goes through ``TxSender``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.errors import PrecheckError
from offchain.chain.protocol import Protocol, ProviderView, utc
from offchain.chain.signing import Permit, sign_add_node, sign_join_pool, sign_permit
from offchain.chain.tx import TxRequest, TxResult, TxSender
from offchain.chain.units import format_lora

logger = logging.getLogger(__name__)

SIGNATURE_TTL_S = 3600  # node and permit signatures expire one hour after signing


@dataclass(frozen=True)
class ActionResult:
    """The transactions an action sent, in order, and a summary for output."""

    transactions: list[TxResult]
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary, "transactions": [tx.as_dict() for tx in self.transactions]}


class ProviderActions:
    """The provider's state-changing actions, signed by ``sender.account``."""

    def __init__(self, protocol: Protocol, sender: TxSender) -> None:
        self.protocol = protocol
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.sender.account.address)

    def view(self) -> ProviderView:
        return self.protocol.provider(self.address)

    # -- stake -----------------------------------------------------------------------------

    def register(self, amount: int, *, use_permit: bool = True) -> ActionResult:
        """Stake ``amount`` and register, with a permit (one transaction) or an approval."""
        me = self.view()
        if me.registered:
            raise PrecheckError(f"{self.address} is already registered as a provider.")
        if me.blacklisted:
            raise PrecheckError(f"provider {self.address} is blacklisted.")
        if amount < me.base_stake:
            raise PrecheckError(
                f"stake {format_lora(amount)} is below the minimum {format_lora(me.base_stake)}."
            )
        self._require_balance(me, amount)
        hub = self.protocol.hub
        sent: list[TxResult] = []
        if use_permit:
            permit = self._permit(amount)
            call = (amount, permit.deadline, permit.v, permit.r, permit.s)
        else:
            sent += self._approve(me, amount)
            call = (amount, 0, 0, b"\x00" * 32, b"\x00" * 32)
        sent.append(
            self.sender.send(
                TxRequest.call(
                    hub,
                    "registerProvider",
                    *call,
                    description="register as a provider",
                )
            )
        )
        return ActionResult(sent, {"provider": self.address, "staked": str(amount)})

    def stake_add(self, amount: int) -> ActionResult:
        me = self.view()
        self._require_positive(amount)
        self._require_balance(me, amount)
        sent = self._approve(me, amount)
        sent.append(
            self.sender.send(
                TxRequest.call(self.protocol.hub, "stake", amount, description="add stake")
            )
        )
        return ActionResult(sent, {"provider": self.address, "added": str(amount)})

    def unbond(self, amount: int) -> ActionResult:
        me = self.view()
        self._require_positive(amount)
        if amount > me.staked:
            raise PrecheckError(
                f"cannot unbond {format_lora(amount)}: the free stake is only "
                f"{format_lora(me.staked)}."
            )
        most = int(self.protocol.stake.functions.MAX_PENDING_UNBONDS().call())
        if len(me.unbonds) >= most:
            raise PrecheckError(
                f"{self.address} already has {len(me.unbonds)} pending unbonds, the most "
                "allowed: withdraw the matured ones first."
            )
        left = me.staked - amount
        if left < me.min_stake:
            raise PrecheckError(
                f"unbonding {format_lora(amount)} would leave {format_lora(left)} staked, "
                f"below the minimum {format_lora(me.min_stake)} for {me.total_units} compute "
                "units: remove nodes first or unbond less."
            )
        result = self.sender.send(
            TxRequest.call(
                self.protocol.hub,
                "unbond",
                amount,
                description="request an unbond",
                context={"units": me.total_units},
            )
        )
        events = self.protocol.stake.events.UnbondRequested().process_receipt(result.receipt)
        release_at = int(events[0]["args"]["releaseAt"]) if events else 0
        return ActionResult(
            [result],
            {
                "provider": self.address,
                "unbonding": str(amount),
                "release_at": release_at,
                "release_at_utc": utc(release_at),
            },
        )

    def withdraw(self) -> ActionResult:
        me = self.view()
        if me.withdrawable == 0:
            if me.unbonds:
                first = min(u.release_at for u in me.unbonds)
                raise PrecheckError(
                    f"nothing to withdraw yet: {format_lora(me.unbonding)} is unbonding and "
                    f"the first release is at {utc(first)} (in {_duration(first - me.now)})."
                )
            raise PrecheckError(
                "nothing to withdraw: no unbond was requested (`loranet stake unbond` first)."
            )
        result = self.sender.send(
            # providers withdraw on the stake manager itself (the cheapest exit path)
            TxRequest.call(self.protocol.stake, "withdraw", description="withdraw matured unbonds")
        )
        return ActionResult([result], {"provider": self.address, "withdrawn": str(me.withdrawable)})

    # -- nodes -----------------------------------------------------------------------------

    def add_node(self, node_key: LocalAccount, *, units: int, specs_hash: bytes) -> ActionResult:
        me = self.view()
        node = self.protocol.node(node_key.address)
        if not me.registered:
            raise PrecheckError(
                f"{self.address} is not registered as a provider: run "
                "`loranet provider register --stake N` first."
            )
        if units <= 0 or units > 2**32 - 1:
            raise PrecheckError(f"compute units must be between 1 and {2**32 - 1}, not {units}.")
        if node.registered:
            whose = (
                "you" if node.provider == self.address else f"another provider ({node.provider})"
            )
            raise PrecheckError(f"node {node.address} is already registered by {whose}.")
        if node.blacklisted:
            raise PrecheckError(f"node {node.address} is blacklisted.")
        total = me.total_units + units
        self._require_min_stake(me, total)
        registry = self.protocol.registry
        deadline = self.protocol.now() + SIGNATURE_TTL_S
        signature = sign_add_node(
            node_key,
            chain_id=self.protocol.client.chain_id,
            registry=str(registry.address),
            provider=self.address,
            compute_units=units,
            specs_hash=specs_hash,
            nonce=int(registry.functions.nonces(node_key.address).call()),
            deadline=deadline,
        )
        result = self.sender.send(
            TxRequest.call(
                self.protocol.hub,
                "addNode",
                node_key.address,
                units,
                specs_hash,
                deadline,
                signature,
                description=f"add node {node_key.address}",
                context={"units": total},
            )
        )
        return ActionResult(
            [result],
            {
                "provider": self.address,
                "node": node_key.address,
                "compute_units": units,
                "specs_hash": "0x" + specs_hash.hex(),
            },
        )

    def remove_node(self, node_address: str) -> ActionResult:
        node = self._own_node(node_address)
        if node.pool_id and self.protocol.pools.functions.inActivePool(node.address).call():
            raise PrecheckError(
                f"node {node.address} is in pool {node.pool_id}, which has not ended: "
                "leave it first (`loranet pool leave`)."
            )
        result = self.sender.send(
            TxRequest.call(
                self.protocol.hub,
                "removeNode",
                node.address,
                description=f"remove node {node.address}",
            )
        )
        return ActionResult([result], {"provider": self.address, "node": node.address})

    # -- pools -----------------------------------------------------------------------------

    def join_pool(self, pool_id: int, node_key: LocalAccount) -> ActionResult:
        pool = self.protocol.pool(pool_id)
        node = self._own_node(node_key.address)
        if pool.status == "completed":
            raise PrecheckError(f"pool {pool_id} has ended.")
        if pool.node_count >= pool.max_nodes:
            raise PrecheckError(
                f"pool {pool_id} is full ({pool.node_count} of {pool.max_nodes} nodes)."
            )
        if self.protocol.is_pool_blacklisted(pool_id, node.address):
            raise PrecheckError(f"node {node.address} is blacklisted in pool {pool_id}.")
        if node.blacklisted:
            raise PrecheckError(f"node {node.address} is blacklisted.")
        if not node.validated:
            raise PrecheckError(
                f"node {node.address} is not validated yet: a validator must validate it before "
                "it can join a pool."
            )
        if node.compute_units < pool.min_compute_units:
            raise PrecheckError(
                f"node {node.address} has {node.compute_units} compute units but pool {pool_id} "
                f"needs at least {pool.min_compute_units}."
            )
        if node.pool_id and self.protocol.pools.functions.inActivePool(node.address).call():
            raise PrecheckError(f"node {node.address} is already in pool {node.pool_id}.")
        me = self.view()
        self._require_min_stake(me, me.total_units)
        pools = self.protocol.pools
        deadline = self.protocol.now() + SIGNATURE_TTL_S
        signature = sign_join_pool(
            node_key,
            chain_id=self.protocol.client.chain_id,
            pool_contract=str(pools.address),
            pool_id=pool_id,
            provider=self.address,
            nonce=int(pools.functions.nonces(node_key.address).call()),
            deadline=deadline,
        )
        result = self.sender.send(
            TxRequest.call(
                self.protocol.hub,
                "joinPool",
                pool_id,
                node_key.address,
                deadline,
                signature,
                description=f"join pool {pool_id}",
                context={"units": me.total_units},
            )
        )
        return ActionResult([result], {"pool_id": pool_id, "node": node_key.address})

    def leave_pool(self, node_address: str) -> ActionResult:
        node = self._own_node(node_address)
        if node.pool_id == 0:
            raise PrecheckError(f"node {node.address} is not in any pool.")
        result = self.sender.send(
            TxRequest.call(
                self.protocol.hub,
                "leavePool",
                node.address,
                description=f"leave pool {node.pool_id}",
            )
        )
        return ActionResult([result], {"pool_id": node.pool_id, "node": node.address})

    # -- rewards ---------------------------------------------------------------------------

    def claim(self) -> ActionResult:
        pending = int(self.protocol.ledger.functions.pendingRewards(self.address).call())
        if pending == 0:
            raise PrecheckError(f"nothing to claim: {self.address} has no pending rewards.")
        result = self.sender.send(
            TxRequest.call(self.protocol.ledger, "claim", description="claim rewards")
        )
        return ActionResult([result], {"provider": self.address, "claimed": str(pending)})

    # -- internals -------------------------------------------------------------------------

    def _own_node(self, node_address: str) -> Any:
        node = self.protocol.node(node_address)
        if not node.registered:
            raise PrecheckError(f"node {node.address} is not registered.")
        if node.provider != self.address:
            raise PrecheckError(
                f"node {node.address} belongs to another provider ({node.provider})."
            )
        return node

    def _require_min_stake(self, me: ProviderView, total_units: int) -> None:
        """Refuse when ``me``'s stake is below the minimum for ``total_units`` compute units."""
        required = self.protocol.min_stake_for_units(total_units)
        if me.staked < required:
            raise PrecheckError(
                f"stake {format_lora(me.staked)} is below the minimum {format_lora(required)} "
                f"for {total_units} compute units: add stake with `loranet stake add`."
            )

    def _require_positive(self, amount: int) -> None:
        if amount <= 0:
            raise PrecheckError("the amount must be above 0 LORA.")

    def _require_balance(self, me: ProviderView, amount: int) -> None:
        if me.lora < amount:
            raise PrecheckError(
                f"insufficient balance: {self.address} holds {format_lora(me.lora)} but "
                f"{format_lora(amount)} is needed."
            )

    def _approve(self, me: ProviderView, amount: int) -> list[TxResult]:
        if me.allowance >= amount:
            return []
        spender = self.protocol.stake.address
        return [
            self.sender.send(
                TxRequest.call(
                    self.protocol.token,
                    "approve",
                    spender,
                    amount,
                    description=f"approve {format_lora(amount)} for the stake manager",
                )
            )
        ]

    def _permit(self, amount: int) -> Permit:
        token = self.protocol.token
        domain = token.functions.eip712Domain().call()
        return sign_permit(
            self.sender.account,
            token_domain=(str(domain[1]), str(domain[2])),
            chain_id=self.protocol.client.chain_id,
            token=str(token.address),
            spender=str(self.protocol.stake.address),
            value=amount,
            nonce=int(token.functions.nonces(self.address).call()),
            deadline=self.protocol.now() + SIGNATURE_TTL_S,
        )


def _duration(seconds: int) -> str:
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
