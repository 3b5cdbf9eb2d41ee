"""OpenAI-compatible request and response bodies, and OpenAI-style errors.

Requests are strict, as OpenAI's own API is: a field that is not part of the OpenAI API is
a 400 ``unknown_parameter``; a field of the OpenAI API that this gateway does not implement
(tools, structured output, audio...) is a 400 ``unsupported_parameter`` naming it, unless
it carries its neutral value (``tools: []``, ``tool_choice: "none"``,
``response_format: {"type": "text"}``...), which changes nothing. See
:func:`check_parameters`. Responses carry one extension field, ``loranet``: which generator
and execution mode served the request, the reward multiplier of that mode, and the adapter
hash when known.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Role = Literal["system", "user", "assistant", "developer", "tool"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: OpenAI parameters accepted only with one of these neutral values (they change nothing);
#: anything else is refused with a 400 naming the parameter.
_NEUTRAL_CHAT: dict[str, tuple[Any, ...]] = {
    "tools": (None, []),
    "tool_choice": (None, "none", "auto"),
    "parallel_tool_calls": (None,),
    "functions": (None, []),
    "function_call": (None, "none", "auto"),
    "response_format": (None, {"type": "text"}),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "service_tier": (None, "auto", "default"),
    "store": (None, False),
    "web_search_options": (None,),
    "verbosity": (None,),
}
_NEUTRAL_COMPLETION: dict[str, tuple[Any, ...]] = {"best_of": (None, 1), "suffix": (None, "")}


class UnsupportedParameter(ValueError):
    def __init__(self, param: str, message: str, code: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def check_parameters(body: dict[str, Any], request: type[_Request]) -> None:
    """Refuse (raise :class:`UnsupportedParameter`) every top-level field that this gateway
    would otherwise have to ignore."""
    neutral = _NEUTRAL_CHAT if request is ChatCompletionRequest else _NEUTRAL_COMPLETION
    known = set(request.model_fields) | set(neutral)
    for name, value in body.items():
        if name not in known:
            raise UnsupportedParameter(
                name, f"Unrecognized request argument supplied: {name}", "unknown_parameter"
            )
        if name in neutral and value not in neutral[name]:
            raise UnsupportedParameter(
                name,
                f"Unsupported parameter: '{name}' is not supported by this gateway "
                f"(value {value!r}).",
                "unsupported_parameter",
            )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False
    include_obfuscation: bool | None = None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=128)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(1.0, ge=0.0, le=2.0)
    top_p: float | None = Field(1.0, gt=0.0, le=1.0)
    n: int | None = Field(1, ge=1, le=1, description="Only one choice per request is supported.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=INT64_MIN, le=INT64_MAX)
    user: str | None = None
    presence_penalty: float | None = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(0.0, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None

    @field_validator("logit_bias")
    @classmethod
    def _bias(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for token, bias in (value or {}).items():
            if not token.isdigit():
                raise ValueError(f"logit_bias keys are token ids, not {token!r}")
            if not -100 <= bias <= 100:
                raise ValueError(f"logit_bias values must be in [-100, 100], not {bias}")
        return value

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def bias_pairs(self) -> tuple[tuple[int, float], ...]:
        return tuple(sorted((int(k), float(v)) for k, v in (self.logit_bias or {}).items()))

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool | None = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    metadata: dict[str, str] | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def wants_logprobs(self) -> bool:
        return bool(self.logprobs)

    @property
    def top_n(self) -> int:
        return self.top_logprobs or 0


class CompletionRequest(_Request):
    prompt: str | list[str]
    echo: bool | None = False
    logprobs: int | None = Field(None, ge=0, le=5)

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("exactly one prompt per request is supported")
        return value

    @property
    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_tokens

    @property
    def wants_logprobs(self) -> bool:
        return self.logprobs is not None

    @property
    def top_n(self) -> int:
        return self.logprobs or 0


# -- responses -------------------------------------------------------------------------------


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class LoranetInfo(BaseModel):
    """The ``loranet`` extension field of every response."""

    execution_mode: Literal["local", "custom", "api"]
    execution_mode_id: int = Field(
        description="WorkLedger executionMode: 0 local, 1 custom, 2 api."
    )
    reward_multiplier: float
    generator: str
    adapter_hash: str | None = None


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class TopLogprobOut(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprobOut(TopLogprobOut):
    top_logprobs: list[TopLogprobOut]


class ChatLogprobs(BaseModel):
    content: list[TokenLogprobOut] | None
    refusal: None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    logprobs: ChatLogprobs | None = None
    finish_reason: Literal["stop", "length"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    loranet: LoranetInfo


class ChatDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int = 0
    delta: ChatDelta
    logprobs: ChatLogprobs | None = None
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    loranet: LoranetInfo | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: Literal["stop", "length"] | None


class Completion(BaseModel):
    """A completion, or (``object="text_completion"`` too, as OpenAI does) one stream chunk."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    loranet: LoranetInfo | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "loranet"
    kind: Literal["base", "adapter", "remote"]
    base_model: str | None = None
    adapter_hash: str | None = None
    pool: int | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# -- errors ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return ErrorBody(
        error=ErrorDetail(message=message, type=type_, param=param, code=code)
    ).model_dump()


def validation_error_body(err: ValidationError) -> dict[str, Any]:
    """The first problem of a pydantic error as an OpenAI ``invalid_request_error``."""
    first = err.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    param = ".".join(loc) if loc else None
    if first["type"] == "json_invalid":
        return error_body(
            "The request body is not valid JSON.", "invalid_request_error", code="invalid_json"
        )
    message = f"{param}: {first['msg']}" if param else str(first["msg"])
    code = "missing_required_parameter" if first["type"] == "missing" else "invalid_value"
    return error_body(message, "invalid_request_error", param=param, code=code)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())
