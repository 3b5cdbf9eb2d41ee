"""The demo network on one machine: anvil, the protocol, providers, validators, services.

Everything a provider or validator does goes through the ``loranet`` CLI in a subprocess,
each participant with its own data dir and keystores (``LORANET_*``), exactly as on a real
machine. Only the protocol admin's steps (a domain with quorum 2, the pool, roles) are sent
from here with the dev admin key, as ``loranet devnet`` does. Every process started here runs
in its own process group; :meth:`DemoNetwork.close` ends them all (also on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from web3 import Web3

from offchain import devnet
from offchain.chain.client import ChainClient
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import ONE
from offchain.errors import LoranetError
from offchain.settings import Settings, project_root

logger = logging.getLogger(__name__)

PASSWORD = "loranet demo password"
STOP_TIMEOUT_S = 15.0


class DemoError(LoranetError):
    """A step of the demo failed."""


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and clocks of the demo (chosen to finish in minutes on 2 CPU cores)."""

    workdir: Path
    out: Path
    honest: int = 3
    cheat: str = "noise"
    rounds: int = 3
    round_length: int = 90
    submission_window: int = 30
    challenge_window: int = 60
    reward: int = 100 * ONE
    eval_tolerance: int = 1_000  # 0.1 %
    slash_bps: int = 1_000  # 10 % of the slashable stake
    stake: int = 2_000
    timeout_s: float = 540.0
    keep_workdir: bool = True

    @property
    def nodes(self) -> int:
        return self.honest + 1


def train_config() -> dict[str, Any]:
    """The pool's TrainConfig: tiny LLaMA-shaped model, the built-in arithmetic data set,
    3 DiLoCo outer steps of 4 inner steps per node per round."""
    return {
        "max_epochs": 3,
        "max_local_steps": 200,
        "torch_threads": 1,
        "diloco": {"inner_steps": 4, "sync_wait": 30.0},
        "hivemind": {
            "target_batch_size": 64,
            "matchmaking_time": 1.0,
            "averaging_timeout": 10.0,
            "barrier_timeout": 120.0,
            "start_delay": 1.0,
            "average_state_every": 1,
        },
    }


@dataclass
class Participant:
    name: str
    home: Path
    address: str = ""
    node: str = ""


@dataclass
class DemoNetwork:
    cfg: DemoConfig
    settings: Settings | None = None
    client: ChainClient | None = None
    pool_id: int = 0
    deploy_block: int = 0
    providers: list[Participant] = field(default_factory=list)
    validators: list[Participant] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    bootstrap: Any = None
    maddrs: list[str] = field(default_factory=list)

    # -- chain -----------------------------------------------------------------------------------

    def start_chain(self) -> None:
        root = self.cfg.workdir
        root.mkdir(parents=True, exist_ok=True)
        if any(root.iterdir()):
            raise DemoError(f"the demo's work dir {root} is not empty: choose a new one.")
        port = _free_port()
        self.settings = Settings(
            network="local",
            rpc_url=f"http://127.0.0.1:{port}",
            data_dir=root,
            deployments_file=root / "deployments" / "local.json",
        )
        _info, deployment = devnet.up(self.settings, port=port, deploy=True)
        assert deployment is not None
        self.deploy_block = deployment.block
        self.client = devnet.local_client(self.settings)
        # a block every second: the chain's clock moves even when nobody sends transactions
        self.client.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
        (root / "train.yaml").write_text(yaml.safe_dump(train_config()))

    @property
    def admin(self) -> TxSender:
        assert self.client is not None
        return TxSender(self.client, devnet.dev_account(0))

    def create_pool(self) -> int:
        """A ``demo-lora`` domain (quorum 2) and a pending pool for the tiny model."""
        assert self.client is not None
        hub = self.client.contract("NetworkHub")
        c = self.cfg
        policy = (2, c.challenge_window, c.eval_tolerance, 15_000, 10_000, 5_000, c.slash_bps, 0)
        self.admin.send(
            TxRequest.call(hub, "createDomain", "demo-lora", policy, description="domain")
        )
        domain = int(
            self.client.contract("DomainRegistry").functions.domainIdOf("demo-lora").call()
        )
        params = (
            domain,
            Web3.keccak(text="tiny-llama"),
            "builtin://tiny-llama",
            Web3.keccak(text="arithmetic"),
            "builtin://arithmetic",
            json.dumps({"initial_peers": self.maddrs}),
            c.round_length,
            c.submission_window,
            c.reward,
            8,
            1,
        )
        budget = c.reward * c.rounds * 2  # the creator escrows the rewards (twice the rounds)
        ledger = self.client.contract("WorkLedger")
        token = self.client.contract("LoraToken")
        self.admin.send(
            TxRequest.call(token, "approve", ledger.address, budget, description="approve budget")
        )
        zero = b"\x00" * 32
        self.admin.send(
            TxRequest.call(
                hub, "createPool", params, budget, 0, 0, zero, zero, description="create the pool"
            )
        )
        self.pool_id = int(self.client.contract("ComputePool").functions.poolCount().call())
        return self.pool_id

    def start_pool(self) -> None:
        assert self.client is not None
        hub = self.client.contract("NetworkHub")
        self.admin.send(TxRequest.call(hub, "startPool", self.pool_id, description="start pool"))

    def start_bootstrap(self) -> None:
        """The pool's hivemind bootstrap peer (its address goes into the pool's metadata)."""
        from trainer.collab import create_dht, visible_maddrs
        from trainer.config import HivemindConfig

        self.bootstrap = create_dht(HivemindConfig())
        self.maddrs = visible_maddrs(self.bootstrap)

    # -- the CLI ---------------------------------------------------------------------------------

    def env(self, who: Participant) -> dict[str, str]:
        assert self.settings is not None
        return {
            **os.environ,
            "LORANET_NETWORK": "local",
            "LORANET_RPC_URL": str(self.settings.rpc_url),
            "LORANET_DEPLOYMENTS_FILE": str(self.settings.deployments_file),
            "LORANET_DATA_DIR": str(who.home),
            "LORANET_KEYSTORE_DIR": str(who.home / "keys"),
            "LORANET_PASSWORD": PASSWORD,
            "LORANET_KEYSTORE_SCRYPT_N": "1024",
            "LORANET_METRICS_PORT": "0",
            "LORANET_WATCH_POLL_INTERVAL_S": "1",
            "LORANET_VALIDATOR_POLL_INTERVAL_S": "1",
            "LORANET_VALIDATOR_FINALIZE_JITTER_S": "4",
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def cli(self, who: Participant, *args: str) -> Any:
        """Run ``loranet <args> --json`` as ``who``; its JSON answer, or a DemoError."""
        command = [_loranet(), *args, "--json"]
        done = subprocess.run(
            command, env=self.env(who), capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            raise DemoError(
                f"`loranet {' '.join(args)}` as {who.name} failed: "
                f"{(done.stderr or done.stdout).strip()[-500:]}"
            )
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}

    def register_provider(self, i: int) -> Participant:
        """Account, funds, stake, node key, node, validation, pool membership: all via the CLI."""
        who = Participant(f"provider-{i}", self.cfg.workdir / f"provider-{i}")
        who.home.mkdir(parents=True)
        who.address = self.cli(who, "account", "new", who.name)["address"]
        self.cli(who, "devnet", "fund", who.name, "--lora", "5000", "--eth", "100")
        self.cli(who, "provider", "register", "--stake", str(self.cfg.stake), "--yes")
        who.node = self.cli(who, "node", "keygen", f"gpu-{i}")["address"]
        specs = who.home / "specs.json"
        # a CPU demo standing in for a 10 GB GPU node (10 compute units: one per GB)
        specs.write_text(json.dumps({"cpu": "demo", "gpu": "simulated", "vram_gb": 10}))
        self.cli(
            who,
            "node",
            "add",
            "--node",
            f"gpu-{i}",
            "--units",
            "10",
            "--specs",
            str(specs),
            "--yes",
        )
        self.cli(who, "devnet", "validate", f"gpu-{i}")
        self.cli(who, "pool", "join", str(self.pool_id), "--node", f"gpu-{i}", "--yes")
        self.providers.append(who)
        return who

    def register_validator(self, k: int) -> Participant:
        """An account (CLI) funded with gas, granted ``VALIDATOR_ROLE`` by the admin."""
        assert self.client is not None
        who = Participant(f"validator-{k}", self.cfg.workdir / f"validator-{k}")
        who.home.mkdir(parents=True)
        who.address = self.cli(who, "account", "new", who.name)["address"]
        self.cli(who, "devnet", "fund", who.name, "--lora", "1", "--eth", "100")
        hub = self.client.contract("NetworkHub")
        role = hub.functions.VALIDATOR_ROLE().call()
        self.admin.send(TxRequest.call(hub, "grantRole", role, who.address, description="grant"))
        self.validators.append(who)
        return who

    # -- services --------------------------------------------------------------------------------

    def adapters_dir(self, validator: Participant) -> Path:
        return validator.home / "validator" / "adapters"

    def start_worker(self, i: int, cheat: str = "") -> None:
        who = self.providers[i]
        args = [
            "worker", "run", "--node", f"gpu-{i}", "--account", who.name,
            "--train-config", str(self.cfg.workdir / "train.yaml"),
        ]  # fmt: skip
        for maddr in self.maddrs:
            args += ["--initial-peer", maddr]
        for v in self.validators:
            args += ["--adapter-source", str(self.adapters_dir(v))]
        if cheat:
            args += ["--cheat", cheat]
        self._spawn(who, args)

    def start_validator(self, k: int) -> None:
        who = self.validators[k]
        args = [
            "validator", "run", "--account", who.name,
            "--train-config", str(self.cfg.workdir / "train.yaml"),
            "--pool", str(self.pool_id), "--data-dir", str(who.home / "validator"),
        ]  # fmt: skip
        for maddr in self.maddrs:
            args += ["--initial-peer", maddr]
        for other in self.validators:
            if other is not who:
                args += ["--adapter-source", str(self.adapters_dir(other))]
        self._spawn(who, args)

    def start_dashboard(self, port: int = 8090) -> str:
        """``loranet web`` over the demo's chain (reasons, heartbeats and adapters of every
        participant); returns its URL once it answers, or why it did not start (the demo
        goes on without it). Port 8090, or a free one if taken."""
        who = Participant("dashboard", self.cfg.workdir / "dashboard")
        who.home.mkdir(parents=True, exist_ok=True)
        port = port if devnet.port_free(port) else _free_port()
        args = ["web", "--port", str(port)]
        for v in self.validators:
            args += ["--validator-db", str(v.home / "validator" / "validator.db")]
            args += ["--artifacts", str(self.adapters_dir(v))]
        for p in self.providers:
            args += ["--heartbeats", str(p.home), "--artifacts", str(p.home / "artifacts")]
        self._spawn(who, args)
        url = f"http://127.0.0.1:{port}/"
        health = url + "api/health"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.procs[who.name].poll() is None:
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2):
                return url
            time.sleep(0.5)
        tail = self.log_of(who, "web").strip().splitlines()
        return f"not started ({tail[-1] if tail else 'no output'})"

    def _spawn(self, who: Participant, args: list[str]) -> None:
        log = (who.home / f"{args[0]}.log").open("wb")
        self.procs[who.name] = subprocess.Popen(
            [_loranet(), *args],
            env=self.env(who),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stopped as a whole
        )
        log.close()

    def log_of(self, who: Participant, service: str) -> str:
        path = who.home / f"{service}.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def wait_for_logs(self, needles: dict[str, str], timeout: float) -> None:
        """Wait until each service's log holds ``needles[service]`` (its "up" line)."""
        deadline = time.monotonic() + timeout
        for who in [*self.providers, *self.validators]:
            service = "worker" if who in self.providers else "validator"
            while needles[service] not in self.log_of(who, service):
                proc = self.procs[who.name]
                if proc.poll() is not None:
                    tail = self.log_of(who, service)[-1500:]
                    raise DemoError(f"the {service} of {who.name} exited early:\n{tail}")
                if time.monotonic() > deadline:
                    raise DemoError(f"the {service} of {who.name} did not start in time.")
                time.sleep(0.5)

    def stop_services(self) -> None:
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for proc in self.procs.values():  # helpers (hivemind daemons) left in the groups
            _signal_group(proc, signal.SIGKILL)

    def close(self) -> None:
        self.stop_services()
        if self.bootstrap is not None:
            self.bootstrap.shutdown()
            self.bootstrap = None
        if self.settings is not None:
            devnet.down(self.settings)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _loranet() -> str:
    found = Path(sys.executable).with_name("loranet")
    if found.exists():
        return str(found)
    which = shutil.which("loranet")
    if which is None:
        raise DemoError("the `loranet` command is not installed: run `make setup`.")
    return which


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def repo_root() -> Path:
    return project_root()
