"""Serving one completion: OpenAI request -> generator request -> OpenAI response or SSE.

Every response says who served it: the ``loranet`` field of the body (and of the first and
last stream chunks) and the headers ``X-Loranet-Execution-Mode``,
``X-Loranet-Reward-Multiplier`` and ``X-Loranet-Generator``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from offchain.gateway.config import EXECUTION_MODE_IDS, GatewayConfig
from offchain.gateway.errors import GenerationInputError, GeneratorError, NoGeneratorAvailableError
from offchain.gateway.generators.base import ChatTurn, GenerationRequest, Generator
from offchain.gateway.generators.chain import GeneratorChain, OpenStream
from offchain.gateway.http_errors import ApiError
from offchain.gateway.metrics import GatewayMetrics
from offchain.gateway.openai_schema import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChatMessageOut,
    Completion,
    CompletionChoice,
    CompletionRequest,
    LoranetInfo,
    Usage,
    error_body,
    new_id,
    now,
)
from offchain.gateway.prompt import TURN_STOP, render_chat
from offchain.logging import kv

logger = logging.getLogger(__name__)

_END = object()


@dataclass
class CompletionService:
    """What the two completion routes share."""

    config: GatewayConfig
    chain: GeneratorChain
    metrics: GatewayMetrics
    adapter_hashes: dict[str, str | None]

    # -- request -> GenerationRequest --------------------------------------------------------

    def build(self, body: ChatCompletionRequest | CompletionRequest) -> GenerationRequest:
        limits = self.config.limits
        if body.model not in self.known_models():
            raise ApiError(
                404,
                f"The model '{body.model}' does not exist on this gateway.",
                param="model",
                code="model_not_found",
            )
        max_tokens = body.requested_max_tokens or limits.default_max_tokens
        if max_tokens > limits.max_tokens:
            raise ApiError(
                400,
                f"max_tokens is {max_tokens}; this gateway allows at most {limits.max_tokens}.",
                param="max_tokens",
                code="max_tokens_exceeded",
            )
        stop = body.stop_list
        if len(stop) > limits.max_stop:
            raise ApiError(
                400, f"At most {limits.max_stop} stop strings are allowed.", param="stop"
            )
        common: dict[str, Any] = {
            "model": body.model,
            "max_tokens": max_tokens,
            "temperature": body.temperature,
            "top_p": body.top_p,
            "seed": body.seed,
        }
        if isinstance(body, ChatCompletionRequest):
            turns = tuple(ChatTurn(m.role, m.text) for m in body.messages)
            return GenerationRequest(
                prompt=render_chat(turns), stop=(*stop, TURN_STOP), messages=turns, **common
            )
        return GenerationRequest(prompt=body.prompt_text, stop=tuple(stop), **common)

    def known_models(self) -> list[str]:
        names = list(self.config.model_names)
        for gen in self.config.generators:
            names += [m for m in gen.models or [] if m not in names]
        return names

    def info(self, gen: Generator, model: str) -> LoranetInfo:
        return LoranetInfo(
            execution_mode=gen.mode,
            execution_mode_id=EXECUTION_MODE_IDS[gen.mode],
            reward_multiplier=self.config.multiplier(gen.mode),
            generator=gen.name,
            adapter_hash=self.adapter_hashes.get(model) if gen.mode == "local" else None,
        )

    @staticmethod
    def headers(info: LoranetInfo) -> dict[str, str]:
        return {
            "X-Loranet-Execution-Mode": info.execution_mode,
            "X-Loranet-Reward-Multiplier": f"{info.reward_multiplier:g}",
            "X-Loranet-Generator": info.generator,
        }

    # -- non-streaming -----------------------------------------------------------------------

    async def complete(
        self, body: ChatCompletionRequest | CompletionRequest, key_id: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        request = self.build(body)
        started = time.perf_counter()
        try:
            result, gen = await to_thread.run_sync(self.chain.generate, request)
        except GenerationInputError as err:
            raise _input_error(err) from None
        except NoGeneratorAvailableError as err:
            raise self._unavailable(err, request.model) from None
        info = self.info(gen, request.model)
        usage = Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            total_tokens=result.prompt_tokens + result.completion_tokens,
        )
        self._count(gen, usage, stream=False, endpoint=_endpoint(body), started=started)
        _log_served(key_id, request, gen, usage.completion_tokens, started)
        if isinstance(body, ChatCompletionRequest):
            out: Any = ChatCompletion(
                id=new_id("chatcmpl"),
                created=now(),
                model=body.model,
                choices=[
                    ChatChoice(
                        message=ChatMessageOut(content=result.text),
                        finish_reason=result.finish_reason,
                    )
                ],
                usage=usage,
                loranet=info,
            )
        else:
            text = body.prompt_text + result.text if body.echo else result.text
            out = Completion(
                id=new_id("cmpl"),
                created=now(),
                model=body.model,
                choices=[CompletionChoice(text=text, finish_reason=result.finish_reason)],
                usage=usage,
                loranet=info,
            )
        return out.model_dump(), self.headers(info)

    # -- streaming ---------------------------------------------------------------------------

    async def open_stream(
        self, body: ChatCompletionRequest | CompletionRequest, key_id: str
    ) -> tuple[AsyncIterator[str], dict[str, str]]:
        """Pick the generator (falling back until one yields) before any byte is sent, so
        errors are still HTTP errors and the headers name the generator that serves."""
        request = self.build(body)
        started = time.perf_counter()
        try:
            opened = await to_thread.run_sync(self.chain.open_stream, request)
        except GenerationInputError as err:
            raise _input_error(err) from None
        except NoGeneratorAvailableError as err:
            raise self._unavailable(err, request.model) from None
        info = self.info(opened.generator, request.model)
        events = self._events(body, request, opened, info, key_id, started)
        return events, self.headers(info)

    async def _events(
        self,
        body: ChatCompletionRequest | CompletionRequest,
        request: GenerationRequest,
        opened: OpenStream,
        info: LoranetInfo,
        key_id: str,
        started: float,
    ) -> AsyncIterator[str]:
        chat = isinstance(body, ChatCompletionRequest)
        chunk_id, created = new_id("chatcmpl" if chat else "cmpl"), now()

        def chunk(text: str | None, *, first: bool = False, last: bool = False) -> str:
            state = opened.state
            usage = None
            if last:
                usage = Usage(
                    prompt_tokens=state.prompt_tokens,
                    completion_tokens=state.completion_tokens,
                    total_tokens=state.prompt_tokens + state.completion_tokens,
                )
            finish = state.finish_reason if last else None
            extra = info if first or last else None
            if chat:
                delta = ChatDelta(role="assistant" if first else None, content=text)
                out: Any = ChatCompletionChunk(
                    id=chunk_id,
                    created=created,
                    model=body.model,
                    choices=[ChatChunkChoice(delta=delta, finish_reason=finish)],
                    usage=usage,
                    loranet=extra,
                )
            else:
                out = Completion(
                    id=chunk_id,
                    created=created,
                    model=body.model,
                    choices=[CompletionChoice(text=text or "", finish_reason=finish)],
                    usage=usage,
                    loranet=extra,
                )
            return _sse(out.model_dump(exclude_none=True))

        deltas = opened.deltas()
        try:
            yield chunk("" if chat else None, first=True)
            if not chat and isinstance(body, CompletionRequest) and body.echo:
                yield chunk(body.prompt_text)
            while True:
                delta = await to_thread.run_sync(_next, deltas)
                if delta is _END:
                    break
                yield chunk(str(delta))
            yield chunk(None, last=True)
            usage = opened.state.completion_tokens
            self._count(
                opened.generator,
                Usage(
                    prompt_tokens=opened.state.prompt_tokens,
                    completion_tokens=usage,
                    total_tokens=opened.state.prompt_tokens + usage,
                ),
                stream=True,
                endpoint=_endpoint(body),
                started=started,
            )
            _log_served(key_id, request, opened.generator, usage, started)
        except (GeneratorError, GenerationInputError) as err:
            if isinstance(err, GeneratorError):
                self.chain.report_stream_failure(opened.generator, request.model, err)
            logger.warning("stream failed", extra=kv(model=request.model, error=str(err)))
            yield _sse(error_body("The generator failed during the stream.", "server_error"))
        finally:
            deltas.close()
        yield "data: [DONE]\n\n"

    # -- helpers -----------------------------------------------------------------------------

    def _unavailable(self, err: NoGeneratorAvailableError, model: str) -> ApiError:
        retry = self.chain.retry_in(model)
        return ApiError(
            503,
            str(err),
            type_="server_error",
            code="generator_unavailable",
            headers={"Retry-After": str(int(retry + 0.999))},
        )

    def _count(
        self, gen: Generator, usage: Usage, *, stream: bool, endpoint: str, started: float
    ) -> None:
        m = self.metrics
        m.generations.labels(gen.name, gen.mode, str(stream).lower()).inc()
        m.tokens.labels(gen.name, "prompt").inc(usage.prompt_tokens)
        m.tokens.labels(gen.name, "completion").inc(usage.completion_tokens)
        m.latency.labels(endpoint).observe(time.perf_counter() - started)


def _next(it: Iterator[str]) -> object:
    return next(it, _END)


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def _endpoint(body: ChatCompletionRequest | CompletionRequest) -> str:
    return "/v1/chat/completions" if isinstance(body, ChatCompletionRequest) else "/v1/completions"


def _input_error(err: GenerationInputError) -> ApiError:
    return ApiError(400, str(err), param=err.param, code=err.code or "invalid_value")


def _log_served(
    key_id: str, request: GenerationRequest, gen: Generator, tokens: int, started: float
) -> None:
    logger.info(
        "completion served",
        extra=kv(
            key_id=key_id,
            model=request.model,
            generator=gen.name,
            mode=gen.mode,
            completion_tokens=tokens,
            seconds=round(time.perf_counter() - started, 4),
        ),
    )
