"""What a provider does, with client-side prechecks before anything is sent.

Each action checks what it can from the chain's views and refuses with a ``PrecheckError``
sentence (nothing sent); what it cannot foresee is caught by the gas estimate, whose revert
is decoded into the same kind of sentence. Then it builds its transactions (unlocking keys
only now: a ``LazySender``/``LazyKey`` asks for the password here, after every check), and
``review.execute`` estimates them, lets the reviewer (the CLI's summary and confirmation)
decide, and sends them through ``TxSender``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.chain.errors import InsufficientFundsError, PrecheckError
from offchain.chain.protocol import Protocol, ProviderView, utc
from offchain.chain.review import (
    KeySource,
    Plan,
    PlannedTx,
    Reviewer,
    SenderSource,
    execute,
    key_label,
    resolve_key,
    resolve_sender,
    sender_address,
)
from offchain.chain.signing import Permit, sign_add_node, sign_join_pool, sign_permit
from offchain.chain.tx import TxRequest, TxResult, TxSender
from offchain.chain.units import format_eth, format_lora

logger = logging.getLogger(__name__)

SIGNATURE_TTL_S = 3600  # node and permit signatures expire one hour after signing


@dataclass(frozen=True)
class ActionResult:
    """The transactions an action sent, in order, and a summary for output; for a dry run,
    no transaction and the ones that would have been sent (``planned``)."""

    transactions: list[TxResult]
    summary: dict[str, Any]
    plan: Plan | None = None
    planned: list[PlannedTx] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = {**self.summary, "transactions": [tx.as_dict() for tx in self.transactions]}
        if self.dry_run:
            data["dry_run"] = True
            data["planned"] = [tx.as_dict() for tx in self.planned]
            if self.plan is not None:
                data["plan"] = self.plan.as_dict()
        return data


Build = Callable[[TxSender], list[TxRequest]]


class ProviderActions:
    """The provider's state-changing actions, signed by ``sender``'s account.

    ``sender`` may be a ``LazySender`` (unlocked after the checks); ``review`` (the CLI's
    summary and confirmation) sees every plan before anything is sent.
    """

    def __init__(
        self, protocol: Protocol, sender: SenderSource, *, review: Reviewer | None = None
    ) -> None:
        self.protocol = protocol
        self.sender = sender
        self.review = review

    @property
    def address(self) -> str:
        return sender_address(self.sender)

    def _run(self, plan: Plan, build: Build, summary: dict[str, Any]) -> ActionResult:
        """Unlock, build the transactions, review and send them."""
        if int(self.protocol.w3.eth.get_balance(self.address)) == 0:  # before any password
            raise InsufficientFundsError(
                f"{self.address} holds 0 ETH and cannot pay for gas: fund it with ETH first"
                " (`loranet devnet fund` on a devnet)."
            )
        sender = resolve_sender(self.sender)
        outcome = execute(sender, plan, build(sender), self.review)
        return ActionResult(
            outcome.sent, summary, plan=plan, planned=outcome.planned, dry_run=outcome.dry_run
        )

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
        plan = Plan(
            f"register {self.address} as a provider",
            [
                ("stake", _change(me.staked, me.staked + amount)),
                ("LORA balance", _change(me.lora, me.lora - amount)),
                ("minimum stake", f"{format_lora(me.base_stake)} (base, no nodes yet)"),
                ("ETH for gas", format_eth(me.eth)),
                ("token spending", "ERC-2612 permit" if use_permit else "approval transaction"),
            ],
        )

        def build(sender: TxSender) -> list[TxRequest]:
            requests: list[TxRequest] = []
            if use_permit:
                permit = self._permit(sender.account, amount)
                call = (amount, permit.deadline, permit.v, permit.r, permit.s)
            else:
                requests += self._approve(me, amount)
                call = (amount, 0, 0, b"\x00" * 32, b"\x00" * 32)
            requests.append(
                TxRequest.call(hub, "registerProvider", *call, description="register as a provider")
            )
            return requests

        return self._run(plan, build, {"provider": self.address, "staked": str(amount)})

    def deregister(self) -> ActionResult:
        """End the registration (no nodes left), which frees the base stake for unbonding."""
        hub = self.protocol.hub
        if not any(entry.get("name") == "deregisterProvider" for entry in hub.abi):
            raise PrecheckError(
                "this deployment has no deregistration: a provider without nodes has no "
                "minimum stake there, so `loranet stake unbond` frees the whole stake."
            )
        me = self.view()
        if not me.registered:
            raise PrecheckError(f"{self.address} is not registered as a provider.")
        if me.node_count:
            raise PrecheckError(
                f"{self.address} still has {me.node_count} node(s): remove them first "
                "(`loranet node remove`)."
            )
        plan = Plan(
            f"deregister {self.address} as a provider",
            [
                ("stake", f"{format_lora(me.staked)} (all of it can be unbonded afterwards)"),
                ("minimum stake", _change(me.min_stake, 0)),
            ],
        )
        request = TxRequest.call(hub, "deregisterProvider", description="deregister")
        return self._run(plan, lambda _sender: [request], {"provider": self.address})

    def stake_add(self, amount: int) -> ActionResult:
        me = self.view()
        self._require_positive(amount)
        self._require_balance(me, amount)
        plan = Plan(
            f"add {format_lora(amount)} to the stake of {self.address}",
            [
                ("stake", _change(me.staked, me.staked + amount)),
                ("LORA balance", _change(me.lora, me.lora - amount)),
                ("ETH for gas", format_eth(me.eth)),
            ],
        )

        def build(_sender: TxSender) -> list[TxRequest]:
            stake = TxRequest.call(self.protocol.hub, "stake", amount, description="add stake")
            return [*self._approve(me, amount), stake]

        return self._run(plan, build, {"provider": self.address, "added": str(amount)})

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
            fix = (
                "a registered provider keeps the base stake: `loranet provider deregister` "
                "frees it, or unbond less"
                if me.total_units == 0
                else "remove nodes first or unbond less"
            )
            raise PrecheckError(
                f"unbonding {format_lora(amount)} would leave {format_lora(left)} staked, "
                f"below the minimum {format_lora(me.min_stake)} for {me.total_units} compute "
                f"units: {fix}."
            )
        period = int(self.protocol.stake.functions.unbondingPeriod().call())
        expected_release = me.now + period
        plan = Plan(
            f"unbond {format_lora(amount)} of the stake of {self.address}",
            [
                ("stake", _change(me.staked, left)),
                ("unbonding", _change(me.unbonding, me.unbonding + amount)),
                ("withdrawable from", f"about {utc(expected_release)} ({_duration(period)})"),
                ("minimum stake", format_lora(me.min_stake)),
            ],
        )
        request = TxRequest.call(
            self.protocol.hub,
            "unbond",
            amount,
            description="request an unbond",
            context={"units": me.total_units},
        )
        result = self._run(plan, lambda _sender: [request], {})
        release_at = expected_release
        if result.transactions:
            receipt = result.transactions[0].receipt
            events = self.protocol.stake.events.UnbondRequested().process_receipt(receipt)
            release_at = int(events[0]["args"]["releaseAt"]) if events else 0
        result.summary.update(
            {
                "provider": self.address,
                "unbonding": str(amount),
                "release_at": release_at,
                "release_at_utc": utc(release_at),
            }
        )
        return result

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
        plan = Plan(
            f"withdraw {format_lora(me.withdrawable)} of matured unbonds",
            [
                ("LORA balance", _change(me.lora, me.lora + me.withdrawable)),
                ("still unbonding", format_lora(me.unbonding - me.withdrawable)),
            ],
        )
        # providers withdraw on the stake manager itself (the cheapest exit path)
        request = TxRequest.call(
            self.protocol.stake, "withdraw", description="withdraw matured unbonds"
        )
        return self._run(
            plan,
            lambda _sender: [request],
            {"provider": self.address, "withdrawn": str(me.withdrawable)},
        )

    # -- nodes -----------------------------------------------------------------------------

    def add_node(self, node_key: KeySource, *, units: int, specs_hash: bytes) -> ActionResult:
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
        required = self._require_min_stake(me, total)
        registry = self.protocol.registry
        plan = Plan(
            f"add node {key_label(node_key)} with {units} compute units",
            [
                ("compute units", f"{me.total_units} → {total}"),
                ("minimum stake", _change(me.min_stake, required)),
                ("stake", format_lora(me.staked)),
                ("specs hash", "0x" + specs_hash.hex()),
                ("ETH for gas", format_eth(me.eth)),
            ],
        )

        def build(_sender: TxSender) -> list[TxRequest]:
            deadline = self.protocol.now() + SIGNATURE_TTL_S
            signature = sign_add_node(
                resolve_key(node_key),
                chain_id=self.protocol.client.chain_id,
                registry=str(registry.address),
                provider=self.address,
                compute_units=units,
                specs_hash=specs_hash,
                nonce=int(registry.functions.nonces(node_key.address).call()),
                deadline=deadline,
            )
            return [
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
            ]

        return self._run(
            plan,
            build,
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
        me = self.view()
        left = me.total_units - node.compute_units
        plan = Plan(
            f"remove node {node.address} ({node.compute_units} compute units)",
            [
                ("compute units", f"{me.total_units} → {left}"),
                ("stake", format_lora(me.staked)),
            ],
        )
        request = TxRequest.call(
            self.protocol.hub,
            "removeNode",
            node.address,
            description=f"remove node {node.address}",
        )
        return self._run(
            plan, lambda _sender: [request], {"provider": self.address, "node": node.address}
        )

    # -- pools -----------------------------------------------------------------------------

    def join_pool(self, pool_id: int, node_key: KeySource) -> ActionResult:
        pools = self.protocol.pools

        def sign() -> tuple[int, bytes]:
            deadline = self.protocol.now() + SIGNATURE_TTL_S
            signature = sign_join_pool(
                resolve_key(node_key),
                chain_id=self.protocol.client.chain_id,
                pool_contract=str(pools.address),
                pool_id=pool_id,
                provider=self.address,
                nonce=int(pools.functions.nonces(node_key.address).call()),
                deadline=deadline,
            )
            return deadline, signature

        return self._join(pool_id, node_key.address, sign, label=key_label(node_key))

    def join_pool_signed(
        self, pool_id: int, node: str, *, deadline: int, signature: bytes
    ) -> ActionResult:
        """Join with a signature the node key made on its own machine (``loranet node sign``)."""
        if deadline <= self.protocol.now():
            raise PrecheckError(
                f"the node's join signature expired at {utc(deadline)}: sign again "
                "(`loranet node sign`)."
            )
        return self._join(pool_id, node, lambda: (deadline, signature))

    def _join(
        self,
        pool_id: int,
        node_address: str,
        sign: Callable[[], tuple[int, bytes]],
        *,
        label: str | None = None,
    ) -> ActionResult:
        pool = self.protocol.pool(pool_id)
        node = self._own_node(node_address)
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
        plan = Plan(
            f"join node {label or node.address} to pool {pool_id}",
            [
                ("pool", f"{pool_id} ({pool.status})"),
                ("reward", f"{format_lora(pool.reward_per_round)} per round"),
                ("pool nodes", f"{pool.node_count} → {pool.node_count + 1} of {pool.max_nodes}"),
                ("node units", f"{node.compute_units} (pool minimum {pool.min_compute_units})"),
                ("stake", f"{format_lora(me.staked)} (minimum {format_lora(me.min_stake)})"),
            ],
        )

        def build(_sender: TxSender) -> list[TxRequest]:
            deadline, signature = sign()
            return [
                TxRequest.call(
                    self.protocol.hub,
                    "joinPool",
                    pool_id,
                    node.address,
                    deadline,
                    signature,
                    description=f"join pool {pool_id}",
                    context={"units": me.total_units},
                )
            ]

        return self._run(plan, build, {"pool_id": pool_id, "node": node.address})

    def leave_pool(self, node_address: str) -> ActionResult:
        node = self._own_node(node_address)
        if node.pool_id == 0:
            raise PrecheckError(f"node {node.address} is not in any pool.")
        plan = Plan(f"take node {node.address} out of pool {node.pool_id}", [])
        request = TxRequest.call(
            self.protocol.hub,
            "leavePool",
            node.address,
            description=f"leave pool {node.pool_id}",
        )
        return self._run(
            plan, lambda _sender: [request], {"pool_id": node.pool_id, "node": node.address}
        )

    # -- rewards ---------------------------------------------------------------------------

    def claim(self) -> ActionResult:
        pending = int(self.protocol.ledger.functions.pendingRewards(self.address).call())
        if pending == 0:
            raise PrecheckError(f"nothing to claim: {self.address} has no pending rewards.")
        lora = int(self.protocol.token.functions.balanceOf(self.address).call())
        plan = Plan(
            f"claim {format_lora(pending)} of rewards",
            [("LORA balance", _change(lora, lora + pending))],
        )
        request = TxRequest.call(self.protocol.ledger, "claim", description="claim rewards")
        return self._run(
            plan, lambda _sender: [request], {"provider": self.address, "claimed": str(pending)}
        )

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

    def _require_min_stake(self, me: ProviderView, total_units: int) -> int:
        """Refuse when ``me``'s stake is below the minimum for ``total_units`` compute units;
        return that minimum."""
        required = self.protocol.min_stake_for_units(total_units)
        if me.staked < required:
            raise PrecheckError(
                f"stake {format_lora(me.staked)} is below the minimum {format_lora(required)} "
                f"for {total_units} compute units: add stake with `loranet stake add`."
            )
        return required

    def _require_positive(self, amount: int) -> None:
        if amount <= 0:
            raise PrecheckError("the amount must be above 0 LORA.")

    def _require_balance(self, me: ProviderView, amount: int) -> None:
        if me.lora < amount:
            raise PrecheckError(
                f"insufficient balance: {self.address} holds {format_lora(me.lora)} but "
                f"{format_lora(amount)} is needed."
            )

    def _approve(self, me: ProviderView, amount: int) -> list[TxRequest]:
        if me.allowance >= amount:
            return []
        spender = self.protocol.stake.address
        return [
            TxRequest.call(
                self.protocol.token,
                "approve",
                spender,
                amount,
                description=f"approve {format_lora(amount)} for the stake manager",
            )
        ]

    def _permit(self, account: LocalAccount, amount: int) -> Permit:
        token = self.protocol.token
        domain = token.functions.eip712Domain().call()
        return sign_permit(
            account,
            token_domain=(str(domain[1]), str(domain[2])),
            chain_id=self.protocol.client.chain_id,
            token=str(token.address),
            spender=str(self.protocol.stake.address),
            value=amount,
            nonce=int(token.functions.nonces(self.address).call()),
            deadline=self.protocol.now() + SIGNATURE_TTL_S,
        )


def _change(before: int, after: int) -> str:
    return f"{format_lora(before)} → {format_lora(after)}"


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
