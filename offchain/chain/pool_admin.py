"""What a pool creator does: create, start and end pools, publish their metadata, blacklist.

Prechecks mirror ``ComputePool``'s rules (domain exists, ``0 < submissionWindow <=
roundLength``, ``0 < maxNodes <= MAX_NODES``, reward within 96 bits) and the hub's (the
``POOL_CREATOR_ROLE`` to create; the pool's creator or an admin for the rest), and check the
metadata URI the way nodes will read it (:mod:`offchain.pools.metadata`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

from web3 import Web3

from offchain.chain.errors import PrecheckError
from offchain.chain.operator import OperatorActions, checksum, summary
from offchain.chain.protocol import PoolView
from offchain.chain.provider import ActionResult
from offchain.chain.review import Plan, execute
from offchain.chain.tx import TxRequest
from offchain.chain.units import format_lora
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)

UINT32_MAX = 2**32 - 1
UINT96_MAX = 2**96 - 1
URI_SCHEMES = ("http", "https", "s3", "ipfs", "hf", "builtin", "data", "file")


@dataclass(frozen=True)
class PoolSpec:
    """What a pool creator chooses (``IComputePool.PoolParams`` with readable names)."""

    domain_id: int
    base_model_uri: str
    base_model_hash: bytes
    dataset_uri: str
    dataset_hash: bytes
    metadata_uri: str
    round_length: int
    submission_window: int
    reward_per_round: int
    max_nodes: int
    min_compute_units: int = 1
    budget: int = 0  # LORA (wei) the creator escrows in the work ledger at creation

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.domain_id,
            self.base_model_hash,
            self.base_model_uri,
            self.dataset_hash,
            self.dataset_uri,
            self.metadata_uri,
            self.round_length,
            self.submission_window,
            self.reward_per_round,
            self.max_nodes,
            self.min_compute_units,
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["base_model_hash"] = "0x" + self.base_model_hash.hex()
        data["dataset_hash"] = "0x" + self.dataset_hash.hex()
        data["reward_per_round"] = str(self.reward_per_round)
        data["budget"] = str(self.budget)
        return data


def parse_hash(text: str | None, uri: str, what: str) -> bytes:
    """A 32-byte content hash from ``0x`` + 64 hex digits; for ``builtin://`` URIs without
    one, ``keccak256(name)`` (what the demo pools use)."""
    if not text:
        parsed = urlparse(uri)
        if parsed.scheme == "builtin":
            return bytes(Web3.keccak(text=parsed.netloc + parsed.path))
        raise PrecheckError(f"the {what} needs a content hash (0x and 64 hex digits).")
    raw = text.lower().removeprefix("0x")
    if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
        raise PrecheckError(f"the {what} hash '{text}' is not 0x and 64 hex digits.")
    return bytes.fromhex(raw)


def check_uri(uri: str, what: str, *, local: bool) -> None:
    scheme = urlparse(uri).scheme
    if scheme not in URI_SCHEMES:
        raise PrecheckError(
            f"the {what} URI '{uri}' has no known scheme ({', '.join(URI_SCHEMES)})."
        )
    if scheme == "file" and not local:
        raise PrecheckError(
            f"the {what} URI '{uri}' is a local file, which no other machine can read: "
            "use http(s):// or s3:// on this chain."
        )


def check_metadata(uri: str, *, local: bool) -> None:
    """Inline metadata must be a valid document; a URL's scheme must be readable by nodes."""
    from offchain.pools.metadata import load_metadata

    text = uri.strip()
    if not text:
        return
    if text.startswith(("{", "data:")):
        try:
            load_metadata(text)
        except LoranetError as err:
            raise PrecheckError(str(err)) from None
        return
    scheme = urlparse(text).scheme
    if scheme not in ("http", "https", "s3", "file"):
        raise PrecheckError(
            f"the metadata URI '{text}' has an unsupported scheme (data, http, https, s3)."
        )
    if scheme == "file" and not local:
        raise PrecheckError(
            f"the metadata URI '{text}' is a local file, which no other machine can read: "
            "use a data:, http(s):// or s3:// URI on this chain."
        )


class PoolCreatorActions(OperatorActions):
    """Pools of the caller (or any pool, for an admin)."""

    @property
    def is_local(self) -> bool:
        return bool(self.protocol.client.settings.is_local)

    def check_spec(self, spec: PoolSpec) -> None:
        registry = self.protocol.client.contract("DomainRegistry")
        if not 1 <= spec.domain_id <= int(registry.functions.domainCount().call()):
            raise PrecheckError(f"domain {spec.domain_id} does not exist.")
        if not 0 < spec.round_length <= UINT32_MAX:
            raise PrecheckError("the round length must be above 0 seconds.")
        if not 0 < spec.submission_window <= spec.round_length:
            raise PrecheckError(
                f"the submission window ({spec.submission_window} s) must be above 0 and at "
                f"most the round length ({spec.round_length} s)."
            )
        most = int(self.protocol.pools.functions.MAX_NODES().call())
        if not 0 < spec.max_nodes <= most:
            raise PrecheckError(
                f"the node limit must be between 1 and {most}, not {spec.max_nodes}."
            )
        if not 0 <= spec.min_compute_units <= UINT32_MAX:
            raise PrecheckError("the minimum compute units must fit 32 bits.")
        if not 0 <= spec.reward_per_round <= UINT96_MAX:
            raise PrecheckError("the reward per round does not fit 96 bits.")
        check_uri(spec.base_model_uri, "base model", local=self.is_local)
        check_uri(spec.dataset_uri, "data set", local=self.is_local)
        check_metadata(spec.metadata_uri, local=self.is_local)

    def create(self, spec: PoolSpec) -> ActionResult:
        """Create the pool and escrow ``spec.budget`` (approving the work ledger first when the
        allowance is short): the pool pays accepted work from this budget only."""
        self.require_role("pool-creator", "creating a pool")
        self.check_spec(spec)
        token, ledger = self.protocol.token, self.protocol.ledger
        if spec.budget:
            balance = int(token.functions.balanceOf(self.caller).call())
            if balance < spec.budget:
                raise PrecheckError(
                    f"the pool's budget is {format_lora(spec.budget)} but {self.caller} holds "
                    f"only {format_lora(balance)}."
                )
        requests = []
        allowance = int(token.functions.allowance(self.caller, ledger.address).call())
        if spec.budget > allowance:
            requests.append(
                TxRequest.call(
                    token, "approve", ledger.address, spec.budget, description="approve the budget"
                )
            )
        zero = b"\x00" * 32
        requests.append(
            TxRequest.call(
                self.protocol.hub,
                "createPool",
                spec.as_tuple(),
                spec.budget,
                0,
                0,
                zero,
                zero,
                description="create pool (escrows the budget)",
            )
        )
        rows = [
            ("domain", str(spec.domain_id)),
            ("base model", spec.base_model_uri),
            ("data set", spec.dataset_uri),
            ("reward per round", format_lora(spec.reward_per_round)),
            ("budget escrowed", format_lora(spec.budget)),
            ("rounds", f"{spec.round_length} s, reports within {spec.submission_window} s"),
            ("nodes", f"at most {spec.max_nodes}"),
        ]
        plan = Plan("create pool", [("from", self.caller), *rows])
        outcome = execute(self.sender(), plan, requests, self.review)
        result = ActionResult(
            outcome.sent, {}, plan=plan, planned=outcome.planned, dry_run=outcome.dry_run
        )
        if result.dry_run:
            return summary(result, pool_id=None, creator=self.caller, params=spec.as_dict())
        events = self.protocol.pools.events.PoolCreated().process_receipt(
            result.transactions[-1].receipt
        )
        pool_id = int(events[0]["args"]["poolId"]) if events else self.protocol.pool_count()
        return summary(result, pool_id=pool_id, creator=self.caller, params=spec.as_dict())

    def _own_pool(self, pool_id: int, doing: str) -> PoolView:
        pool = self.protocol.pool(pool_id)
        if pool.creator != self.caller and not self.has_role("admin"):
            raise PrecheckError(
                f"{self.caller} cannot {doing} pool {pool_id}: only its creator "
                f"({pool.creator}) or an admin can."
            )
        return pool

    def start(self, pool_id: int) -> ActionResult:
        pool = self._own_pool(pool_id, "start")
        if pool.status != "pending":
            raise PrecheckError(f"pool {pool_id} is {pool.status}: only a pending pool starts.")
        result = self.call(
            self.protocol.hub, "startPool", pool_id, description=f"start pool {pool_id}"
        )
        return summary(result, pool_id=pool_id, status="active")

    def end(self, pool_id: int) -> ActionResult:
        pool = self._own_pool(pool_id, "end")
        if pool.status == "completed":
            raise PrecheckError(f"pool {pool_id} has ended already.")
        result = self.call(self.protocol.hub, "endPool", pool_id, description=f"end pool {pool_id}")
        return summary(result, pool_id=pool_id, status="completed")

    def set_metadata(self, pool_id: int, metadata_uri: str) -> ActionResult:
        self._own_pool(pool_id, "update the metadata of")
        check_metadata(metadata_uri, local=self.is_local)
        result = self.call(
            self.protocol.hub,
            "setPoolMetadataUri",
            pool_id,
            metadata_uri,
            description=f"set metadata of pool {pool_id}",
        )
        return summary(result, pool_id=pool_id, metadata_uri=metadata_uri)

    def blacklist(self, pool_id: int, node: str, *, blacklisted: bool = True) -> ActionResult:
        self._own_pool(pool_id, "blacklist nodes in")
        address = checksum(node, "node address")
        if self.protocol.is_pool_blacklisted(pool_id, address) == blacklisted:
            state = "blacklisted" if blacklisted else "not blacklisted"
            raise PrecheckError(f"node {address} is already {state} in pool {pool_id}.")
        result = self.call(
            self.protocol.hub,
            "setPoolBlacklisted",
            pool_id,
            address,
            blacklisted,
            description=f"{'blacklist' if blacklisted else 'clear'} node in pool {pool_id}",
        )
        return summary(result, pool_id=pool_id, node=address, blacklisted=blacklisted)
