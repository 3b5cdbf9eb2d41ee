"""One round across namespace hosts: wall time split and bytes moved per role.

Reuses the multi-host harness of ``tests/e2e/test_multihost.py`` (root only: network
namespaces): chain, S3 store (moto_server), admin + bootstrap peer, three providers (one
cheats) and two validators, each on its own host, every step through the ``loranet`` CLI.
It runs ONE round and reads:

* the wall time split from the services' structured logs: training (``round plan`` →
  ``round trained``: child process, hivemind barrier and epochs), artifact upload (the
  ``seconds`` of ``artifacts stored``: adapter, replay bundle and checkpoints put into S3),
  validator fetch + checks (the ``seconds`` of ``round judged``), attestation (``round
  judged`` → the attest transaction's ``outbox entry confirmed``);
* the bytes each host sent and received on its interface (``ip -s link``) from the pool's
  start to the round's finalization.

    sudo .venv/bin/python bench/multihost_round.py            # prints JSON, writes the section
    sudo .venv/bin/python bench/multihost_round.py --no-write
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from multihost_network import HOSTS, MultihostConfig, MultihostNetwork  # noqa: E402
from multihost_support import NetnsLab, lab_unavailable  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## One round across namespace hosts"
ROLES = {"chain": "chain", "store": "S3 store", "admin": "admin + bootstrap peer",
         "p1": "provider", "p2": "provider", "p3": "provider (cheat)",
         "v1": "validator", "v2": "validator"}  # fmt: skip


def counters(netns: str) -> tuple[int, int]:
    """(received, sent) bytes of the host's ``eth0``."""
    out = subprocess.run(
        ["ip", "-n", netns, "-s", "-j", "link", "show", "eth0"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    stats = json.loads(out)[0]["stats64"]
    return int(stats["rx"]["bytes"]), int(stats["tx"]["bytes"])


def _line(log: str, message: str, needle: str = "") -> str | None:
    """The first structured line whose ``msg`` is ``message`` (and that holds ``needle``)."""
    for line in log.splitlines():
        if (f'msg="{message}"' in line or f"msg={message} " in line) and needle in line:
            return line
    return None


def first_ts(log: str, message: str, needle: str = "") -> float | None:
    """Epoch seconds of that line."""
    line = _line(log, message, needle)
    if line is None or "ts=" not in line:
        return None
    stamp = line.split("ts=", 1)[1].split(" ", 1)[0]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def field(log: str, message: str, name: str) -> float | None:
    """A numeric ``name=value`` field of that line."""
    line = _line(log, message)
    if line is None or f" {name}=" not in line:
        return None
    return float(line.split(f" {name}=", 1)[1].split(" ", 1)[0].strip('"'))


def span(log: str, start: str, end: str, end_needle: str = "") -> float | None:
    a, b = first_ts(log, start), first_ts(log, end, end_needle)
    return None if a is None or b is None else b - a


def run(cfg: MultihostConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="loranet-mh-bench-") as tmp:
        lab = NetnsLab(Path(tmp), HOSTS).up()
        net = MultihostNetwork(lab, cfg)
        try:
            started = time.monotonic()
            net.start_chain()
            net.start_store()
            net.deploy()
            net.setup_roles()
            net.start_bootstrap()
            net.create_pool()
            nodes = net.register_providers(("p1", "p2", "p3"))
            net.validate_and_join(nodes)
            net.start_services(["p1", "p2", "p3"], cheater="p3")
            net.wait_up()
            setup_s = time.monotonic() - started
            before = {name: counters(host.netns) for name, host in lab.hosts.items()}
            round_started = time.monotonic()
            net.start_pool()
            budget = cfg.round_length + cfg.submission_window + cfg.challenge_window + 300
            net.wait_finalized(1, timeout=budget)
            round_s = time.monotonic() - round_started
            after = {name: counters(host.netns) for name, host in lab.hosts.items()}
            workers = [net.party(n).log("worker.log") for n in ("p1", "p2")]
            validators = [net.party(n).log("validator.log") for n in ("v1", "v2")]
        finally:
            lab.close()

    def mean(values: list[float | None]) -> float | None:
        found = [v for v in values if v is not None]
        return round(statistics.mean(found), 2) if found else None

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {_cores()} cores, {platform.python_version()}",
        "config": {
            "round_length": cfg.round_length,
            "submission_window": cfg.submission_window,
            "challenge_window": cfg.challenge_window,
            **cfg.train_config(),
        },
        "setup_s": round(setup_s, 1),
        "round_to_finalized_s": round(round_s, 1),
        "split_s": {
            "training": mean([span(w, "round plan", "round trained") for w in workers]),
            "artifact_upload": mean([field(w, "artifacts stored", "seconds") for w in workers]),
            "validator_fetch_and_checks": mean(
                [field(v, "round judged", "seconds") for v in validators]
            ),
            "attestation": mean(
                [span(v, "round judged", "outbox entry confirmed", ":attest") for v in validators]
            ),
        },
        "bytes": {
            name: {
                "role": ROLES[name],
                "received": after[name][0] - before[name][0],
                "sent": after[name][1] - before[name][1],
            }
            for name in lab.hosts
        },
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def render(report: dict[str, Any]) -> str:
    split = report["split_s"]
    rows = "\n".join(
        f"| {name} | {b['role']} | {b['received'] / 1e6:.2f} MB | {b['sent'] / 1e6:.2f} MB |"
        for name, b in report["bytes"].items()
    )
    cfg = report["config"]
    return f"""{SECTION}

One round of the multi-host network (`tests/e2e/test_multihost.py`'s harness): eight
network-namespace hosts on one machine (chain, S3 store, admin + bootstrap peer, three
providers of which one cheats with `noise`, two validators), tiny LLaMA-shaped model,
{cfg["max_epochs"]} hivemind epochs of {cfg["hivemind"]["target_batch_size"]} samples,
rounds of {cfg["round_length"]} s, reports within {cfg["submission_window"]} s, attestations
within {cfg["challenge_window"]} s. Times are means over the honest workers / the validators,
from the services' structured logs; bytes are each host's interface counters from the pool's
start to the round's finalization. Script: `bench/multihost_round.py` (root).

Date {report["date"]}, machine: {report["machine"]}.

| phase | wall time |
|---|---|
| training (round plan → adapter saved) | {_fmt(split["training"])} |
| artifact upload (adapter, bundle, checkpoints to S3) | {_fmt(split["artifact_upload"])} |
| validator fetch + checks (per round) | {_fmt(split["validator_fetch_and_checks"])} |
| attestation (transaction) | {_fmt(split["attestation"])} |
| pool start → round finalized (clock: round + windows) | {report["round_to_finalized_s"]:.0f} s |
| setup (deploy, roles, pool, 3 providers, services) | {report["setup_s"]:.0f} s |

| host | role | received | sent |
|---|---|---|---|
{rows}

Reproduce: `sudo .venv/bin/python bench/multihost_round.py` (`--no-write` only prints).
"""


def write_section(text: str) -> None:
    """Replace (or append) only this section of docs/benchmarks.md."""
    doc = DOC.read_text() if DOC.is_file() else "# Benchmarks\n\n"
    start = doc.find(SECTION + "\n")
    if start < 0:
        DOC.write_text(doc.rstrip("\n") + "\n\n" + text)
        return
    end = doc.find("\n## ", start + len(SECTION))
    DOC.write_text(doc[:start] + text + (doc[end + 1 :] if end >= 0 else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="only print the JSON")
    args = parser.parse_args(argv)
    reason = lab_unavailable()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    report = run(MultihostConfig(rounds=1))
    print(json.dumps(report, indent=2))
    if not args.no_write:
        write_section(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
