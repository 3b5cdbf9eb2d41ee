"""The ``local`` generator: base models and LoRA adapters run in this process.

Each served model (a base model, or a base model with an adapter merged in) is loaded once
through :meth:`trainer.inference.InferenceModel.load` and shared by every request; the
trainer's model serialises generation with its own lock. A model whose adapter file is
missing or corrupt is recorded as failed: requests for it raise
:class:`~offchain.gateway.errors.GeneratorError`, so the chain falls back, and a later
health check loads it again.

Streaming: the trainer's ``stream`` yields text only, so the streamed completion's token
count is ``count_tokens(text)`` and its finish reason is ``"length"`` when that count reaches
``max_tokens`` (``"stop"`` otherwise).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from offchain.gateway.config import GatewayConfig, LocalGeneratorConfig
from offchain.gateway.errors import GenerationInputError, GeneratorError
from offchain.gateway.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    StreamState,
    close_iterator,
)
from offchain.logging import kv

if TYPE_CHECKING:
    from trainer.inference import InferenceModel

logger = logging.getLogger(__name__)


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


class LocalGenerator(Generator):
    """Models loaded in this process, one :class:`InferenceModel` per served name."""

    def __init__(self, entry: LocalGeneratorConfig, config: GatewayConfig) -> None:
        super().__init__(entry.name, "local", entry.models)
        self._config = config
        self._device = entry.device
        self._models: dict[str, InferenceModel] = {}
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()

    def served_models(self) -> list[str]:
        return [m for m in self._config.model_names if self.serves(m)]

    def start(self) -> None:
        for name in self.served_models():
            try:
                self._model(name)
            except GeneratorError as err:
                logger.warning("local model not loaded", extra=kv(model=name, error=str(err)))

    def close(self) -> None:
        with self._lock:
            self._models.clear()

    def check(self, model: str | None = None) -> None:
        """Ready when ``model`` (default: every served model) is loaded; failed loads are
        retried here."""
        for name in [model] if model is not None else self.served_models():
            self._model(name)

    def describe(self) -> dict[str, object]:
        from trainer.hardware import cuda_vram_bytes, plan_runtime

        plans = {
            name: plan_runtime(cfg.quantization, cuda_vram_bytes())
            for name, cfg in self._config.base_models.items()
        }
        return {
            "loaded": sorted(self._models),
            "runtime": {
                name: {
                    "device": self._device or p.device,
                    "tier": p.tier,
                    "quantization": p.quantization,
                }
                for name, p in plans.items()
            },
        }

    def loaded(self, name: str) -> InferenceModel | None:
        return self._models.get(name)

    def _model(self, name: str) -> InferenceModel:
        from trainer.errors import TrainerError
        from trainer.inference import InferenceModel

        with self._lock:
            model = self._models.get(name)
            if model is not None:
                return model
            base_name = next((a.base for a in self._config.adapters if a.name == name), name)
            cfg = self._config.base_models.get(base_name)
            if cfg is None:
                raise GeneratorError(f"local generator '{self.name}' does not know model '{name}'.")
            try:
                model = InferenceModel.load(
                    cfg, adapter_path(self._config, name), device=self._device
                )
            except (TrainerError, OSError, RuntimeError) as err:
                self._failures[name] = str(err)
                raise GeneratorError(f"model '{name}' could not be loaded: {err}") from err
            self._failures.pop(name, None)
            self._models[name] = model
            logger.info("local model ready", extra=kv(model=name, adapter=model.adapter_hash))
            return model

    def generate(self, request: GenerationRequest) -> GenerationResult:
        model = self._model(request.model)
        with _mapped_errors():
            out = model.generate(
                request.prompt,
                max_new_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                seed=request.seed,
                stop=list(request.stop) or None,
            )
        return GenerationResult(
            out.text, out.prompt_tokens, out.completion_tokens, out.finish_reason
        )

    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        model = self._model(request.model)
        with _mapped_errors():
            state.prompt_tokens = model.count_tokens(request.prompt)
            deltas = model.stream(
                request.prompt,
                max_new_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                seed=request.seed,
                stop=list(request.stop) or None,
            )
            try:
                for delta in deltas:
                    state.text_parts.append(delta)
                    yield delta
            finally:
                close_iterator(deltas)  # releases the model's lock if the client went away
        # Re-tokenising the text can overcount (a cut UTF-8 byte decodes to U+FFFD): clamp.
        state.completion_tokens = min(model.count_tokens(state.text), request.max_tokens)
        state.finish_reason = "length" if state.completion_tokens >= request.max_tokens else "stop"


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn the trainer's errors into the gateway's: bad input -> 400, the rest -> fallback."""
    from trainer.errors import InferenceError, PromptTooLongError

    try:
        yield
    except PromptTooLongError as err:
        raise GenerationInputError(
            str(err), param="prompt", code="context_length_exceeded"
        ) from err
    except InferenceError as err:
        raise GenerationInputError(str(err), code="invalid_value") from err
    except (RuntimeError, ValueError) as err:
        raise GeneratorError(f"local generation failed: {err}") from err
