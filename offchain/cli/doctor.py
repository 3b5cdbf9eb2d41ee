"""``loranet doctor``: preflight checks, each reported ok / warn / fail with one sentence."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import CliState, state
from offchain.cli.options import CheckedAccountOpt, JsonOpt
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STYLES = {OK: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


class Doctor:
    """Runs the checks in order; a failed prerequisite skips the checks that need it."""

    def __init__(self, cli: CliState, *, account: str | None, unlock: bool) -> None:
        self.cli = cli
        self.account = account
        self.unlock = unlock
        self.checks: list[Check] = []

    def run(self) -> list[Check]:
        steps: list[tuple[str, Callable[[], tuple[str, str]]]] = [
            ("settings", self.settings),
            ("chain", self.chain),
            ("contracts", self.contracts),
            ("abi", self.abi),
            ("account", self.account_key),
            ("node keys", self.node_keys),
            ("gas balance", self.gas_balance),
            ("stake", self.stake),
            ("hivemind port", self.hivemind_port),
        ]
        for name, step in steps:
            try:
                status, detail = step()
            except LoranetError as err:
                status, detail = FAIL, str(err)
            self.checks.append(Check(name, status, detail))
        return self.checks

    def _failed(self, *names: str) -> bool:
        return any(c.name in names and c.status in (FAIL, SKIP) for c in self.checks)

    def settings(self) -> tuple[str, str]:
        settings = self.cli.settings
        return OK, (
            f"network {settings.network}, RPC {settings.resolved_rpc_url}, "
            f"deployment {settings.resolved_deployments_file}"
        )

    def chain(self) -> tuple[str, str]:
        if self._failed("settings"):
            return SKIP, "needs valid settings."
        client = self.cli.client()
        block = client.w3.eth.block_number
        return (
            OK,
            f"RPC reachable, chain id {client.chain_id} matches the deployment, block {block}",
        )

    def contracts(self) -> tuple[str, str]:
        if self._failed("chain"):
            return SKIP, "needs the chain."
        client = self.cli.client()
        client.require_code()
        names = ", ".join(sorted(client.deployment.contracts))
        return OK, f"code found for {names}"

    def abi(self) -> tuple[str, str]:
        """The ABIs shipped in offchain/abi are those the deployment was made with."""
        import hashlib

        from offchain import abi as abi_files

        if self._failed("contracts"):
            return SKIP, "needs the contracts."
        digests = self.cli.client().deployment.abi_digests
        if not digests:
            return WARN, "the deployment file records no ABI digests; cannot compare"
        differ = []
        for name, digest in sorted(digests.items()):
            if name not in abi_files.names():
                continue
            text = json.dumps(abi_files.load_abi(name), indent=2, sort_keys=True) + "\n"
            if hashlib.sha256(text.encode()).hexdigest() != digest:
                differ.append(name)
        if differ:
            return FAIL, (
                f"the local ABIs of {', '.join(differ)} differ from the deployed ones: "
                "update loranet or redeploy"
            )
        return OK, f"local ABIs match the deployment ({len(digests)} contracts)"

    def stake(self) -> tuple[str, str]:
        from offchain.chain.protocol import PROTOCOL_CONTRACTS, Protocol
        from offchain.chain.units import format_lora

        if self._failed("contracts", "account"):
            return SKIP, "needs the contracts and an account."
        client = self.cli.client()
        if not all(client.has(name) for name in PROTOCOL_CONTRACTS):
            return SKIP, "the deployment has no loranet protocol (token only)"
        address = self.cli.keystore().get(self.cli.account_name(self.account)).address
        me = Protocol(client).provider(address)
        if not me.registered:
            if me.lora < me.base_stake:
                return FAIL, (
                    f"not registered, and {format_lora(me.lora)} is below the base stake "
                    f"{format_lora(me.base_stake)} needed to register"
                )
            return WARN, (
                f"not registered yet; {format_lora(me.lora)} available, base stake "
                f"{format_lora(me.base_stake)} (`loranet provider register --stake N`)"
            )
        if me.staked < me.min_stake:
            return FAIL, (
                f"stake {format_lora(me.staked)} is below the minimum "
                f"{format_lora(me.min_stake)} for {me.total_units} compute units"
            )
        return OK, (
            f"registered, stake {format_lora(me.staked)} (minimum {format_lora(me.min_stake)} "
            f"for {me.total_units} compute units), {format_lora(me.lora)} free"
        )

    def account_key(self) -> tuple[str, str]:
        if self._failed("settings"):
            return SKIP, "needs valid settings."
        keystore = self.cli.keystore()
        info = keystore.get(self.cli.account_name(self.account))
        if not self.unlock:
            return OK, f"{info.alias} ({info.address}) found; not unlocked (--no-unlock)"
        self.cli.unlock(info.alias)
        return OK, f"{info.alias} ({info.address}) unlocks"

    def node_keys(self) -> tuple[str, str]:
        if self._failed("settings"):
            return SKIP, "needs valid settings."
        keystore = self.cli.node_keystore()
        infos = keystore.entries()
        if not infos:
            return WARN, "no node keys yet (`loranet node keygen <alias>`)"
        if not self.unlock:
            return OK, f"{len(infos)} found; not unlocked (--no-unlock)"
        password = self.cli.password("Password for the node keys", node=True)
        locked = [info.alias for info in infos if not keystore.check_password(info.alias, password)]
        if locked:
            return FAIL, f"wrong password for node key(s) {', '.join(locked)}"
        return OK, f"{len(infos)} unlock: {', '.join(info.alias for info in infos)}"

    def gas_balance(self) -> tuple[str, str]:
        from offchain.chain.units import format_eth

        if self._failed("chain", "account"):
            return SKIP, "needs the chain and an account."
        client = self.cli.client()
        address = self.cli.keystore().get(self.cli.account_name(self.account)).address
        balance = int(client.w3.eth.get_balance(client.w3.to_checksum_address(address)))
        if balance == 0:
            return FAIL, f"{address} holds no ETH to pay for gas"
        return OK, f"{address} holds {format_eth(balance)}"

    def hivemind_port(self) -> tuple[str, str]:
        from offchain.devnet import port_free

        port = self.cli.settings.hivemind_port
        if port_free(port, host="0.0.0.0"):
            return OK, f"port {port} is free for hivemind"
        return FAIL, f"port {port} is in use: free it or set LORANET_HIVEMIND_PORT"


def doctor(
    ctx: typer.Context,
    account: CheckedAccountOpt = None,
    unlock: bool = typer.Option(True, "--unlock/--no-unlock", help="Try the account password."),
    as_json: JsonOpt = False,
) -> None:
    """Preflight: settings, RPC and chain id, contract code and ABIs, keys, gas, stake, port."""
    cli = state(ctx)
    cli.use_json(as_json)
    checks = Doctor(cli, account=account, unlock=unlock).run()
    failed = [c for c in checks if c.status == FAIL]

    def render(console: Console) -> None:
        table = Table("check", "status", "detail", title="loranet doctor")
        for check in checks:
            style = STYLES[check.status]
            table.add_row(check.name, f"[{style}]{check.status}[/]", check.detail)
        console.print(table)
        if failed:
            console.print(f"[bold red]{len(failed)} check(s) failed[/]")
        else:
            console.print("[green]ready[/]")

    cli.emit({"ok": not failed, "checks": [asdict(c) for c in checks]}, render)
    if failed:
        raise typer.Exit(code=1)
