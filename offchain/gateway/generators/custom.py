"""The ``custom`` generator: a user's Python callable or executable.

``callable: "package.module:function"``: the function is imported once and called with the
:class:`~offchain.gateway.generators.base.GenerationRequest`. It returns a ``str``, a
:class:`~offchain.gateway.generators.base.GenerationResult`, or an iterable of ``str``
deltas (streamed as they come).

``command: [program, arg, ...]``: run once per request with the request as JSON on stdin
(``model``, ``prompt``, ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``,
``messages``). It prints either plain text (the completion) or a JSON object
``{"text": ..., "prompt_tokens": n, "completion_tokens": n, "finish_reason": "stop"}``;
a non-zero exit status is a failure.

Token counts a callable or script does not give are estimated as whitespace-separated words.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import Any

from offchain.gateway.config import CustomGeneratorConfig
from offchain.gateway.errors import GenerationInputError, GeneratorError
from offchain.gateway.generators.base import (
    FinishReason,
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
)

logger = logging.getLogger(__name__)


def _words(text: str) -> int:
    return len(text.split())


class CustomGenerator(Generator):
    """Runs the configured callable or command."""

    def __init__(self, entry: CustomGeneratorConfig) -> None:
        super().__init__(entry.name, "custom", entry.models)
        self._entry = entry
        self._fn: Callable[[GenerationRequest], Any] | None = None

    def _callable(self) -> Callable[[GenerationRequest], Any]:
        if self._fn is None:
            assert self._entry.callable is not None
            module_name, _, attr = self._entry.callable.partition(":")
            try:
                fn = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as err:
                raise GeneratorError(
                    f"custom generator '{self.name}': cannot import {self._entry.callable}: {err}"
                ) from err
            if not callable(fn):
                raise GeneratorError(f"{self._entry.callable} is not callable.")
            self._fn = fn
        return self._fn

    def start(self) -> None:
        if self._entry.callable is not None:
            self._callable()

    def check(self, model: str | None = None) -> None:
        if self._entry.callable is not None:
            self._callable()
            return
        assert self._entry.command
        if shutil.which(self._entry.command[0]) is None:
            raise GeneratorError(
                f"custom generator '{self.name}': {self._entry.command[0]} is not an executable."
            )

    def _call(self, request: GenerationRequest) -> Any:
        if self._entry.callable is None:
            return self._run_command(request)
        try:
            return self._callable()(request)
        except (GeneratorError, GenerationInputError):
            raise
        except Exception as err:
            raise GeneratorError(f"custom generator '{self.name}' failed: {err!r}") from err

    def _run_command(self, request: GenerationRequest) -> GenerationResult:
        assert self._entry.command
        payload = asdict(request)
        try:
            done = subprocess.run(
                self._entry.command,
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                timeout=self._entry.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise GeneratorError(f"custom generator '{self.name}' could not run: {err}") from err
        if done.returncode != 0:
            raise GeneratorError(
                f"custom generator '{self.name}' exited with {done.returncode}: "
                f"{done.stderr.strip()[-300:]}"
            )
        return _parse_output(done.stdout, request)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        out = self._call(request)
        if isinstance(out, GenerationResult):
            return out
        if isinstance(out, str):
            return _result(out, request)
        if isinstance(out, Iterable):
            return _result("".join(str(part) for part in out), request)
        raise GeneratorError(f"custom generator '{self.name}' returned {type(out).__name__}.")

    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        out = self._call(request)
        state.prompt_tokens = _words(request.prompt)
        if isinstance(out, str | GenerationResult):
            result = out if isinstance(out, GenerationResult) else _result(out, request)
            state.prompt_tokens = result.prompt_tokens
            state.completion_tokens = result.completion_tokens
            state.finish_reason = result.finish_reason
            if result.text:
                state.text_parts.append(result.text)
                yield result.text
            return
        try:
            for part in out:
                delta = str(part)
                if delta:
                    state.text_parts.append(delta)
                    yield delta
        except GeneratorExit:
            raise
        except Exception as err:
            raise GeneratorError(f"custom generator '{self.name}' failed: {err!r}") from err
        finally:
            close = getattr(out, "close", None)
            if close is not None:
                close()  # the client left: let the user's generator clean up
        state.completion_tokens = _words(state.text)


def _result(text: str, request: GenerationRequest) -> GenerationResult:
    return GenerationResult(text, _words(request.prompt), _words(text), "stop")


def _parse_output(stdout: str, request: GenerationRequest) -> GenerationResult:
    stripped = stdout.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
            text = str(data["text"])
        except (ValueError, KeyError) as err:
            raise GeneratorError(f"custom command printed invalid JSON: {err}") from err
        finish: FinishReason = "length" if data.get("finish_reason") == "length" else "stop"
        return GenerationResult(
            text,
            int(data.get("prompt_tokens", _words(request.prompt))),
            int(data.get("completion_tokens", _words(text))),
            finish,
        )
    return _result(stdout.rstrip("\n"), request)
