"""The ``api`` generator: any OpenAI-compatible remote endpoint, over httpx.

Chat requests go to ``<base_url>/chat/completions`` with the original messages, completion
requests to ``<base_url>/completions``; streaming reads the remote's server-sent events.
The key is read from the environment variable named by ``api_key_env`` when the generator
is built, sent as ``Authorization: Bearer``, and never logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import httpx

from offchain.gateway.config import ApiGeneratorConfig
from offchain.gateway.errors import GenerationInputError, GeneratorError
from offchain.gateway.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
)
from offchain.logging import kv

logger = logging.getLogger(__name__)


class ApiGenerator(Generator):
    """Forwards requests to a remote OpenAI-compatible API (penalties and logit bias are
    forwarded; log-probabilities are not read back, so requests asking for them are not
    sent here)."""

    supports = frozenset({"presence_penalty", "frequency_penalty", "logit_bias"})

    def __init__(self, entry: ApiGeneratorConfig) -> None:
        super().__init__(entry.name, "api", entry.models)
        self._entry = entry
        headers = {"Accept": "application/json"}
        if entry.api_key_env:
            key = os.environ.get(entry.api_key_env)
            if not key:
                logger.warning(
                    "api key variable is not set",
                    extra=kv(generator=entry.name, env=entry.api_key_env),
                )
            else:
                headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=entry.base_url.rstrip("/") + "/", headers=headers, timeout=entry.timeout_s
        )

    def close(self) -> None:
        self._client.close()

    def check(self, model: str | None = None) -> None:
        try:
            response = self._client.get("models", timeout=min(5.0, self._entry.timeout_s))
        except httpx.HTTPError as err:
            raise GeneratorError(
                f"remote API {self._entry.base_url} is unreachable: {err}"
            ) from err
        if response.status_code >= 400:
            raise GeneratorError(
                f"remote API {self._entry.base_url} answered {response.status_code} to GET /models."
            )

    def _remote_model(self, model: str) -> str:
        return self._entry.model_map.get(model) or self._entry.default_model or model

    def _payload(self, request: GenerationRequest, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self._remote_model(request.model),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": stream,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.presence_penalty:
            body["presence_penalty"] = request.presence_penalty
        if request.frequency_penalty:
            body["frequency_penalty"] = request.frequency_penalty
        if request.logit_bias:
            body["logit_bias"] = {str(t): b for t, b in request.logit_bias}
        if request.messages is not None:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
            return "chat/completions", body
        body["prompt"] = request.prompt
        return "completions", body

    def generate(self, request: GenerationRequest) -> GenerationResult:
        path, body = self._payload(request, stream=False)
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as err:
            raise GeneratorError(f"remote API request failed: {err}") from err
        _raise_for_status(response)
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
            usage = data.get("usage") or {}
            return GenerationResult(
                str(text or ""),
                int(usage.get("prompt_tokens", 0)),
                int(usage.get("completion_tokens", 0)),
                "length" if choice.get("finish_reason") == "length" else "stop",
            )
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise GeneratorError(f"remote API sent an unexpected body: {err}") from err

    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        path, body = self._payload(request, stream=True)
        try:
            with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    delta = _delta(json.loads(payload), state)
                    if delta:
                        state.text_parts.append(delta)
                        yield delta
        except httpx.HTTPError as err:
            raise GeneratorError(f"remote API stream failed: {err}") from err
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise GeneratorError(f"remote API sent an unexpected stream chunk: {err}") from err


def _delta(chunk: dict[str, Any], state: StreamState) -> str:
    usage = chunk.get("usage")
    if usage:
        state.prompt_tokens = int(usage.get("prompt_tokens", 0))
        state.completion_tokens = int(usage.get("completion_tokens", 0))
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    if choice.get("finish_reason") == "length":
        state.finish_reason = "length"
    if "delta" in choice:
        return str(choice["delta"].get("content") or "")
    return str(choice.get("text") or "")


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    if response.status_code in (400, 422):
        raise GenerationInputError(f"remote API refused the request: {message}")
    raise GeneratorError(f"remote API answered {response.status_code}: {message}")
