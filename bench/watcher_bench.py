"""Watcher catch-up throughput: events per second decoded and dispatched from a chain.

Starts its own anvil, deploys ``MockEventEmitter`` (compiled by ``ape compile`` into
``.build/__local__.json``), emits ``--events`` events in batches spread over many blocks
(empty blocks in between, as after downtime), then times one catch-up ``poll_once`` of a
fresh watcher: ``eth_getLogs`` pages, decoding, the ``dispatched`` table commit and delivery
to a dispatcher. Optionally also times delivery into Celery's embedded SQLite broker.

    python bench/watcher_bench.py --events 10000
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offchain.watcher import ChainEvent, EventWatcher, WatchedContract, WatcherStore  # noqa: E402


class CountingDispatcher:
    def __init__(self) -> None:
        self.count = 0

    def dispatch(self, event: ChainEvent) -> None:
        self.count += 1

    def orphaned(self, event: ChainEvent) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _artifact(name: str) -> dict[str, object]:
    build = ROOT / ".build" / "__local__.json"
    if not build.is_file():
        sys.exit("no .build/__local__.json: run `ape compile` first")
    contract = json.loads(build.read_text())["contractTypes"].get(name)
    if contract is None:
        sys.exit(f"{name} is not compiled: run `ape compile`")
    return dict(contract)


def _emit(w3: Web3, events: int, batch: int, gap_blocks: int) -> tuple[WatchedContract, int, int]:
    art = _artifact("MockEventEmitter")
    bytecode = art["deploymentBytecode"]["bytecode"]  # type: ignore[index]
    sender = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=art["abi"], bytecode=bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))
    emitter = w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])
    start = int(receipt["blockNumber"])
    emitted = 0
    while emitted < events:
        n = min(batch, events - emitted)
        tx = emitter.functions.emitBatch(n).transact({"from": sender, "gas": 29_000_000})
        assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
        emitted += n
        if gap_blocks:
            w3.provider.make_request("anvil_mine", [hex(gap_blocks)])  # type: ignore[arg-type]
    watched = WatchedContract("MockEventEmitter", str(emitter.address), art["abi"])  # type: ignore[arg-type]
    return watched, start, int(w3.eth.block_number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="events per transaction")
    parser.add_argument("--gap-blocks", type=int, default=250, help="empty blocks per batch")
    parser.add_argument("--page-size", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--celery", action="store_true", help="also time the SQLite broker")
    args = parser.parse_args()

    port = _free_port()
    anvil = subprocess.Popen(
        [str(ROOT / "node_modules/.bin/anvil"), "--port", str(port), "--silent",
         "--gas-limit", "30000000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 60}))
        deadline = time.monotonic() + 30
        while not w3.is_connected():
            if time.monotonic() > deadline:
                sys.exit("anvil did not start")
            time.sleep(0.05)
        watched, start, head = _emit(w3, args.events, args.batch, args.gap_blocks)
        results = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                store = WatcherStore(Path(tmp) / "watcher.db")
                counting = CountingDispatcher()
                watcher = EventWatcher(
                    w3=w3, contracts=[watched], store=store, dispatcher=counting,
                    start_block=start, page_size=args.page_size,
                    max_page_size=max(args.page_size, 10_000),
                )  # fmt: skip
                began = time.perf_counter()
                result = watcher.poll_once()
                seconds = time.perf_counter() - began
                store.close()
            assert result.events == args.events == counting.count, (result, counting.count)
            results.append(seconds)
        best = min(results)
        report: dict[str, object] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()} {platform.processor() or ''} "
            f"{__import__('os').cpu_count()} cpus, python {platform.python_version()}".strip(),
            "events": args.events,
            "blocks": head - start + 1,
            "pages": result.pages,
            "runs_s": [round(s, 3) for s in results],
            "events_per_s": round(args.events / best),
        }
        if args.celery:
            report["celery_sqlite_enqueue_per_s"] = _celery(watched, w3, start, args)
        print(json.dumps(report, indent=2))
    finally:
        anvil.terminate()
        anvil.wait(timeout=10)


def _celery(watched: WatchedContract, w3: Web3, start: int, args: argparse.Namespace) -> int:
    from offchain.worker.celery_app import CeleryDispatcher, create_app
    from offchain.worker.settings import WorkerSettings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(WorkerSettings(data_dir=Path(tmp), queue="bench"))
        store = WatcherStore(Path(tmp) / "watcher.db")
        watcher = EventWatcher(
            w3=w3, contracts=[watched], store=store, dispatcher=CeleryDispatcher(app),
            start_block=start, page_size=args.page_size,
        )  # fmt: skip
        began = time.perf_counter()
        result = watcher.poll_once()
        seconds = time.perf_counter() - began
        store.close()
        app.close()
    return round(result.delivered / seconds)


if __name__ == "__main__":
    main()
