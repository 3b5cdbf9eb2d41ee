"""Choosing each row's next token, for a whole batch at once.

Per request: ``temperature == 0`` is greedy (argmax); otherwise softmax of
``logits / temperature``, cut to the smallest set whose probability reaches ``top_p``, and
one draw by inverse CDF with a uniform number from the request's own CPU generator (seeded
by ``seed``, or randomly): a request's tokens never depend on the other rows of the batch.

Before that, as OpenAI defines them: ``logit_bias`` is added to the logits, then
``presence_penalty`` (once for every token already generated) and ``frequency_penalty``
(times its count) are subtracted. Log-probabilities (``logprobs``/``top_logprobs``) are
those of the model's own distribution (``log_softmax`` of the raw logits), before bias,
penalties, temperature and top-p.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingParams:
    """What a request asks of the decoder."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0

    @property
    def penalised(self) -> bool:
        return self.presence_penalty != 0.0 or self.frequency_penalty != 0.0


@dataclass
class RowSampler:
    """One row's sampling state: its params, its generator, its token counts."""

    params: SamplingParams
    generator: torch.Generator = field(init=False)
    counts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.generator = torch.Generator(device="cpu")
        if self.params.seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(self.params.seed)

    def record(self, token: int) -> None:
        self.counts[token] = self.counts.get(token, 0) + 1


@dataclass(frozen=True)
class TopLogprob:
    token_id: int
    logprob: float


@dataclass(frozen=True)
class Choice:
    """The token chosen for one row, and its log-probabilities when asked for."""

    token_id: int
    logprob: float | None = None
    top: tuple[TopLogprob, ...] = ()


def choose(logits: torch.Tensor, rows: list[RowSampler]) -> list[Choice]:
    """The next token of every row of ``logits`` (``[rows, vocab]``)."""
    raw = logits.float()
    x = raw
    if any(r.params.logit_bias or r.params.penalised for r in rows):
        x = raw.clone()
        for i, r in enumerate(rows):
            p = r.params
            for token, bias in p.logit_bias:
                x[i, token] += bias
            if p.penalised and r.counts:
                ids = torch.tensor(list(r.counts), device=x.device)
                counts = torch.tensor(list(r.counts.values()), device=x.device, dtype=x.dtype)
                x[i, ids] -= p.presence_penalty + p.frequency_penalty * counts
    tokens = torch.argmax(x, dim=-1)
    sampled = [i for i, r in enumerate(rows) if r.params.temperature > 0]
    if sampled:
        index = torch.tensor(sampled, device=x.device)
        temps = torch.tensor(
            [rows[i].params.temperature for i in sampled], device=x.device, dtype=x.dtype
        )
        probs = torch.softmax(x[index] / temps[:, None], dim=-1)
        draws = torch.cat([torch.rand(1, generator=rows[i].generator) for i in sampled])
        if all(rows[i].params.top_p >= 1.0 for i in sampled):  # no cut: no sort needed
            cdf = torch.cumsum(probs, dim=-1)
            target = draws.to(x.device, cdf.dtype)[:, None] * cdf[:, -1:]
            pos = torch.searchsorted(cdf, target, right=True).clamp(max=cdf.shape[1] - 1)
            tokens[index] = pos[:, 0]
        else:
            sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
            top_p = torch.tensor([rows[i].params.top_p for i in sampled], device=x.device)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p[:, None]
            keep[:, 0] = True
            cdf = torch.cumsum(sorted_probs * keep, dim=-1)
            target = draws.to(x.device, cdf.dtype)[:, None] * cdf[:, -1:]
            pos = torch.searchsorted(cdf, target, right=True).clamp(max=cdf.shape[1] - 1)
            # never a token cut by top-p (the draw can land on the last kept one's edge)
            pos = torch.minimum(pos, keep.sum(dim=-1, keepdim=True) - 1)
            tokens[index] = order.gather(1, pos)[:, 0]
    chosen = tokens.tolist()
    out = [Choice(int(t)) for t in chosen]
    wanted = [i for i, r in enumerate(rows) if r.params.logprobs]
    if wanted:
        index = torch.tensor(wanted, device=raw.device)
        logp = torch.log_softmax(raw[index], dim=-1)
        picked = logp.gather(1, tokens[index][:, None])[:, 0].tolist()
        k = max(rows[i].params.top_logprobs for i in wanted)
        top_vals, top_ids = (
            torch.topk(logp, k, dim=-1) if k > 0 else (logp[:, :0], logp[:, :0].long())
        )
        top_vals_l, top_ids_l = top_vals.tolist(), top_ids.tolist()
        for j, i in enumerate(wanted):
            n = rows[i].params.top_logprobs
            top = tuple(
                TopLogprob(int(t), float(v))
                for t, v in zip(top_ids_l[j][:n], top_vals_l[j][:n], strict=True)
            )
            out[i] = Choice(int(chosen[i]), float(picked[j]), top)
    return out
