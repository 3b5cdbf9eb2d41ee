"""Generators: one interface (:class:`base.Generator`), three kinds, one fallback chain.

- :mod:`.base`: :class:`~.base.GenerationRequest`, :class:`~.base.GenerationResult`,
  :class:`~.base.Generator`.
- :mod:`.local`: the base model + LoRA adapter in this process (trainer inference API).
- :mod:`.api`: any OpenAI-compatible remote endpoint over httpx.
- :mod:`.custom`: a user's ``module:function`` or an executable speaking JSON on stdin/stdout.
- :mod:`.chain`: the fallback chain with health checks and retry-later.
- :func:`build_generator`: a generator from its config entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offchain.gateway.config import GatewayConfig, GeneratorConfig
    from offchain.gateway.engine.engine import StatsHook
    from offchain.gateway.generators.base import Generator


def build_generator(
    entry: GeneratorConfig, config: GatewayConfig, *, on_stats: StatsHook | None = None
) -> Generator:
    """The generator described by ``entry`` (imports only the kind it needs); ``on_stats``
    receives the local engines' queue depth and running requests."""
    if entry.kind == "local":
        from offchain.gateway.generators.local import LocalGenerator

        return LocalGenerator(entry, config, on_stats=on_stats)
    if entry.kind == "api":
        from offchain.gateway.generators.api import ApiGenerator

        return ApiGenerator(entry)
    from offchain.gateway.generators.custom import CustomGenerator

    return CustomGenerator(entry)
