"""Incremental detokenisation with stop strings, and the bytes of single tokens.

:class:`TextTracker` turns a row's generated tokens into text deltas that are safe to show:
never a partial UTF-8 character (U+FFFD at the end of the decoded text) and never a tail
that could still grow into a stop string. When a stop string appears, the text is cut
before it and the row stops. Joined, the deltas equal the final text.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


class TextTracker:
    def __init__(self, tokenizer: PreTrainedTokenizerBase, stops: tuple[str, ...]) -> None:
        self._tokenizer = tokenizer
        self._stops = [s for s in stops if s]
        self.tokens: list[int] = []
        self.text = ""
        self.emitted = ""

    def push(self, token: int) -> tuple[str, bool]:
        """Add a generated token: (the delta now safe to show, whether a stop string ended
        the text)."""
        self.tokens.append(token)
        out = self._tokenizer.decode(self.tokens, skip_special_tokens=True)
        self.text = out if isinstance(out, str) else "".join(out)
        cut = min((i for i in (self.text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.text = self.text[:cut]
            return self.flush(), True
        safe = _safe_prefix(self.text, self._stops)
        if len(safe) > len(self.emitted) and safe.startswith(self.emitted):
            delta = safe[len(self.emitted) :]
            self.emitted = safe
            return delta, False
        return "", False

    def flush(self) -> str:
        """Whatever is left to show once the row has finished."""
        if len(self.text) > len(self.emitted) and self.text.startswith(self.emitted):
            delta = self.text[len(self.emitted) :]
            self.emitted = self.text
            return delta
        return ""


def _safe_prefix(text: str, stops: list[str]) -> str:
    end = len(text)
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    for s in stops:
        for k in range(min(len(s) - 1, end), 0, -1):
            if text[:end].endswith(s[:k]):
                end -= k
                break
    return text[:end]


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, symbol -> byte."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


class TokenText:
    """The text and UTF-8 bytes of single tokens (OpenAI's ``token`` and ``bytes``)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self._tokenizer = tokenizer
        self._cache: dict[int, tuple[str, list[int]]] = {}

    def __call__(self, token_id: int) -> tuple[str, list[int]]:
        hit = self._cache.get(token_id)
        if hit is not None:
            return hit
        piece = self._tokenizer.convert_ids_to_tokens(token_id)
        piece = piece if isinstance(piece, str) else ""
        table = _byte_decoder()
        if token_id in self._tokenizer.all_special_ids:
            data = list(piece.encode())
            text = piece
        elif piece and all(ch in table for ch in piece):
            data = [table[ch] for ch in piece]
            text = bytes(data).decode("utf-8", errors="replace")
        else:
            text = str(self._tokenizer.decode([token_id]))
            data = list(text.encode())
        self._cache[token_id] = (text, data)
        return text, data
