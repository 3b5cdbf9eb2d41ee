"""Inference: greedy and seeded sampling, streaming, stop strings, limits, thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from trainer.config import ModelConfig
from trainer.errors import InferenceError, PromptTooLongError
from trainer.inference import InferenceModel


@pytest.fixture(scope="module")
def base_model() -> InferenceModel:
    return InferenceModel.load(ModelConfig())


def test_greedy_is_deterministic_and_counts_tokens(base_model: InferenceModel) -> None:
    a = base_model.generate("12+34=", max_new_tokens=16)
    b = base_model.generate("12+34=", max_new_tokens=16)
    assert a == b
    assert a.prompt_tokens == base_model.count_tokens("12+34=") == 6
    assert 1 <= a.completion_tokens <= 16
    assert a.finish_reason in ("stop", "length")


def test_sampling_follows_the_seed(base_model: InferenceModel) -> None:
    kwargs = {"max_new_tokens": 24, "temperature": 1.0, "top_p": 0.9}
    first = base_model.generate("7+8=", seed=1, **kwargs)
    assert base_model.generate("7+8=", seed=1, **kwargs) == first
    others = {base_model.generate("7+8=", seed=s, **kwargs).text for s in range(2, 6)}
    assert others - {first.text}


def test_length_limit(base_model: InferenceModel) -> None:
    out = base_model.generate("1+1=", max_new_tokens=3, temperature=1.0, seed=0)
    assert out.completion_tokens <= 3
    if out.completion_tokens == 3:
        assert out.finish_reason == "length"


def test_stream_joins_to_generate(base_model: InferenceModel) -> None:
    for seed in range(4):
        kwargs = {"max_new_tokens": 32, "temperature": 1.0, "seed": seed}
        deltas = list(base_model.stream("3+4=", **kwargs))
        assert "".join(deltas) == base_model.generate("3+4=", **kwargs).text
        assert all(deltas)


def test_stop_string_cuts_and_is_never_streamed(base_model: InferenceModel) -> None:
    full = base_model.generate("5+5=", max_new_tokens=40, temperature=1.0, seed=11)
    stop = full.text[3:5]
    assert len(stop) == 2
    cut = base_model.generate("5+5=", max_new_tokens=40, temperature=1.0, seed=11, stop=[stop])
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[: full.text.find(stop)]
    streamed = "".join(
        base_model.stream("5+5=", max_new_tokens=40, temperature=1.0, seed=11, stop=[stop])
    )
    assert streamed == cut.text


def test_bad_arguments_are_readable(base_model: InferenceModel) -> None:
    with pytest.raises(PromptTooLongError, match="context holds 256"):
        base_model.generate("x" * 300)
    with pytest.raises(InferenceError, match="temperature"):
        base_model.generate("x", temperature=-1)
    with pytest.raises(InferenceError, match="top_p"):
        base_model.generate("x", top_p=0)
    with pytest.raises(InferenceError, match="max_new_tokens"):
        base_model.generate("x", max_new_tokens=0)


def test_adapter_changes_the_output(base_model: InferenceModel, trained_adapter: Path) -> None:
    adapted = InferenceModel.load(ModelConfig(), trained_adapter)
    assert adapted.adapter_hash is not None and adapted.adapter_hash.startswith("0x")
    prompts = [f"{i}+{i}=" for i in range(5)]
    outs = [adapted.generate(p, max_new_tokens=12).text for p in prompts]
    assert outs != [base_model.generate(p, max_new_tokens=12).text for p in prompts]


def test_threads_share_one_model(base_model: InferenceModel) -> None:
    prompts = [f"{i}+2=" for i in range(8)]
    expected = [base_model.generate(p, max_new_tokens=8, temperature=0.7, seed=5) for p in prompts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(
            pool.map(
                lambda p: base_model.generate(p, max_new_tokens=8, temperature=0.7, seed=5),
                prompts,
            )
        )
    assert got == expected
