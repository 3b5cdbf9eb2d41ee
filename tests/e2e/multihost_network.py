"""The loranet network across namespace hosts, from deployment to claimed rewards.

Hosts: ``chain`` (anvil, chain id 11155111, on 0.0.0.0: a testnet rehearsal), ``store``
(moto_server: the S3 artifact store), ``admin`` (deploys with ``ape run deploy --network
ethereum:loranet-testnet:node``, holds the admin and pool-creator roles, runs the swarm's
bootstrap peer with ``loranet dht``), ``p1..p3`` (providers; ``p3`` cheats) and ``v1, v2``
(validators). Every step after anvil, moto and the deploy is a ``loranet`` command on the
party's own host. Nothing here is a devnet helper: the chain is treated as a live network.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from multihost_support import (
    CHAIN_ID,
    ROOT,
    TESTNET,
    LabError,
    NetnsLab,
    Party,
    wait_for,
)
from web3 import Web3

from offchain.devnet import anvil_binary, dev_account

HOSTS = ("chain", "store", "admin", "p1", "p2", "p3", "v1", "v2")
BUCKET = "loranet-multihost"
S3_PORT = 5000
DHT_PORT = 31337


@dataclass(frozen=True)
class MultihostConfig:
    """Sizes and clocks: the smallest that still trains a swarm of three on two cores."""

    round_length: int = 90  # the demo's clock: training takes 20-50 s on 2 cores
    submission_window: int = 30
    challenge_window: int = 60
    rounds: int = 2
    stake: int = 2_000
    reward: int = 100
    cheat: str = "noise"

    def train_config(self) -> dict[str, Any]:
        return {
            "max_epochs": 2,
            "max_local_steps": 100,
            "torch_threads": 1,
            "hivemind": {
                "target_batch_size": 48,
                "matchmaking_time": 1.0,
                "averaging_timeout": 10.0,
                "barrier_timeout": 60.0,
                "start_delay": 1.0,
                "average_state_every": 1,
                "run_prefix": "mh",
            },
        }


@dataclass
class MultihostNetwork:
    lab: NetnsLab
    cfg: MultihostConfig = field(default_factory=MultihostConfig)
    parties: dict[str, Party] = field(default_factory=dict)
    pool_id: int = 0
    bootstrap: list[str] = field(default_factory=list)
    contracts: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    w3: Any = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.lab.hosts['chain'].ip}:8545"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.lab.hosts['store'].ip}:{S3_PORT}"

    @property
    def store_uri(self) -> str:
        return f"s3://{BUCKET}/artifacts"

    def party(self, name: str) -> Party:
        if name not in self.parties:
            s3 = {
                "LORANET_ARTIFACTS_STORE": self.store_uri,
                "LORANET_ARTIFACTS_S3_ENDPOINT_URL": self.s3_endpoint,
                "LORANET_ARTIFACTS_S3_REGION": "us-east-1",
                "LORANET_ARTIFACTS_S3_ACCESS_KEY_ID": "test",
                "LORANET_ARTIFACTS_S3_SECRET_ACCESS_KEY": "test",
            }
            self.parties[name] = Party(self.lab, self.lab.hosts[name], self.rpc_url, s3)
        return self.parties[name]

    # -- infrastructure ------------------------------------------------------------------

    def start_chain(self) -> None:
        chain = self.lab.hosts["chain"]
        args = [str(anvil_binary()), "--host", "0.0.0.0", "--port", "8545",
                "--chain-id", str(CHAIN_ID), "--block-time", "1"]  # fmt: skip
        self.lab.spawn(chain, args, {"PATH": "/usr/bin:/bin"}, "anvil.log")
        self.w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 10}))
        wait_for(self._chain_up, timeout=60, what="anvil on the chain host")

    def _chain_up(self) -> bool:
        try:
            return bool(self.w3.eth.chain_id == CHAIN_ID)
        except Exception:  # not listening yet
            return False

    def start_store(self) -> None:
        store = self.lab.hosts["store"]
        moto = str(Path(ROOT / ".venv/bin/moto_server")) if (ROOT / ".venv").exists() else None
        binary = moto or str(Path(__import__("sys").executable).with_name("moto_server"))
        self.lab.spawn(store, [binary, "-H", "0.0.0.0", "-p", str(S3_PORT)], {}, "moto.log")

        def bucket() -> bool:
            import boto3

            client = boto3.client(
                "s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",
            )  # fmt: skip
            try:
                client.create_bucket(Bucket=BUCKET)
            except Exception:  # not up yet
                return False
            return True

        wait_for(bucket, timeout=60, what="moto_server on the store host")

    # -- deployment and roles -------------------------------------------------------------

    def deploy(self) -> dict[str, Any]:
        """``ape run deploy`` on the admin host against the chain host, as on a testnet."""
        admin = self.party("admin")
        started = time.monotonic()
        args = ["ape", "run", "deploy", "--network", f"ethereum:{TESTNET}:node",
                # --dev-admin: the rehearsal keeps the deployer as a second admin next to the
                # timelock (granting each role by a governance proposal is covered by
                # tests/contracts/test_governance.py and would only add voting periods here)
                "--account", "TEST::0", "--yes", "--dev-admin", "--faucet",
                "--genesis-supply", "1000000",
                "--quorum", "2", "--challenge-window", str(self.cfg.challenge_window)]  # fmt: skip
        ape = Path(__import__("sys").executable).with_name("ape")
        args[0] = str(ape)
        done = self.lab.run(admin.host, args, admin.env(), timeout=600)
        if done.returncode != 0:
            raise LabError(f"ape run deploy failed:\n{(done.stdout + done.stderr)[-2000:]}")
        data: dict[str, Any] = json.loads(admin.deployments_file.read_text())
        self.contracts = dict(data["contracts"])
        self.timings["deploy_s"] = time.monotonic() - started
        for name in HOSTS:
            if name not in ("chain", "store", "admin"):
                self.party(name).receive_deployment(admin.deployments_file)
        return data

    def setup_roles(self) -> None:
        """The admin imports its key, grants roles and creates the pool's domain (CLI)."""
        admin = self.party("admin")
        key = dev_account(0)
        admin.address = admin.cli("account", "import", "admin", stdin=f"{key.key.hex()}\n")[
            "address"
        ]
        admin.cli("admin", "grant", "pool-creator", admin.address, "--yes")
        for i, name in enumerate(("v1", "v2")):
            v = self.party(name)
            key = dev_account(8 + i)  # a funded (ETH) key of the rehearsal chain
            v.address = v.cli("account", "import", name, stdin=f"{key.key.hex()}\n")["address"]
            admin.cli("admin", "grant", "validator", v.address, "--yes")
        admin.cli("domain", "create", "mh-lora", "--quorum", "2",
                  "--challenge-window", str(self.cfg.challenge_window),
                  "--eval-tolerance", "1000", "--slash-bps", "1000", "--yes")  # fmt: skip

    def start_bootstrap(self) -> None:
        admin = self.party("admin")
        proc = admin.spawn([_loranet(), "dht", "--host-maddr", f"/ip4/0.0.0.0/tcp/{DHT_PORT}",
                            "--json"], "dht.log")  # fmt: skip

        def printed() -> list[str] | None:
            if proc.poll() is not None:
                raise LabError(f"loranet dht exited:\n{admin.log('dht.log')[-1500:]}")
            for line in admin.log("dht.log").splitlines():
                if line.startswith("{"):
                    found: list[str] = json.loads(line)["multiaddrs"]
                    return [m for m in found if f"/{admin.host.ip}/" in m] or found
            return None

        self.bootstrap = wait_for(printed, timeout=60, what="the bootstrap peer's multiaddrs")

    def create_pool(self) -> int:
        admin = self.party("admin")
        train = admin.host.home / "train.yaml"
        train.write_text(yaml.safe_dump(self.cfg.train_config()))
        args = ["pool", "create", "--domain", "mh-lora",
                "--base-model-uri", "builtin://tiny-llama", "--dataset-uri", "builtin://arithmetic",
                "--reward", str(self.cfg.reward), "--round-length", str(self.cfg.round_length),
                "--submission-window", str(self.cfg.submission_window), "--max-nodes", "8",
                "--train-config", str(train), "--adapter-source", self.store_uri,
                "--name", "multihost", "--yes"]  # fmt: skip
        for maddr in self.bootstrap:
            args += ["--bootstrap-peer", maddr]
        self.pool_id = int(admin.cli(*args)["pool_id"])
        return self.pool_id

    # -- providers ------------------------------------------------------------------------

    def register_provider(self, name: str, key_index: int) -> str:
        """Account (a funded-with-ETH key), faucet LORA, stake, node key, node: all CLI."""
        p = self.party(name)
        key = dev_account(key_index)
        p.address = p.cli("account", "import", name, stdin=f"{key.key.hex()}\n")["address"]
        p.cli("faucet", "--yes")
        p.cli("provider", "register", "--stake", str(self.cfg.stake), "--yes")
        node = str(p.cli("node", "keygen", "gpu")["address"])
        specs = p.host.home / "specs.json"
        specs.write_text(json.dumps({"gpu": "RTX A4000", "vram_gb": 16}))  # up to 16 units
        p.cli("node", "add", "--node", "gpu", "--units", "10", "--specs", str(specs), "--yes")
        return node

    def register_providers(self, names: tuple[str, ...]) -> dict[str, str]:
        """Each provider on its own host at the same time (they are independent parties)."""
        with ThreadPoolExecutor(len(names)) as pool:
            futures = {n: pool.submit(self.register_provider, n, i) for i, n in enumerate(names, 1)}
            return {name: future.result() for name, future in futures.items()}

    def validate_and_join(self, nodes: dict[str, str]) -> None:
        v1 = self.party("v1")
        for node in nodes.values():
            v1.cli("validator", "validate-node", node, "--yes")
        with ThreadPoolExecutor(len(nodes)) as pool:
            joins = [
                pool.submit(
                    self.party(name).cli,
                    "pool",
                    "join",
                    str(self.pool_id),
                    "--node",
                    "gpu",
                    "--yes",
                )
                for name in nodes
            ]
            for join in joins:
                join.result()

    # -- services -------------------------------------------------------------------------

    def start_services(self, providers: list[str], cheater: str | None) -> None:
        for name in providers:
            args = [_loranet(), "worker", "run", "--node", "gpu", "--account", name]
            if name == cheater:
                args += ["--cheat", self.cfg.cheat]
            # p1's worker claims on its own; p2 claims with `loranet rewards claim`
            claims = "false" if name == "p2" else "true"
            self.party(name).spawn(
                args, "worker.log", LORANET_CLAIM_REWARDS=claims, LORANET_GAS_MULTIPLIER="2.5"
            )
        for name in ("v1", "v2"):
            args = [_loranet(), "validator", "run", "--account", name, "--pool", str(self.pool_id)]
            # an attestation estimated before another validator's is mined may land second and
            # take the quorum path (deciding the round costs more gas): headroom, see
            # docs/multi-host.md
            self.party(name).spawn(args, "validator.log", LORANET_GAS_MULTIPLIER="2.5")

    def wait_up(self, timeout: float = 180.0) -> None:
        """Until every worker and validator logged that it is up (or one exited)."""
        needles = {"worker.log": "worker service up", "validator.log": "validator up"}

        def all_up() -> bool:
            self.services_alive()
            return all(
                needle in party.log(log)
                for party in self.parties.values()
                for log, needle in needles.items()
                if (party.host.home / log).exists()
            )

        wait_for(all_up, timeout=timeout, what="the workers and validators to start", every=1.0)

    def wait_finalized(self, rounds: int, timeout: float) -> list[Any]:
        """Until rounds ``0..rounds-1`` are finalized on chain; their ``RoundState``s."""
        ledger = self.ledger()

        def finalized() -> list[Any] | None:
            self.services_alive()
            states = [ledger.functions.roundState(self.pool_id, r).call() for r in range(rounds)]
            return states if all(state[4] for state in states) else None

        return list(
            wait_for(finalized, timeout=timeout, what=f"{rounds} finalized rounds", every=2.0)
        )

    def log_tails(self, chars: int = 1500) -> str:
        """The end of every service log, for a failure message."""
        out = []
        for party in self.parties.values():
            for log in ("worker.log", "validator.log"):
                text = party.log(log)
                if text:
                    out.append(f"--- {party.host.name}/{log}\n{text[-chars:]}")
        return "\n".join(out)

    def start_pool(self) -> None:
        self.party("admin").cli("pool", "start", str(self.pool_id), "--yes")

    def ledger(self) -> Any:
        from offchain.abi import load_abi

        return self.w3.eth.contract(
            address=self.contracts["WorkLedger"], abi=load_abi("WorkLedger")
        )

    def services_alive(self) -> None:
        for proc in self.lab.procs:
            if proc.poll() is not None:
                args = proc.args if isinstance(proc.args, list) else [proc.args]
                raise LabError(
                    f"a service exited with {proc.returncode}: {args[2:6]}\n{self.log_tails()}"
                )

    def balance_of(self, address: str) -> int:
        from offchain.abi import load_abi

        token = self.w3.eth.contract(address=self.contracts["LoraToken"], abi=load_abi("LoraToken"))
        return int(token.functions.balanceOf(address).call())

    def stake_of(self, address: str) -> int:
        from offchain.abi import load_abi

        stake = self.w3.eth.contract(
            address=self.contracts["StakeManager"], abi=load_abi("StakeManager")
        )
        return int(stake.functions.stakedOf(address).call())


def _loranet() -> str:
    from multihost_support import loranet_bin

    return loranet_bin()


def run_quiet(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)
