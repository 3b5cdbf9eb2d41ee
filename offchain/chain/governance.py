"""Governance actions (``loranet gov``): delegate, propose, vote, queue, execute, show.

LoraGovernor counts LORA votes (ERC-5805, delegated: an account votes only after delegating,
usually to itself); LoraTimelock, which holds every admin role after a production deployment,
executes a queued proposal once its delay has passed. A proposal's life:
``Pending -> Active -> Succeeded | Defeated -> Queued -> Executed``; a succeeded proposal not
queued within ``queuePeriod`` blocks becomes ``Expired``. Every method prechecks the state so a
refusal is one sentence before any key is unlocked (:mod:`offchain.chain.operator`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from offchain.chain.errors import PrecheckError
from offchain.chain.operator import OperatorActions, checksum, summary
from offchain.chain.provider import ActionResult
from offchain.chain.units import format_lora

logger = logging.getLogger(__name__)

SUPPORT = {"against": 0, "for": 1, "abstain": 2}


class ProposalState(IntEnum):
    """``IGovernor.ProposalState``."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


@dataclass(frozen=True)
class ProposalView:
    """A stored proposal with its state and tally (votes in wei of LORA)."""

    proposal_id: int
    state: ProposalState
    proposer: str
    targets: list[str]
    calls: list[str]
    description_hash: str
    snapshot: int
    deadline: int
    eta: int
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": str(self.proposal_id),
            "state": self.state.name.lower(),
            "proposer": self.proposer,
            "targets": self.targets,
            "calls": self.calls,
            "snapshot_block": self.snapshot,
            "deadline_block": self.deadline,
            "eta": self.eta,
            "votes": {
                "for": str(self.votes_for),
                "against": str(self.votes_against),
                "abstain": str(self.votes_abstain),
            },
            "quorum": str(self.quorum),
        }


def parse_arg(kind: str, text: str) -> Any:
    """One function argument from the command line by its ABI type (ints, address, bool,
    bytes32/bytes as 0x hex, string)."""
    try:
        if kind.startswith(("uint", "int")):
            return int(text, 0)
        if kind == "address":
            return checksum(text)
        if kind == "bool":
            if text.lower() not in {"true", "false", "1", "0"}:
                raise ValueError(text)
            return text.lower() in {"true", "1"}
        if kind.startswith("bytes"):
            return bytes(Web3.to_bytes(hexstr=text))
        if kind == "string":
            return text
    except ValueError as err:
        raise PrecheckError(f"'{text}' is not a valid {kind}.") from err
    raise PrecheckError(f"arguments of type {kind} are not supported on the command line.")


class GovernanceActions(OperatorActions):
    """The caller's governance actions on the deployment's LoraGovernor."""

    @property
    def governor(self) -> Any:
        client = self.protocol.client
        if not client.has("LoraGovernor"):
            raise PrecheckError(
                "this deployment has no governor (LoraGovernor): redeploy with scripts/deploy.py."
            )
        return client.contract("LoraGovernor")

    @property
    def timelock(self) -> Any:
        return self.protocol.client.contract("LoraTimelock")

    # -- reads ----------------------------------------------------------------------------

    def state(self, proposal_id: int) -> ProposalState:
        try:
            return ProposalState(int(self.governor.functions.state(proposal_id).call()))
        except ContractLogicError as err:  # GovernorNonexistentProposal (custom errors too)
            raise PrecheckError(f"proposal {proposal_id} does not exist.") from err

    def votes_of(self, who: str | None = None) -> int:
        gov = self.governor
        block = int(gov.functions.clock().call()) - 1
        return int(gov.functions.getVotes(checksum(who or self.caller), max(block, 0)).call())

    def proposal(self, proposal_id: int) -> ProposalView:
        gov = self.governor
        state = self.state(proposal_id)
        targets, _values, calldatas, description_hash = gov.functions.proposalDetails(
            proposal_id
        ).call()
        against, votes_for, abstain = gov.functions.proposalVotes(proposal_id).call()
        snapshot = int(gov.functions.proposalSnapshot(proposal_id).call())
        return ProposalView(
            proposal_id=int(proposal_id),
            state=state,
            proposer=str(gov.functions.proposalProposer(proposal_id).call()),
            targets=[str(t) for t in targets],
            calls=[
                self._describe_call(str(t), bytes(c))
                for t, c in zip(targets, calldatas, strict=True)
            ],
            description_hash="0x" + bytes(description_hash).hex(),
            snapshot=snapshot,
            deadline=int(gov.functions.proposalDeadline(proposal_id).call()),
            eta=int(gov.functions.proposalEta(proposal_id).call()),
            votes_for=int(votes_for),
            votes_against=int(against),
            votes_abstain=int(abstain),
            quorum=int(gov.functions.quorum(snapshot).call())
            if state != ProposalState.PENDING
            else 0,
        )

    def proposals(self) -> list[ProposalView]:
        gov = self.governor
        count = int(gov.functions.proposalCount().call())
        ids = [int(gov.functions.proposalDetailsAt(i).call()[0]) for i in range(count)]
        return [self.proposal(i) for i in ids]

    def _describe_call(self, target: str, calldata: bytes) -> str:
        """``Contract.function(args)`` when the target is a known contract, else the raw hex."""
        client = self.protocol.client
        for name in client.deployment.contracts:
            if Web3.to_checksum_address(client.deployment.address(name)) != target:
                continue
            try:
                fn, args = client.contract(name).decode_function_input(calldata)
            except ValueError:
                break
            shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
            return f"{name}.{fn.fn_name}({shown})"
        return f"{target} 0x{calldata.hex()}"

    # -- writes ---------------------------------------------------------------------------

    def delegate(self, to: str | None = None) -> ActionResult:
        delegatee = checksum(to or self.caller)
        result = self.call(
            self.protocol.token, "delegate", delegatee, description="delegate LORA votes"
        )
        return summary(result, delegatee=delegatee)

    def propose(
        self, target: str, signature: str, args: list[str], description: str
    ) -> ActionResult:
        client = self.protocol.client
        if not client.has(target):
            known = ", ".join(sorted(client.deployment.contracts))
            raise PrecheckError(f"unknown contract '{target}': choose one of {known}.")
        if not description.strip():
            raise PrecheckError("a proposal needs a description (--description).")
        contract = client.contract(target)
        fn_name, kinds = _split_signature(signature)
        matches = [
            f
            for f in contract.abi
            if f.get("type") == "function"
            and f["name"] == fn_name
            and [i["type"] for i in f["inputs"]] == kinds
        ]
        if not matches:
            raise PrecheckError(f"{target} has no function {signature}.")
        if len(args) != len(kinds):
            raise PrecheckError(f"{signature} takes {len(kinds)} argument(s), not {len(args)}.")
        values = [parse_arg(k, a) for k, a in zip(kinds, args, strict=True)]
        calldata = contract.encode_abi(fn_name, args=values)
        gov = self.governor
        threshold = int(gov.functions.proposalThreshold().call())
        votes = self.votes_of()
        if votes < threshold:
            raise PrecheckError(
                f"{self.caller} has {format_lora(votes)} of votes; proposing needs "
                f"{format_lora(threshold)} (delegate your LORA first: `loranet gov delegate`)."
            )
        target_address = Web3.to_checksum_address(client.deployment.address(target))
        result = self.call(
            gov,
            "propose",
            [target_address],
            [0],
            [Web3.to_bytes(hexstr=calldata)],
            description,
            description=f"propose {target}.{signature}",
        )
        events = gov.events.ProposalCreated().process_receipt(result.transactions[-1].receipt)
        proposal_id = int(events[0]["args"]["proposalId"]) if events else 0
        return summary(
            result,
            proposal_id=str(proposal_id),
            call=f"{target}.{fn_name}({', '.join(args)})",
            voting_starts_block=int(gov.functions.proposalSnapshot(proposal_id).call()) + 1,
            voting_ends_block=int(gov.functions.proposalDeadline(proposal_id).call()),
        )

    def vote(self, proposal_id: int, support: str, reason: str = "") -> ActionResult:
        key = support.strip().lower()
        if key not in SUPPORT:
            raise PrecheckError(f"vote 'for', 'against' or 'abstain', not '{support}'.")
        state = self.state(proposal_id)
        if state != ProposalState.ACTIVE:
            raise PrecheckError(
                f"proposal {proposal_id} is {state.name.lower()}: votes are taken only while it "
                "is active."
            )
        gov = self.governor
        if gov.functions.hasVoted(proposal_id, self.caller).call():
            raise PrecheckError(f"{self.caller} already voted on proposal {proposal_id}.")
        snapshot = int(gov.functions.proposalSnapshot(proposal_id).call())
        weight = int(gov.functions.getVotes(self.caller, snapshot).call())
        if weight == 0:
            raise PrecheckError(
                f"{self.caller} had no votes at the proposal's snapshot (block {snapshot}): "
                "votes count only if delegated before the proposal."
            )
        if reason:
            result = self.call(
                gov, "castVoteWithReason", proposal_id, SUPPORT[key], reason, description="vote"
            )
        else:
            result = self.call(gov, "castVote", proposal_id, SUPPORT[key], description="vote")
        return summary(result, proposal_id=str(proposal_id), support=key, weight=str(weight))

    def queue(self, proposal_id: int) -> ActionResult:
        state = self.state(proposal_id)
        if state != ProposalState.SUCCEEDED:
            raise PrecheckError(
                f"proposal {proposal_id} is {state.name.lower()}: only a succeeded proposal can "
                "be queued."
            )
        gov = self.governor
        result = self.call(gov, "queue", proposal_id, description="queue in the timelock")
        eta = int(gov.functions.proposalEta(proposal_id).call())
        return summary(result, proposal_id=str(proposal_id), eta=eta)

    def execute(self, proposal_id: int) -> ActionResult:
        state = self.state(proposal_id)
        if state != ProposalState.QUEUED:
            raise PrecheckError(
                f"proposal {proposal_id} is {state.name.lower()}: only a queued proposal can be "
                "executed."
            )
        gov = self.governor
        eta = int(gov.functions.proposalEta(proposal_id).call())
        now = int(self.protocol.client.w3.eth.get_block("latest")["timestamp"])
        if now < eta:
            raise PrecheckError(
                f"proposal {proposal_id} is in the timelock until "
                f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(eta))} ({eta - now} s)."
            )
        result = self.call(gov, "execute", proposal_id, description="execute")
        return summary(result, proposal_id=str(proposal_id))


def _split_signature(signature: str) -> tuple[str, list[str]]:
    text = signature.replace(" ", "")
    if "(" not in text or not text.endswith(")"):
        raise PrecheckError(
            f"'{signature}' is not a function signature like setUnbondingPeriod(uint256)."
        )
    name, inner = text[:-1].split("(", 1)
    return name, [k for k in inner.split(",") if k]


def _show(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


__all__ = [
    "SUPPORT",
    "GovernanceActions",
    "ProposalState",
    "ProposalView",
    "parse_arg",
]
