"""Separate test hosts on one machine: network namespaces on a bridge, one per party.

``NetnsLab`` makes a bridge ``lnb<N>`` with the address ``10.231.<N>.254`` (so the test
process in the root namespace can read the chain: without that address, traffic to the
hosts would follow the default route off the machine) and one namespace per host with one
veth on the bridge (``10.231.<N>.<i>``). Every party runs inside its namespace
(``ip netns exec``), with its own home, data dir, keystores and deployment file: nothing is
shared on disk except the installed software. ``close`` stops every process group it started,
deletes the namespaces and the bridge (also after a failure).

``Party`` runs the ``loranet`` CLI as one operator (``--json``) and starts its services.
Used by ``tests/e2e/test_multihost.py`` and ``bench/multihost_round.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "multihost password"
STOP_TIMEOUT_S = 20.0
TESTNET = "loranet-testnet"  # ape-config.yaml's custom network (chain id 11155111)
CHAIN_ID = 11155111


class LabError(RuntimeError):
    """A step of the multi-host lab failed (the message says which and why)."""


def lab_unavailable() -> str | None:
    """Why namespaces cannot be made here (not root, no iproute2), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns); run the suite as root to include it"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"lnprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def loranet_bin() -> str:
    found = Path(sys.executable).with_name("loranet")
    return str(found) if found.exists() else "loranet"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise LabError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


@dataclass
class Host:
    """One test host: a namespace, its address and its private folder."""

    name: str
    netns: str
    ip: str
    home: Path


@dataclass
class NetnsLab:
    """A bridge and one namespace per host name (``hosts[name]``)."""

    workdir: Path
    names: Iterable[str]
    subnet: int = field(default_factory=lambda: 20 + os.getpid() % 200)
    hosts: dict[str, Host] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"lnb{self.subnet}"

    @property
    def bridge_ip(self) -> str:
        return f"10.231.{self.subnet}.254"

    def up(self) -> NetnsLab:
        self.close_network()  # leftovers of a killed run with the same number
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.bridge_ip}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, name in enumerate(self.names, start=1):
            host = Host(
                name=name,
                netns=f"ln{self.subnet}-{name}",
                ip=f"10.231.{self.subnet}.{i}",
                home=self.workdir / name,
            )
            host.home.mkdir(parents=True, exist_ok=True)
            veth = f"lv{self.subnet}x{i}"
            _ip("netns", "add", host.netns)
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
            _ip("link", "set", veth, "master", self.bridge, "up")
            _ip("-n", host.netns, "addr", "add", f"{host.ip}/24", "dev", "eth0")
            _ip("-n", host.netns, "link", "set", "eth0", "up")
            _ip("-n", host.netns, "link", "set", "lo", "up")
            self.hosts[name] = host
        route = _ip("route", "get", next(iter(self.hosts.values())).ip).stdout
        if self.bridge not in route:
            raise LabError(f"the hosts are not routed through {self.bridge}: {route.strip()}")
        return self

    # -- processes ----------------------------------------------------------------------------

    def run(
        self, host: Host, args: list[str], env: dict[str, str], *, timeout: float = 240.0,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(
            ["ip", "netns", "exec", host.netns, *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def spawn(
        self, host: Host, args: list[str], env: dict[str, str], log_name: str
    ) -> subprocess.Popen[bytes]:
        log = (host.home / log_name).open("ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, *args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]] | None = None) -> None:
        chosen = self.procs if procs is None else procs
        for proc in chosen:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in chosen:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for proc in chosen:  # helpers left in the group (hivemind daemons, training children)
            _signal_group(proc, signal.SIGKILL)

    def close_network(self) -> None:
        listed = _ip("netns", "list", check=False).stdout.split()
        for netns in listed:
            if netns.startswith(f"ln{self.subnet}-"):
                _ip("netns", "del", netns, check=False)
        if _ip("link", "show", self.bridge, check=False).returncode == 0:
            _ip("link", "del", self.bridge, check=False)
        for i in range(1, 40):  # veths vanish with their namespace, in the background
            _ip("link", "del", f"lv{self.subnet}x{i}", check=False)

    def close(self) -> None:
        self.stop()
        self.close_network()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


@dataclass
class Party:
    """One operator on one host: environment, ``loranet`` calls, services."""

    lab: NetnsLab
    host: Host
    rpc_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    address: str = ""

    @property
    def deployments_file(self) -> Path:
        return self.host.home / "deployments" / f"{TESTNET}.json"

    def env(self, **extra: str) -> dict[str, str]:
        home = self.host.home
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        return {
            **keep,
            "HOME": str(home / "home"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT)),
            "SOLCX_BINARY_PATH": os.environ.get("SOLCX_BINARY_PATH", str(ROOT / ".cache/solcx")),
            "APE_DATA_FOLDER": str(home / "ape"),
            "LORANET_NETWORK": TESTNET,
            "LORANET_RPC_URL": self.rpc_url,
            "LORANET_DEPLOYMENTS_FILE": str(self.deployments_file),
            "LORANET_DEPLOYMENTS_DIR": str(home / "deployments"),
            "LORANET_DATA_DIR": str(home / "data"),
            "LORANET_KEYSTORE_DIR": str(home / "keys"),
            "LORANET_PASSWORD": PASSWORD,
            "LORANET_KEYSTORE_SCRYPT_N": "1024",
            "LORANET_METRICS_PORT": "0",
            "LORANET_WATCH_POLL_INTERVAL_S": "1",
            "LORANET_VALIDATOR_POLL_INTERVAL_S": "1",
            "LORANET_HIVEMIND_HOST_MADDRS": json.dumps([f"/ip4/{self.host.ip}/tcp/0"]),
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
            **extra,
        }

    def cli(self, *args: str, stdin: str | None = None, ok: bool = True, **env: str) -> Any:
        """``loranet <args> --json`` on this host: its JSON (or, with ``ok=False``, the
        finished process, which must have failed)."""
        command = [loranet_bin(), *args, "--json"]
        done = self.lab.run(self.host, command, self.env(**env), stdin=stdin)
        if not ok:
            if done.returncode == 0:
                raise LabError(f"`loranet {' '.join(args)}` on {self.host.name} did not fail")
            return done
        if done.returncode != 0:
            raise LabError(
                f"`loranet {' '.join(args)}` on {self.host.name} failed: "
                f"{(done.stderr or done.stdout).strip()[-800:]}"
            )
        lines = done.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    def spawn(self, args: list[str], log_name: str, **env: str) -> subprocess.Popen[bytes]:
        return self.lab.spawn(self.host, args, self.env(**env), log_name)

    def log(self, log_name: str) -> str:
        path = self.host.home / log_name
        return path.read_text(errors="replace") if path.is_file() else ""

    def receive_deployment(self, source: Path) -> None:
        """The operator publishes its deployment file; each party keeps its own copy."""
        self.deployments_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, self.deployments_file)


def wait_for(predicate: Any, *, timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy; ``LabError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")
