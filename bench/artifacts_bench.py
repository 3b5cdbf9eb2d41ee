"""Artifact store throughput: put and verified fetch of an adapter-sized file over loopback
HTTP (the worker's own artifact server) and S3 (a local ``moto_server``), against the local
folder store and plain SHA-256 hashing of the same bytes as the baselines (one run, so the
ratios compare like with like on a shared machine).

    python bench/artifacts_bench.py --mib 16 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from offchain.artifacts import (  # noqa: E402
    ArtifactServer,
    ArtifactSettings,
    ArtifactStore,
    Fetcher,
    LocalStore,
    open_store,
    sha256_file,
)
from offchain.artifacts.s3 import s3_client  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def measure(store: ArtifactStore, source: Path, work: Path, repeats: int, **fetch: object) -> dict:
    """Best-of-``repeats`` put (a fresh name each time: new bytes are uploaded) and cold
    fetch (empty cache: download, hash, rename)."""
    size = source.stat().st_size
    puts, fetches = [], []
    for i in range(repeats):
        variant = work / f"variant-{i}.bin"
        data = source.read_bytes()[:-8] + i.to_bytes(8, "big")  # same size, new hash
        variant.write_bytes(data)
        started = time.perf_counter()
        ref = store.put(variant)
        puts.append(time.perf_counter() - started)
        fetcher = Fetcher(cache_dir=work / f"cache-{uuid.uuid4().hex[:6]}", **fetch)  # type: ignore[arg-type]
        started = time.perf_counter()
        path = fetcher.fetch(ref.uri, ref.sha256)
        fetches.append(time.perf_counter() - started)
        assert path.stat().st_size == size
        started = time.perf_counter()
        assert fetcher.fetch(ref.uri, ref.sha256) == path  # cache hit
    mib = size / 2**20
    return {
        "put_s": round(min(puts), 4),
        "fetch_s": round(min(fetches), 4),
        "put_mib_s": round(mib / min(puts), 1),
        "fetch_mib_s": round(mib / min(fetches), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=16, help="artifact size in MiB")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="loranet-artifacts-bench-") as tmp:
        work = Path(tmp)
        source = work / "adapter.safetensors"
        source.write_bytes(os.urandom(args.mib * 2**20))
        hash_s = _best(lambda: sha256_file(source), args.repeats)
        results["sha256 only"] = {"fetch_s": round(hash_s, 4),
                                  "fetch_mib_s": round(args.mib / hash_s, 1)}  # fmt: skip

        local = LocalStore(work / "local")
        results["local folder"] = measure(local, source, work, args.repeats, local_ok=True)

        with ArtifactServer(work / "served", "127.0.0.1", 0) as server:
            http = LocalStore(work / "served", base_url=f"{server.url}/artifacts", kind="http")
            results["http (worker server)"] = measure(http, source, work, args.repeats)

        proc, endpoint = _moto()
        try:
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            settings = ArtifactSettings(
                store=f"s3://{bucket}/adapters",
                s3_endpoint_url=endpoint,
                s3_region="us-east-1",
                s3_access_key_id="test",
                s3_secret_access_key=SecretStr("test"),
                s3_addressing_style="path",
            )
            s3_client(settings).create_bucket(Bucket=bucket)
            s3 = open_store(settings, data_dir=work, chain_id=1)
            results["s3 (moto_server)"] = measure(
                s3, source, work, args.repeats, s3_client=lambda: s3_client(settings)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    base = results["local folder"]["fetch_s"]
    for row in results.values():
        row["fetch_vs_local"] = round(row["fetch_s"] / base, 2)
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": f"{os.cpu_count()} CPU {platform.processor() or platform.machine()}, "
                f"Python {platform.python_version()}",
                "mib": args.mib,
                "repeats": args.repeats,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
