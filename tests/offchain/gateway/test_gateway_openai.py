"""The gateway as the official ``openai`` client sees it: every endpoint and parameter the
gateway supports, every parameter it refuses (400 naming it), and the batched engine's
promises (greedy output the same batched or alone, 64 concurrent streams all finish)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import openai
import pytest
from gateway_support import Gateway
from openai import AsyncOpenAI, OpenAI

USER = [{"role": "user", "content": "12+30="}]


def _bad_request(call: Any, param: str) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["param"] == param, body
    assert param in body["message"]
    assert body["type"] == "invalid_request_error"
    return body


def test_models_chat_and_completions(oai: OpenAI) -> None:
    ids = {m.id for m in oai.models.list()}
    assert {"tiny", "arith"} <= ids
    chat = oai.chat.completions.create(model="arith", messages=USER, max_tokens=8, seed=1)
    assert chat.object == "chat.completion"
    assert chat.choices[0].message.role == "assistant"
    assert chat.choices[0].finish_reason in ("stop", "length")
    assert chat.usage is not None and 1 <= chat.usage.completion_tokens <= 8
    text = oai.completions.create(model="tiny", prompt="1+2=", max_tokens=6, temperature=0)
    assert text.object == "text_completion"
    assert text.usage is not None and text.usage.completion_tokens <= 6
    again = oai.completions.create(model="tiny", prompt="1+2=", max_tokens=6, temperature=0)
    assert again.choices[0].text == text.choices[0].text  # greedy is deterministic


def test_streams_with_usage(oai: OpenAI) -> None:
    whole = oai.chat.completions.create(model="arith", messages=USER, max_tokens=10, temperature=0)
    stream = oai.chat.completions.create(
        model="arith",
        messages=USER,
        max_tokens=10,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    plain = list(oai.completions.create(model="tiny", prompt="ab", max_tokens=4, stream=True))
    assert all(c.usage is None for c in plain)  # no usage unless asked, as OpenAI


def test_seeded_sampling_repeats(oai: OpenAI) -> None:
    def ask(seed: int) -> str | None:
        out = oai.chat.completions.create(
            model="arith", messages=USER, max_tokens=12, temperature=1.0, seed=seed
        )
        return out.choices[0].message.content

    assert ask(2**63 - 1) == ask(2**63 - 1)
    assert len({ask(s) for s in range(4)}) > 1


def test_chat_logprobs(oai: OpenAI) -> None:
    out = oai.chat.completions.create(
        model="arith", messages=USER, max_tokens=6, temperature=0, logprobs=True, top_logprobs=3
    )
    content = out.choices[0].logprobs.content
    assert content is not None and len(content) == out.usage.completion_tokens
    for item in content:
        assert item.logprob <= 0
        assert len(item.top_logprobs) == 3
        assert [t.logprob for t in item.top_logprobs] == sorted(
            (t.logprob for t in item.top_logprobs), reverse=True
        )
        # greedy: the chosen token is the most likely one
        assert item.top_logprobs[0].logprob == pytest.approx(item.logprob)
        assert item.bytes is not None
    joined = b"".join(bytes(i.bytes or []) for i in content).decode(errors="replace")
    assert joined.startswith(out.choices[0].message.content or "")
    streamed = oai.chat.completions.create(
        model="arith", messages=USER, max_tokens=6, temperature=0, logprobs=True, stream=True
    )
    tokens = [
        t
        for c in streamed
        if c.choices and c.choices[0].logprobs
        for t in c.choices[0].logprobs.content or []
    ]
    assert [t.logprob for t in tokens] == pytest.approx([i.logprob for i in content])
    plain = oai.chat.completions.create(model="arith", messages=USER, max_tokens=2)
    assert plain.choices[0].logprobs is None


def test_completion_logprobs(oai: OpenAI) -> None:
    out = oai.completions.create(model="tiny", prompt="7+", max_tokens=5, temperature=0, logprobs=2)
    lp = out.choices[0].logprobs
    assert lp is not None and lp.tokens is not None and lp.token_logprobs is not None
    assert len(lp.tokens) == len(lp.token_logprobs) == out.usage.completion_tokens
    assert lp.top_logprobs is not None and all(len(t) <= 2 for t in lp.top_logprobs)
    assert lp.text_offset is not None and lp.text_offset[0] == 0


def test_penalties_and_logit_bias_change_the_output(oai: OpenAI) -> None:
    def text(**extra: Any) -> str:
        out = oai.completions.create(
            model="tiny", prompt="aaaa", max_tokens=24, temperature=0, **extra
        )
        return out.choices[0].text

    plain = text()
    assert text(frequency_penalty=2.0) != plain
    assert text(presence_penalty=2.0) != plain
    z = 4 + ord("Z") - ord("!")  # the byte tokenizer: 4 specials, then bytes in GPT-2 order
    assert text(logit_bias={str(z): 100}) == "Z" * 24


@pytest.mark.parametrize(
    ("call", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "object"}},
                }
            },
            "response_format",
        ),
        ({"seed": 2**64}, "seed"),
        ({"n": 2}, "n"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"extra_body": {"guided_json": {}}}, "guided_json"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
    ],
)
def test_unsupported_or_invalid_parameters_are_400_naming_them(
    oai: OpenAI, call: dict[str, Any], param: str
) -> None:
    _bad_request(
        lambda: oai.chat.completions.create(model="arith", messages=USER, max_tokens=4, **call),
        param,
    )


def test_completion_only_refusals(oai: OpenAI) -> None:
    _bad_request(lambda: oai.completions.create(model="tiny", prompt="x", suffix="y"), "suffix")
    _bad_request(lambda: oai.completions.create(model="tiny", prompt="x", best_of=3), "best_of")
    _bad_request(
        lambda: oai.completions.create(model="tiny", prompt="x", echo=True, logprobs=1), "echo"
    )


def test_context_overflow_is_400(oai: OpenAI) -> None:
    body = _bad_request(
        lambda: oai.completions.create(model="tiny", prompt="x" * 250, max_tokens=20), "prompt"
    )
    assert body["code"] == "context_length_exceeded"
    assert "maximum context length is 256 tokens" in body["message"]
    body = _bad_request(
        lambda: oai.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "y" * 240}], max_tokens=20
        ),
        "messages",
    )
    assert body["code"] == "context_length_exceeded"
    # without max_tokens the default is cut to what the context has left, as OpenAI does
    out = oai.completions.create(model="tiny", prompt="x" * 250, temperature=0)
    assert out.usage is not None and out.usage.completion_tokens <= 5


def test_a_bad_seed_does_not_take_the_model_down(oai: OpenAI, gateway: Gateway) -> None:
    _bad_request(
        lambda: oai.completions.create(model="tiny", prompt="x", seed=2**64, max_tokens=2), "seed"
    )
    out = oai.completions.create(model="tiny", prompt="x", max_tokens=2)
    assert out.loranet["execution_mode"] == "local"  # type: ignore[attr-defined]
    local = httpx.get(gateway.url + "/health").json()["generators"][0]
    assert "tiny" not in local["down"]


def test_greedy_output_is_the_same_batched_or_alone(oai: OpenAI, aoai: AsyncOpenAI) -> None:
    jobs = [
        (model, prompt)
        for prompt in ("12+30=", "7+8=", "a longer prompt, with more tokens in it: 3+4=")
        for model in ("tiny", "arith")
    ]

    def alone(model: str, prompt: str) -> str:
        out = oai.completions.create(model=model, prompt=prompt, max_tokens=16, temperature=0)
        return out.choices[0].text

    expected = [alone(m, p) for m, p in jobs]

    async def together() -> list[str]:
        async def one(model: str, prompt: str) -> str:
            out = await aoai.completions.create(
                model=model, prompt=prompt, max_tokens=16, temperature=0
            )
            return out.choices[0].text

        return list(await asyncio.gather(*(one(m, p) for m, p in jobs * 3)))

    assert asyncio.run(together()) == expected * 3
    assert expected[0] != expected[1]  # the adapter was really applied inside the batch


def test_64_concurrent_streams_and_40_plain_requests_all_finish(
    gateway: Gateway, aoai: AsyncOpenAI
) -> None:
    async def stream(i: int) -> int:
        chunks = await aoai.chat.completions.create(
            model="arith" if i % 2 else "tiny",
            messages=[{"role": "user", "content": f"{i}+{i}="}],
            max_tokens=8,
            seed=i,
            stream=True,
            stream_options={"include_usage": True},
        )
        usage = None
        async for chunk in chunks:
            usage = chunk.usage or usage
        assert usage is not None
        return usage.completion_tokens

    async def plain(i: int) -> int:
        out = await aoai.completions.create(model="tiny", prompt=str(i), max_tokens=4, seed=i)
        assert out.usage is not None
        return out.usage.completion_tokens

    async def everything() -> list[int]:
        jobs = [stream(i) for i in range(64)] + [plain(i) for i in range(40)]
        return list(await asyncio.wait_for(asyncio.gather(*jobs), timeout=240))

    done = asyncio.run(everything())
    assert len(done) == 104 and all(n >= 1 for n in done)
    metrics = httpx.get(gateway.url + "/metrics").text
    assert "loranet_gateway_time_to_first_token_seconds_count" in metrics
    assert 'loranet_gateway_queue_depth{model="tiny"} 0.0' in metrics
    assert 'loranet_gateway_running_requests{model="tiny"} 0.0' in metrics


def test_only_real_disconnects_are_logged(
    oai: OpenAI, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="offchain.gateway.asgi"):
        list(oai.completions.create(model="tiny", prompt="x", max_tokens=3, stream=True))
        assert not [r for r in caplog.records if "client left" in r.getMessage()]
        body = {"model": "endless", "prompt": "bye", "stream": True}
        with gateway.client() as c, c.stream("POST", "/v1/completions", json=body) as r:
            next(r.iter_lines())
        for _ in range(200):
            if [r for r in caplog.records if "client left" in r.getMessage()]:
                break
            asyncio.run(asyncio.sleep(0.05))
        assert [r for r in caplog.records if "client left" in r.getMessage()]


def test_a_parameter_no_generator_of_the_model_honours_is_400(oai: OpenAI) -> None:
    # "shout" is served by a custom callable, then the api fallback: neither gives logprobs
    body = _bad_request(
        lambda: oai.chat.completions.create(model="shout", messages=USER, logprobs=True),
        "logprobs",
    )
    assert body["code"] == "unsupported_parameter"
    # without it the same request is served
    out = oai.chat.completions.create(model="shout", messages=USER)
    assert out.choices[0].message.content == "<|ASSISTANT|>"
