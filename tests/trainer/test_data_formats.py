"""Data formats: JSONL (text, prompt/completion, chat), Parquet, a datasets folder; answer-only
loss; max_length; deterministic shards of file data."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from trainer.config import DataConfig, ModelConfig
from trainer.data import IGNORE_INDEX, TrainingData
from trainer.errors import DataFormatError, TrainerConfigError
from trainer.examples import ChatExample, PairExample, detect_source, load_examples
from trainer.models import build_tokenizer
from trainer.tokenizer import build_byte_tokenizer

PAIRS = [{"prompt": f"Q: {a}+{a}? A: ", "completion": str(2 * a)} for a in range(12)]
CHATS = [
    {
        "messages": [
            {"role": "system", "content": "You add numbers."},
            {"role": "user", "content": f"{a}+1?"},
            {"role": "assistant", "content": str(a + 1)},
            {"role": "user", "content": "and +2?"},
            {"role": "assistant", "content": str(a + 2)},
        ]
    }
    for a in range(12)
]


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _trained_text(data: TrainingData, tokenizer: Any, index: int) -> str:
    batch = data._subset([index]).batch(0, 1)
    labels = batch.labels[0]
    return str(tokenizer.decode(batch.input_ids[0][labels != IGNORE_INDEX].tolist()))


def test_jsonl_text_records_are_texts_not_json_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "d.jsonl", [{"text": f"line {i}"} for i in range(5)])
    data = TrainingData(DataConfig(source="auto", path=path), build_byte_tokenizer())
    assert data.texts == [f"line {i}" for i in range(5)]
    assert data.encode("line 0")[1:-1] == tuple(build_byte_tokenizer()("line 0")["input_ids"][1:])


def test_prompt_completion_trains_on_the_completion_only(tmp_path: Path) -> None:
    tok = build_byte_tokenizer()
    path = _jsonl(tmp_path / "pairs.jsonl", PAIRS)
    data = TrainingData(DataConfig(source="jsonl", path=path), tok)
    assert isinstance(data.examples[3], PairExample)
    assert _trained_text(data, tok, 3) == "6</s>"
    full = data._subset([3]).batch(0, 1)
    assert tok.decode(full.input_ids[0].tolist()) == "<s>Q: 3+3? A: 6</s>"


def test_chat_uses_the_template_and_trains_on_answers(
    tmp_path: Path, model_folders: dict[str, Path]
) -> None:
    tok = build_tokenizer(ModelConfig(source="pretrained", path=model_folders["qwen2"]))
    path = _jsonl(tmp_path / "chat.jsonl", CHATS)
    data = TrainingData(DataConfig(source="jsonl", path=path), tok)
    assert isinstance(data.examples[0], ChatExample)
    batch = data._subset([5]).batch(0, 1)
    text = tok.decode(batch.input_ids[0].tolist())
    assert text.startswith("<|im_start|>system\nYou add numbers.<|im_end|>")
    assert _trained_text(data, tok, 5) == "6<|im_end|>\n7<|im_end|>\n"


def test_chat_without_a_template_falls_back_to_chatml(tmp_path: Path) -> None:
    tok = build_byte_tokenizer()
    path = _jsonl(tmp_path / "chat.jsonl", CHATS)
    data = TrainingData(DataConfig(source="jsonl", path=path), tok)
    assert _trained_text(data, tok, 2) == "3<|im_end|>\n4<|im_end|>\n"


def test_parquet_and_datasets_folders_give_the_same_examples(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset, DatasetDict

    rows = PAIRS
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    DatasetDict(
        {"train": Dataset.from_list(rows), "test": Dataset.from_list(rows[:2])}
    ).save_to_disk(str(tmp_path / "dsd"))
    jsonl = load_examples(_jsonl(tmp_path / "pairs.jsonl", rows))
    assert load_examples(tmp_path / "pairs.parquet") == jsonl
    assert load_examples(tmp_path / "ds") == jsonl
    assert load_examples(tmp_path / "dsd", "hf_disk") == jsonl
    tok = build_byte_tokenizer()
    shards = [
        TrainingData(DataConfig(source="auto", path=p), tok).shard(3, 1, 0, 2).example_ids
        for p in (tmp_path / "pairs.parquet", tmp_path / "ds", tmp_path / "pairs.jsonl")
    ]
    assert shards[0] == shards[1] == shards[2]


def test_format_detection_by_suffix_folder_and_content(tmp_path: Path) -> None:
    assert detect_source(_jsonl(tmp_path / "a.jsonl", PAIRS)) == "jsonl"
    hashed = _jsonl(tmp_path / "0123abcd", PAIRS)  # a cached artifact has no suffix
    assert detect_source(hashed) == "jsonl"
    (tmp_path / "plain").write_text("one\ntwo\n")
    assert detect_source(tmp_path / "plain") == "text"
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataFormatError, match="not a Hugging Face datasets folder"):
        detect_source(tmp_path / "folder")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2 is not valid JSON"),
        ('{"title": "x"}', "needs 'text', 'prompt' \\+ 'completion' or 'messages'"),
        ('{"prompt": "x"}', "two strings"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "at least one assistant"),
        ('{"messages": [{"role": "assistant"}]}', "string 'content'"),
    ],
)
def test_bad_records_are_named_by_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    with pytest.raises(DataFormatError, match=message):
        load_examples(path)


def test_max_length_is_a_setting_and_cuts_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tok = build_byte_tokenizer()
    long = [{"text": "x" * 300}, {"text": "short"}, {"text": "y" * 200}]
    path = _jsonl(tmp_path / "long.jsonl", long)
    default = TrainingData(DataConfig(source="jsonl", path=path), tok)
    assert default.max_length == 1024
    assert len(default.encode("x" * 300)) == 302  # <s> + 300 + </s>: nothing cut
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        cut = TrainingData(DataConfig(source="jsonl", path=path, max_length=100), tok)
        shard = cut._subset([0, 1, 2])
    assert max(len(s) for s in shard.sequences) == 100
    assert "2 of 3 examples are longer than max_length=100" in caplog.text
    assert TrainingData(DataConfig(), tok).max_length == 64  # the arithmetic task


def test_long_prompt_keeps_the_completion(tmp_path: Path) -> None:
    tok = build_byte_tokenizer()
    rows = [{"prompt": "p" * 100, "completion": "answer"}] * 2
    data = TrainingData(
        DataConfig(source="jsonl", path=_jsonl(tmp_path / "p.jsonl", rows), max_length=16), tok
    )
    assert len(data._subset([0]).sequences[0]) == 16
    assert _trained_text(data, tok, 0) == "answer</s>"


def test_text_file_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("only one\n")
    with pytest.raises(TrainerConfigError, match="fewer than two examples"):
        TrainingData(DataConfig(source="text", path=path), build_byte_tokenizer())
    with pytest.raises(TrainerConfigError, match="needs a path"):
        DataConfig(source="jsonl")
