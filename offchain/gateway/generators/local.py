"""The ``local`` generator: base models and LoRA adapters run in this process.

One :class:`~offchain.gateway.engine.engine.Engine` per base model (loaded once at start)
decodes every request for that base model and for all of its adapters together: the
adapters live unmerged in the engine's :class:`~offchain.gateway.engine.lora.LoraBank`, so
requests to different adapters of one base share a batch. An adapter whose file is missing,
corrupt or does not fit is recorded as failed (``/health`` shows it with the error);
requests for it raise :class:`~offchain.gateway.errors.GeneratorError` so the chain falls
back, and a later health check loads it again. Nothing is loaded on the event loop: a
request for a model that is not loaded fails at once, the chain's retry check loads it in a
worker thread.

The request side never holds a thread: it queues the request on the engine and awaits its
events (:class:`~offchain.gateway.engine.sinks.AsyncSink`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.gateway.config import GatewayConfig, LocalGeneratorConfig
from offchain.gateway.engine.engine import Engine, StatsHook
from offchain.gateway.engine.sampling import SamplingParams
from offchain.gateway.engine.sinks import AsyncSink, EngineEvent, QueueSink
from offchain.gateway.errors import GenerationInputError, GeneratorError
from offchain.gateway.generators.base import (
    Delta,
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
)
from offchain.logging import kv

logger = logging.getLogger(__name__)

SUPPORTED = frozenset(
    {"presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs"}
)


def adapter_path(config: GatewayConfig, name: str) -> Path | None:
    """The adapter file of model ``name`` (None for a base model). Adapters given by hash
    are looked up, and their bytes checked, in the artifact store."""
    from trainer.artifacts import ArtifactStore

    for adapter in config.adapters:
        if adapter.name == name:
            if adapter.path is not None:
                return adapter.path
            assert adapter.hash is not None and config.artifact_store is not None
            return ArtifactStore(config.artifact_store).get(adapter.hash)
    return None


@dataclass(frozen=True)
class Prepared:
    engine: Engine
    adapter: str | None
    prompt_ids: list[int]
    params: SamplingParams
    budget: int


class LocalGenerator(Generator):
    """Models served by this process's engines, one engine per base model."""

    supports = SUPPORTED

    def __init__(
        self,
        entry: LocalGeneratorConfig,
        config: GatewayConfig,
        *,
        on_stats: StatsHook | None = None,
    ) -> None:
        super().__init__(entry.name, "local", entry.models)
        self._config = config
        self._entry = entry
        self._device = entry.device
        self._on_stats = on_stats
        self._engines: dict[str, Engine] = {}
        self._adapter_base: dict[str, str] = {a.name: a.base for a in config.adapters}
        self._adapter_source: dict[str, Callable[[], Path | None]] = {
            a.name: (lambda n=a.name: adapter_path(config, n)) for a in config.adapters
        }
        self._pool_models: set[str] = set()
        for entry in config.pools:  # installed by their PoolFollower once fetched
            self._pool_models.add(entry.model_name)
            self._adapter_base[entry.model_name] = config.pool_base(entry)
            self._adapter_source[entry.model_name] = _not_fetched(entry.pool)
        self._loaded: dict[str, str | None] = {}  # model name -> adapter hash (None: base)
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- models ------------------------------------------------------------------------------

    def served_models(self) -> list[str]:
        names = list(self._config.base_models) + list(self._adapter_base)
        return [m for m in names if self.serves(m)]

    def base_of(self, name: str) -> str:
        return self._adapter_base.get(name, name)

    def start(self) -> None:
        names = [self.base_of(n) if n in self._pool_models else n for n in self.served_models()]
        for name in dict.fromkeys(names):  # a pool's adapter is installed by its follower
            try:
                self._load(name)
            except GeneratorError as err:
                logger.warning("local model not loaded", extra=kv(model=name, error=str(err)))

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
            self._loaded.clear()
        for engine in engines:
            engine.close()

    def check(self, model: str | None = None) -> None:
        """Ready when ``model`` (default: every served model) is loaded and its engine runs;
        failed loads are retried here."""
        for name in [model] if model is not None else self.served_models():
            self._load(name)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per served model: ready, and the error when it is not (for ``/health``)."""
        out: dict[str, dict[str, Any]] = {}
        for name in self.served_models():
            engine = self._engines.get(self.base_of(name))
            if name in self._loaded and engine is not None and engine.alive:
                out[name] = {"ready": True, "adapter_hash": self._loaded[name]}
            else:
                error = self._failures.get(name) or (
                    "its engine stopped" if engine is not None else "not loaded"
                )
                out[name] = {"ready": False, "error": error}
        return out

    probe_on_health = False

    def model_error(self, model: str) -> str | None:
        status = self.status().get(model)
        if status is None:
            return f"generator '{self.name}' does not serve '{model}'"
        return None if status["ready"] else str(status["error"])

    def describe(self) -> dict[str, object]:
        from trainer.hardware import cuda_vram_bytes, plan_runtime

        plans = {
            name: plan_runtime(cfg.quantization, cuda_vram_bytes())
            for name, cfg in self._config.base_models.items()
        }
        return {
            "loaded": sorted(self._loaded),
            "failed": dict(sorted(self._failures.items())),
            "runtime": {
                name: {
                    "device": self._device or p.device,
                    "tier": p.tier,
                    "quantization": p.quantization,
                }
                for name, p in plans.items()
            },
            "engines": {
                name: {
                    "waiting": s.waiting,
                    "running": s.running,
                    "max_batch_size": s.max_batch_size,
                    "max_waiting": s.max_waiting,
                    "alive": s.alive,
                }
                for name, s in ((n, e.stats()) for n, e in self._engines.items())
            },
        }

    def adapter_hash(self, name: str) -> str | None:
        return self._loaded.get(name)

    def add_adapter(self, name: str, base: str, source: Callable[[], Path | None]) -> str:
        """Serve (or re-load) adapter ``name`` on ``base`` from ``source()``; its hash.

        Raises:
            GeneratorError: the base model is unknown or the adapter cannot be loaded.
        """
        self._adapter_base[name] = base
        self._adapter_source[name] = source
        with self._lock:
            self._loaded.pop(name, None)
        self._load(name)
        digest = self._loaded.get(name)
        assert digest is not None
        return digest

    def _engine(self, base: str) -> Engine:
        """The engine of ``base`` (built and started on first use). Caller holds the lock."""
        engine = self._engines.get(base)
        if engine is not None and engine.alive:
            return engine
        from offchain.gateway.engine.lora import LoraBank
        from trainer.errors import TrainerError
        from trainer.hardware import default_device
        from trainer.models import build_base_model, build_tokenizer

        for stale in [n for n in self._loaded if self.base_of(n) == base]:
            del self._loaded[stale]  # a new engine starts with an empty adapter bank
        cfg = self._config.base_models.get(base)
        if cfg is None:
            raise GeneratorError(f"local generator '{self.name}' does not know model '{base}'.")
        device = self._device or default_device()
        try:
            tokenizer = build_tokenizer(cfg)
            model: Any = build_base_model(cfg, device=device, strict=False)  # serving may fall back
        except (TrainerError, OSError, RuntimeError, ValueError) as err:
            raise GeneratorError(f"base model '{base}' could not be loaded: {err}") from err
        bank = LoraBank(model, cfg, device)
        engine = Engine(
            base,
            model,
            tokenizer,
            bank,
            device=device,
            max_batch_size=self._entry.max_batch_size,
            max_waiting=self._entry.max_waiting,
            on_stats=self._on_stats,
        )
        engine.start()
        self._engines[base] = engine
        logger.info("local engine ready", extra=kv(model=base, device=device))
        return engine

    def _load(self, name: str) -> None:
        from trainer.artifacts import adapter_hash, load_adapter_state
        from trainer.errors import TrainerError

        with self._lock:
            base = self.base_of(name)
            engine = self._engines.get(base)
            if name in self._loaded and engine is not None and engine.alive:
                return
            try:
                engine = self._engine(base)
                digest = None
                if name != base:
                    path = self._adapter_source[name]()
                    if path is None:
                        raise GeneratorError(f"adapter '{name}' has no file.")
                    engine.add_adapter(name, load_adapter_state(path))
                    digest = adapter_hash(path)
            except (TrainerError, OSError, RuntimeError) as err:
                self._failures[name] = f"model '{name}' could not be loaded: {err}"
                raise GeneratorError(self._failures[name]) from err
            except GeneratorError as err:
                self._failures[name] = str(err)
                raise
            self._failures.pop(name, None)
            self._loaded[name] = digest
            logger.info("local model ready", extra=kv(model=name, adapter=digest))

    # -- requests ----------------------------------------------------------------------------

    def _prepare(self, request: GenerationRequest) -> Prepared:
        name = request.model
        engine = self._engines.get(self.base_of(name))
        if name not in self._loaded or engine is None or not engine.alive:
            reason = self._failures.get(name, "it is not loaded")
            raise GeneratorError(f"model '{name}' cannot be served locally: {reason}")
        ids = list(engine.tokenizer(request.prompt, add_special_tokens=True)["input_ids"])
        context, n = engine.max_context, len(ids)
        param = "messages" if request.messages is not None else "prompt"
        wanted = n + request.max_tokens
        if n >= context or (request.max_tokens_given and wanted > context):
            raise GenerationInputError(
                f"This model's maximum context length is {context} tokens. However, you "
                f"requested {wanted} tokens ({n} in the {param}, {request.max_tokens} in the "
                f"completion). Please reduce the length of the {param} or completion.",
                param=param,
                code="context_length_exceeded",
            )
        vocab = len(engine.tokenizer)
        for token, _bias in request.logit_bias:
            if not 0 <= token < vocab:
                raise GenerationInputError(
                    f"logit_bias names token {token}; this model's tokens are 0..{vocab - 1}.",
                    param="logit_bias",
                    code="invalid_value",
                )
        params = SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=request.seed,
            stop=request.stop,
            presence_penalty=request.presence_penalty,
            frequency_penalty=request.frequency_penalty,
            logit_bias=request.logit_bias,
            logprobs=request.logprobs,
            top_logprobs=request.top_logprobs,
        )
        adapter = None if name == self.base_of(name) else name
        return Prepared(engine, adapter, ids, params, min(request.max_tokens, context - n))

    @staticmethod
    def _submit(prepared: Prepared, sink: Any) -> None:
        prepared.engine.submit(
            prepared.prompt_ids,
            prepared.params,
            adapter=prepared.adapter,
            sink=sink,
            budget=prepared.budget,
        )

    async def agenerate(self, request: GenerationRequest) -> GenerationResult:
        prepared = self._prepare(request)
        sink = AsyncSink()
        self._submit(prepared, sink)
        events: list[EngineEvent] = []
        try:
            while not (events and events[-1].last):
                events.append(await sink.get())
        finally:
            sink.cancel()  # a no-op once finished; drops the row if the client left
        return _result(events, request.logprobs)

    async def astream(self, request: GenerationRequest, state: StreamState) -> AsyncIterator[Delta]:
        prepared = self._prepare(request)
        sink = AsyncSink()
        self._submit(prepared, sink)
        try:
            while True:
                event = await sink.get_merged()
                if _apply(event, state):
                    yield Delta(event.text, event.logprobs)
                if event.last:
                    return
        finally:
            sink.cancel()

    def generate(self, request: GenerationRequest) -> GenerationResult:
        prepared = self._prepare(request)
        sink = QueueSink()
        self._submit(prepared, sink)
        events: list[EngineEvent] = []
        try:
            while not (events and events[-1].last):
                events.append(sink.get())
        finally:
            sink.cancel()
        return _result(events, request.logprobs)

    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        prepared = self._prepare(request)
        sink = QueueSink()
        self._submit(prepared, sink)
        try:
            while True:
                event = sink.get()
                if _apply(event, state):
                    yield event.text
                if event.last:
                    return
        finally:
            sink.cancel()


def _not_fetched(pool_id: int) -> Callable[[], Path | None]:
    def source() -> Path | None:
        raise GeneratorError(f"pool {pool_id}'s adapter has not been fetched yet.")

    return source


def _apply(event: EngineEvent, state: StreamState) -> bool:
    """Fold ``event`` into ``state``; whether it carries a delta to send."""
    if event.error is not None:
        raise GeneratorError(event.error)
    state.prompt_tokens = event.prompt_tokens
    state.completion_tokens = event.completion_tokens
    if state.first_token_s is None:
        state.first_token_s = event.first_token_s
    if event.finish_reason == "length":
        state.finish_reason = "length"
    if event.text:
        state.text_parts.append(event.text)
    return bool(event.text or event.logprobs)


def _result(events: list[EngineEvent], logprobs: bool) -> GenerationResult:
    last = events[-1]
    if last.error is not None:
        raise GeneratorError(last.error)
    return GenerationResult(
        text="".join(e.text for e in events),
        prompt_tokens=last.prompt_tokens,
        completion_tokens=last.completion_tokens,
        finish_reason="length" if last.finish_reason == "length" else "stop",
        logprobs=[lp for e in events for lp in e.logprobs] if logprobs else None,
        first_token_s=events[0].first_token_s,
    )
