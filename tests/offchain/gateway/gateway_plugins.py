"""Custom generators the tests plug in by config (``callable: gateway_plugins:<name>``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from offchain.gateway.generators.base import GenerationRequest


def shout(request: GenerationRequest) -> str:
    """Upper-cases the last line of the prompt."""
    return request.prompt.strip().splitlines()[-1].upper()


def count_up(request: GenerationRequest) -> Iterator[str]:
    """Streams ``0 1 2 ...`` up to max_tokens words."""
    for i in range(min(request.max_tokens, 5)):
        yield f"{i} "


FINISHED: list[str] = []  # prompts of `endless` streams that were closed


def endless(request: GenerationRequest) -> Iterator[str]:
    """Streams forever (ignores max_tokens) until the gateway closes it."""
    try:
        i = 0
        while True:
            yield f"{i} "
            i += 1
            time.sleep(0.005)
    finally:
        FINISHED.append(request.prompt)
