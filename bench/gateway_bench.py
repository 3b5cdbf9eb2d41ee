"""Inference gateway throughput: tokens/s and p50/p95 latency under 1, 4 and 16 streams.

Starts ``loranet serve`` in a subprocess (tiny model with a LoRA adapter merged in, CPU,
auth and rate limiting off), then for each concurrency level runs that many client threads,
each sending ``--requests`` streamed chat completions of ``--max-tokens`` tokens (sampling
with a seed, ``ignore`` of stop strings: the model writes until ``max_tokens`` or its
end-of-sequence token). Per request it records the time to the first token and the total
latency; per level the generated tokens per second over the level's wall time.

    .venv/bin/python bench/gateway_bench.py            # prints JSON, writes docs/benchmarks.md
    .venv/bin/python bench/gateway_bench.py --no-write --levels 1 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Inference gateway"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _adapter(folder: Path) -> Path:
    import torch

    from trainer.artifacts import save_adapter
    from trainer.config import ModelConfig
    from trainer.models import attach_lora, build_base_model, lora_named_parameters

    cfg = ModelConfig()
    model = attach_lora(build_base_model(cfg), cfg)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _, param in lora_named_parameters(model):
            param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    path = folder / "bench.safetensors"
    save_adapter(model, path)
    return path


class Server:
    """``loranet serve`` in its own process group."""

    def __init__(self, folder: Path, max_tokens: int, threads: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "port": self.port,
            "adapters": [{"name": "bench", "base": "tiny", "path": str(_adapter(folder))}],
            "auth": {"enabled": False},
            "rate_limit": {"enabled": False},
            "limits": {"max_tokens": max_tokens, "default_max_tokens": max_tokens},
        }
        path = folder / "gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.log = (folder / "serve.log").open("wb")
        loranet = str(Path(sys.executable).with_name("loranet"))
        self.proc = subprocess.Popen(
            [loranet, "serve", str(path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                sys.exit((folder / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.close()
                sys.exit("the gateway did not start within 180 s")
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def _one_stream(client: httpx.Client, max_tokens: int, seed: int) -> dict[str, float]:
    body = {
        "model": "bench",
        "messages": [{"role": "user", "content": f"{seed % 90 + 10}+{seed % 7 + 3}="}],
        "max_tokens": max_tokens,
        "temperature": 1.0,
        "seed": seed,
        "stream": True,
    }
    start = time.perf_counter()
    first = None
    tokens = 0
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter() - start
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    total = time.perf_counter() - start
    return {"ttft": first if first is not None else total, "latency": total, "tokens": tokens}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_level(url: str, streams: int, requests: int, max_tokens: int) -> dict[str, Any]:
    results: list[dict[str, float]] = []
    lock = threading.Lock()

    ready = threading.Barrier(streams + 1)

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            client.get("/health")  # connection open before the clock starts
            ready.wait()
            for i in range(requests):
                out = _one_stream(client, max_tokens, seed=index * 1000 + i)
                with lock:
                    results.append(out)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies = [r["latency"] for r in results]
    ttfts = [r["ttft"] for r in results]
    tokens = sum(r["tokens"] for r in results)
    return {
        "streams": streams,
        "requests": len(results),
        "tokens": int(tokens),
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 1),
        "p50_latency_s": round(statistics.median(latencies), 3),
        "p95_latency_s": round(_pct(latencies, 0.95), 3),
        "p50_ttft_s": round(statistics.median(ttfts), 3),
        "p95_ttft_s": round(_pct(ttfts, 0.95), 3),
    }


def machine() -> str:
    cpu = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {cpu}, Python {platform.python_version()}"


def render(report: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {r['streams']} | {r['requests']} | {r['tokens']} | **{r['tokens_per_s']}** "
        f"| {r['p50_latency_s']} s | {r['p95_latency_s']} s | {r['p50_ttft_s']} s "
        f"| {r['p95_ttft_s']} s |"
        for r in report["levels"]
    )
    return f"""{SECTION}

Streaming throughput of `loranet serve` (`offchain/gateway/`): the tiny LLaMA-shaped model
(2 layers, hidden 64, byte tokenizer) with a LoRA adapter merged in, the `local` generator on
CPU, auth and rate limiting off, one server process (`OMP_NUM_THREADS={report["threads"]}`).
Each of N client threads sends {report["requests_per_stream"]} streamed chat completions of
{report["max_tokens"]} tokens (temperature 1, seeded). Tokens/s = completion tokens of all
requests / wall time of the level; latency = whole stream, TTFT = time to the first token.
Script: `bench/gateway_bench.py`.

Date {report["date"]}, machine: {report["machine"]}.

| streams | requests | tokens | tokens/s | p50 latency | p95 latency | p50 TTFT | p95 TTFT |
|---|---|---|---|---|---|---|---|
{rows}

The local generator runs one generation at a time per model (the trainer's `InferenceModel`
holds a lock while it decodes), so concurrent streams queue: latency and time to first token
grow with the number of streams, and tokens/s do not grow with them (they fall from 1 to 4
streams: the client threads share the machine's cores with the server, other jobs were
running, and a waiting stream starts only when the one decoding ends). More throughput
needs batched decoding in the trainer or several model replicas (not done).

Reproduce: `.venv/bin/python bench/gateway_bench.py` (about a minute; `--no-write` only prints).
"""


def write_section(text: str) -> None:
    """Replace (or append) only the Inference gateway section of docs/benchmarks.md."""
    doc = DOC.read_text() if DOC.is_file() else "# Benchmarks\n\n"
    start = doc.find(SECTION + "\n")
    if start < 0:
        DOC.write_text(doc.rstrip("\n") + "\n\n" + text)
        return
    end = doc.find("\n## ", start + len(SECTION))
    tail = doc[end + 1 :] if end >= 0 else ""
    DOC.write_text(doc[:start] + text + ("\n" + tail if tail else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=8, help="Requests per stream.")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="Torch threads of the server.")
    parser.add_argument("--no-write", action="store_true", help="Do not edit docs/benchmarks.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        server = Server(Path(tmp), args.max_tokens, args.threads)
        try:
            run_level(server.url, 1, 1, args.max_tokens)  # warm-up
            levels = [run_level(server.url, n, args.requests, args.max_tokens) for n in args.levels]
        finally:
            server.close()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "threads": args.threads,
        "requests_per_stream": args.requests,
        "max_tokens": args.max_tokens,
        "levels": levels,
    }
    print(json.dumps(report, indent=2))
    if not args.no_write:
        write_section(render(report))
        print(f"wrote the '{SECTION[3:]}' section of {DOC}")


if __name__ == "__main__":
    main()
