"""Sentences for decoded custom errors: one template per error name.

A template receives the error's arguments and a ``context`` given by the command that sent
the call (e.g. ``units`` for a node registration), and returns one sentence without a final
period. Amounts are formatted in LORA. Unknown errors fall back to their name and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from eth_utils.address import to_checksum_address

from offchain.chain.revert import DecodedError, panic_reason
from offchain.chain.units import format_eth, format_lora

Template = Callable[[Mapping[str, Any], Mapping[str, Any]], str]


def _addr(value: Any) -> str:
    return str(to_checksum_address(value))


def _for_units(ctx: Mapping[str, Any]) -> str:
    return f" for {ctx['units']} compute units" if "units" in ctx else ""


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pool_status(status: int) -> str:
    names = ("unknown", "pending", "active", "completed")
    return names[int(status)] if 0 <= int(status) < len(names) else f"in state {status}"


def _role(role: bytes) -> str:
    from offchain.chain.roles import ROLES

    names = {"0x" + spec.role.hex(): spec.name for spec in reversed(list(ROLES.values()))}
    return names.get("0x" + bytes(role).hex(), "0x" + bytes(role).hex()[:8] + "…")


TEMPLATES: dict[str, Template] = {
    # --- Solidity built-ins -------------------------------------------------------------
    "Error": lambda a, c: f"the contract refused: {a['message']}",
    "Panic": lambda a, c: f"the contract failed with {panic_reason(int(a['code']))}",
    # --- OpenZeppelin ERC-20 / ERC-2612 / AccessControl -----------------------------------
    "ERC20InsufficientBalance": lambda a, c: (
        f"insufficient balance: {_addr(a['sender'])} holds {format_lora(a['balance'])} "
        f"but {format_lora(a['needed'])} is needed"
    ),
    "ERC20InsufficientAllowance": lambda a, c: (
        f"insufficient allowance: {_addr(a['spender'])} may spend {format_lora(a['allowance'])} "
        f"but {format_lora(a['needed'])} is needed"
    ),
    "ERC20InvalidReceiver": lambda a, c: f"{_addr(a['receiver'])} cannot receive tokens",
    "ERC20InvalidSender": lambda a, c: f"{_addr(a['sender'])} cannot send tokens",
    "ERC2612ExpiredSignature": lambda a, c: "the permit signature has expired",
    "ERC2612InvalidSigner": lambda a, c: (
        f"the permit was signed by {_addr(a['signer'])}, not by the owner {_addr(a['owner'])}"
    ),
    "AccessControlUnauthorizedAccount": lambda a, c: (
        f"{_addr(a['account'])} lacks the role {_role(a['neededRole'])} needed for this call"
    ),
    "LoraTokenCapExceeded": lambda a, c: (
        f"minting would raise the supply to {format_lora(a['increasedSupply'])}, "
        f"over the cap of {format_lora(a['cap'])}"
    ),
    # --- testnet faucet ---------------------------------------------------------------------
    "LoraFaucetCoolingDown": lambda a, c: (
        f"{_addr(a['account'])} took a drip recently: the next one is possible at "
        f"{_when(a['availableAt'])}"
    ),
    "LoraFaucetEmpty": lambda a, c: (
        f"the faucet holds {format_lora(a['balance'])}, less than a drip of "
        f"{format_lora(a['needed'])}"
    ),
    "LoraFaucetInvalidParams": lambda a, c: "the faucet refused a zero amount or address",
    # --- loranet protocol ------------------------------------------------------------------
    "NetworkHubInsufficientStake": lambda a, c: (
        f"stake {format_lora(a['staked'])} is below the minimum {format_lora(a['required'])}"
        + _for_units(c)
    ),
    "NetworkHubNotNodeOwner": lambda a, c: (
        f"node {_addr(a['node'])} does not belong to {_addr(a['caller'])}"
    ),
    "NetworkHubNodeNotEligible": lambda a, c: (
        f"node {_addr(a['node'])} is not eligible: it is not validated, or it or its provider "
        "is blacklisted"
    ),
    "NetworkHubNodeInActivePool": lambda a, c: (
        f"node {_addr(a['node'])} is in a pool that has not ended: leave it first"
    ),
    "NetworkHubNotPoolCreator": lambda a, c: (
        f"{_addr(a['caller'])} is neither the creator of pool {a['poolId']} nor an admin"
    ),
    "NetworkHubAlreadyWired": lambda a, c: "the hub is already wired",
    "NetworkHubInvalidModule": lambda a, c: (
        f"{_addr(a['module'])} is not a module of this hub (no code, or it obeys another hub)"
    ),
    "HubModuleUnauthorized": lambda a, c: (
        f"{_addr(a['caller'])} may not call this module directly: go through the hub"
    ),
    "HubModuleZeroAddress": lambda a, c: "an address given to the contract is zero",
    "StakeManagerAmountTooLarge": lambda a, c: (
        f"{format_lora(a['amount'])} is more than a stake account can hold"
    ),
    "StakeManagerInvalidBps": lambda a, c: f"{a['bps']} basis points is above 10,000",
    "StakeManagerInvalidUnbondingPeriod": lambda a, c: (
        f"an unbonding period of {a['period']} s is longer than the contract allows"
    ),
    "StakeManagerZeroTreasury": lambda a, c: "the treasury address must not be zero",
    "ComputePoolInvalidParams": lambda a, c: (
        "the pool parameters are out of range (round length, submission window, node limit)"
    ),
    "DomainRegistryInvalidPolicy": lambda a, c: "the domain policy is out of range",
    "DomainRegistryNameTaken": lambda a, c: f"a domain named '{a['name']}' already exists",
    "DomainRegistryUnknownDomain": lambda a, c: f"domain {a['domainId']} does not exist",
    "WorkLedgerPreviousReportPending": lambda a, c: (
        f"node {_addr(a['node'])} still has a report of round {a['round']} of pool "
        f"{a['poolId']} waiting to be finalized: try again once that round is finalized"
    ),
    "WorkLedgerProviderBlacklisted": lambda a, c: (
        f"provider {_addr(a['provider'])} is blacklisted and cannot submit work"
    ),
    "WorkLedgerUnauthorized": lambda a, c: (
        f"{_addr(a['caller'])} may not call the work ledger directly: go through the hub"
    ),
    "WorkLedgerInvalidBitmap": lambda a, c: (
        f"the accept bitmap {a['bitmap']:#x} names reports beyond the {a['reportCount']} submitted"
    ),
    "WorkLedgerInvalidMode": lambda a, c: f"execution mode {a['mode']} is not 0, 1 or 2",
    "WorkLedgerInvalidSamples": lambda a, c: (
        f"{a['samples']} samples is not a valid count (1 to 2^64 - 1)"
    ),
    "WorkLedgerTooManyReports": lambda a, c: (
        f"round {a['round']} of pool {a['poolId']} already has the most reports allowed"
    ),
    "StakeManagerZeroAmount": lambda a, c: "the amount must be above 0 LORA",
    "StakeManagerInsufficientStake": lambda a, c: (
        f"cannot unbond {format_lora(a['requested'])}: the free stake is only "
        f"{format_lora(a['staked'])}"
    ),
    "StakeManagerTooManyUnbonds": lambda a, c: (
        f"{_addr(a['provider'])} already has {a['max']} pending unbonds, the most allowed: "
        "withdraw the matured ones first"
    ),
    "StakeManagerNothingToWithdraw": lambda a, c: (
        f"nothing to withdraw yet: no unbond of {_addr(a['provider'])} has been released"
    ),
    "ComputeRegistryAlreadyRegistered": lambda a, c: (
        f"{_addr(a['provider'])} is already registered as a provider"
    ),
    "ComputeRegistryNotRegistered": lambda a, c: (
        f"{_addr(a['provider'])} is not registered as a provider: run "
        "`loranet provider register --stake N` first"
    ),
    "ComputeRegistryProviderBlacklisted": lambda a, c: (
        f"provider {_addr(a['provider'])} is blacklisted"
    ),
    "ComputeRegistryNodeBlacklisted": lambda a, c: f"node {_addr(a['node'])} is blacklisted",
    "ComputeRegistryNodeExists": lambda a, c: (
        f"node {_addr(a['node'])} is already registered (by this or another provider)"
    ),
    "ComputeRegistryUnknownNode": lambda a, c: f"node {_addr(a['node'])} is not registered",
    "ComputeRegistryNotNodeOwner": lambda a, c: (
        f"node {_addr(a['node'])} does not belong to {_addr(a['provider'])}"
    ),
    "ComputeRegistryInvalidNode": lambda a, c: (
        f"node {_addr(a['node'])} with {a['computeUnits']} compute units is invalid "
        "(zero address or zero units)"
    ),
    "ComputeRegistryExpiredSignature": lambda a, c: (
        f"the node signature expired at {_when(a['deadline'])}: sign again"
    ),
    "ComputeRegistryInvalidSignature": lambda a, c: (
        f"the signature is not node {_addr(a['node'])}'s signature of this request"
    ),
    "ComputePoolUnknownPool": lambda a, c: f"pool {a['poolId']} does not exist",
    "ComputePoolWrongStatus": lambda a, c: (
        f"pool {a['poolId']} has ended"
        if int(a["status"]) == 3
        else f"pool {a['poolId']} is {_pool_status(a['status'])}, which does not allow this"
    ),
    "ComputePoolFull": lambda a, c: f"pool {a['poolId']} is full ({a['maxNodes']} nodes)",
    "ComputePoolNodeBlacklisted": lambda a, c: (
        f"node {_addr(a['node'])} is blacklisted in pool {a['poolId']}"
    ),
    "ComputePoolAlreadyMember": lambda a, c: (
        f"node {_addr(a['node'])} is already in pool {a['poolId']}"
    ),
    "ComputePoolNotMember": lambda a, c: f"node {_addr(a['node'])} is not in any pool",
    "ComputePoolInsufficientComputeUnits": lambda a, c: (
        f"the node has {a['computeUnits']} compute units but pool {a['poolId']} needs at "
        f"least {a['minComputeUnits']}"
    ),
    "ComputePoolExpiredSignature": lambda a, c: (
        f"the node's join signature expired at {_when(a['deadline'])}: sign again"
    ),
    "ComputePoolInvalidSignature": lambda a, c: (
        f"the join signature is not node {_addr(a['node'])}'s signature of this request"
    ),
    "ComputePoolInvalidRound": lambda a, c: (
        f"round {a['round']} of pool {a['poolId']} has not started or lies after the pool's end"
    ),
    "WorkLedgerNothingToClaim": lambda a, c: (
        f"nothing to claim: {_addr(a['provider'])} has no pending rewards"
    ),
    "WorkLedgerPoolNotEnded": lambda a, c: (
        f"pool {a['poolId']} has not ended yet"
        if not a["refundableAt"]
        else f"pool {a['poolId']}'s last round may still be decided; its escrow is refundable "
        f"from {_when(a['refundableAt'])}"
    ),
    "WorkLedgerNothingToRefund": lambda a, c: f"pool {a['poolId']}'s escrow is already empty",
    "WorkLedgerNotValidator": lambda a, c: f"{_addr(a['account'])} is not a validator",
    "WorkLedgerInvalidSignature": lambda a, c: (
        f"the report is not signed by node {_addr(a['node'])}"
    ),
    "WorkLedgerNotPoolMember": lambda a, c: (
        f"node {_addr(a['node'])} is not a member of pool {a['poolId']} for this round"
    ),
    "WorkLedgerDuplicateReport": lambda a, c: (
        f"node {_addr(a['node'])} already reported round {a['round']} of pool {a['poolId']}"
    ),
    "WorkLedgerWindowClosed": lambda a, c: (
        f"round {a['round']} of pool {a['poolId']} accepts this only from "
        f"{_when(a['opensAt'])} until {_when(a['closesAt'])}"
    ),
    "WorkLedgerAlreadyAttested": lambda a, c: (
        f"{_addr(a['validator'])} already attested round {a['round']} of pool {a['poolId']}"
    ),
    "WorkLedgerAlreadyFinalized": lambda a, c: (
        f"round {a['round']} of pool {a['poolId']} is already finalized"
    ),
    "WorkLedgerNotFinalizable": lambda a, c: (
        f"round {a['round']} of pool {a['poolId']} has no quorum yet; validators may still "
        f"attest, and it can be finalized without one from {_when(a['expiresAt'])}"
    ),
    "NetworkHubUnbondingTooShort": lambda a, c: (
        f"the unbonding period ({a['unbondingPeriod']} s) must be at least the longest time "
        f"from a report to its verdict ({a['span']} s = submission window + 2 x challenge "
        "window): lengthen the unbonding period or shorten the windows"
    ),
    "ComputeRegistryHasNodes": lambda a, c: (
        f"{_addr(a['provider'])} still has {a['nodeCount']} node(s): remove them before "
        "deregistering"
    ),
    "NetworkHubPoolEnded": lambda a, c: f"pool {a['poolId']} has ended: it takes no more funds",
    "EnforcedPause": lambda a, c: "the protocol is paused by its guardian; try again later",
}


def describe(error: DecodedError, context: Mapping[str, Any] | None = None) -> str:
    """One sentence (ending with a period) for a decoded error."""
    template = TEMPLATES.get(error.name)
    ctx = context or {}
    if template is not None:
        try:
            return _sentence(template(error.args, ctx))
        except (KeyError, TypeError, ValueError):
            pass  # arguments differ from what the template expects: fall back below
    return _sentence(f"the contract refused the call with {error}")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


__all__ = ["TEMPLATES", "Template", "describe", "format_eth", "format_lora"]
