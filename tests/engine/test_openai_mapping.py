"""The OpenAI backend's pure request/response mapping and option parsing."""

from __future__ import annotations

import pytest
from evalr.backends.openai import OpenAIBackend, OpenAIOptions, from_response, to_payload
from evalr.errors import ConfigError, TransientBackendError
from evalr.specs import ModelSpec, parse
from evalr.types import GenerationRequest, Message, Sampling

SAMPLING = Sampling(temperature=0.6, top_p=0.95, max_tokens=1000)


def request(n: int = 1, prefix: str = "") -> GenerationRequest:
    return GenerationRequest(
        (Message("user", "What is 6*7?"),), SAMPLING, tuple(range(11, 11 + n)), prefix
    )


def test_payload_single() -> None:
    payload = to_payload("org/m", request(), 1, 11)
    assert payload == {
        "model": "org/m",
        "messages": [{"role": "user", "content": "What is 6*7?"}],
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 1000,
        "seed": 11,
    }


def test_payload_n_only_when_above_one() -> None:
    assert to_payload("m", request(4), 4, 11)["n"] == 4
    assert "n" not in to_payload("m", request(4), 1, 12)


def test_payload_assistant_prefix_continues_the_turn() -> None:
    payload = to_payload("m", request(prefix="<think>\n"), 1, 11)
    assert payload["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert payload["continue_final_message"] is True
    assert payload["add_generation_prompt"] is False
    assert "continue_final_message" not in to_payload("m", request(), 1, 11)


def body(*choices: dict, usage: dict | None = None) -> dict:
    return {"model": "served-m", "choices": list(choices), "usage": usage or {}}


def choice(content: str, index: int = 0, finish: str = "stop", **message: str) -> dict:
    return {"index": index, "finish_reason": finish, "message": {"content": content, **message}}


def test_reasoning_field_is_read() -> None:
    (c,) = from_response(
        body(choice("The answer is 42.", reasoning_content="6*7 is 42")), request(), {}, 0.1
    )
    assert c.reasoning == "6*7 is 42" and c.text == "The answer is 42."
    assert c.model == "served-m" and c.latency_s == 0.1


def test_reasoning_alias_field() -> None:
    (c,) = from_response(body(choice("A", reasoning="thought")), request(), {}, 0)
    assert c.reasoning == "thought" and c.text == "A"


def test_think_tags_split_when_no_reasoning_field() -> None:
    (c,) = from_response(body(choice("<think>\nhmm 41?\n</think>\n\\boxed{42}")), request(), {}, 0)
    assert c.reasoning == "hmm 41?" and c.text == "\\boxed{42}"


def test_think_prefix_is_not_echoed_by_servers() -> None:
    (c,) = from_response(
        body(choice("hmm\n</think>\nDone: 42")), request(prefix="<think>\n"), {}, 0
    )
    assert c.reasoning == "hmm" and c.text == "Done: 42"


def test_unclosed_think_means_no_answer() -> None:
    (c,) = from_response(
        body(choice("<think>\nlong \\boxed{7} musing", finish="length")), request(), {}, 0
    )
    assert c.text == "" and c.truncated and "musing" in (c.reasoning or "")


def test_usage_split_across_choices_and_order_by_index() -> None:
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 300,
        "completion_tokens_details": {"reasoning_tokens": 120},
    }
    got = from_response(
        body(choice("b", index=1), choice("a", index=0), choice("c", index=2), usage=usage),
        request(3),
        {"n": 3},
        0,
    )
    assert [c.text for c in got] == ["a", "b", "c"]
    for c in got:
        assert (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.reasoning_tokens) == (
            20,
            100,
            40,
        )
        assert c.request == {"n": 3}


def test_reasoning_tokens_estimated_when_not_reported() -> None:
    (c,) = from_response(
        body(choice("x", reasoning_content="one two three four five six seven eight nine ten")),
        request(),
        {},
        0,
    )
    assert 10 <= c.usage.reasoning_tokens <= 15


@pytest.mark.parametrize(
    ("reason", "mapped"),
    [("length", "length"), ("stop", "stop"), ("eos", "stop"), ("content_filter", "unknown")],
)
def test_finish_reasons(reason: str, mapped: str) -> None:
    (c,) = from_response(body(choice("x", finish=reason)), request(), {}, 0)
    assert c.finish_reason == mapped
    assert c.truncated == (mapped == "length")


@pytest.mark.parametrize("bad", [{}, {"choices": []}, {"choices": None}, [], "oops"])
def test_reply_without_choices_is_transient(bad: object) -> None:
    with pytest.raises(TransientBackendError):
        from_response(bad, request(), {}, 0)  # type: ignore[arg-type]


def test_options_defaults_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    default = OpenAIOptions.from_spec(parse("openai:gpt-4o"))
    assert (
        default.base_url == "https://api.openai.com/v1" and default.api_key_env == "OPENAI_API_KEY"
    )
    local = OpenAIOptions.from_spec(parse("openai:m?base_url=http://127.0.0.1:8000/v1/"))
    assert local.base_url == "http://127.0.0.1:8000/v1" and local.api_key_env is None
    assert local.native_n is None
    assert OpenAIOptions.from_spec(parse("openai:m?native_n=false")).native_n is False
    r1 = ModelSpec("openai", "deepseek-reasoner", {}, native_n=False)
    assert OpenAIOptions.from_spec(r1).native_n is False
    for bad in ("openai:m?bogus=1", "openai:m?native_n=maybe", "openai:m?timeout_s=soon"):
        with pytest.raises(ConfigError):
            OpenAIOptions.from_spec(parse(bad))


def test_construction_is_cheap_and_offline() -> None:
    backend = OpenAIBackend(parse("openai:m?base_url=http://127.0.0.1:9/v1&native_n=false"))
    assert backend.capabilities.native_n is False
    assert backend.describe()["base_url"] == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "htp://127.0.0.1/v1", "http://", "localhost"])
def test_base_url_needs_a_scheme_and_host(url: str) -> None:
    with pytest.raises(ConfigError, match="base_url") as err:
        OpenAIOptions.from_spec(parse(f"openai:m?base_url={url}"))
    assert "\n" not in str(err.value)
