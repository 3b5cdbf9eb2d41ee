"""The running batch of one base model: continuous batching over a left-padded KV cache.

State: the model's KV cache (``[rows, heads, T, dim]`` per layer), an attention mask
``[rows, T]`` (1 = a real token, 0 = padding on the left), each row's next position id (its
number of real tokens) and each row's next-token logits. One :meth:`Batch.step`:

1. every row picks its next token from its logits (:func:`.sampling.choose`), the row's
   text and finish state advance, and the row's sink gets the event;
2. finished or cancelled rows are dropped from the cache, mask and positions;
3. the remaining rows run one forward step together (their new token, the mask extended by
   one column, explicit position ids), which gives the next logits.

:meth:`Batch.admit` prefills new requests together (left-padded among themselves, position
ids counting real tokens only) and merges their cache into the running one by left-padding
the shorter cache to the longer's length. Columns that are padding in every row are cut off
after rows leave. Padding is masked out and positions count real tokens only, so a
request's logits are those it would get alone, up to floating-point rounding (greedy output
is the same batched or alone: tested).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from offchain.gateway.engine.lora import LoraBank
from offchain.gateway.engine.sampling import Choice, RowSampler, SamplingParams, choose
from offchain.gateway.engine.sinks import EngineEvent, Sink, TokenLogprob
from offchain.gateway.engine.text import TextTracker, TokenText

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


@dataclass
class Row:
    """One request being decoded."""

    prompt_ids: list[int]
    params: SamplingParams
    sink: Sink
    slot: int
    budget: int  # most tokens it may generate (max_tokens, clamped to the context)
    submitted: float = field(default_factory=time.perf_counter)
    sampler: RowSampler = field(init=False)
    tracker: TextTracker | None = None
    pending: list[TokenLogprob] = field(default_factory=list)
    first_token_at: float | None = None

    def __post_init__(self) -> None:
        self.sampler = RowSampler(self.params)

    @property
    def completion_tokens(self) -> int:
        return 0 if self.tracker is None else len(self.tracker.tokens)


class Batch:
    def __init__(
        self,
        model: Any,
        tokenizer: PreTrainedTokenizerBase,
        bank: LoraBank,
        *,
        device: str,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.bank = bank
        self.device = device
        self.token_text = TokenText(tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else (tokenizer.eos_token_id or 0))
        self.eos_id = tokenizer.eos_token_id
        self.rows: list[Row] = []
        self._cache: Any = None
        self._mask: torch.Tensor | None = None
        self._positions: torch.Tensor | None = None
        self._logits: torch.Tensor | None = None

    def reset(self) -> None:
        self.rows = []
        self._cache = self._mask = self._positions = self._logits = None

    # -- model calls -------------------------------------------------------------------------

    def _forward(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: Any,
        slots: list[int],
    ) -> Any:
        self.bank.active = (
            torch.tensor(slots, device=self.device) if any(s != 0 for s in slots) else None
        )
        try:
            return self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
        finally:
            self.bank.active = None

    @torch.no_grad()
    def admit(self, rows: list[Row]) -> None:
        """Prefill ``rows`` together and merge them into the running batch."""
        if not rows:
            return
        width = max(len(r.prompt_ids) for r in rows)
        ids = torch.tensor(
            [[self.pad_id] * (width - len(r.prompt_ids)) + r.prompt_ids for r in rows],
            device=self.device,
        )
        mask = torch.tensor(
            [[0] * (width - len(r.prompt_ids)) + [1] * len(r.prompt_ids) for r in rows],
            device=self.device,
        )
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        out = self._forward(ids, mask, positions, None, [r.slot for r in rows])
        logits = out.logits[:, -1].float()
        for r in rows:
            r.tracker = TextTracker(self.tokenizer, r.params.stop)
        new_positions = mask.sum(1)
        if not self.rows:
            self.rows = list(rows)
            self._cache, self._mask = out.past_key_values, mask
            self._positions, self._logits = new_positions, logits
            return
        self._cache, self._mask = _merge(self._cache, self._mask, out.past_key_values, mask)
        assert self._positions is not None and self._logits is not None
        self._positions = torch.cat([self._positions, new_positions])
        self._logits = torch.cat([self._logits, logits])
        self.rows += rows

    @torch.no_grad()
    def step(self) -> None:
        """Pick one token per row, retire finished rows, decode the rest one step."""
        if not self.rows:
            return
        assert self._logits is not None and self._mask is not None
        assert self._positions is not None
        choices = choose(self._logits, [r.sampler for r in self.rows])
        keep: list[int] = []
        for i, (row, choice) in enumerate(zip(self.rows, choices, strict=True)):
            if row.sink.cancelled:
                continue
            if self._advance(row, choice):
                keep.append(i)
        if not keep:
            self.reset()
            return
        if len(keep) < len(self.rows):
            index = torch.tensor(keep, device=self.device)
            self._select(index)
            self.rows = [self.rows[i] for i in keep]
            choices = [choices[i] for i in keep]
        tokens = torch.tensor([[c.token_id] for c in choices], device=self.device)
        mask = torch.cat([self._mask, torch.ones_like(self._mask[:, :1])], dim=1)
        assert self._positions is not None
        out = self._forward(
            tokens, mask, self._positions[:, None], self._cache, [r.slot for r in self.rows]
        )
        self._cache, self._mask = out.past_key_values, mask
        self._positions = self._positions + 1
        self._logits = out.logits[:, -1].float()

    def drop_cancelled(self) -> None:
        keep = [i for i, r in enumerate(self.rows) if not r.sink.cancelled]
        if len(keep) == len(self.rows):
            return
        if not keep:
            self.reset()
            return
        self._select(torch.tensor(keep, device=self.device))
        self.rows = [self.rows[i] for i in keep]

    # -- rows --------------------------------------------------------------------------------

    def _advance(self, row: Row, choice: Choice) -> bool:
        """Apply ``choice`` to ``row``; send its event; whether it goes on."""
        assert row.tracker is not None
        token = choice.token_id
        row.sampler.record(token)
        if row.first_token_at is None:
            row.first_token_at = time.perf_counter()
        if choice.logprob is not None:
            row.pending.append(self._logprob(choice))
        finish: str | None = None
        if token == self.eos_id:
            row.tracker.tokens.append(token)
            delta, finish = row.tracker.flush(), "stop"
        else:
            delta, stopped = row.tracker.push(token)
            if stopped:
                finish = "stop"
            elif row.completion_tokens >= row.budget:
                delta, finish = delta + row.tracker.flush(), "length"
        if delta or finish:
            logprobs, row.pending = row.pending, []
            row.sink.push(
                EngineEvent(
                    text=delta,
                    logprobs=tuple(logprobs),
                    finish_reason=finish,
                    prompt_tokens=len(row.prompt_ids),
                    completion_tokens=row.completion_tokens,
                    first_token_s=row.first_token_at - row.submitted,
                )
            )
        return finish is None

    def _logprob(self, choice: Choice) -> TokenLogprob:
        text, data = self.token_text(choice.token_id)
        top = []
        for t in choice.top:
            t_text, t_data = self.token_text(t.token_id)
            top.append(TokenLogprob(t_text, t.logprob, tuple(t_data), ()))
        assert choice.logprob is not None
        return TokenLogprob(text, choice.logprob, tuple(data), tuple(top))

    # -- cache bookkeeping -------------------------------------------------------------------

    def _select(self, index: torch.Tensor) -> None:
        assert self._mask is not None and self._positions is not None
        assert self._logits is not None
        for layer in self._cache.layers:
            layer.batch_select_indices(index)
        self._mask = self._mask[index]
        self._positions = self._positions[index]
        self._logits = self._logits[index]
        # cut columns that are padding in every remaining row
        used = self._mask.any(dim=0).nonzero()
        start = int(used[0]) if len(used) else 0
        if start > 0:
            self._mask = self._mask[:, start:]
            for layer in self._cache.layers:
                layer.keys = layer.keys[:, :, start:]
                layer.values = layer.values[:, :, start:]


def _merge(
    cache: Any, mask: torch.Tensor, new_cache: Any, new_mask: torch.Tensor
) -> tuple[Any, torch.Tensor]:
    """One cache and mask holding the rows of both, the shorter left-padded."""
    width = max(mask.shape[1], new_mask.shape[1])

    def pad(t: torch.Tensor, have: int) -> torch.Tensor:
        return F.pad(t, (0, 0, width - have, 0)) if have < width else t

    for old, new in zip(cache.layers, new_cache.layers, strict=True):
        old.keys = torch.cat([pad(old.keys, mask.shape[1]), pad(new.keys, new_mask.shape[1])])
        old.values = torch.cat([pad(old.values, mask.shape[1]), pad(new.values, new_mask.shape[1])])
    merged_mask = torch.cat(
        [F.pad(mask, (width - mask.shape[1], 0)), F.pad(new_mask, (width - new_mask.shape[1], 0))]
    )
    return cache, merged_mask
