"""Fixtures of the gateway tests: a trained adapter, API keys, a fake remote OpenAI API and
running gateways (real uvicorn servers on loopback, started and stopped per session)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from gateway_support import REMOTE_KEY_ENV, REMOTE_SECRET, REMOTE_TEXT, Gateway, Keys
from openai import AsyncOpenAI, OpenAI

from offchain.gateway.app import create_app
from offchain.gateway.auth import KeyStore
from offchain.gateway.config import GatewayConfig, load_gateway_config
from offchain.gateway.server import BackgroundServer
from trainer.artifacts import save_adapter
from trainer.config import DataConfig, ModelConfig
from trainer.data import TrainingData
from trainer.evaluation import evaluate_loss
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    lora_named_parameters,
)
from trainer.replay import step_loss_and_grads


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def adapter_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter of the tiny model trained for 30 local steps (no hivemind) on the
    arithmetic data with the trainer's modules, saved canonically."""
    cfg = ModelConfig()
    data = TrainingData(DataConfig(num_examples=256), build_tokenizer(cfg))
    shard = data.shard(pool_id=0, round=0, node_index=0, node_count=1)
    model = attach_lora(build_base_model(cfg), cfg).train()
    before = evaluate_loss(model, data.heldout()).loss
    optimizer = torch.optim.AdamW([p for _, p in lora_named_parameters(model)], lr=3e-2)
    for step in range(30):
        step_loss_and_grads(model, shard.batch(step, 16))
        optimizer.step()
    assert evaluate_loss(model, data.heldout()).loss < before / 2  # it did learn
    path = tmp_path_factory.mktemp("adapters") / "arith.safetensors"
    save_adapter(model.eval(), path)
    return path


@pytest.fixture(scope="session")
def corrupt_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("broken") / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a safetensors header")
    return path


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    store = KeyStore(tmp_path_factory.mktemp("keys") / "keys.json")
    key, record = store.create("tests")
    revoked, revoked_record = store.create("old")
    store.revoke(revoked_record.id)
    return Keys(store, key, record.id, revoked)


def _remote_app() -> FastAPI:
    """A minimal OpenAI-compatible remote: fixed text, streams it word by word."""
    app = FastAPI()

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {REMOTE_SECRET}"

    def denied() -> JSONResponse:
        return JSONResponse({"error": {"message": "bad key", "type": "auth"}}, status_code=401)

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        if not authorised(request):
            return denied()
        return {"object": "list", "data": [{"id": "remote-model", "object": "model"}]}

    async def answer(request: Request, chat: bool) -> Any:
        if not authorised(request):
            return denied()
        body = await request.json()
        words = REMOTE_TEXT.split(" ")
        if body.get("stream"):

            def events() -> Iterator[str]:
                for i, word in enumerate(words):
                    piece = word if i == 0 else " " + word
                    choice = (
                        {"index": 0, "delta": {"content": piece}}
                        if chat
                        else {"index": 0, "text": piece}
                    )
                    yield f"data: {json.dumps({'choices': [choice]})}\n\n"
                done = {"index": 0, "delta": {}, "finish_reason": "stop"}
                usage = {"prompt_tokens": 3, "completion_tokens": len(words)}
                yield f"data: {json.dumps({'choices': [done], 'usage': usage})}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": REMOTE_TEXT}
        else:
            choice["text"] = REMOTE_TEXT
        return {
            "id": "remote-1",
            "model": body["model"],
            "choices": [choice],
            "usage": {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 8},
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        return await answer(request, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await answer(request, chat=False)

    return app


@pytest.fixture(scope="session")
def remote_api() -> Iterator[str]:
    """Base URL (``.../v1``) of a fake remote OpenAI API on loopback; its key in the env."""
    os.environ[REMOTE_KEY_ENV] = REMOTE_SECRET
    try:
        with BackgroundServer(_remote_app()) as server:
            yield server.url + "/v1"
    finally:
        os.environ.pop(REMOTE_KEY_ENV, None)


@pytest.fixture(scope="session")
def echo_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An executable custom generator: reads the request JSON, prints a JSON answer."""
    path = tmp_path_factory.mktemp("scripts") / "echo_gen.py"
    path.write_text(
        textwrap.dedent(
            """
            import json, sys
            req = json.load(sys.stdin)
            text = "script saw " + str(len(req["prompt"])) + " chars"
            print(json.dumps({"text": text, "prompt_tokens": 1, "completion_tokens": 3}))
            """
        )
    )
    return path


@pytest.fixture(scope="session")
def gateway_yaml(
    tmp_path_factory: pytest.TempPathFactory,
    adapter_file: Path,
    corrupt_adapter: Path,
    remote_api: str,
    echo_script: Path,
    keys: Keys,
) -> Path:
    """The gateway config of the main test server, written as a user would write it."""
    config = {
        "base_models": {"tiny": {"source": "tiny"}},
        "adapters": [
            {"name": "arith", "base": "tiny", "path": str(adapter_file)},
            {"name": "broken", "base": "tiny", "path": str(corrupt_adapter)},
        ],
        "generators": [
            {"kind": "local", "name": "gpu0", "models": ["tiny", "arith", "broken"]},
            {
                "kind": "custom",
                "name": "shouter",
                "callable": "gateway_plugins:shout",
                "models": ["shout"],
            },
            {
                "kind": "custom",
                "name": "counter",
                "callable": "gateway_plugins:count_up",
                "models": ["count"],
            },
            {
                "kind": "custom",
                "name": "forever",
                "callable": "gateway_plugins:endless",
                "models": ["endless"],
            },
            {
                "kind": "custom",
                "name": "script",
                "command": [sys.executable, str(echo_script)],
                "models": ["script"],
            },
            {
                "kind": "api",
                "name": "remote",
                "base_url": remote_api,
                "api_key_env": REMOTE_KEY_ENV,
                "default_model": "remote-model",
            },
        ],
        "multipliers": {"local": 1.5, "custom": 1.0, "api": 0.5},
        "retry_after_s": 3600,
        "limits": {"max_tokens": 64, "default_max_tokens": 16, "max_body_bytes": 4096},
        "rate_limit": {"requests_per_minute": 6000, "burst": 1000},
        "auth": {"keys_file": str(keys.store.path)},
    }
    path = tmp_path_factory.mktemp("config") / "gateway.yaml"
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def gateway_config(gateway_yaml: Path) -> GatewayConfig:
    return load_gateway_config(gateway_yaml)


@pytest.fixture(scope="session")
def gateway(gateway_config: GatewayConfig, keys: Keys) -> Iterator[Gateway]:
    """The main gateway: local tiny model + adapters, custom generators, remote fallback."""
    with BackgroundServer(create_app(gateway_config)) as server:
        yield Gateway(server.url, keys.key)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


@pytest.fixture
def oai(gateway: Gateway) -> Iterator[OpenAI]:
    """The official OpenAI client on the main gateway (no retries: every answer counts)."""
    with OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0, timeout=120) as c:
        yield c


@pytest.fixture
def aoai(gateway: Gateway) -> AsyncOpenAI:
    """The official async client (a fresh one per test: its pool belongs to one event loop)."""
    return AsyncOpenAI(
        base_url=gateway.url + "/v1", api_key=gateway.key, max_retries=0, timeout=240
    )


def _dead_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.fixture(scope="module")
def small_gateway() -> Iterator[str]:
    """A gateway whose engine decodes one request at a time with one waiting place, and
    whose api generator points at a port where nothing listens. No keys."""
    config = GatewayConfig.model_validate(
        {
            "generators": [
                {"kind": "local", "models": ["tiny"], "max_batch_size": 1, "max_waiting": 1},
                {
                    "kind": "api",
                    "name": "ghost-api",
                    "base_url": f"http://127.0.0.1:{_dead_port()}/v1",
                    "models": ["ghost"],
                },
            ],
            "limits": {"max_tokens": 128},
            "auth": {"enabled": False},
            "rate_limit": {"enabled": False},
        }
    )
    with BackgroundServer(create_app(config)) as server:
        yield server.url
