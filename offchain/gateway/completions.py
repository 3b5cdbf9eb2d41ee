"""Serving one completion: OpenAI request -> generator request -> OpenAI response or SSE.

Every response says who served it: the ``loranet`` field of the body (and of the first and
last stream chunks) and the headers ``X-Loranet-Execution-Mode``,
``X-Loranet-Reward-Multiplier`` and ``X-Loranet-Generator``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import BaseModel

from offchain.gateway.config import EXECUTION_MODE_IDS, GatewayConfig
from offchain.gateway.engine.engine import EngineOverloadedError
from offchain.gateway.engine.sinks import TokenLogprob
from offchain.gateway.errors import GenerationInputError, GeneratorError, NoGeneratorAvailableError
from offchain.gateway.generators.base import ChatTurn, Delta, GenerationRequest, Generator
from offchain.gateway.generators.chain import GeneratorChain, OpenStream
from offchain.gateway.http_errors import ApiError
from offchain.gateway.metrics import GatewayMetrics
from offchain.gateway.openai_schema import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    ChatLogprobs,
    ChatMessageOut,
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    LoranetInfo,
    TokenLogprobOut,
    TopLogprobOut,
    Usage,
    error_body,
    new_id,
    now,
)
from offchain.gateway.prompt import TURN_STOP, render_chat
from offchain.logging import kv

logger = logging.getLogger(__name__)


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
        given = body.requested_max_tokens
        max_tokens = given or limits.default_max_tokens
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
        if body.stream_options is not None and not body.stream:
            raise ApiError(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
                code="invalid_value",
            )
        if isinstance(body, ChatCompletionRequest) and body.top_logprobs and not body.logprobs:
            raise ApiError(
                400,
                "'top_logprobs' needs 'logprobs' set to true.",
                param="top_logprobs",
                code="invalid_value",
            )
        if isinstance(body, CompletionRequest) and body.echo and body.wants_logprobs:
            raise ApiError(
                400,
                "Unsupported parameter: 'echo' together with 'logprobs' (log-probabilities "
                "of the prompt) is not supported by this gateway.",
                param="echo",
                code="unsupported_parameter",
            )
        common: dict[str, Any] = {
            "model": body.model,
            "max_tokens": max_tokens,
            "max_tokens_given": given is not None,
            "temperature": 1.0 if body.temperature is None else body.temperature,
            "top_p": 1.0 if body.top_p is None else body.top_p,
            "seed": body.seed,
            "presence_penalty": body.presence_penalty or 0.0,
            "frequency_penalty": body.frequency_penalty or 0.0,
            "logit_bias": body.bias_pairs,
            "logprobs": body.wants_logprobs,
            "top_logprobs": body.top_n,
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

    def adapter_hash(self, model: str, gen: Generator | None = None) -> str | None:
        """The served adapter's hash: what the generator loaded (a pool's adapter changes
        with its rounds), else the configured file's hash."""
        for g in [gen] if gen is not None else self.chain.generators:
            loaded = g.adapter_hash(model)
            if loaded is not None:
                return loaded
        return self.adapter_hashes.get(model)

    def info(self, gen: Generator, model: str) -> LoranetInfo:
        return LoranetInfo(
            execution_mode=gen.mode,
            execution_mode_id=EXECUTION_MODE_IDS[gen.mode],
            reward_multiplier=self.config.multiplier(gen.mode),
            generator=gen.name,
            adapter_hash=self.adapter_hash(model, gen) if gen.mode == "local" else None,
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
            result, gen = await self.chain.generate(request)
        except GenerationInputError as err:
            raise _input_error(err) from None
        except NoGeneratorAvailableError as err:
            raise self._unavailable(err, request.model) from None
        except EngineOverloadedError as err:
            raise _overloaded(err) from None
        info = self.info(gen, request.model)
        usage = Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            total_tokens=result.prompt_tokens + result.completion_tokens,
        )
        if result.first_token_s is not None:
            self.metrics.ttft.labels(gen.name).observe(result.first_token_s)
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
                        logprobs=_chat_logprobs(result.logprobs),
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
                choices=[
                    CompletionChoice(
                        text=text,
                        logprobs=_completion_logprobs(result.logprobs, 0),
                        finish_reason=result.finish_reason,
                    )
                ],
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
            opened = await self.chain.open_stream(request)
        except GenerationInputError as err:
            raise _input_error(err) from None
        except NoGeneratorAvailableError as err:
            raise self._unavailable(err, request.model) from None
        except EngineOverloadedError as err:
            raise _overloaded(err) from None
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
        offset = 0

        info_dict = info.model_dump()
        head = {
            "id": chunk_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": created,
            "model": body.model,
        }

        def chunk(
            delta: Delta | None, *, first: bool = False, last: bool = False, text: str | None = None
        ) -> str:
            """One chunk as OpenAI streams it (built as a dict: this runs once per token)."""
            nonlocal offset
            content = delta.text if delta is not None else text
            logprobs = list(delta.logprobs) if delta is not None and request.logprobs else None
            choice: dict[str, Any] = {"index": 0}
            lp: BaseModel | None
            if chat:
                out_delta: dict[str, Any] = {"role": "assistant"} if first else {}
                if content is not None:
                    out_delta["content"] = content
                choice["delta"] = out_delta
                lp = _chat_logprobs(logprobs)
            else:
                choice["text"] = content or ""
                lp = _completion_logprobs(logprobs, offset)
            choice["logprobs"] = lp.model_dump() if lp is not None else None
            choice["finish_reason"] = opened.state.finish_reason if last else None
            out: dict[str, Any] = {**head, "choices": [choice]}
            if first or last:
                out["loranet"] = info_dict
            offset += len(content or "")
            return _sse(out)

        def usage_chunk() -> str:
            state = opened.state
            usage = {
                "prompt_tokens": state.prompt_tokens,
                "completion_tokens": state.completion_tokens,
                "total_tokens": state.prompt_tokens + state.completion_tokens,
            }
            return _sse({**head, "choices": [], "usage": usage})

        deltas = opened.deltas()
        seen_first = False
        try:
            yield chunk(None, first=True, text="")
            if not chat and isinstance(body, CompletionRequest) and body.echo:
                yield chunk(None, text=body.prompt_text)
            async for delta in deltas:
                if not seen_first and delta.text:
                    seen_first = True
                    first_s = opened.state.first_token_s
                    self.metrics.ttft.labels(opened.generator.name).observe(
                        first_s if first_s is not None else time.perf_counter() - started
                    )
                yield chunk(delta)
            yield chunk(None, last=True)
            if body.include_usage:
                yield usage_chunk()
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
            with anyio.CancelScope(shield=True):
                await deltas.aclose()  # type: ignore[attr-defined]
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


def _overloaded(err: EngineOverloadedError) -> ApiError:
    return ApiError(
        503,
        str(err),
        type_="server_error",
        code="server_overloaded",
        headers={"Retry-After": str(int(err.retry_after_s + 0.999))},
    )


def _top(lp: TokenLogprob) -> TopLogprobOut:
    return TopLogprobOut(token=lp.token, logprob=lp.logprob, bytes=list(lp.bytes))


def _chat_logprobs(logprobs: list[TokenLogprob] | None) -> ChatLogprobs | None:
    if logprobs is None:
        return None
    return ChatLogprobs(
        content=[
            TokenLogprobOut(
                token=lp.token,
                logprob=lp.logprob,
                bytes=list(lp.bytes),
                top_logprobs=[_top(t) for t in lp.top],
            )
            for lp in logprobs
        ]
    )


def _completion_logprobs(
    logprobs: list[TokenLogprob] | None, offset: int
) -> CompletionLogprobs | None:
    if logprobs is None:
        return None
    offsets = []
    for lp in logprobs:
        offsets.append(offset)
        offset += len(lp.token)
    return CompletionLogprobs(
        tokens=[lp.token for lp in logprobs],
        token_logprobs=[lp.logprob for lp in logprobs],
        top_logprobs=[{t.token: t.logprob for t in lp.top} for lp in logprobs],
        text_offset=offsets,
    )


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
