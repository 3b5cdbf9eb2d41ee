"""What the protocol's admin and validators do: roles, domains, parameters, nodes.

Every method prechecks (caller's role, current state, argument ranges) before it sends; see
:mod:`offchain.chain.operator` for the refusal rules.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from offchain.chain.errors import PrecheckError
from offchain.chain.operator import OperatorActions, checksum, summary
from offchain.chain.provider import ActionResult
from offchain.chain.roles import role_spec
from offchain.chain.units import format_lora

logger = logging.getLogger(__name__)

BPS = 10_000
UINT96_MAX = 2**96 - 1
MAX_UNBONDING_PERIOD = 365 * 24 * 3600


@dataclass(frozen=True)
class Policy:
    """``IDomainRegistry.Policy`` with readable names."""

    quorum: int = 1
    challenge_window: int = 3600
    eval_tolerance: int = 50_000
    local_gpu_multiplier_bps: int = 15_000
    custom_multiplier_bps: int = 10_000
    remote_api_multiplier_bps: int = 5_000
    slash_bps: int = 1_000
    slash_amount: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(asdict(self).values())

    @classmethod
    def from_tuple(cls, values: tuple[int, ...] | list[int]) -> Policy:
        return cls(*(int(v) for v in values))

    def check(self) -> None:
        """The registry's rule, as a sentence: quorum 1..255, windows and multipliers > 0."""
        if not 1 <= self.quorum <= 255:
            raise PrecheckError(f"the quorum must be between 1 and 255, not {self.quorum}.")
        if not 0 < self.challenge_window < 2**32:
            raise PrecheckError("the challenge window must be above 0 seconds.")
        if not 0 <= self.eval_tolerance < 2**32:
            raise PrecheckError("the eval tolerance must fit 32 bits (1e6 = 1.0).")
        for name in ("local_gpu", "custom", "remote_api"):
            value = getattr(self, f"{name}_multiplier_bps")
            if not 0 < value < 2**16:
                raise PrecheckError(
                    f"the {name.replace('_', ' ')} multiplier must be 1..65535 bps, not {value}."
                )
        if not 0 <= self.slash_bps <= BPS:
            raise PrecheckError(f"the slash must be 0..10000 bps, not {self.slash_bps}.")
        if not 0 <= self.slash_amount <= UINT96_MAX:
            raise PrecheckError("the fixed slash amount does not fit 96 bits.")


class AdminActions(OperatorActions):
    """Roles, domains, protocol parameters and blacklists (admin); node validation (validator)."""

    # -- roles -----------------------------------------------------------------------------

    def grant(self, role: str, account: str) -> ActionResult:
        spec, who = role_spec(role), checksum(account)
        contract = self.contract_of(spec)
        admin_role = bytes(contract.functions.getRoleAdmin(spec.role).call())
        if not contract.functions.hasRole(admin_role, self.caller).call():
            raise PrecheckError(
                f"{self.caller} cannot grant {spec.name}: only an admin of {spec.contract} can."
            )
        if contract.functions.hasRole(spec.role, who).call():
            raise PrecheckError(f"{who} already holds the {spec.name} role.")
        result = self.call(contract, "grantRole", spec.role, who, description=f"grant {spec.name}")
        return summary(result, role=spec.name, account=who, granted=True)

    def revoke(self, role: str, account: str) -> ActionResult:
        spec, who = role_spec(role), checksum(account)
        contract = self.contract_of(spec)
        admin_role = bytes(contract.functions.getRoleAdmin(spec.role).call())
        if not contract.functions.hasRole(admin_role, self.caller).call():
            raise PrecheckError(
                f"{self.caller} cannot revoke {spec.name}: only an admin of {spec.contract} can."
            )
        if not contract.functions.hasRole(spec.role, who).call():
            raise PrecheckError(f"{who} does not hold the {spec.name} role.")
        result = self.call(
            contract, "revokeRole", spec.role, who, description=f"revoke {spec.name}"
        )
        return summary(result, role=spec.name, account=who, granted=False)

    # -- domains ---------------------------------------------------------------------------

    def create_domain(self, name: str, policy: Policy) -> ActionResult:
        self.require_role("admin", "creating a domain")
        if not name.strip():
            raise PrecheckError("the domain needs a name.")
        policy.check()
        registry = self.protocol.client.contract("DomainRegistry")
        existing = int(registry.functions.domainIdOf(name).call())
        if existing:
            raise PrecheckError(f"a domain named '{name}' exists already (id {existing}).")
        result = self.call(
            self.protocol.hub, "createDomain", name, policy.as_tuple(), description="create domain"
        )
        domain_id = int(registry.functions.domainIdOf(name).call())
        return summary(result, domain_id=domain_id, name=name, policy=asdict(policy))

    def domain_policy(self, domain_id: int) -> Policy:
        registry = self.protocol.client.contract("DomainRegistry")
        if not 1 <= domain_id <= int(registry.functions.domainCount().call()):
            raise PrecheckError(f"domain {domain_id} does not exist.")
        return Policy.from_tuple(registry.functions.policyOf(domain_id).call())

    def update_domain(self, domain_id: int, policy: Policy) -> ActionResult:
        self.require_role("admin", "updating a domain")
        self.domain_policy(domain_id)
        policy.check()
        result = self.call(
            self.protocol.hub,
            "updateDomain",
            domain_id,
            policy.as_tuple(),
            description=f"update domain {domain_id}",
        )
        return summary(result, domain_id=domain_id, policy=asdict(policy))

    # -- protocol parameters ---------------------------------------------------------------

    def set_stake_params(self, base: int, per_unit: int) -> ActionResult:
        self.require_role("admin", "setting the minimum stake")
        for label, value in (("base stake", base), ("per-unit stake", per_unit)):
            if not 0 <= value <= UINT96_MAX:
                raise PrecheckError(f"the {label} {format_lora(value)} does not fit 96 bits.")
        result = self.call(
            self.protocol.hub, "setStakeParams", base, per_unit, description="set stake rule"
        )
        return summary(result, base_stake=str(base), per_unit_stake=str(per_unit))

    def set_unbonding_period(self, seconds: int) -> ActionResult:
        self.require_role("admin", "setting the unbonding period")
        if not 0 <= seconds <= MAX_UNBONDING_PERIOD:
            raise PrecheckError(
                f"the unbonding period must be 0..{MAX_UNBONDING_PERIOD} s (365 days), "
                f"not {seconds}."
            )
        hub = self.protocol.hub
        span = int(hub.functions.maxSubmissionWindow().call()) + 2 * int(
            hub.functions.maxChallengeWindow().call()
        )
        if seconds < span:
            raise PrecheckError(
                f"the unbonding period must be at least {span} s, the longest time from a report "
                "to its verdict (submission window + 2 x challenge window), so that a provider "
                "cannot withdraw before a rejection slashes it."
            )
        result = self.call(hub, "setUnbondingPeriod", seconds, description="set unbonding period")
        return summary(result, unbonding_period=seconds)

    def set_slash_split(self, burn_bps: int, treasury: str) -> ActionResult:
        self.require_role("admin", "setting the slash split")
        if not 0 <= burn_bps <= BPS:
            raise PrecheckError(f"the burned part must be 0..10000 bps, not {burn_bps}.")
        who = checksum(treasury, "treasury address")
        if int(who, 16) == 0:
            raise PrecheckError("the treasury cannot be the zero address.")
        result = self.call(
            self.protocol.hub, "setSlashSplit", burn_bps, who, description="set slash split"
        )
        return summary(result, burn_bps=burn_bps, treasury=who)

    def params(self) -> dict[str, object]:
        """The protocol parameters now."""
        hub, stake = self.protocol.hub, self.protocol.stake
        functions = stake.functions
        return {
            "base_stake": str(hub.functions.baseStake().call()),
            "per_unit_stake": str(hub.functions.perUnitStake().call()),
            "unbonding_period": int(functions.unbondingPeriod().call()),
            "burn_bps": int(functions.burnBps().call()),
            "treasury": str(functions.treasury().call()),
        }

    # -- nodes and providers ---------------------------------------------------------------

    def validate_node(self, node: str, *, valid: bool = True) -> ActionResult:
        self.require_role("validator", "validating a node")
        view = self.require_node(checksum(node, "node address"))
        if view.blacklisted and valid:
            raise PrecheckError(f"node {view.address} is blacklisted: it cannot be validated.")
        if view.validated == valid:
            state = "validated" if valid else "not validated"
            raise PrecheckError(f"node {view.address} is already {state}.")
        verb = "validate" if valid else "invalidate"
        result = self.call(
            self.protocol.hub,
            "setNodeValidated",
            view.address,
            valid,
            description=f"{verb} node {view.address}",
        )
        return summary(result, node=view.address, validated=valid)

    def blacklist_node(self, node: str, *, blacklisted: bool = True) -> ActionResult:
        self.require_role("admin", "blacklisting a node")
        view = self.require_node(checksum(node, "node address"))
        if view.blacklisted == blacklisted:
            state = "blacklisted" if blacklisted else "not blacklisted"
            raise PrecheckError(f"node {view.address} is already {state}.")
        result = self.call(
            self.protocol.hub,
            "setNodeBlacklisted",
            view.address,
            blacklisted,
            description=f"{'blacklist' if blacklisted else 'clear'} node {view.address}",
        )
        return summary(result, node=view.address, blacklisted=blacklisted)

    def blacklist_provider(self, provider: str, *, blacklisted: bool = True) -> ActionResult:
        self.require_role("admin", "blacklisting a provider")
        who = checksum(provider, "provider address")
        view = self.protocol.provider(who)
        if not view.registered:
            raise PrecheckError(f"{who} is not registered as a provider.")
        if view.blacklisted == blacklisted:
            state = "blacklisted" if blacklisted else "not blacklisted"
            raise PrecheckError(f"provider {who} is already {state}.")
        result = self.call(
            self.protocol.hub,
            "setProviderBlacklisted",
            who,
            blacklisted,
            description=f"{'blacklist' if blacklisted else 'clear'} provider {who}",
        )
        return summary(result, provider=who, blacklisted=blacklisted)
