"""Completions over real HTTP: local model and adapter, streaming, custom and api generators,
fallback, models list, health and metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gateway_plugins
import httpx
from gateway_support import REMOTE_TEXT, Gateway, sse_events

from trainer.artifacts import adapter_hash
from trainer.config import ModelConfig
from trainer.inference import InferenceModel


def _chat(model: str, content: str = "12+30=", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def test_completion_with_adapter_matches_the_trainer(
    client: httpx.Client, adapter_file: Path
) -> None:
    body = {"model": "arith", "prompt": "12+30=", "max_tokens": 12, "temperature": 0}
    response = client.post("/v1/completions", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["object"] == "text_completion"
    assert data["model"] == "arith"
    expected = InferenceModel.load(ModelConfig(), adapter_file).generate(
        "12+30=", max_new_tokens=12
    )
    assert data["choices"][0]["text"] == expected.text
    assert data["choices"][0]["finish_reason"] == expected.finish_reason
    prompt_tokens = expected.prompt_tokens + 1  # the gateway also counts the <s> it feeds
    assert data["usage"] == {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": expected.completion_tokens,
        "total_tokens": prompt_tokens + expected.completion_tokens,
    }
    assert data["loranet"] == {
        "execution_mode": "local",
        "execution_mode_id": 0,
        "reward_multiplier": 1.5,
        "generator": "gpu0",
        "adapter_hash": adapter_hash(adapter_file),
    }
    assert response.headers["X-Loranet-Execution-Mode"] == "local"
    assert response.headers["X-Loranet-Reward-Multiplier"] == "1.5"


def test_the_adapter_changes_the_answer(client: httpx.Client) -> None:
    body = {"prompt": "7+8=", "max_tokens": 12, "temperature": 0}
    base = client.post("/v1/completions", json={**body, "model": "tiny"}).json()
    tuned = client.post("/v1/completions", json={**body, "model": "arith"}).json()
    assert base["loranet"]["adapter_hash"] is None
    assert base["choices"][0]["text"] != tuned["choices"][0]["text"]


def test_chat_completion(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json=_chat("arith", max_tokens=8, seed=3))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["id"].startswith("chatcmpl-")
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    assert 1 <= data["usage"]["completion_tokens"] <= 8
    assert data["usage"]["prompt_tokens"] > len("12+30=")  # the chat template is counted


def test_chat_stream_chunks_are_well_formed_and_end_with_done(client: httpx.Client) -> None:
    request = _chat("arith", max_tokens=12, temperature=0)
    whole = client.post("/v1/chat/completions", json=request).json()
    streamed = {**request, "stream": True, "stream_options": {"include_usage": True}}
    with client.stream("POST", "/v1/chat/completions", json=streamed) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["X-Loranet-Execution-Mode"] == "local"
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) >= 3
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["loranet"]["execution_mode"] == "local"
    *body, last, usage = chunks
    assert all(c["choices"][0].get("finish_reason") is None for c in body)
    assert last["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert usage["choices"] == []  # OpenAI's include_usage chunk
    assert usage["usage"] == whole["usage"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in [*body, last])
    assert text == whole["choices"][0]["message"]["content"]


def test_completion_stream(client: httpx.Client) -> None:
    request = {"model": "tiny", "prompt": "1+2=", "max_tokens": 6, "temperature": 0}
    whole = client.post("/v1/completions", json=request).json()
    with client.stream("POST", "/v1/completions", json={**request, "stream": True}) as r:
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]


def test_custom_callable_from_config(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json=_chat("shout", "make it loud"))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["choices"][0]["message"]["content"] == "<|ASSISTANT|>"
    assert data["loranet"]["execution_mode"] == "custom"
    assert data["loranet"]["reward_multiplier"] == 1.0
    assert response.headers["X-Loranet-Generator"] == "shouter"
    plain = client.post("/v1/completions", json={"model": "shout", "prompt": "make it loud"})
    assert plain.json()["choices"][0]["text"] == "MAKE IT LOUD"


def test_custom_streaming_callable(client: httpx.Client) -> None:
    request = {
        "model": "count",
        "prompt": "go",
        "max_tokens": 3,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with client.stream("POST", "/v1/completions", json=request) as r:
        events = sse_events(r)
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["text"] for c in chunks[1:-2]] == ["0 ", "1 ", "2 "]
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_custom_script_from_config(client: httpx.Client) -> None:
    response = client.post("/v1/completions", json={"model": "script", "prompt": "abcd"})
    data = response.json()
    assert data["choices"][0]["text"] == "script saw 4 chars"
    assert data["usage"]["completion_tokens"] == 3
    assert data["loranet"]["generator"] == "script"


def test_fallback_to_the_api_generator_when_the_local_adapter_is_corrupt(
    client: httpx.Client,
) -> None:
    response = client.post("/v1/chat/completions", json=_chat("broken"))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["choices"][0]["message"]["content"] == REMOTE_TEXT
    assert data["loranet"] == {
        "execution_mode": "api",
        "execution_mode_id": 2,
        "reward_multiplier": 0.5,
        "generator": "remote",
        "adapter_hash": None,
    }
    assert response.headers["X-Loranet-Execution-Mode"] == "api"
    with client.stream(
        "POST", "/v1/completions", json={"model": "broken", "prompt": "x", "stream": True}
    ) as r:
        assert r.headers["X-Loranet-Execution-Mode"] == "api"
        events = sse_events(r)
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks) == REMOTE_TEXT
    health = client.get("/health").json()
    local = next(g for g in health["generators"] if g["name"] == "gpu0")
    assert "broken" in local["down"]
    assert local["ready"] is True  # the other models of the local generator still serve
    assert local["runtime"]["tiny"] == {"device": "cpu", "tier": "cpu", "quantization": "none"}
    assert set(local["loaded"]) == {"tiny", "arith"}
    # the healthy adapter is still served locally
    ok = client.post("/v1/completions", json={"model": "arith", "prompt": "1"}).json()
    assert ok["loranet"]["execution_mode"] == "local"


def test_models_lists_base_models_and_adapter_hashes(
    client: httpx.Client, adapter_file: Path
) -> None:
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    cards = {m["id"]: m for m in data["data"]}
    assert cards["tiny"]["kind"] == "base"
    assert cards["arith"] == {
        **cards["arith"],
        "kind": "adapter",
        "base_model": "tiny",
        "adapter_hash": adapter_hash(adapter_file),
    }
    assert cards["broken"]["adapter_hash"].startswith("0x")
    assert {"shout", "count", "endless", "script"} <= set(cards)


def test_health_reports_generators(gateway: Gateway) -> None:
    data = httpx.get(gateway.url + "/health").json()
    assert data["status"] == "degraded"  # the corrupt adapter "broken" cannot load
    assert data["ready"] is True
    assert data["models"]["broken"] == {"ready": True, "served_by": ["remote"]}
    local = data["generators"][0]
    assert local["models"]["broken"]["ready"] is False
    assert "could not be loaded" in local["models"]["broken"]["error"]
    assert local["models"]["arith"] == {"ready": True, "error": None}
    assert [g["name"] for g in data["generators"]] == [
        "gpu0",
        "shouter",
        "counter",
        "forever",
        "script",
        "remote",
    ]
    assert {g["mode"] for g in data["generators"]} == {"local", "custom", "api"}


def test_metrics_count_requests_and_tokens(client: httpx.Client, gateway: Gateway) -> None:
    def value(text: str, prefix: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
        )

    requests = 'loranet_gateway_requests_total{endpoint="/v1/completions",status="200"}'
    before = value(httpx.get(gateway.url + "/metrics").text, requests)
    client.post("/v1/completions", json={"model": "tiny", "prompt": "5", "max_tokens": 2})
    metrics = httpx.get(gateway.url + "/metrics")
    assert metrics.status_code == 200
    assert value(metrics.text, requests) == before + 1
    assert (
        value(metrics.text, 'loranet_gateway_tokens_total{generator="gpu0",kind="completion"}') > 0
    )
    assert value(metrics.text, 'loranet_gateway_generations_total{generator="gpu0"') > 0


def test_a_client_leaving_mid_stream_stops_the_generator(gateway: Gateway) -> None:
    prompt = "left early"
    body = {"model": "endless", "prompt": prompt, "stream": True}
    with gateway.client() as c, c.stream("POST", "/v1/completions", json=body) as r:
        events = r.iter_lines()
        received = [line for line, _ in zip(events, range(6), strict=False) if line]
        assert len(received) >= 3
    deadline = time.monotonic() + 20
    while prompt not in gateway_plugins.FINISHED:
        assert time.monotonic() < deadline, "the stream's generator was never closed"
        time.sleep(0.05)


def test_local_model_is_free_after_an_abandoned_stream(gateway: Gateway) -> None:
    body = {"model": "tiny", "prompt": "9", "max_tokens": 64, "stream": True, "seed": 1}
    with gateway.client() as c:
        with c.stream("POST", "/v1/completions", json=body) as r:
            next(r.iter_lines())
        # the trainer's model lock must have been released: a new request is served
        ok = c.post("/v1/completions", json={**body, "stream": False}, timeout=20)
        assert ok.status_code == 200
