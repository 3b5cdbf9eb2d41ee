"""A local dev chain: anvil from node_modules, the protocol deployed, accounts funded.

``up`` starts anvil detached (pid file and log under ``<data_dir>/devnet/``), waits for its
RPC, deploys with ``ape run deploy`` (ape-foundry attaches to the running anvil through
``APE_FOUNDRY_HOST``), copies the deployment to the configured deployments file and funds the
first dev accounts with LORA. ``down`` stops it. The dev accounts are anvil's well-known test
mnemonic: never use them on a real network.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint

from offchain.chain.client import ChainClient
from offchain.chain.deployment import Deployment
from offchain.chain.tx import Spinner, TxRequest, TxSender, no_spinner
from offchain.chain.units import ONE
from offchain.errors import LoranetError
from offchain.logging import kv
from offchain.settings import Settings, project_root

logger = logging.getLogger(__name__)

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337
DEV_ACCOUNTS = 10
DEV_ETH_BALANCE = 10_000  # ETH per dev account
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
DEPLOY_TIMEOUT_S = 300.0


class DevnetError(LoranetError):
    """The local dev chain could not be started, deployed, funded or stopped."""


@dataclass(frozen=True)
class DevnetInfo:
    """What the pid file records about a running devnet."""

    pid: int
    port: int
    rpc_url: str
    log_file: str
    started_at: float
    deployments_file: str | None = None


def devnet_dir(settings: Settings) -> Path:
    return settings.data_dir / "devnet"


def pid_file(settings: Settings) -> Path:
    return devnet_dir(settings) / "anvil.json"


def anvil_binary(root: Path | None = None) -> Path:
    """anvil's native binary from node_modules (no node wrapper), else anvil on PATH."""
    base = (root or project_root()) / "node_modules"
    for candidate in sorted(base.glob("@foundry-rs/anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    wrapper = base / ".bin" / "anvil"
    if wrapper.exists():
        return wrapper
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise DevnetError("anvil not found: run `make setup` (npm installs @foundry-rs/anvil).")


def dev_account(index: int) -> LocalAccount:
    """Dev account ``index`` of anvil's test mnemonic (public keys: local chains only)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


def running(settings: Settings) -> DevnetInfo | None:
    """The devnet recorded in the pid file if its process is still an anvil, else None."""
    path = pid_file(settings)
    if not path.is_file():
        return None
    info = DevnetInfo(**json.loads(path.read_text(encoding="utf-8")))
    if not _is_anvil(info.pid):
        logger.info("stale devnet pid file", extra=kv(path=str(path), pid=info.pid))
        path.unlink(missing_ok=True)
        return None
    return info


def up(
    settings: Settings,
    *,
    port: int,
    deploy: bool = True,
    fund_lora: int = 100_000 * ONE,
    spinner: Spinner = no_spinner,
) -> tuple[DevnetInfo, Deployment | None]:
    """Start anvil on ``port``, deploy loranet; the deploy script gives dev accounts 1..9
    ``fund_lora`` each (account 0 deploys and holds the admin, validator and creator roles)."""
    current = running(settings)
    if current is not None:
        raise DevnetError(
            f"a devnet is already running (pid {current.pid} at {current.rpc_url}): "
            "stop it with `loranet devnet down` first."
        )
    if not port_free(port):
        raise DevnetError(f"port {port} is already in use: choose another with --port.")
    folder = devnet_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "anvil.log"
    rpc_url = f"http://127.0.0.1:{port}"
    command = [
        str(anvil_binary()),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--chain-id", str(DEV_CHAIN_ID), "--accounts", str(DEV_ACCOUNTS)),
        *("--balance", str(DEV_ETH_BALANCE), "--mnemonic", DEV_MNEMONIC),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # detached: outlives this command until `devnet down`
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    info = DevnetInfo(
        pid=process.pid,
        port=port,
        rpc_url=rpc_url,
        log_file=str(log_path),
        started_at=time.time(),
        deployments_file=str(settings.resolved_deployments_file) if deploy else None,
    )
    try:
        with spinner(f"starting anvil on port {port}"):
            _wait_for_rpc(rpc_url, process)
        _write_pid_file(settings, info)
        logger.info("devnet started", extra=kv(pid=process.pid, rpc=rpc_url))
        if not deploy:
            return info, None
        local = settings.model_copy(update={"rpc_url": rpc_url, "network": "local"})
        with spinner("deploying loranet (ape run deploy)"):
            deployment = deploy_protocol(local, fund_lora=fund_lora)
        return info, deployment
    except BaseException:
        _stop_process(process.pid)
        pid_file(settings).unlink(missing_ok=True)
        raise


def down(settings: Settings) -> DevnetInfo | None:
    """Stop the running devnet; returns what was stopped (None when nothing ran)."""
    info = running(settings)
    if info is None:
        return None
    _stop_process(info.pid)
    pid_file(settings).unlink(missing_ok=True)
    logger.info("devnet stopped", extra=kv(pid=info.pid))
    return info


def deploy_protocol(settings: Settings, *, fund_lora: int = 100_000 * ONE) -> Deployment:
    """Run ``ape run deploy`` against the anvil at ``settings.rpc_url`` and copy its output
    to ``settings.resolved_deployments_file``. The script writes into a staging folder under
    the data dir (``LORANET_DEPLOYMENTS_DIR``), so a devnet never touches another folder."""
    root = project_root()
    staging = devnet_dir(settings) / "deployments"  # the deploy script's own output folder
    env = {
        **os.environ,
        "LORANET_DEPLOYMENTS_DIR": str(staging),
        "LORANET_FUND_AMOUNT": str(Decimal(fund_lora) / ONE),
        "APE_FOUNDRY_HOST": settings.resolved_rpc_url,
        "LORANET_DEPLOY_PRINT_JSON": "1",
        "PATH": os.pathsep.join(
            [str(root / "node_modules" / ".bin"), str(root / ".venv" / "bin"), os.environ["PATH"]]
        ),
        "SOLCX_BINARY_PATH": os.environ.get("SOLCX_BINARY_PATH", str(root / ".cache" / "solcx")),
    }
    ape = shutil.which("ape", path=env["PATH"])
    if ape is None:
        raise DevnetError("`ape` not found: run `make setup` first.")
    command = [ape, "run", "deploy", "--network", "ethereum:local:foundry"]
    try:
        result = subprocess.run(
            command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEPLOY_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DevnetError(f"`ape run deploy` took more than {DEPLOY_TIMEOUT_S:.0f} s.") from None
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise DevnetError(f"`ape run deploy` failed (exit {result.returncode}): {tail}")
    data = _deployment_json(result.stdout) or _read_json(staging / "local.json")
    deployment = Deployment.model_validate(data)
    target = settings.resolved_deployments_file
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)
    logger.info("deployment written", extra=kv(chain_id=deployment.chain_id, path=str(target)))
    return deployment


def local_client(settings: Settings) -> ChainClient:
    """A client of the local anvil; refuses any other network or node."""
    client = ChainClient.connect(settings)
    version = str(client.w3.client_version).lower()
    if not settings.is_local or "anvil" not in version:
        raise DevnetError("devnet helpers only run against a local anvil (network 'local').")
    return client


def fund(
    settings: Settings, addresses: list[str], *, lora: int = 0, eth: int | None = None
) -> None:
    """Give dev ETH (``anvil_setBalance``) and LORA (minted by the deployer) to ``addresses``."""
    client = local_client(settings)
    if eth is not None:
        for address in addresses:
            client.w3.provider.make_request(
                RPCEndpoint("anvil_setBalance"), [Web3.to_checksum_address(address), hex(eth)]
            )
    if lora <= 0:
        return
    deployer = _deployer(client)
    sender = TxSender(client, deployer)
    token = client.contract("LoraToken")
    minter_role = token.functions.MINTER_ROLE().call()
    granted = False
    if not token.functions.hasRole(minter_role, deployer.address).call():
        sender.send(
            TxRequest.call(token, "grantRole", minter_role, deployer.address, description="grant")
        )
        granted = True
    # minting spends the governance-set allowance: the dev admin allows itself exactly this
    allowance = int(token.functions.mintAllowance().call()) + lora * len(addresses)
    sender.send(TxRequest.call(token, "setMintAllowance", allowance, description="allow mint"))
    for address in addresses:
        to = Web3.to_checksum_address(address)
        sender.send(TxRequest.call(token, "mint", to, lora, description=f"mint to {to}"))
    if granted:
        sender.send(
            TxRequest.call(token, "revokeRole", minter_role, deployer.address, description="revoke")
        )


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# -- internals -----------------------------------------------------------------------------


def _deployer(client: ChainClient) -> LocalAccount:
    wanted = (client.deployment.deployer or "").lower()
    for index in range(DEV_ACCOUNTS):
        account = dev_account(index)
        if account.address.lower() == wanted:
            return account
    raise DevnetError(
        f"the deployer {client.deployment.deployer} is not a dev account: fund it by hand."
    )


def _wait_for_rpc(rpc_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 1}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevnetError(f"anvil exited with code {process.returncode} at start.")
        try:
            if w3.eth.chain_id == DEV_CHAIN_ID:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise DevnetError(f"anvil did not answer at {rpc_url} within {START_TIMEOUT_S:.0f} s.")


def _write_pid_file(settings: Settings, info: DevnetInfo) -> None:
    path = pid_file(settings)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _is_anvil(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid file
    return b"anvil" in cmdline


def _stop_process(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    logger.warning("anvil ignored SIGTERM; killing it", extra=kv(pid=pid))
    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _deployment_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and '"contracts"' in line:
            data: dict[str, Any] = json.loads(line)
            return data
    return None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DevnetError(f"`ape run deploy` did not write {path}.")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
