"""Recovery figures of ``loranet worker run`` (docs/benchmarks.md, "Recovery").

One node on a local anvil (the demo harness: everything through the ``loranet`` CLI), the
dry-run trainer, and three faults, each timed from the moment the fault ends to the moment the
node's report is on chain (a ``ReportSubmitted`` of the node for that round):

1. **kill -9**: the service is SIGKILLed while its signed report waits for the round's end;
   the round then ends and the service is started again (time from the kill, process start
   included);
2. **RPC outage**: anvil is paused (SIGSTOP) for ``--outage`` seconds while the report waits;
   the round ends as anvil comes back (time from SIGCONT: the runtime's backoff decides it);
3. **reorg**: after the report is mined, ``anvil_reorg`` drops its block (time from the reorg
   to the re-sent report: the outbox's re-check interval decides it).

Usage: ``python bench/recovery_bench.py [--outage 20] [--json out.json]``. Each scenario
asserts exactly one report on chain for the round at its end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from offchain.abi import load_abi
from offchain.demo.network import DemoConfig, DemoNetwork

ROUND = 120
WINDOW = 90


def _reports(net: DemoNetwork, node: str, round_: int) -> list[Any]:
    assert net.client is not None
    ledger = net.client.w3.eth.contract(
        address=net.client.deployment.address("WorkLedger"), abi=load_abi("WorkLedger")
    )
    logs = ledger.events.ReportSubmitted().get_logs(from_block=net.deploy_block)
    return [
        e for e in logs if e.args.node.lower() == node.lower() and int(e.args["round"]) == round_
    ]


def _wait(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic()


def _rpc(net: DemoNetwork, method: str, params: list[Any]) -> Any:
    assert net.client is not None
    return net.client.w3.provider.make_request(method, params)  # type: ignore[arg-type]


def _round_now(net: DemoNetwork) -> tuple[int, int]:
    assert net.client is not None
    pools = net.client.contract("ComputePool")
    round_ = int(pools.functions.currentRound(net.pool_id).call())
    _start, end, _close = pools.functions.roundWindow(net.pool_id, round_).call()
    return round_, int(end)


def _end_round(net: DemoNetwork, end: int) -> None:
    assert net.client is not None
    now = int(net.client.w3.eth.get_block("latest")["timestamp"])
    if end > now:
        _rpc(net, "evm_increaseTime", [end - now + 1])
    _rpc(net, "evm_mine", [])


def _queued(home: Path, round_: int) -> bool:
    """Whether the node's report of ``round_`` is signed and waits in its outbox."""
    import sqlite3

    path = home / "outbox.db"
    if not path.is_file():
        return False
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT status FROM outbox WHERE kind='report' AND round=?", (round_,)
        ).fetchone()
    return row is not None and row[0] == "queued"


def _start(net: DemoNetwork) -> subprocess.Popen[bytes]:
    who = net.providers[0]
    net._spawn(who, ["worker", "run", "--node", "gpu-0", "--account", who.name,
                     "--trainer", "dry-run"])  # fmt: skip
    return net.procs[who.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=20.0, help="RPC pause in seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ["LORANET_OUTBOX_RECHECK_INTERVAL_S"] = "10"
    work = Path(tempfile.mkdtemp(prefix="loranet-recovery-"))
    cfg = DemoConfig(
        workdir=work / "net", out=work / "out", honest=1, round_length=ROUND,
        submission_window=WINDOW, challenge_window=60,
    )  # fmt: skip
    net = DemoNetwork(cfg)
    figures: dict[str, float] = {}
    try:
        net.start_chain()
        assert net.client is not None
        _rpc(net, "evm_setIntervalMining", [0])  # blocks only when the bench or a tx asks
        _rpc(net, "evm_setAutomine", [True])
        net.create_pool()
        node = net.register_provider(0).node
        net.start_pool()
        home = net.providers[0].home

        # 1. kill -9 while the report waits; the round ends; restart
        proc = _start(net)
        round_, end = _round_now(net)
        _wait(lambda: _queued(home, round_), 180, f"the report of round {round_} queued")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        _end_round(net, end)
        _start(net)
        done = _wait(lambda: len(_reports(net, node, round_)) >= 1, 180, "report after kill")
        figures["kill -9 -> report on chain (s)"] = done - killed
        assert len(_reports(net, node, round_)) == 1

        # 2. RPC outage while the report of the current round waits; the round ends as the
        #    RPC comes back
        round_, end = _round_now(net)
        _wait(lambda: _queued(home, round_), 180, f"the report of round {round_} queued")
        anvil = _anvil_pid(net)
        os.kill(anvil, signal.SIGSTOP)
        time.sleep(args.outage)
        os.kill(anvil, signal.SIGCONT)
        back = time.monotonic()
        _end_round(net, end)
        done = _wait(lambda: len(_reports(net, node, round_)) >= 1, 300, "report after outage")
        figures["RPC back -> report on chain (s)"] = done - back
        assert len(_reports(net, node, round_)) == 1

        # 3. a reorg drops the mined report inside the submission window
        (mined,) = _reports(net, node, round_)
        depth = int(net.client.w3.eth.block_number) - int(mined.blockNumber) + 1
        _rpc(net, "anvil_reorg", [depth, []])
        reorged = time.monotonic()
        assert _reports(net, node, round_) == []
        done = _wait(lambda: len(_reports(net, node, round_)) >= 1, 180, "re-sent report")
        figures["reorg -> re-sent report on chain (s)"] = done - reorged
        assert len(_reports(net, node, round_)) == 1
    finally:
        net.close()
        shutil.rmtree(work, ignore_errors=True)
    info = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "date": time.strftime("%Y-%m-%d"),
        "outage_s": args.outage,
        "figures": {k: round(v, 1) for k, v in figures.items()},
    }
    print(json.dumps(info, indent=2))
    if args.json:
        args.json.write_text(json.dumps(info, indent=2))


def _anvil_pid(net: DemoNetwork) -> int:
    from offchain import devnet

    assert net.settings is not None
    info = devnet.running(net.settings)
    assert info is not None, "the bench's anvil is not running"
    return int(info.pid)


if __name__ == "__main__":
    main()
