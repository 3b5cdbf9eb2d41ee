"""The chat template: messages -> one prompt for a plain causal LM.

Each message becomes ``<|role|>\\n{content}\\n``; the prompt ends with ``<|assistant|>\\n``
so the model writes the assistant's turn. Generation also stops at ``<|`` (the start of the
next turn marker), so a model that continues the dialogue does not speak for the user.
Example::

    <|system|>
    You add numbers.
    <|user|>
    12+30=
    <|assistant|>
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from offchain.gateway.generators.base import ChatTurn

logger = logging.getLogger(__name__)

TURN_STOP = "<|"


def render_chat(messages: Sequence[ChatTurn]) -> str:
    """The prompt for ``messages`` (roles and contents as given)."""
    parts = [f"<|{m.role}|>\n{m.content}\n" for m in messages]
    return "".join(parts) + "<|assistant|>\n"
