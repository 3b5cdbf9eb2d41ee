"""The engine's bounds: a full queue is refused at once (503 + Retry-After), never waited
on; a failing forward ends its batch only; /health tells the truth about an unreachable
remote."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from offchain.gateway.config import GatewayConfig, LocalGeneratorConfig
from offchain.gateway.errors import GeneratorError
from offchain.gateway.generators.base import GenerationRequest
from offchain.gateway.generators.local import LocalGenerator


def test_a_full_queue_answers_503_with_retry_after(small_gateway: str) -> None:
    body = {"model": "tiny", "prompt": "1", "max_tokens": 128, "temperature": 0}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=small_gateway, timeout=120) as client:
            jobs = [client.post("/v1/completions", json=body) for _ in range(12)]
            return list(await asyncio.wait_for(asyncio.gather(*jobs), timeout=180))

    answers = asyncio.run(burst())
    codes = sorted(r.status_code for r in answers)
    assert 200 in codes and 503 in codes and set(codes) == {200, 503}, codes
    refused = next(r for r in answers if r.status_code == 503)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "server_overloaded"
    # the model is not marked down for it: the next request is served at once
    assert httpx.post(small_gateway + "/v1/completions", json=body, timeout=60).status_code == 200


def test_health_shows_an_unreachable_remote(small_gateway: str) -> None:
    response = httpx.get(small_gateway + "/health", timeout=30)
    data = response.json()
    assert response.status_code == 200 and data["ready"] is True
    assert data["status"] == "degraded"
    assert data["models"]["ghost"] == {"ready": False, "served_by": []}
    assert data["models"]["tiny"]["ready"] is True
    remote = next(g for g in data["generators"] if g["name"] == "ghost-api")
    assert remote["ready"] is False
    assert "unreachable" in remote["error"]
    local = next(g for g in data["generators"] if g["name"] == "local")
    assert local["engines"]["tiny"]["max_batch_size"] == 1


def test_a_failing_forward_ends_its_batch_and_the_engine_goes_on() -> None:
    local = LocalGenerator(LocalGeneratorConfig(), GatewayConfig())
    local.start()
    try:
        batch = local._engines["tiny"]._batch
        model = batch.model
        calls = {"n": 0}

        def flaky(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("CUDA out of memory (simulated)")
            return model(*args, **kwargs)

        batch.model = flaky
        request = GenerationRequest(model="tiny", prompt="1+1=", max_tokens=4, temperature=0)
        with pytest.raises(GeneratorError, match="out of memory"):
            local.generate(request)
        assert local.generate(request).completion_tokens >= 1
        assert local.status()["tiny"]["ready"] is True
    finally:
        local.close()
