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
from collections.abc import Callable, Iterator
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field
from typing import Any

from offchain.gateway.errors import GeneratorError, NoGeneratorAvailableError
from offchain.gateway.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
    close_iterator,
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
    first: str | None
    rest: Iterator[str]

    def deltas(self) -> PyGenerator[str, None, None]:
        try:
            if self.first:
                yield self.first
            yield from self.rest
        finally:
            close_iterator(self.rest)


@dataclass
class GeneratorChain:
    """Generators in fallback order, with their health."""

    generators: list[Generator]
    retry_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    on_failure: FailureHook | None = None
    _down: dict[tuple[str, str], _Down] = field(default_factory=dict)

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

    def _usable(self, gen: Generator, model: str) -> bool:
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
            gen.check(None if down == [(gen.name, "*")] else model)
        except GeneratorError as err:
            for k in down:
                self._mark_down(gen, k[1], err)
            return False
        for k in down:
            del self._down[k]
        logger.info("generator back", extra=kv(generator=gen.name, model=model))
        return True

    def health(self) -> list[dict[str, Any]]:
        """Each generator's mode and the models it is currently skipped for."""
        now = self.clock()
        out = []
        for gen in self.generators:
            down = {
                m: {"error": d.error, "retry_in_s": round(max(0.0, d.retry_at - now), 3)}
                for (name, m), d in self._down.items()
                if name == gen.name
            }
            out.append(
                {
                    "name": gen.name,
                    "mode": gen.mode,
                    "ready": "*" not in down,
                    "down": down,
                    **gen.describe(),
                }
            )
        return out

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

    def _candidates(self, model: str) -> Iterator[Generator]:
        served = False
        for gen in self.generators:
            served = served or gen.serves(model)
            if self._usable(gen, model):
                yield gen
        if not served:
            raise NoGeneratorAvailableError(f"no generator is configured for model '{model}'.")

    def generate(self, request: GenerationRequest) -> tuple[GenerationResult, Generator]:
        errors: list[str] = []
        for gen in self._candidates(request.model):
            try:
                return gen.generate(request), gen
            except GeneratorError as err:
                errors.append(f"{gen.name}: {err}")
                self._mark_down(gen, request.model, err)
        raise NoGeneratorAvailableError(_none_left(request.model, errors))

    def open_stream(self, request: GenerationRequest) -> OpenStream:
        """Start a stream on the first generator that yields its first delta."""
        errors: list[str] = []
        for gen in self._candidates(request.model):
            state = StreamState()
            it = gen.stream(request, state)
            try:
                first = next(it, None)
            except GeneratorError as err:
                close_iterator(it)
                errors.append(f"{gen.name}: {err}")
                self._mark_down(gen, request.model, err)
                continue
            except BaseException:
                close_iterator(it)
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
