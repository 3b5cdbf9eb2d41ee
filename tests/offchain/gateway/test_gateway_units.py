"""The pure parts: fallback chain with retry-later, token bucket, key store, config, template."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offchain.gateway.auth import KEY_PREFIX, KeyStore
from offchain.gateway.config import load_gateway_config
from offchain.gateway.errors import (
    GatewayConfigError,
    GenerationInputError,
    GeneratorError,
    KeyStoreError,
    NoGeneratorAvailableError,
)
from offchain.gateway.generators.base import (
    ChatTurn,
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
)
from offchain.gateway.generators.chain import GeneratorChain, OpenStream
from offchain.gateway.prompt import render_chat
from offchain.gateway.ratelimit import RateLimiter

REQUEST = GenerationRequest(model="m", prompt="p", max_tokens=4)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted(Generator):
    """A generator whose health the test switches on and off (the chain's only input)."""

    def __init__(self, name: str, mode: str = "local") -> None:
        super().__init__(name, mode, None)  # type: ignore[arg-type]
        self.probe_on_health = False  # only the chain's retry checks count here
        self.healthy = True
        self.calls: list[str] = []
        self.checks = 0

    def check(self, model: str | None = None) -> None:
        self.checks += 1
        if not self.healthy:
            raise GeneratorError(f"{self.name} is down")

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.calls.append(request.model)
        if not self.healthy:
            raise GeneratorError(f"{self.name} is down")
        if request.prompt == "bad":
            raise GenerationInputError("bad prompt")
        return GenerationResult(self.name, 1, 1, "stop")

    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        self.calls.append(request.model)
        if not self.healthy:
            raise GeneratorError(f"{self.name} is down")
        yield from (self.name, "!")


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _down(chain: GeneratorChain, gen: int = 0) -> dict[str, Any]:
    return _run(chain.health(["m"]))["generators"][gen]["down"]


async def _stream(chain: GeneratorChain) -> tuple[Generator, list[str]]:
    opened: OpenStream = await chain.open_stream(REQUEST)
    return opened.generator, [d.text async for d in opened.deltas()]


def test_chain_falls_back_then_retries_the_failed_generator_later() -> None:
    clock = Clock()
    first, second = Scripted("first"), Scripted("second", "api")
    chain = GeneratorChain([first, second], retry_after_s=30, clock=clock)
    first.healthy = False
    assert _run(chain.generate(REQUEST))[1] is second
    assert first.calls == ["m"]
    # skipped while waiting: not even called
    clock.now += 29
    assert _run(chain.generate(REQUEST))[1] is second
    assert first.calls == ["m"] and first.checks == 0
    assert _down(chain)["m"]["retry_in_s"] == pytest.approx(1)
    # due: the health check runs, fails, and the wait starts again
    clock.now += 2
    assert _run(chain.generate(REQUEST))[1] is second
    assert first.checks == 1
    # recovered: checked once more, then used again
    first.healthy = True
    clock.now += 31
    assert _run(chain.generate(REQUEST))[1] is first
    assert first.checks == 2
    assert _down(chain) == {}


def test_chain_stream_falls_back_before_the_first_delta() -> None:
    first, second = Scripted("first"), Scripted("second")
    first.healthy = False
    gen, deltas = _run(_stream(GeneratorChain([first, second])))
    assert gen is second
    assert deltas == ["second", "!"]


def test_chain_input_errors_do_not_fall_back() -> None:
    first, second = Scripted("first"), Scripted("second")
    chain = GeneratorChain([first, second])
    with pytest.raises(GenerationInputError):
        _run(chain.generate(GenerationRequest(model="m", prompt="bad", max_tokens=1)))
    assert second.calls == []
    assert _down(chain) == {}


def test_chain_with_nothing_left_says_so() -> None:
    only = Scripted("only")
    only.healthy = False
    chain = GeneratorChain([only], retry_after_s=10, clock=Clock())
    with pytest.raises(NoGeneratorAvailableError, match="retry later"):
        _run(chain.generate(REQUEST))
    assert chain.retry_in("m") == pytest.approx(10)


def test_token_bucket_refills_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=6, burst=2, clock=clock)  # one per 10 s
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 10
    assert limiter.acquire("b") is None  # buckets are per key
    clock.now += 4
    assert limiter.acquire("a") == 6
    clock.now += 6
    assert limiter.acquire("a") is None
    clock.now += 1000
    assert [limiter.acquire("a") for _ in range(3)][:2] == [None, None]  # capped at burst


def test_keys_are_hashed_at_rest(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "gw" / "keys.json")
    key, record = store.create("alice")
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 43
    raw = store.path.read_text()
    assert key not in raw and key[len(KEY_PREFIX) + 8 :] not in raw
    assert json.loads(raw)["keys"][0]["sha256"] == record.sha256
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.verify(key) == record
    assert store.verify(key[:-1]) is None
    store.revoke(record.id)
    assert store.verify(key) is None
    assert [r.active for r in store.list()] == [False]
    with pytest.raises(KeyStoreError, match="no API key"):
        store.revoke("key_missing")


def test_chat_template() -> None:
    turns = [ChatTurn("system", "Add."), ChatTurn("user", "1+2=")]
    assert render_chat(turns) == "<|system|>\nAdd.\n<|user|>\n1+2=\n<|assistant|>\n"


def test_config_file_errors_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="does not exist"):
        load_gateway_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("adapters:\n  - {name: a, base: missing, path: a.safetensors}\n")
    with pytest.raises(GatewayConfigError, match="not in base_models"):
        load_gateway_config(bad)
    bad.write_text("generators:\n  - {kind: custom, name: c}\n")
    with pytest.raises(GatewayConfigError, match="exactly one of callable or command"):
        load_gateway_config(bad)


def test_example_config_loads_with_relative_paths() -> None:
    root = Path(__file__).resolve().parents[3]
    cfg = load_gateway_config(root / "examples" / "gateway.yaml")
    assert [g.kind for g in cfg.generators] == ["local"]
    # the adapter `loranet train` writes when run from the repository root (README)
    assert cfg.adapters[0].path is not None
    assert cfg.adapters[0].path.resolve() == root / "train-output" / "adapter.safetensors"
    assert cfg.multipliers == {"local": 1.5, "custom": 1.0, "api": 0.5}
    assert all(a.path is None or a.path.is_absolute() for a in cfg.adapters)
