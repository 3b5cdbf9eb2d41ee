"""The one exception root of loranet. User-facing code prints ``str(err)`` and exits non-zero."""

from __future__ import annotations


class LoranetError(Exception):
    """Base of every error loranet raises on purpose. The message is a full sentence."""

    exit_code: int = 1
