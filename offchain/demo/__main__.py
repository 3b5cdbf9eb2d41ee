"""``python -m offchain.demo`` (``make demo``): three rounds of the whole network, then a report.

anvil + deploy → a quorum-2 domain and a pool for the tiny model and the built-in arithmetic
data set → 3 honest providers and 1 cheater registered with the ``loranet`` CLI → their
workers and 2 validators as processes → the pool starts → three rounds are trained, reported,
validated, attested and finalized → rewards claimed with the CLI → tables, ``demo-output/``.
Exit code 0 only if the eval loss improved, every honest node was paid and the cheater was
slashed. Every process it started is stopped on the way out (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from offchain.demo.chainlog import ChainLog
from offchain.demo.network import DemoConfig, DemoError, DemoNetwork, repo_root
from offchain.demo.report import build_outcome, write_outputs
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)

UP = {"worker": "worker service up", "validator": "validator up"}
#: cheats that train with the swarm: a member that never trains (copy, lazy) would keep the
#: others waiting at the hivemind start barrier (``trainer.membership.join_round`` waits for
#: every pool member), so the demo's rounds would time out; tests/e2e covers those two.
DEMO_CHEATS = ("noise", "inflate")


def parse(argv: list[str] | None) -> DemoConfig:
    root = repo_root()
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cheat",
        default="noise",
        choices=DEMO_CHEATS,
        help="the cheater's kind (copy and lazy do not train: see tests/e2e for those)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round-length", type=int, default=90, help="seconds per round")
    parser.add_argument("--out", type=Path, default=root / "demo-output")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="state and logs (default: a temp dir, removed after a successful run)",
    )
    parser.add_argument("--timeout", type=float, default=540.0, help="seconds for the rounds")
    args = parser.parse_args(argv)
    return DemoConfig(
        workdir=(args.workdir or Path(tempfile.mkdtemp(prefix="loranet-demo-"))).resolve(),
        keep_workdir=args.workdir is not None,
        out=args.out.resolve(),
        cheat=args.cheat,
        rounds=args.rounds,
        round_length=args.round_length,
        submission_window=max(args.round_length // 3, 20),
        timeout_s=args.timeout,
    )


def progress_line(log: ChainLog, rounds: int) -> str:
    """The rounds' state in one line (for logs, where the live table is not drawn)."""
    parts = []
    for r in range(rounds):
        s = log.rounds[r]
        state = "finalized" if s.finalized else f"{s.attestations} attestations"
        parts.append(f"round {r}: {s.reports} reports, {state}")
    return "; ".join(parts)


def status_view(net: DemoNetwork, log: ChainLog, phase: str, started: float) -> Group:
    assert net.client is not None
    chain_now = int(net.client.w3.eth.get_block("latest")["timestamp"])
    table = Table(title=f"pool {net.pool_id}", title_justify="left")
    for col in ("round", "reports", "attestations", "finalized", "accepted", "rejected"):
        table.add_column(col, justify="right")
    for r in range(net.cfg.rounds):
        s = log.rounds[r]
        table.add_row(
            str(r), str(s.reports), str(s.attestations),
            "yes" if s.finalized else "-", str(s.accepted), str(s.rejected),
        )  # fmt: skip
    services = " ".join(
        f"{name}:{'up' if p.poll() is None else f'exit {p.returncode}'}"
        for name, p in net.procs.items()
    )
    head = Text(f"{phase}  (wall {time.monotonic() - started:.0f} s, chain time {chain_now})")
    return Group(head, table, Text(services, style="dim"))


def run(cfg: DemoConfig, console: Console) -> int:
    net = DemoNetwork(cfg)
    started = time.monotonic()
    try:
        with console.status("starting anvil and deploying loranet (ape run deploy)…") as status:
            net.start_chain()
            status.update("starting the pool's hivemind bootstrap peer…")
            net.start_bootstrap()
            status.update("creating the demo-lora domain (quorum 2) and the pool…")
            net.create_pool()
            for i in range(cfg.nodes):
                status.update(f"registering provider {i + 1}/{cfg.nodes} with the loranet CLI…")
                net.register_provider(i)
            for k in range(2):
                status.update(f"registering validator {k + 1}/2 with the loranet CLI…")
                net.register_validator(k)
            status.update("starting 4 workers and 2 validators…")
            for i in range(cfg.nodes):
                net.start_worker(i, cheat=cfg.cheat if i == cfg.honest else "")
            for k in range(2):
                net.start_validator(k)
            net.wait_for_logs(UP, timeout=120)
            status.update("starting the dashboard (loranet web)…")
            dashboard = net.start_dashboard()
            net.start_pool()
        console.print(f"dashboard: [bold]{dashboard}[/] (live while the demo runs)")
        console.print(
            f"[bold]pool {net.pool_id}[/] started: {cfg.honest} honest nodes, 1 cheater "
            f"([red]{cfg.cheat}[/]), 2 validators, rounds of {cfg.round_length} s "
            f"(setup took {time.monotonic() - started:.0f} s)"
        )
        assert net.client is not None
        ledger = net.client.contract("WorkLedger")
        deadline = time.monotonic() + cfg.timeout_s
        log = ChainLog.read(ledger, net.pool_id, net.deploy_block)
        last_line = ""
        with Live(status_view(net, log, "rounds", started), console=console) as live:
            while not log.finalized(cfg.rounds):
                if time.monotonic() > deadline:
                    raise DemoError(f"the rounds did not finish within {cfg.timeout_s:.0f} s.")
                time.sleep(1.0)
                log = ChainLog.read(ledger, net.pool_id, net.deploy_block)
                live.update(status_view(net, log, "training, reporting, validating", started))
                if not console.is_terminal:  # a log file sees no live view: one line a change
                    line = progress_line(log, cfg.rounds)
                    if line != last_line:
                        console.print(f"[{time.monotonic() - started:4.0f} s] {line}")
                        last_line = line
        net.stop_services()
        with console.status("claiming rewards with `loranet rewards claim`…"):
            for who in net.providers:
                pending = int(ledger.functions.pendingRewards(who.address).call())
                if pending > 0:
                    net.cli(who, "rewards", "claim", "--yes")
        log = ChainLog.read(ledger, net.pool_id, net.deploy_block)
        outcome = build_outcome(
            log,
            providers=[
                (w.name, w.address, w.node, i < cfg.honest) for i, w in enumerate(net.providers)
            ],
            rounds=cfg.rounds,
            verdicts_dir=net.validators[0].home / "validator" / "verdicts",
        )
        outcome.print(console)
        files = write_outputs(outcome, cfg.out)
        console.print(f"wrote {', '.join(str(f) for f in files)}")
        console.print(f"done in {time.monotonic() - started:.0f} s")
        return 0 if outcome.ok else 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: stopping every process[/]")
        return 130
    except LoranetError as err:
        console.print(f"[red]{err}[/]")
        return 1
    finally:
        net.close()


def main_run(cfg: DemoConfig, console: Console) -> int:
    """:func:`run`, then remove the temp workdir after a success (kept for a failure)."""
    code = run(cfg, console)
    if code == 0 and not cfg.keep_workdir:
        shutil.rmtree(cfg.workdir, ignore_errors=True)
    elif cfg.workdir.exists():
        console.print(f"logs and state of every participant: {cfg.workdir}")
    return code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # logs and CI: keep the tables readable
    return main_run(parse(argv), console)


if __name__ == "__main__":
    sys.exit(main())
