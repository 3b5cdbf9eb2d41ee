"""Security over real HTTP: API keys, rate limiting, request limits, OpenAI-style errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gateway_support import Gateway, Keys

from offchain.gateway.app import create_app
from offchain.gateway.config import GatewayConfig, RateLimitConfig
from offchain.gateway.server import BackgroundServer

COMPLETION = {"model": "tiny", "prompt": "1+1=", "max_tokens": 2}


def _assert_openai_error(response: httpx.Response, status: int, code: str | None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] == code
    return error


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions"])
def test_no_key_is_refused(gateway: Gateway, path: str) -> None:
    with gateway.client(key=None) as c:
        _assert_openai_error(c.post(path, json=COMPLETION), 401, "missing_api_key")
        _assert_openai_error(c.get("/v1/models"), 401, "missing_api_key")


def test_wrong_and_revoked_keys_are_refused(gateway: Gateway, keys: Keys) -> None:
    for bad in ("lnk_" + "x" * 43, "sk-not-ours", keys.revoked_key, keys.key + "x"):
        with gateway.client(key=bad) as c:
            error = _assert_openai_error(
                c.post("/v1/completions", json=COMPLETION), 401, "invalid_api_key"
            )
            assert bad not in error["message"]


def test_a_key_created_while_serving_works_at_once(gateway: Gateway, keys: Keys) -> None:
    key, record = keys.store.create("late")
    with gateway.client(key=key) as c:
        assert c.post("/v1/completions", json=COMPLETION).status_code == 200
        keys.store.revoke(record.id)
        _assert_openai_error(c.post("/v1/completions", json=COMPLETION), 401, "invalid_api_key")


def test_public_endpoints_need_no_key(gateway: Gateway) -> None:
    with gateway.client(key=None) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert "loranet" in c.get("/").text


@pytest.fixture(scope="module")
def strict_gateway(gateway_config: GatewayConfig, keys: Keys) -> Iterator[Gateway]:
    """Local tiny model only, burst of 2 requests then 1 per minute."""
    config = gateway_config.model_copy(
        update={
            "adapters": [],
            "generators": [gateway_config.generators[0].model_copy(update={"models": None})],
            "rate_limit": RateLimitConfig(requests_per_minute=1, burst=2),
        }
    )
    with BackgroundServer(create_app(config)) as server:
        yield Gateway(server.url, keys.key)


def test_rate_limit_answers_429_with_retry_after(strict_gateway: Gateway, keys: Keys) -> None:
    with strict_gateway.client() as c:
        assert c.post("/v1/completions", json=COMPLETION).status_code == 200
        assert c.get("/v1/models").status_code == 200
        refused = c.post("/v1/completions", json=COMPLETION)
        error = _assert_openai_error(refused, 429, "rate_limit_exceeded")
        assert error["type"] == "rate_limit_error"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # another key has its own bucket
    other, _ = keys.store.create("other")
    with strict_gateway.client(key=other) as c:
        assert c.post("/v1/completions", json=COMPLETION).status_code == 200
    metrics = httpx.get(strict_gateway.url + "/metrics").text
    assert "loranet_gateway_rate_limited_total 1.0" in metrics


def test_max_tokens_limit(client: httpx.Client) -> None:
    error = _assert_openai_error(
        client.post("/v1/completions", json={**COMPLETION, "max_tokens": 65}),
        400,
        "max_tokens_exceeded",
    )
    assert error["param"] == "max_tokens"
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "x"}]}
    response = client.post("/v1/chat/completions", json={**chat, "max_completion_tokens": 1000})
    _assert_openai_error(response, 400, "max_tokens_exceeded")
    # without max_tokens the configured default (16) applies
    data = client.post(
        "/v1/completions", json={"model": "tiny", "prompt": "a", "temperature": 0}
    ).json()
    assert data["usage"]["completion_tokens"] <= 16


def test_body_size_limit(client: httpx.Client) -> None:
    big = {**COMPLETION, "prompt": "x" * 5000}
    _assert_openai_error(client.post("/v1/completions", json=big), 413, "request_too_large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"model": "tiny", "prompt": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    _assert_openai_error(
        client.post("/v1/completions", content=chunked()), 413, "request_too_large"
    )


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"prompt": "x"}, "model", "missing_required_parameter"),
        ({"model": "tiny"}, "prompt", "missing_required_parameter"),
        ({**COMPLETION, "temperature": 5}, "temperature", "invalid_value"),
        ({**COMPLETION, "max_tokens": 0}, "max_tokens", "invalid_value"),
        ({**COMPLETION, "n": 2}, "n", "invalid_value"),
        ({**COMPLETION, "stop": ["a", "b", "c", "d", "e"]}, "stop", None),
    ],
)
def test_invalid_requests_get_openai_errors(
    client: httpx.Client, body: dict, param: str, code: str | None
) -> None:
    error = _assert_openai_error(client.post("/v1/completions", json=body), 400, code)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_malformed_json_and_unknown_model(client: httpx.Client) -> None:
    bad = client.post(
        "/v1/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _assert_openai_error(bad, 400, "invalid_json")
    missing = client.post("/v1/completions", json={**COMPLETION, "model": "nope"})
    assert _assert_openai_error(missing, 404, "model_not_found")["param"] == "model"
    chat = {"model": "tiny", "messages": []}
    assert (
        _assert_openai_error(client.post("/v1/chat/completions", json=chat), 400, "invalid_value")[
            "param"
        ]
        == "messages"
    )
    _assert_openai_error(client.get("/v1/nothing"), 404, "not_found")


def test_prompt_too_long_is_a_client_error_not_a_fallback(client: httpx.Client) -> None:
    long_prompt = {**COMPLETION, "prompt": "9" * 300}  # the tiny model's context is 256
    error = _assert_openai_error(
        client.post("/v1/completions", json=long_prompt), 400, "context_length_exceeded"
    )
    assert error["param"] == "prompt"
