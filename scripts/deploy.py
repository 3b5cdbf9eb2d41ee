"""Deploy and wire loranet's contracts on any Ape network; write ``deployments/<network>.json``.

    ape run deploy --network ethereum:local:foundry
    ape run deploy --network ethereum:testnet:node --account deployer --yes

On a local network the first test account deploys unless ``--account`` names another, the
deployer also gets ``VALIDATOR_ROLE`` and ``POOL_CREATOR_ROLE``, test accounts 0..9 are
funded with LORA (the deployer grants itself ``MINTER_ROLE`` and a mint allowance of what it
mints, mints, and renounces the role) and the deployer keeps its admin roles beside the
timelock (``--dev-admin``). On any other network ``--account`` (or ``LORANET_DEPLOYER``) names
an Ape account alias, a confirmation is asked before anything is sent, and at the end the
governance timelock holds every admin role: the deployer renounces its own. Parameters come
from options or ``LORANET_*`` environment variables (``docs/deploy.md``).

Re-running is safe. Progress is kept in ``deployments/<network>.partial.json`` until every
wiring step is done; only then is ``<network>.json`` written (atomically) and the partial file
removed. A second run on the same chain reuses every contract of a partial file that has code
and redoes only the wiring steps that the chain shows as missing. A complete deployment whose
contracts still have code is left alone unless ``--force`` (which deploys everything anew).

The logic lives in :func:`deploy_all`, which tests call directly.
"""

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)

DEPLOYMENTS_DIR = Path(
    os.environ.get("LORANET_DEPLOYMENTS_DIR")
    or Path(__file__).resolve().parent.parent / "deployments"
)
LOCAL_NETWORKS = {"local"}
TOKEN = 10**18
DAY = 24 * 3600

#: Deployment order; each constructor only needs contracts earlier in the list.
CONTRACTS = (
    "LoraToken",
    "NetworkHub",
    "StakeManager",
    "ComputeRegistry",
    "DomainRegistry",
    "ComputePool",
    "WorkLedger",
    "LoraTimelock",
    "LoraGovernor",
)
ZERO_ADDRESS = "0x" + "00" * 20


class DeploymentExistsError(click.ClickException):
    """A complete deployment with live contracts is already there (use ``--force``)."""


class DomainSpec(BaseModel):
    """A domain created at deployment (``DomainRegistry.Policy`` plus its name)."""

    model_config = ConfigDict(frozen=True)

    name: str = "lora-finetune"
    quorum: int = Field(1, ge=1, le=255)
    challenge_window: int = Field(3600, gt=0)
    eval_tolerance: int = 50_000  # 1e6 = 1.0
    local_gpu_multiplier_bps: int = 15_000
    custom_multiplier_bps: int = 10_000
    remote_api_multiplier_bps: int = 5_000
    slash_bps: int = Field(1_000, ge=0, le=10_000)
    slash_amount: int = 0

    def policy(self) -> tuple[int, ...]:
        """The ``Policy`` tuple in the contract's field order."""
        return (
            self.quorum,
            self.challenge_window,
            self.eval_tolerance,
            self.local_gpu_multiplier_bps,
            self.custom_multiplier_bps,
            self.remote_api_multiplier_bps,
            self.slash_bps,
            self.slash_amount,
        )


class DeployParams(BaseModel):
    """Protocol parameters of a deployment (amounts in wei of LORA)."""

    model_config = ConfigDict(frozen=True)

    unbonding_period: int = Field(7 * DAY, ge=0, le=365 * DAY)
    base_stake: int = Field(1_000 * TOKEN, ge=0)
    per_unit_stake: int = Field(10 * TOKEN, ge=0)
    burn_bps: int = Field(5_000, ge=0, le=10_000)
    treasury: str | None = None  # default: the deployer
    validators: tuple[str, ...] = ()
    pool_creators: tuple[str, ...] = ()
    domains: tuple[DomainSpec, ...] = (DomainSpec(), DomainSpec(name="inference"))
    fund_amount: int = Field(100_000 * TOKEN, ge=0)  # per funded account, local networks only
    finalize_batch: int = Field(32, ge=1, le=256)  # reports settled per WorkLedger.finalize call
    # Tokens on a live chain (docs/deploy.md "Initial supply and faucet"), within the cap:
    genesis_supply: int = Field(0, ge=0)  # minted once to genesis_to (default: the treasury)
    genesis_to: str | None = None
    faucet: bool = False  # deploy LoraFaucet (testnets), funded with faucet_fund
    faucet_drip: int = Field(5_000 * TOKEN, gt=0)
    faucet_cooldown: int = Field(DAY, ge=0)
    faucet_fund: int = Field(1_000_000 * TOKEN, ge=0)
    # Governance (docs/deploy.md "Governance"): LoraGovernor + LoraTimelock; the timelock gets
    # every admin role and the deployer renounces its own unless dev_admin (local chains).
    dev_admin: bool = False
    guardians: tuple[str, ...] = ()  # GUARDIAN_ROLE: may pause, nothing else
    timelock_delay: int = Field(2 * DAY, ge=0)  # seconds between queue and execute
    voting_delay: int = Field(7_200, ge=0, lt=2**48)  # blocks (~1 day of 12 s blocks)
    voting_period: int = Field(50_400, gt=0, lt=2**32)  # blocks (~1 week)
    proposal_threshold: int = Field(10_000 * TOKEN, ge=0)  # votes needed to propose
    quorum_fraction: int = Field(4, ge=0, le=100)  # % of the supply's votes
    queue_period: int = Field(50_400, gt=0)  # blocks after the vote to queue, else Expired


def deployment_name(ecosystem_name: str, network_name: str) -> str:
    """File stem of a network's deployments file: ``local``, ``sepolia``, ``base-sepolia``."""
    return network_name if ecosystem_name == "ethereum" else f"{ecosystem_name}-{network_name}"


def pick_deployer(alias: str | None, is_local: bool) -> Any:
    if alias and alias.startswith("TEST::"):
        return accounts.test_accounts[int(alias.removeprefix("TEST::"))]
    if alias:
        return accounts.load(alias)
    if is_local:
        return accounts.test_accounts[0]
    raise click.UsageError("--account (or LORANET_DEPLOYER) is required on a live network")


def write_deployment(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a crash never leaves a half-written file


def abi_digest(name: str) -> str:
    """sha256 of a contract's ABI as ``scripts/export_abi.py`` writes it to ``offchain/abi/``."""
    abi = [item.model_dump(mode="json", by_alias=True) for item in project[name].contract_type.abi]
    text = json.dumps(abi, indent=2, sort_keys=True) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()


def _has_code(address: str | None) -> bool:
    return bool(address) and len(chain.provider.get_code(address)) > 0


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def live_deployment(path: Path) -> dict[str, Any] | None:
    """The complete deployment at ``path`` if it is for this chain and every contract has code."""
    data = _read(path)
    if not data or data.get("chain_id") != chain.chain_id:
        return None
    addresses = data.get("contracts", {})
    if not set(CONTRACTS) <= set(addresses) or not all(_has_code(a) for a in addresses.values()):
        return None
    return data


def deploy_all(
    deployer: Any,
    params: DeployParams | None = None,
    *,
    network: str = "local",
    out_dir: Path = DEPLOYMENTS_DIR,
    force: bool = False,
    fund: Sequence[Any] = (),
) -> dict[str, Any]:
    """Deploy, wire and (optionally) fund loranet; return what is written to the deployment file.

    Args:
        deployer: An Ape account; it keeps ``DEFAULT_ADMIN_ROLE`` on the token and the hub.
        params: Protocol parameters (defaults: ``DeployParams()``).
        network: Deployment file stem (``<out_dir>/<network>.json``).
        out_dir: Folder of deployment files.
        force: Deploy anew even if a complete live deployment exists.
        fund: Accounts (or addresses) to give ``params.fund_amount`` LORA each (local use).

    Raises:
        DeploymentExistsError: a complete deployment with live contracts exists and not ``force``.
    """
    params = params or DeployParams()
    final_path = out_dir / f"{network}.json"
    partial_path = out_dir / f"{network}.partial.json"
    if not force and live_deployment(final_path) is not None:
        raise DeploymentExistsError(
            f"{final_path} already holds a complete deployment on chain {chain.chain_id}; "
            "use --force to deploy anew"
        )

    progress = None if force else _read(partial_path)
    if not progress or progress.get("chain_id") != chain.chain_id:
        progress = {
            "chain_id": chain.chain_id,
            "block": chain.blocks.head.number,
            "deployer": deployer.address,
            "contracts": {},
        }
    addresses: dict[str, str] = progress["contracts"]
    treasury = params.treasury or deployer.address

    def save() -> None:
        write_deployment(partial_path, progress)

    def contract(name: str, *args: Any) -> Any:
        known = addresses.get(name)
        if known and _has_code(known):
            logger.info("reusing %s at %s", name, known)
            return project[name].at(known)
        instance = deployer.deploy(project[name], *args)
        addresses[name] = instance.address
        save()
        logger.info("deployed %s at %s", name, instance.address)
        return instance

    token = contract("LoraToken", deployer)
    hub = contract("NetworkHub", deployer, token, params.base_stake, params.per_unit_stake)
    stake = contract("StakeManager", hub, token, params.unbonding_period, params.burn_bps, treasury)
    registry = contract("ComputeRegistry", hub)
    domains = contract("DomainRegistry", hub)
    pools = contract("ComputePool", hub, domains)
    ledger = contract(
        "WorkLedger", hub, token, stake, registry, domains, pools, params.finalize_batch
    )
    # governance: the timelock (anyone executes; the deployer administers it until the end)
    timelock = contract("LoraTimelock", params.timelock_delay, [], [ZERO_ADDRESS], deployer)
    governor = contract(
        "LoraGovernor",
        token,
        timelock,
        params.voting_delay,
        params.voting_period,
        params.proposal_threshold,
        params.quorum_fraction,
        params.queue_period,
    )

    # Wiring: every step checks the chain first, so a re-run resumes where a crash stopped.
    if hub.workLedger() != ledger.address:
        hub.wire((stake, registry, domains, pools, ledger), sender=deployer)
    # the ledger pays work from pools' escrows: it never mints (no MINTER_ROLE)
    domain_ids = {}
    for spec in params.domains:
        domain_id = domains.domainIdOf(spec.name)
        if domain_id == 0:
            hub.createDomain(spec.name, spec.policy(), sender=deployer)
            domain_id = domains.domainIdOf(spec.name)
        domain_ids[spec.name] = domain_id
    for role_name, members in (
        ("VALIDATOR_ROLE", params.validators),
        ("POOL_CREATOR_ROLE", params.pool_creators),
    ):
        role = getattr(hub, role_name)()
        for member in members:
            if not hub.hasRole(role, member):
                hub.grantRole(role, member, sender=deployer)
    funded = _fund(token, deployer, fund, params.fund_amount)
    allocation = _allocate(token, deployer, params, progress, contract, save, treasury)
    governance = _govern(token, hub, timelock, governor, deployer, params, allocation)

    data = {
        **progress,
        "network": network,
        "start_block": progress["block"],
        "deployed_at": int(time.time()),
        "contracts": dict(addresses),
        "abi_digests": {name: abi_digest(name) for name in sorted(addresses)},
        "domains": domain_ids,
        "params": {
            "unbonding_period": params.unbonding_period,
            "base_stake": str(params.base_stake),
            "per_unit_stake": str(params.per_unit_stake),
            "burn_bps": params.burn_bps,
            "treasury": treasury,
            "finalize_batch": params.finalize_batch,
        },
        "governance": governance,
        "roles": {
            "admin": deployer.address if params.dev_admin else governance["timelock"],
            "dev_admin": deployer.address if params.dev_admin else None,
            "guardians": list(params.guardians),
            "validators": list(params.validators),
            "pool_creators": list(params.pool_creators),
        },
        "funded": funded,
        "allocation": allocation,
    }
    write_deployment(final_path, data)
    partial_path.unlink(missing_ok=True)
    return data


def _fund(token: Any, deployer: Any, targets: Sequence[Any], amount: int) -> list[str]:
    """Top up each target to ``amount`` LORA; the deployer holds ``MINTER_ROLE`` and a mint
    allowance of exactly what it mints only meanwhile (the allowance ends at 0 again)."""
    addresses = [getattr(t, "address", t) for t in targets]
    if not addresses or amount == 0:
        return []
    missing = {a: amount - token.balanceOf(a) for a in addresses}
    missing = {a: m for a, m in missing.items() if m > 0}
    if not missing:
        return addresses
    minter = token.MINTER_ROLE()
    if not token.hasRole(minter, deployer):
        token.grantRole(minter, deployer, sender=deployer)
    allowance = token.mintAllowance()
    token.setMintAllowance(allowance + sum(missing.values()), sender=deployer)
    for address, need in missing.items():
        token.mint(address, need, sender=deployer)
    token.renounceRole(minter, deployer, sender=deployer)
    return addresses


def _govern(
    token: Any,
    hub: Any,
    timelock: Any,
    governor: Any,
    deployer: Any,
    params: DeployParams,
    allocation: dict[str, Any],
) -> dict[str, Any]:
    """Hand the timelock every admin role (the governor proposes to it) and, unless
    ``params.dev_admin``, make the deployer renounce its own. Each step checks the chain first,
    so a re-run resumes where a crash stopped."""
    for role in (timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE()):
        if not timelock.hasRole(role, governor):
            timelock.grantRole(role, governor, sender=deployer)
    guardian = hub.GUARDIAN_ROLE()
    for member in params.guardians:
        if not hub.hasRole(guardian, member):
            hub.grantRole(guardian, member, sender=deployer)
    admin = hub.DEFAULT_ADMIN_ROLE()
    for target in (hub, token):
        if not target.hasRole(admin, timelock):
            target.grantRole(admin, timelock, sender=deployer)
    faucet = allocation.get("faucet", {}).get("address")
    if not params.dev_admin:
        if faucet and project.LoraFaucet.at(faucet).owner() == deployer.address:
            project.LoraFaucet.at(faucet).transferOwnership(timelock, sender=deployer)
        for target in (hub, token, timelock):
            if target.hasRole(admin, deployer):
                target.renounceRole(admin, deployer, sender=deployer)
    return {
        "timelock": timelock.address,
        "governor": governor.address,
        "timelock_delay": params.timelock_delay,
        "voting_delay": params.voting_delay,
        "voting_period": params.voting_period,
        "proposal_threshold": str(params.proposal_threshold),
        "quorum_fraction": params.quorum_fraction,
        "queue_period": params.queue_period,
    }


class AllocationError(click.ClickException):
    """The initial allocation does not fit the token's cap."""


def _allocate(
    token: Any,
    deployer: Any,
    params: DeployParams,
    progress: dict[str, Any],
    contract: Any,
    save: Any,
    treasury: str,
) -> dict[str, Any]:
    """Mint the genesis allocation and deploy + fund the faucet, each once per deployment.

    Progress flags in the partial file make a re-run skip what is done (a crash between a
    mint and its flag would mint twice on a re-run: the flag is saved right after the
    receipt, and the cap bounds the damage).
    """
    done: dict[str, Any] = progress.setdefault("allocation", {})
    genesis_to = params.genesis_to or treasury
    mints: list[tuple[str, str, int]] = []
    if params.genesis_supply and not done.get("genesis"):
        mints.append(("genesis", genesis_to, params.genesis_supply))
    faucet = None
    if params.faucet:
        faucet = contract("LoraFaucet", token, deployer, params.faucet_drip, params.faucet_cooldown)
        if params.faucet_fund and not done.get("faucet_funded"):
            mints.append(("faucet_funded", faucet.address, params.faucet_fund))
    needed = sum(amount for _, _, amount in mints)
    room = token.cap() - token.totalSupply()
    if needed > room:
        raise AllocationError(
            f"the initial allocation ({needed / TOKEN:,.0f} LORA) exceeds what the cap leaves "
            f"({room / TOKEN:,.0f} LORA): lower --genesis-supply or --faucet-fund"
        )
    if mints:
        minter = token.MINTER_ROLE()
        if not token.hasRole(minter, deployer):
            token.grantRole(minter, deployer, sender=deployer)
        # mints spend the governance-set allowance: the deployer allows exactly these
        token.setMintAllowance(token.mintAllowance() + needed, sender=deployer)
        for flag, to, amount in mints:
            token.mint(to, amount, sender=deployer)
            done[flag] = True
            save()
        token.renounceRole(minter, deployer, sender=deployer)
    out: dict[str, Any] = {}
    if params.genesis_supply:
        out["genesis"] = {"to": genesis_to, "amount": str(params.genesis_supply)}
    if faucet is not None:
        out["faucet"] = {
            "address": faucet.address,
            "drip": str(params.faucet_drip),
            "cooldown": params.faucet_cooldown,
            "funded": str(params.faucet_fund),
        }
    return out


def _lora(value: str) -> int:
    """Whole LORA (decimals allowed) to wei."""
    return int(Decimal(value) * TOKEN)


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--account",
    "alias",
    envvar="LORANET_DEPLOYER",
    default=None,
    help="Ape account alias of the deployer (TEST::N for a test account).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation on a live network.")
@click.option("--force", is_flag=True, help="Deploy anew even if a live deployment exists.")
@click.option(
    "--unbonding-period",
    envvar="LORANET_UNBONDING_PERIOD",
    type=int,
    default=7 * DAY,
    show_default=True,
    help="Seconds an unbond stays locked.",
)
@click.option(
    "--base-stake",
    envvar="LORANET_BASE_STAKE",
    default="1000",
    show_default=True,
    help="Base minimum stake in LORA.",
)
@click.option(
    "--per-unit-stake",
    envvar="LORANET_PER_UNIT_STAKE",
    default="10",
    show_default=True,
    help="Minimum stake per compute unit in LORA.",
)
@click.option(
    "--burn-bps",
    envvar="LORANET_BURN_BPS",
    type=int,
    default=5000,
    show_default=True,
    help="Part of each slash that is burned (basis points); the rest goes to the treasury.",
)
@click.option(
    "--treasury",
    envvar="LORANET_TREASURY",
    default=None,
    help="Treasury address (default: the deployer).",
)
@click.option(
    "--validator",
    "validators",
    multiple=True,
    envvar="LORANET_VALIDATORS",
    help="Address given VALIDATOR_ROLE (repeatable; env: space-separated).",
)
@click.option(
    "--pool-creator",
    "pool_creators",
    multiple=True,
    envvar="LORANET_POOL_CREATORS",
    help="Address given POOL_CREATOR_ROLE (repeatable; env: space-separated).",
)
@click.option(
    "--challenge-window",
    envvar="LORANET_CHALLENGE_WINDOW",
    type=int,
    default=3600,
    show_default=True,
    help="Challenge window (seconds) of the default domains.",
)
@click.option(
    "--quorum",
    envvar="LORANET_QUORUM",
    type=click.IntRange(1, 255),
    default=None,
    help="Validator quorum of the default domains (default: 1 on local chains, 2 elsewhere).",
)
@click.option(
    "--dev-admin/--no-dev-admin",
    envvar="LORANET_DEV_ADMIN",
    default=None,
    help="Keep the deployer's admin roles beside the timelock (default: only on local chains).",
)
@click.option(
    "--guardian",
    "guardians",
    multiple=True,
    envvar="LORANET_GUARDIANS",
    help="Address given GUARDIAN_ROLE: may pause, nothing else (repeatable).",
)
@click.option(
    "--timelock-delay",
    envvar="LORANET_TIMELOCK_DELAY",
    type=int,
    default=None,
    help="Seconds between queueing and executing a proposal (default: 2 days, 60 s locally).",
)
@click.option(
    "--voting-delay",
    envvar="LORANET_VOTING_DELAY",
    type=int,
    default=None,
    help="Blocks between a proposal and its vote (default: 7200, 1 locally).",
)
@click.option(
    "--voting-period",
    envvar="LORANET_VOTING_PERIOD",
    type=int,
    default=None,
    help="Blocks a vote lasts (default: 50400, 20 locally).",
)
@click.option(
    "--proposal-threshold",
    envvar="LORANET_PROPOSAL_THRESHOLD",
    default="10000",
    show_default=True,
    help="Votes (LORA) needed to propose.",
)
@click.option(
    "--quorum-fraction",
    envvar="LORANET_QUORUM_FRACTION",
    type=click.IntRange(0, 100),
    default=4,
    show_default=True,
    help="Governance quorum: percent of the supply's votes.",
)
@click.option(
    "--fund-amount",
    envvar="LORANET_FUND_AMOUNT",
    default="100000",
    show_default=True,
    help="LORA given to test accounts 1..9 on local networks.",
)
@click.option(
    "--genesis-supply",
    envvar="LORANET_GENESIS_SUPPLY",
    default="0",
    show_default=True,
    help="LORA minted once at deployment to --genesis-to (within the 1e9 cap).",
)
@click.option(
    "--genesis-to",
    envvar="LORANET_GENESIS_TO",
    default=None,
    help="Receiver of the genesis supply (default: the treasury).",
)
@click.option(
    "--faucet/--no-faucet",
    envvar="LORANET_FAUCET",
    default=False,
    show_default=True,
    help="Deploy LoraFaucet (testnets only) and fund it with --faucet-fund.",
)
@click.option(
    "--faucet-drip",
    envvar="LORANET_FAUCET_DRIP",
    default="5000",
    show_default=True,
    help="LORA per faucet drip.",
)
@click.option(
    "--faucet-cooldown",
    envvar="LORANET_FAUCET_COOLDOWN",
    type=int,
    default=DAY,
    show_default=True,
    help="Seconds between two drips of one address.",
)
@click.option(
    "--faucet-fund",
    envvar="LORANET_FAUCET_FUND",
    default="1000000",
    show_default=True,
    help="LORA minted to the faucet at deployment (part of the initial allocation).",
)
def cli(
    ecosystem: Any,
    network: Any,
    alias: str | None,
    yes: bool,
    force: bool,
    unbonding_period: int,
    base_stake: str,
    per_unit_stake: str,
    burn_bps: int,
    treasury: str | None,
    validators: tuple[str, ...],
    pool_creators: tuple[str, ...],
    challenge_window: int,
    quorum: int,
    fund_amount: str,
    genesis_supply: str,
    genesis_to: str | None,
    faucet: bool,
    faucet_drip: str,
    faucet_cooldown: int,
    faucet_fund: str,
    dev_admin: bool | None,
    guardians: tuple[str, ...],
    timelock_delay: int | None,
    voting_delay: int | None,
    voting_period: int | None,
    proposal_threshold: str,
    quorum_fraction: int,
) -> None:
    """Deploy and wire loranet, then write deployments/<network>.json."""
    is_local = network.name in LOCAL_NETWORKS
    deployer = pick_deployer(alias, is_local)
    name = deployment_name(ecosystem.name, network.name)
    if is_local:
        validators = validators or (deployer.address,)
        pool_creators = pool_creators or (deployer.address,)
    if quorum is None:
        quorum = 1 if is_local else 2  # one validator alone decides rounds only on a dev chain
    if dev_admin is None:
        dev_admin = is_local
    domain = {"quorum": quorum, "challenge_window": challenge_window}
    params = DeployParams(
        unbonding_period=unbonding_period,
        base_stake=_lora(base_stake),
        per_unit_stake=_lora(per_unit_stake),
        burn_bps=burn_bps,
        treasury=treasury,
        validators=validators,
        pool_creators=pool_creators,
        domains=(DomainSpec(**domain), DomainSpec(name="inference", **domain)),
        fund_amount=_lora(fund_amount),
        genesis_supply=_lora(genesis_supply),
        genesis_to=genesis_to,
        faucet=faucet,
        faucet_drip=_lora(faucet_drip),
        faucet_cooldown=faucet_cooldown,
        faucet_fund=_lora(faucet_fund),
        dev_admin=dev_admin,
        guardians=guardians,
        timelock_delay=timelock_delay
        if timelock_delay is not None
        else (60 if is_local else 2 * DAY),
        voting_delay=voting_delay if voting_delay is not None else (1 if is_local else 7_200),
        voting_period=voting_period if voting_period is not None else (20 if is_local else 50_400),
        proposal_threshold=_lora(proposal_threshold),
        quorum_fraction=quorum_fraction,
    )
    out = DEPLOYMENTS_DIR / f"{name}.json"
    existing = None if force else live_deployment(out)
    if existing is not None:
        click.echo(
            f"{out} already holds a live deployment on chain {chain.chain_id}; "
            "nothing to do (--force deploys anew)"
        )
        data = existing
    else:
        if not is_local and not yes:
            question = f"Deploy loranet to {name} (chain {chain.chain_id}) from {deployer}?"
            click.confirm(question, abort=True)
        # the deployer too: on a local chain it is also the pool creator, who escrows budgets
        fund = accounts.test_accounts[0:10] if is_local else ()
        data = deploy_all(deployer, params, network=name, force=force, fund=fund)
        for contract_name, address in data["contracts"].items():
            click.echo(f"{contract_name:16} {address}")
        shown = out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out
        click.echo(f"wrote {shown}")
    if os.environ.get("LORANET_DEPLOY_PRINT_JSON"):
        click.echo(json.dumps(data))
