"""Deterministic mean of adapters (next round's base) and agreement to the median."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainer.aggregate import adapter_agreement, aggregate_adapters, mean_state
from trainer.artifacts import adapter_hash, load_adapter_state, save_adapter
from trainer.errors import ArtifactError


@pytest.fixture
def three_adapters(tmp_path: Path) -> dict[str, Path]:
    gen = torch.Generator().manual_seed(3)
    base = {
        "w.lora_A": torch.randn(4, 8, generator=gen),
        "w.lora_B": torch.randn(8, 4, generator=gen),
    }
    paths = {}
    for i, node in enumerate(["0xBBB", "0xaaa", "0xccc"]):
        state = {
            k: v + 0.01 * (i + 1) * torch.randn(v.shape, generator=gen) for k, v in base.items()
        }
        paths[node] = tmp_path / f"{i}.safetensors"
        save_adapter(state, paths[node])
    return paths


def test_mean_is_exact_and_order_independent(
    tmp_path: Path, three_adapters: dict[str, Path]
) -> None:
    digest = aggregate_adapters(three_adapters, tmp_path / "mean.safetensors")
    reversed_order = dict(reversed(list(three_adapters.items())))
    assert aggregate_adapters(reversed_order, tmp_path / "again.safetensors") == digest
    assert adapter_hash(tmp_path / "mean.safetensors") == digest
    states = [load_adapter_state(three_adapters[n]) for n in ("0xaaa", "0xBBB", "0xccc")]
    mean = load_adapter_state(tmp_path / "mean.safetensors")
    for key in mean:
        expected = (states[0][key] + states[1][key] + states[2][key]) / 3.0
        assert torch.equal(mean[key], expected)
    assert mean_state(three_adapters).keys() == mean.keys()


def test_agreement_flags_an_outlier(tmp_path: Path, three_adapters: dict[str, Path]) -> None:
    close = adapter_agreement(three_adapters)
    assert all(a.cosine > 0.99 and a.relative_distance < 0.05 for a in close)
    noise = {
        k: torch.randn(v.shape) for k, v in load_adapter_state(three_adapters["0xaaa"]).items()
    }
    save_adapter(noise, tmp_path / "noise.safetensors")
    with_outlier = {**three_adapters, "0xddd": tmp_path / "noise.safetensors"}
    verdicts = {a.node: a for a in adapter_agreement(with_outlier)}
    assert verdicts["0xddd"].cosine < 0.5 and verdicts["0xddd"].relative_distance > 0.5
    assert verdicts["0xaaa"].cosine > 0.99


def test_mismatched_adapters_are_refused(tmp_path: Path, three_adapters: dict[str, Path]) -> None:
    save_adapter({"other": torch.ones(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ArtifactError, match="same tensors"):
        aggregate_adapters(
            {**three_adapters, "0xeee": tmp_path / "other.safetensors"}, tmp_path / "x"
        )
    with pytest.raises(ArtifactError, match="zero adapters"):
        aggregate_adapters({}, tmp_path / "x")
