"""Text generation with the base model plus an adapter (used by the serving gateway).

One :class:`InferenceModel` is loaded once per process and shared: a lock serialises
:meth:`~InferenceModel.generate` and :meth:`~InferenceModel.stream`, so threads may call it
freely. The decoding loop is our own (greedy or temperature + top-p with a seeded
generator, a KV cache, stop strings) so that streaming, stop handling and seeds behave the
same for tiny and pretrained models.

Token accounting: ``prompt_tokens`` is :meth:`~InferenceModel.count_tokens` of the prompt
(the ``<s>`` the tokenizer prepends is not counted); ``completion_tokens`` counts generated
tokens, including the end-of-sequence token or the tokens of a stop string that was cut off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from trainer.artifacts import adapter_hash, load_adapter_state
from trainer.config import ModelConfig
from trainer.errors import InferenceError, PromptTooLongError
from trainer.hardware import default_device
from trainer.models import attach_lora, build_base_model, build_tokenizer, load_lora_state

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]


@dataclass
class Generation:
    """The result of one :meth:`InferenceModel.generate` call."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


@dataclass
class _Progress:
    completion_tokens: int = 0
    finish_reason: FinishReason = "length"
    text: str = ""
    prompt_tokens: int = 0


class InferenceModel:
    """A base model with an (optional) LoRA adapter merged in, ready to generate."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        cfg: ModelConfig,
        device: str,
        adapter_hash: str | None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.device = device
        self.adapter_hash = adapter_hash
        self.max_context = int(getattr(model.config, "max_position_embeddings", 2048))
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, cfg: ModelConfig, adapter: Path | None = None, *, device: str | None = None
    ) -> InferenceModel:
        """Build the base model, merge ``adapter`` (a canonical safetensors file) into it."""
        device = device or default_device()
        tokenizer = build_tokenizer(cfg)
        base = build_base_model(cfg, device=device, strict=False)  # serving may fall back
        digest = None
        model: Any = base
        if adapter is not None:
            peft_model = attach_lora(base, cfg)
            load_lora_state(peft_model, load_adapter_state(adapter))
            digest = adapter_hash(Path(adapter))
            model = peft_model.merge_and_unload() if cfg.quantization == "none" else peft_model
        model = model.eval()
        logger.info(
            "inference model loaded source=%s adapter=%s device=%s", cfg.source, digest, device
        )
        return cls(model, tokenizer, cfg=cfg, device=device, adapter_hash=digest)

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` without special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> Generation:
        """Complete ``prompt``; greedy when ``temperature == 0``."""
        progress = _Progress()
        with self._lock:
            for _ in self._decode(prompt, max_new_tokens, temperature, top_p, seed, stop, progress):
                pass
        return Generation(
            progress.text,
            progress.prompt_tokens,
            progress.completion_tokens,
            progress.finish_reason,
        )

    def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield text deltas of the completion; joined they equal ``generate(...).text``.

        The lock is held while the iterator runs: consume it fully or close it.
        """
        progress = _Progress()
        with self._lock:
            yield from self._decode(
                prompt, max_new_tokens, temperature, top_p, seed, stop, progress
            )

    # -- decoding ---------------------------------------------------------------------------

    def _encode_prompt(self, prompt: str) -> torch.Tensor:
        ids = list(self.tokenizer(prompt, add_special_tokens=True)["input_ids"])
        if len(ids) >= self.max_context:
            raise PromptTooLongError(
                f"The prompt has {len(ids)} tokens; this model's context holds {self.max_context}."
            )
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def _text(self, ids: list[int]) -> str:
        out = self.tokenizer.decode(ids, skip_special_tokens=True)
        return out if isinstance(out, str) else "".join(out)

    @staticmethod
    def _check_args(max_new_tokens: int, temperature: float, top_p: float) -> None:
        if max_new_tokens < 1:
            raise InferenceError(f"max_new_tokens must be at least 1, not {max_new_tokens}.")
        if temperature < 0:
            raise InferenceError(f"temperature must be >= 0, not {temperature}.")
        if not 0 < top_p <= 1:
            raise InferenceError(f"top_p must be in (0, 1], not {top_p}.")

    def _pick(
        self, logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator
    ) -> int:
        if temperature == 0:
            return int(torch.argmax(logits).item())
        probs = torch.softmax(logits.float() / temperature, dim=-1).cpu()
        if top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
            keep[0] = True
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
        return int(torch.multinomial(probs, 1, generator=gen).item())

    @torch.no_grad()
    def _decode(
        self,
        prompt: str,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        stop: list[str] | None,
        progress: _Progress,
    ) -> Iterator[str]:
        self._check_args(max_new_tokens, temperature, top_p)
        stops = [s for s in (stop or []) if s]
        input_ids = self._encode_prompt(prompt)
        progress.prompt_tokens = self.count_tokens(prompt)
        budget = min(max_new_tokens, self.max_context - input_ids.shape[1])
        gen = torch.Generator(device="cpu")
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        eos = self.tokenizer.eos_token_id
        out = self.model(input_ids=input_ids, use_cache=True)
        completion: list[int] = []
        text = emitted = ""
        finish: FinishReason = "length"
        while len(completion) < budget:
            token = self._pick(out.logits[0, -1], temperature, top_p, gen)
            completion.append(token)
            if token == eos:
                finish = "stop"
                break
            text = self._text(completion)
            cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                break
            safe = _safe_prefix(text, stops)
            if len(safe) > len(emitted) and safe.startswith(emitted):
                yield safe[len(emitted) :]
                emitted = safe
            if len(completion) < budget:
                step = torch.tensor([[token]], dtype=torch.long, device=self.device)
                out = self.model(
                    input_ids=step, past_key_values=out.past_key_values, use_cache=True
                )
        if len(text) > len(emitted) and text.startswith(emitted):
            yield text[len(emitted) :]
        progress.text = text
        progress.completion_tokens = len(completion)
        progress.finish_reason = finish


def _safe_prefix(text: str, stops: list[str]) -> str:
    """The part of ``text`` that can be shown now: no partial UTF-8 character at the end and
    no tail that could still grow into a stop string."""
    end = len(text)
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    for s in stops:
        for k in range(min(len(s) - 1, end), 0, -1):
            if text[:end].endswith(s[:k]):
                end -= k
                break
    return text[:end]
