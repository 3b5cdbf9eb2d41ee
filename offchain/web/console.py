"""The provider console's server half: the CLI's own checks and calldata, signed in the browser.

The browser wallet (EIP-1193) holds the provider key; nothing is signed here. For an action
the console asks :func:`plan`, which runs the very ``ProviderActions`` method the CLI runs,
in the CLI's ``--dry-run`` mode (a reviewer that never sends, over a sender that knows only
the provider's address): the prechecks refuse with the CLI's sentences, the first transaction
is gas-estimated from the provider's address (a revert is decoded into the CLI's sentence),
and the planned transactions (target, calldata, description) come back. The browser sends
them in order through the wallet; a revert there is sent back to :func:`describe_revert`,
which decodes it with the CLI's decoder and templates (``offchain.chain.revert``,
``offchain.chain.messages``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from pydantic import BaseModel, Field

from offchain.chain.client import ChainClient
from offchain.chain.errors import PrecheckError
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ActionResult, ProviderActions
from offchain.chain.revert import ErrorDecoder
from offchain.chain.review import Plan, PlannedTx
from offchain.chain.tx import TxSender
from offchain.chain.units import format_lora, parse_amount

logger = logging.getLogger(__name__)

Action = Literal["register", "stake", "unbond", "withdraw", "claim", "join", "leave"]


@dataclass(frozen=True)
class _Address:
    """Stands in for a ``LocalAccount`` where only the address is read (estimates, plans)."""

    address: str


def _dry_run(_plan: Plan, _planned: Sequence[PlannedTx]) -> bool:
    """The reviewer of the console: never send (the browser wallet does)."""
    return False


class PlanRequest(BaseModel):
    """What the console asks for."""

    action: Action
    address: str
    amount: str | None = None
    pool_id: int | None = Field(None, ge=1)
    node: str | None = None
    deadline: int | None = None
    signature: str | None = None


def _checked(address: str | None, what: str) -> str:
    if not address or not is_address(address):
        raise PrecheckError(f"'{address or ''}' is not a valid {what} address.")
    return str(to_checksum_address(address))


def plan(client: ChainClient, request: PlanRequest) -> dict[str, Any]:
    """The transactions the CLI would send for ``request``, or a ``LoranetError`` sentence."""
    provider = _checked(request.address, "provider")
    sender = TxSender(client, _Address(provider))  # type: ignore[arg-type]
    actions = ProviderActions(Protocol(client), sender, review=_dry_run)
    result: ActionResult
    if request.action in ("register", "stake", "unbond"):
        amount = parse_amount(request.amount or "")
        if request.action == "register":
            result = actions.register(amount, use_permit=False)
        elif request.action == "stake":
            result = actions.stake_add(amount)
        else:
            result = actions.unbond(amount)
    elif request.action == "withdraw":
        result = actions.withdraw()
    elif request.action == "claim":
        result = actions.claim()
    elif request.action == "leave":
        result = actions.leave_pool(_checked(request.node, "node"))
    else:
        if request.pool_id is None or request.deadline is None or not request.signature:
            raise PrecheckError(
                "joining needs the node's signature: paste the output of "
                "`loranet node sign --node ALIAS --pool ID --provider ADDRESS`."
            )
        result = actions.join_pool_signed(
            request.pool_id,
            _checked(request.node, "node"),
            deadline=int(request.deadline),
            signature=bytes(HexBytes(request.signature)),
        )
    summary = {k: v for k, v in result.summary.items() if k != "release_at"}
    return {
        "action": request.action,
        "provider": provider,
        "chain_id": client.chain_id,
        "summary": summary,
        "plan": result.plan.as_dict() if result.plan is not None else None,
        "transactions": [
            {
                "to": tx.request.to,
                "data": tx.request.data,
                "value": hex(tx.request.value),
                "gas": tx.gas,
                "description": tx.request.description,
                "context": dict(tx.request.context),
            }
            for tx in result.planned
        ],
    }


def describe_revert(
    decoder: ErrorDecoder, data: str | None, context: dict[str, Any] | None = None
) -> str:
    """The CLI's sentence for revert data (as ``ChainClient.revert_error`` words it)."""
    from offchain.chain.messages import describe

    decoded = decoder.decode(data)
    if decoded is None:
        return "the contract refused the call without a known reason."
    return describe(decoded, context or {})


def account(client: ChainClient, address: str) -> dict[str, Any]:
    """The provider's live position (the CLI's ``status`` view), amounts also in LORA."""
    protocol = Protocol(client)
    view = protocol.provider(_checked(address, "provider"))
    data = view.as_dict()
    for key in (
        "lora",
        "allowance",
        "staked",
        "unbonding",
        "withdrawable",
        "min_stake",
        "base_stake",
        "per_unit_stake",
        "pending_rewards",
    ):
        data[key] = {"wei": str(data[key]), "lora": format_lora(int(data[key]))}
    data["eth"] = str(data["eth"])
    for unbond in data["unbonds"]:
        unbond["amount"] = {"wei": str(unbond["amount"]), "lora": format_lora(unbond["amount"])}
    data["nodes"] = [
        {
            "address": n.address,
            "compute_units": n.compute_units,
            "validated": n.validated,
            "blacklisted": n.blacklisted,
            "pool_id": n.pool_id,
        }
        for n in protocol.nodes_of(view.address)
    ]
    data["chain_id"] = client.chain_id
    return data
