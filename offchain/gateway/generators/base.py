"""The interface every generator implements, and the values it takes and returns.

The app calls the asynchronous methods (:meth:`Generator.agenerate`,
:meth:`Generator.astream`, :meth:`Generator.acheck`). Their default runs the synchronous
ones in anyio's worker threads (subprocesses and blocking HTTP are synchronous); the
``local`` generator overrides them and waits on its engine without holding a thread.
A generator raises :class:`~offchain.gateway.errors.GeneratorError` when it cannot serve
(the chain falls back to the next one) and
:class:`~offchain.gateway.errors.GenerationInputError` when the request is at fault.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Literal

import anyio
from anyio import to_thread

from offchain.gateway.config import ExecutionMode
from offchain.gateway.engine.sinks import TokenLogprob

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class ChatTurn:
    role: str
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One completion to produce. ``messages`` is set for chat requests (the ``api``
    generator forwards them as they are); ``prompt`` is always the rendered text."""

    model: str
    prompt: str
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    messages: tuple[ChatTurn, ...] | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0
    max_tokens_given: bool = True  # False: max_tokens is the default, clamped to the context

    def uses(self) -> list[str]:
        """The optional OpenAI parameters this request sets (each generator declares which
        it honours; one it does not is refused with a 400 naming it)."""
        used = []
        if self.presence_penalty:
            used.append("presence_penalty")
        if self.frequency_penalty:
            used.append("frequency_penalty")
        if self.logit_bias:
            used.append("logit_bias")
        if self.logprobs:
            used.append("logprobs")
        if self.top_logprobs:
            used.append("top_logprobs")
        return used


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    logprobs: list[TokenLogprob] | None = None
    first_token_s: float | None = None


@dataclass(frozen=True)
class Delta:
    """A piece of streamed text and the log-probabilities of its tokens (when asked)."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass
class StreamState:
    """Filled in by a generator's stream while (and when) it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = "stop"
    text_parts: list[str] = field(default_factory=list)
    first_token_s: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


class Generator(abc.ABC):
    """A way to turn a :class:`GenerationRequest` into text."""

    name: str
    mode: ExecutionMode
    #: optional OpenAI parameters (see :meth:`GenerationRequest.uses`) it honours
    supports: frozenset[str] = frozenset()

    def __init__(self, name: str, mode: ExecutionMode, models: list[str] | None) -> None:
        self.name = name
        self.mode = mode
        self._served = set(models) if models is not None else None

    def serves(self, model: str) -> bool:
        """Whether this generator is configured for ``model``."""
        return self._served is None or model in self._served

    def start(self) -> None:  # noqa: B027 - optional hook
        """Load what is needed (called once at app start-up; may raise GeneratorError)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (called once at shutdown)."""

    def describe(self) -> dict[str, object]:
        """Extra facts for ``/health`` (device, loaded models...)."""
        return {}

    #: whether ``/health`` runs :meth:`check` (cached briefly) to learn if it is reachable;
    #: the ``local`` generator reports its models' state instead (:meth:`model_error`).
    probe_on_health: bool = True

    def adapter_hash(self, model: str) -> str | None:
        """The hash of the adapter this generator serves ``model`` with (None: unknown)."""
        return None

    def model_error(self, model: str) -> str | None:
        """Why ``model`` cannot be served by this generator now (None: it can)."""
        return None

    @abc.abstractmethod
    def check(self, model: str | None = None) -> None:
        """Health check (of ``model``, or of everything served): return when ready, raise
        GeneratorError otherwise."""

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> GenerationResult:
        """The whole completion."""

    @abc.abstractmethod
    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        """Text deltas; ``state`` holds token counts and finish reason once exhausted."""

    def validate(self, request: GenerationRequest) -> None:
        """Raise GenerationInputError when the request asks what this generator cannot do
        (before anything is generated)."""
        from offchain.gateway.errors import GenerationInputError

        for param in request.uses():
            if param not in self.supports:
                raise GenerationInputError(
                    f"Unsupported parameter: '{param}' is not supported for model "
                    f"'{request.model}' (generator '{self.name}').",
                    param=param,
                    code="unsupported_parameter",
                )

    # -- what the app calls --------------------------------------------------------------------

    async def acheck(self, model: str | None = None) -> None:
        await to_thread.run_sync(self.check, model, abandon_on_cancel=True)

    async def agenerate(self, request: GenerationRequest) -> GenerationResult:
        return await to_thread.run_sync(self.generate, request)

    async def astream(self, request: GenerationRequest, state: StreamState) -> AsyncIterator[Delta]:
        """Deltas of :meth:`stream`, each ``next`` in a worker thread (held only meanwhile)."""
        it = self.stream(request, state)
        try:
            while True:
                piece = await to_thread.run_sync(_next, it)
                if piece is _END:
                    return
                yield Delta(str(piece))
        finally:
            with anyio.CancelScope(shield=True):  # close it even when the client left
                await to_thread.run_sync(close_iterator, it)


_END = object()


def _next(it: Iterator[str]) -> object:
    return next(it, _END)


def close_iterator(it: Iterator[str]) -> None:
    """Close a generator-like iterator (runs its ``finally`` blocks); others are left alone."""
    close = getattr(it, "close", None)
    if close is not None:
        close()
