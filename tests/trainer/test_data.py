"""Data: deterministic examples, held-out split, shards identical everywhere and disjoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.config import DataConfig
from trainer.data import IGNORE_INDEX, TrainingData, generate_arithmetic, shard_indices
from trainer.errors import TrainerConfigError
from trainer.tokenizer import build_byte_tokenizer


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return TrainingData(DataConfig(), build_byte_tokenizer())


def test_arithmetic_examples_are_correct_distinct_and_pinned() -> None:
    texts = generate_arithmetic(DataConfig())
    assert len(texts) == len(set(texts)) == 4096
    for text in texts:
        lhs, rhs = text.split("=")
        a, b = lhs.split("+")
        assert int(a) + int(b) == int(rhs)
    # pinned: the order is part of the protocol (every node must derive the same examples)
    assert texts[:3] == ["7+66=73", "71+48=119", "80+86=166"]


def test_heldout_never_overlaps_training(data: TrainingData) -> None:
    assert set(data.heldout_ids).isdisjoint(data.train_ids)
    assert len(data.heldout_ids) + len(data.train_ids) == len(data.texts)
    assert len(data.heldout_ids) == 410
    every_shard = {i for n in range(3) for i in data.shard(1, 0, n, 3).example_ids}
    assert every_shard == set(data.train_ids)


@settings(max_examples=60, deadline=None)
@given(
    pool_size=st.integers(0, 300),
    pool_id=st.integers(0, 2**32),
    round_=st.integers(0, 1000),
    node_count=st.integers(1, 12),
)
def test_shards_are_disjoint_cover_the_pool_and_balanced(
    pool_size: int, pool_id: int, round_: int, node_count: int
) -> None:
    shards = [
        shard_indices(
            pool_size, seed=0, pool_id=pool_id, round=round_, node_index=i, node_count=node_count
        )
        for i in range(node_count)
    ]
    flat = [i for s in shards for i in s]
    assert sorted(flat) == list(range(pool_size))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    again = shard_indices(
        pool_size, seed=0, pool_id=pool_id, round=round_, node_index=0, node_count=node_count
    )
    assert again == shards[0]


def test_shards_change_with_round_and_pool(data: TrainingData) -> None:
    base = data.shard(1, 0, 0, 2).example_ids
    assert data.shard(1, 0, 0, 2).example_ids == base
    assert data.shard(1, 1, 0, 2).example_ids != base
    assert data.shard(2, 0, 0, 2).example_ids != base


def test_shard_rejects_bad_node_index(data: TrainingData) -> None:
    with pytest.raises(TrainerConfigError, match="outside"):
        data.shard(1, 0, 3, 3)


def test_batches_are_deterministic_and_wrap(data: TrainingData) -> None:
    shard = data.shard(1, 0, 0, 3)
    first = shard.batch(0, 8)
    assert first.input_ids.shape[0] == 8
    assert (first.input_ids[:, 0] == 1).all()  # <s>
    assert ((first.labels == IGNORE_INDEX) == (first.attention_mask == 0)).all()
    wrapped = shard.batch(len(shard), 1)  # step len(shard) with batch 1 is example 0 again
    assert (
        wrapped.input_ids[0, : first.input_ids.shape[1]].tolist()[:3]
        == (first.input_ids[0].tolist()[:3])
    )


def test_text_source(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("hello world\n\nsecond line\nthird\nfourth\n", encoding="utf-8")
    data = TrainingData(
        DataConfig(source="text", path=path, heldout_fraction=0.25), build_byte_tokenizer()
    )
    assert data.texts == ["hello world", "second line", "third", "fourth"]
    assert len(data.heldout_ids) == 1
    with pytest.raises(TrainerConfigError, match="does not exist"):
        TrainingData(DataConfig(source="text", path=tmp_path / "no.txt"), build_byte_tokenizer())
