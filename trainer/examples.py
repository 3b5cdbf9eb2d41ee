"""Training examples read from a data file or folder, in file order.

Three shapes of example, whatever the container:

* :class:`TextExample` — ``{"text": ...}`` (or a line of a plain text file): trained on
  every token;
* :class:`PairExample` — ``{"prompt": ..., "completion": ...}``: trained on the completion;
* :class:`ChatExample` — ``{"messages": [{"role": ..., "content": ...}, ...]}``: rendered
  with the tokenizer's chat template, trained on the assistant turns.

Containers (``DataConfig.source``): ``text`` (one example per non-empty line), ``jsonl`` (one
JSON object per line), ``parquet`` (pyarrow), ``hf_disk`` (a Hugging Face ``datasets``
``save_to_disk`` folder, read with ``load_from_disk``; a ``DatasetDict`` gives its ``train``
split) and ``auto`` (chosen from the path). Order is the file's (row) order, so every machine
reading the same bytes derives the same examples; :func:`canonical` is each example's identity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.errors import DataFormatError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextExample:
    text: str


@dataclass(frozen=True)
class PairExample:
    prompt: str
    completion: str


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatExample:
    messages: tuple[Message, ...]


Example = TextExample | PairExample | ChatExample

DATASETS_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def canonical(example: Example) -> str:
    """The example as one string: the text itself for text examples, else compact JSON."""
    if isinstance(example, TextExample):
        return example.text
    if isinstance(example, PairExample):
        data: dict[str, Any] = {"completion": example.completion, "prompt": example.prompt}
    else:
        data = {"messages": [{"content": m.content, "role": m.role} for m in example.messages]}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def detect_source(path: Path) -> str:
    """``hf_disk``, ``jsonl``, ``parquet`` or ``text`` for ``path``."""
    if path.is_dir():
        if any((path / marker).is_file() for marker in DATASETS_MARKERS):
            return "hf_disk"
        raise DataFormatError(
            f"{path} is a folder but not a Hugging Face datasets folder (no dataset_info.json, "
            "state.json or dataset_dict.json; save one with dataset.save_to_disk(folder))."
        )
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix:
        return "text"
    # no suffix (a file fetched into a cache is named by its hash): look at the bytes
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    return "jsonl" if head.lstrip().startswith(b"{") else "text"


def parse_record(record: Mapping[str, Any], where: str) -> Example:
    """One record (a JSON object or a table row) as an example; ``where`` names it in errors."""
    messages = record.get("messages")
    if messages is not None:
        return ChatExample(_messages(messages, where))
    prompt, completion = record.get("prompt"), record.get("completion")
    if prompt is not None or completion is not None:
        if not isinstance(prompt, str) or not isinstance(completion, str) or not completion:
            raise DataFormatError(
                f"{where}: a prompt/completion record needs two strings, a non-empty completion."
            )
        return PairExample(prompt, completion)
    text = record.get("text")
    if isinstance(text, str) and text.strip():
        return TextExample(text)
    keys = sorted(str(k) for k in record)
    raise DataFormatError(
        f"{where}: a record needs 'text', 'prompt' + 'completion' or 'messages' (it has {keys})."
    )


def _messages(messages: Any, where: str) -> tuple[Message, ...]:
    if not isinstance(messages, list | tuple) or not messages:
        raise DataFormatError(f"{where}: 'messages' must be a non-empty list.")
    out = []
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(role, str) or not isinstance(content, str):
            raise DataFormatError(
                f"{where}: message {i} needs a string 'role' and a string 'content'."
            )
        out.append(Message(role, content))
    if not any(m.role == "assistant" for m in out):
        raise DataFormatError(f"{where}: a chat example needs at least one assistant message.")
    return tuple(out)


def _records(rows: Iterable[Mapping[str, Any]], name: str) -> list[Example]:
    return [parse_record(row, f"{name} row {i}") for i, row in enumerate(rows)]


def _read_text(path: Path) -> list[Example]:
    lines = (ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return [TextExample(ln) for ln in lines if ln]


def _read_jsonl(path: Path) -> list[Example]:
    out: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{where} is not valid JSON ({err.msg}).") from None
        if not isinstance(record, dict):
            raise DataFormatError(f"{where} is not a JSON object.")
        out.append(parse_record(record, where))
    return out


def _read_parquet(path: Path) -> list[Example]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for a bad file
        raise DataFormatError(f"{path} is not a readable Parquet file ({err}).") from None
    return _records(table.to_pylist(), path.name)


def _read_hf_disk(path: Path) -> list[Example]:
    from datasets import Dataset, DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as err:
        raise DataFormatError(f"{path} is not a readable datasets folder ({err}).") from None
    if isinstance(loaded, DatasetDict):
        if "train" in loaded:
            loaded = loaded["train"]
        elif len(loaded) == 1:
            loaded = next(iter(loaded.values()))
        else:
            raise DataFormatError(
                f"{path} holds splits {sorted(loaded)} and none is named 'train'."
            )
    assert isinstance(loaded, Dataset)
    return _records(loaded.to_list(), path.name)


_READERS = {
    "text": _read_text,
    "jsonl": _read_jsonl,
    "parquet": _read_parquet,
    "hf_disk": _read_hf_disk,
}


def load_examples(path: Path, source: str = "auto") -> list[Example]:
    """Every example of the data file or folder ``path`` (at least two)."""
    if not path.exists():
        raise DataFormatError(f"Data file {path} does not exist.")
    kind = detect_source(path) if source == "auto" else source
    if kind != "hf_disk" and not path.is_file():
        raise DataFormatError(f"Data file {path} is not a file (source {kind}).")
    examples = _READERS[kind](path)
    if len(examples) < 2:
        raise DataFormatError(f"Data file {path} has fewer than two examples.")
    logger.info("examples loaded path=%s source=%s count=%d", path, kind, len(examples))
    return examples
