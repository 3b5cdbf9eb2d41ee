"""The dashboard's figures: indexer catch-up and the pool page with 1,000 rounds.

1. **Catch-up from a chain**: a devnet (anvil + ``ape run deploy``) on which
   ``offchain.web.scenario`` plays ``--rounds`` real rounds (3 providers, 2 validators,
   reports, attestations, finalizations: every protocol event kind the pages read); then a
   fresh ``Indexer`` catches up from the deployment block into an empty SQLite read model:
   ``eth_getLogs`` pages, decoding, the watcher's commit, and the read-model batches.
2. **Read-model ingest**: ``--big-rounds`` rounds of a pool (4 reports, 2 attestations,
   quorum, 3 rewards, 1 rejection, finalization per round), generated as decoded events in
   the exact shape the decoder produces, applied to an empty read model in 2,000-event batches
   (the indexer's batch size): the store-side rate without the RPC.
3. **Pool page with ``--big-rounds`` rounds**: the dashboard served by uvicorn over that read
   model; the ``/api/pools/1`` answer computed afresh (as after a new block; median of 5) and
   from the explorer's cache (median of 15), and the full page in headless Chromium
   (navigation until the page has rendered its data; median of 5 after a warm-up; cold: the
   read model changes every 50 ms, so each load recomputes). Needs the built front end.

    python bench/web_bench.py --rounds 40 --big-rounds 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offchain import devnet  # noqa: E402
from offchain.chain.client import ChainClient  # noqa: E402
from offchain.gateway.server import BackgroundServer  # noqa: E402
from offchain.settings import Settings  # noqa: E402
from offchain.watcher.events import ChainEvent  # noqa: E402
from offchain.web.app import assets_built, create_app  # noqa: E402
from offchain.web.explorer import Explorer  # noqa: E402
from offchain.web.readmodel import ReadModel  # noqa: E402
from offchain.web.scenario import play_rounds, settle, setup_network  # noqa: E402
from offchain.web.service import build_dashboard  # noqa: E402
from offchain.web.settings import WebSettings  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chain_catch_up(rounds: int, work: Path) -> dict[str, float]:
    settings = Settings(
        network="local", data_dir=work / "chain", deployments_file=work / "local.json"
    )
    port = _free_port()
    info, _ = devnet.up(settings, port=port)
    settings = settings.model_copy(update={"rpc_url": info.rpc_url})
    try:
        client = ChainClient.connect(settings)
        started = time.perf_counter()
        scenario = setup_network(client)
        play_rounds(client, scenario, rounds)
        settle(client, scenario)
        seeded = time.perf_counter() - started
        board = build_dashboard(
            settings.model_copy(update={"data_dir": work / "dashboard"}), WebSettings()
        )
        started = time.perf_counter()
        board.indexer.catch_up()
        seconds = time.perf_counter() - started
        events = board.model.count()
        blocks = board.indexer.watcher.cursor() - client.deployment.block + 1
        board.stop()
        return {
            "rounds": rounds,
            "events": events,
            "blocks": blocks,
            "seconds": seconds,
            "events_per_s": events / seconds,
            "seed_seconds": seeded,
        }
    finally:
        devnet.down(settings)


def _ev(event: str, args: dict[str, object], block: int, index: int, contract: str) -> ChainEvent:
    return ChainEvent.model_construct(
        chain_id=31337,
        address="0x" + "ab" * 20,
        contract=contract,
        event=event,
        args=args,
        block_number=block,
        block_hash="0x" + f"{block:064x}",
        tx_hash="0x" + f"{block:040x}{index:024x}",
        log_index=index,
    )


def synthetic_pool(rounds: int) -> list[ChainEvent]:
    """A pool with ``rounds`` finalized rounds, as the decoder would hand them over."""
    zero = "0x" + "00" * 32
    nodes = [f"0x{i + 1:040x}" for i in range(4)]
    providers = [f"0x{i + 101:040x}" for i in range(4)]
    validators = [f"0x{i + 201:040x}" for i in range(2)]
    params = [1, zero, "builtin://tiny-llama", zero, "builtin://arith", "{}", 60, 20, 10**20, 8, 1]
    created = {"poolId": 1, "domainId": 1, "creator": providers[0], "params": params}
    out = [
        _ev("PoolCreated", created, 1, 0, "ComputePool"),
        _ev("PoolStarted", {"poolId": 1, "startTime": 1_800_000_000}, 2, 0, "ComputePool"),
    ]
    for r in range(rounds):
        block = 10 + r * 3
        i = 0
        for k, (node, prov) in enumerate(zip(nodes, providers, strict=True)):
            args = {
                "poolId": 1, "round": r, "node": node, "provider": prov, "index": k,
                "adapterHash": "0x" + f"{r:032x}{k:032x}", "samples": 512,
                "loss": 2_000_000 - r * 100 + k, "executionMode": 0, "replayRoot": zero,
                "artifactUri": f"https://artifacts.example/{r}/{k}",
            }  # fmt: skip
            out.append(_ev("ReportSubmitted", args, block, i, "WorkLedger"))
            i += 1
        for v in validators:
            args = {
                "poolId": 1,
                "round": r,
                "validator": v,
                "acceptBitmap": 7,
                "nextAdapterHash": zero,
                "votes": 1,
            }
            out.append(_ev("Attested", args, block + 1, i, "WorkLedger"))
            i += 1
        out.append(
            _ev(
                "QuorumReached",
                {"poolId": 1, "round": r, "acceptBitmap": 7, "nextAdapterHash": zero},
                block + 1,
                i,
                "WorkLedger",
            )
        )
        for k in range(3):
            args = {
                "poolId": 1,
                "round": r,
                "provider": providers[k],
                "node": nodes[k],
                "index": k,
                "reward": 33 * 10**18,
            }
            out.append(_ev("RewardAccrued", args, block + 2, k, "WorkLedger"))
        args = {
            "poolId": 1,
            "round": r,
            "provider": providers[3],
            "node": nodes[3],
            "index": 3,
            "slashed": 10**19,
        }
        out.append(_ev("ReportRejected", args, block + 2, 3, "WorkLedger"))
        args = {
            "poolId": 1,
            "round": r,
            "decided": True,
            "accepted": 3,
            "rejected": 1,
            "awarded": 99 * 10**18,
            "baseAdapterHash": zero,
        }
        out.append(_ev("RoundFinalized", args, block + 2, 4, "WorkLedger"))  # fmt: skip
    return out


def big_pool(rounds: int, work: Path) -> dict[str, float | None]:
    model = ReadModel(f"sqlite:///{work / 'big.db'}")
    events = synthetic_pool(rounds)
    started = time.perf_counter()
    for first in range(0, len(events), 2000):
        model.apply(events[first : first + 2000])
    ingest = time.perf_counter() - started
    app = create_app(Explorer(model))
    cold: list[float] = []
    warm: list[float] = []
    with BackgroundServer(app) as server, httpx.Client(timeout=60) as http:
        for _ in range(5):
            model.version += 1  # as after a new block: the page is computed afresh
            t = time.perf_counter()
            body = http.get(server.url + "/api/pools/1").json()
            cold.append((time.perf_counter() - t) * 1000)
            for _ in range(3):
                t = time.perf_counter()
                http.get(server.url + "/api/pools/1").json()
                warm.append((time.perf_counter() - t) * 1000)
        assert body["rounds_page"]["total"] == rounds, body["rounds_page"]
        browser_warm = _browser_load(server.url + "/pool/1")
        stop = threading.Event()

        def new_blocks() -> None:  # every navigation finds a changed read model
            while not stop.wait(0.05):
                model.version += 1

        bumper = threading.Thread(target=new_blocks, daemon=True)
        bumper.start()
        try:
            browser_cold = _browser_load(server.url + "/pool/1")
        finally:
            stop.set()
            bumper.join()
    model.close()
    return {
        "rounds": rounds,
        "events": len(events),
        "ingest_seconds": ingest,
        "ingest_events_per_s": len(events) / ingest,
        "api_ms_cold_median": statistics.median(cold),
        "api_ms_cached_median": statistics.median(warm),
        "browser_ms_cold_median": browser_cold,
        "browser_ms_cached_median": browser_warm,
    }


PAGELOAD = """
import { chromium } from "playwright-core";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM, args: ["--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const times = [];
for (let i = 0; i < 6; i++) {
  const t = Date.now();
  await page.goto(process.env.URL, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("main[data-ready]", { timeout: 120000 });
  if (i > 0) times.push(Date.now() - t);  // the first load warms the browser's caches
}
await browser.close();
console.log(JSON.stringify(times));
"""


def _browser_load(url: str) -> float | None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    node = shutil.which("node")
    if not (Path(chromium).is_file() and node and assets_built()):
        print("skipping the browser page load: chromium, node or the built front end missing")
        return None
    script = ROOT / "web" / ".pageload.mjs"
    script.write_text(PAGELOAD)
    try:
        done = subprocess.run(
            [node, str(script)],
            cwd=ROOT / "web",
            env={**os.environ, "URL": url, "CHROMIUM": chromium},
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    finally:
        script.unlink(missing_ok=True)
    return float(statistics.median(json.loads(done.stdout.strip().splitlines()[-1])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="real rounds played on anvil")
    parser.add_argument("--big-rounds", type=int, default=1000, help="rounds of the big pool")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loranet-web-bench-") as tmp:
        work = Path(tmp)
        chain = chain_catch_up(args.rounds, work)
        big = big_pool(args.big_rounds, work)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "chain_catch_up": chain,
        "big_pool": big,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
