"""The fallback chain: generators tried in config order, failed ones skipped for a while.

When a generator raises :class:`~offchain.gateway.errors.GeneratorError` for a model, the
pair (generator, model) is marked down until ``retry_after_s`` has passed; the next request
after that first runs the generator's health check for the model and uses it again only if
the check passes. Errors caused by the request itself
(:class:`~offchain.gateway.errors.GenerationInputError`) are never retried elsewhere.

A stream falls back only until its first delta: once text has reached the client, a failure
ends the stream with an error event instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from offchain.gateway.errors import (
    GenerationInputError,
    GeneratorError,
    NoGeneratorAvailableError,
)
from offchain.gateway.generators.base import (
    Delta,
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
)
from offchain.logging import kv

logger = logging.getLogger(__name__)

FailureHook = Callable[[Generator, str], None]


@dataclass
class _Down:
    retry_at: float
    error: str


@dataclass
class OpenStream:
    """A stream that has produced its first delta (or finished) on ``generator``."""

    generator: Generator
    state: StreamState
    first: Delta | None
    rest: AsyncIterator[Delta]

    async def deltas(self) -> AsyncIterator[Delta]:
        try:
            if self.first is not None:
                yield self.first
            async for delta in self.rest:
                yield delta
        finally:
            with anyio.CancelScope(shield=True):
                await _aclose(self.rest)


async def _aclose(it: AsyncIterator[Delta]) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        await close()


@dataclass
class GeneratorChain:
    """Generators in fallback order, with their health."""

    generators: list[Generator]
    retry_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    on_failure: FailureHook | None = None
    probe_ttl_s: float = 10.0
    probe_timeout_s: float = 5.0
    _down: dict[tuple[str, str], _Down] = field(default_factory=dict)
    _probes: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    def start(self) -> None:
        for gen in self.generators:
            try:
                gen.start()
            except GeneratorError as err:
                self._mark_down(gen, "*", err)

    def close(self) -> None:
        for gen in self.generators:
            gen.close()

    # -- health ----------------------------------------------------------------------------

    def _mark_down(self, gen: Generator, model: str, err: Exception) -> None:
        self._down[(gen.name, model)] = _Down(self.clock() + self.retry_after_s, str(err))
        logger.warning(
            "generator failed, skipped for a while",
            extra=kv(
                generator=gen.name, model=model, retry_after_s=self.retry_after_s, error=str(err)
            ),
        )
        if self.on_failure is not None:
            self.on_failure(gen, model)

    async def _usable(self, gen: Generator, model: str) -> bool:
        """Whether to try ``gen`` now; runs the health check of a generator due for retry."""
        if not gen.serves(model):
            return False
        keys = [(gen.name, "*"), (gen.name, model)]
        down = [k for k in keys if k in self._down]
        if not down:
            return True
        if any(self.clock() < self._down[k].retry_at for k in down):
            return False
        try:
            await gen.acheck(None if down == [(gen.name, "*")] else model)
        except GeneratorError as err:
            for k in down:
                self._mark_down(gen, k[1], err)
            return False
        for k in down:
            del self._down[k]
        logger.info("generator back", extra=kv(generator=gen.name, model=model))
        return True

    async def _probe(self, gen: Generator) -> str | None:
        """The error of ``gen``'s health check (None: fine), cached for ``probe_ttl_s``."""
        if not gen.probe_on_health:
            return None
        now = self.clock()
        cached = self._probes.get(gen.name)
        if cached is not None and now - cached[0] < self.probe_ttl_s:
            return cached[1]
        error: str | None = "the health check did not answer in time"
        with anyio.move_on_after(self.probe_timeout_s):
            try:
                await gen.acheck(None)
                error = None
            except GeneratorError as err:
                error = str(err)
        self._probes[gen.name] = (now, error)
        return error

    async def health(self, models: list[str]) -> dict[str, Any]:
        """The truth about every generator and every model: what is down and why."""
        now = self.clock()
        generators: list[dict[str, Any]] = []
        model_ready: dict[str, list[str]] = {m: [] for m in models}
        healthy = True
        for gen in self.generators:
            down = {
                m: {"error": d.error, "retry_in_s": round(max(0.0, d.retry_at - now), 3)}
                for (name, m), d in self._down.items()
                if name == gen.name
            }
            probe = await self._probe(gen)
            per_model: dict[str, dict[str, Any]] = {}
            for model in models:
                if not gen.serves(model):
                    continue
                error = probe or gen.model_error(model)
                if error is None and (model in down or "*" in down):
                    error = (down.get(model) or down["*"])["error"]
                per_model[model] = {"ready": error is None, "error": error}
                if error is None:
                    model_ready[model].append(gen.name)
            ready = (
                probe is None and "*" not in down and any(v["ready"] for v in per_model.values())
            )
            healthy = healthy and ready and all(v["ready"] for v in per_model.values())
            entry: dict[str, Any] = {"name": gen.name, "mode": gen.mode, "ready": ready}
            if probe is not None:
                entry["error"] = probe
            entry.update(down=down, models=per_model, **gen.describe())
            generators.append(entry)
        servable = [m for m, gens in model_ready.items() if gens]
        status = "ok" if healthy else ("degraded" if servable else "down")
        return {
            "status": status,
            "ready": bool(servable),
            "models": {
                m: {"ready": bool(gens), "served_by": gens} for m, gens in model_ready.items()
            },
            "generators": generators,
        }

    def retry_in(self, model: str) -> float:
        """Seconds until the first generator of ``model`` is due for a retry (for 503s)."""
        now = self.clock()
        waits = [
            d.retry_at - now
            for (name, m), d in self._down.items()
            if m in ("*", model)
            and any(g.name == name and g.serves(model) for g in self.generators)
        ]
        return max(1.0, min(waits, default=self.retry_after_s))

    # -- serving ---------------------------------------------------------------------------

    async def _candidates(self, request: GenerationRequest) -> AsyncIterator[Generator]:
        """Generators to try, in order: configured for the model, able to honour every
        parameter the request sets, and healthy (or passing their retry check). When no
        configured generator honours a parameter, the request is a 400 naming it (never
        served without it)."""
        model = request.model
        served = [gen for gen in self.generators if gen.serves(model)]
        if not served:
            raise NoGeneratorAvailableError(f"no generator is configured for model '{model}'.")
        able: list[Generator] = []
        refusal: GenerationInputError | None = None
        for gen in served:
            try:
                gen.validate(request)
            except GenerationInputError as err:
                refusal = refusal or err
                continue
            able.append(gen)
        if not able and refusal is not None:
            raise refusal
        for gen in able:
            if await self._usable(gen, model):
                yield gen

    async def generate(self, request: GenerationRequest) -> tuple[GenerationResult, Generator]:
        errors: list[str] = []
        async for gen in self._candidates(request):
            try:
                return await gen.agenerate(request), gen
            except GeneratorError as err:
                errors.append(f"{gen.name}: {err}")
                self._mark_down(gen, request.model, err)
        raise NoGeneratorAvailableError(_none_left(request.model, errors))

    async def open_stream(self, request: GenerationRequest) -> OpenStream:
        """Start a stream on the first generator that yields its first delta."""
        errors: list[str] = []
        async for gen in self._candidates(request):
            state = StreamState()
            it = gen.astream(request, state)
            try:
                first = await anext(it, None)
            except GeneratorError as err:
                await _aclose(it)
                errors.append(f"{gen.name}: {err}")
                self._mark_down(gen, request.model, err)
                continue
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await _aclose(it)
                raise
            return OpenStream(gen, state, first, it)
        raise NoGeneratorAvailableError(_none_left(request.model, errors))

    def report_stream_failure(self, gen: Generator, model: str, err: GeneratorError) -> None:
        self._mark_down(gen, model, err)


def _none_left(model: str, errors: list[str]) -> str:
    """The client's message (no internal detail); the details go to the log."""
    detail = "; ".join(errors) if errors else "every generator is waiting to be retried"
    logger.error("no generator left", extra=kv(model=model, detail=detail))
    return f"No generator can serve model '{model}' right now; retry later."
