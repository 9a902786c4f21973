"""VLLMBackend's request mapping and batching, without vLLM (a recording stand-in for its API).

The real engine needs a CUDA GPU; what can be checked here is exactly what evalr hands it:
engine arguments, one SamplingParams per attempt with that attempt's seed, the chat template
applied once per request, and concurrent calls merged into one LLM.generate.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from evalr.backends.vllm import (
    VLLMBackend,
    VLLMOptions,
    render_prompt,
    sampling_kwargs,
    to_completion,
)
from evalr.errors import ConfigError
from evalr.specs import parse
from evalr.types import GenerationRequest, Message, Sampling

REQUEST = GenerationRequest(
    (Message("user", "What is 1+1?"),), Sampling(0.6, 0.95, 32768), (11, 12, 13)
)


class Tokenizer:
    """Chat-template and tokenizer calls as transformers' tokenizers answer them."""

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False and add_generation_prompt is True
        body = "".join(f"<{m['role']}>{m['content']}" for m in messages)
        return f"<bos>{body}<assistant>"

    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        assert add_special_tokens is False
        return {"input_ids": [ord(c) for c in text]}


def output(text: str, finish: str, prompt_len: int = 5, tokens: int = 7) -> Any:
    choice = types.SimpleNamespace(text=text, finish_reason=finish, token_ids=list(range(tokens)))
    return types.SimpleNamespace(outputs=[choice], prompt_token_ids=list(range(prompt_len)))


def test_options_map_to_engine_arguments() -> None:
    spec = parse("vllm:deepseek-ai/DeepSeek-R1?tensor_parallel_size=8&max_model_len=32768")
    kwargs = VLLMOptions.from_spec(spec).engine_kwargs()
    assert kwargs["model"] == "deepseek-ai/DeepSeek-R1"
    assert kwargs["tensor_parallel_size"] == 8 and kwargs["max_model_len"] == 32768
    assert kwargs["enable_prefix_caching"] is True
    off = VLLMOptions.from_spec(parse("vllm:m?enable_prefix_caching=false")).engine_kwargs()
    assert off["enable_prefix_caching"] is False and "max_model_len" not in off


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vllm:m?tp=8", "unknown option 'tp'"),
        ("vllm:m?tensor_parallel_size=eight", "not a valid int"),
        ("vllm:m?trust_remote_code=maybe", "not a valid bool"),
    ],
)
def test_bad_options_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VLLMOptions.from_spec(parse(spec))


def test_each_attempt_gets_its_own_seed_and_the_protocol_sampling() -> None:
    sent = [sampling_kwargs(REQUEST, s) for s in REQUEST.seeds]
    assert [s["seed"] for s in sent] == [11, 12, 13]
    assert all(
        (s["n"], s["temperature"], s["top_p"], s["max_tokens"]) == (1, 0.6, 0.95, 32768)
        for s in sent
    )


def test_the_template_is_applied_and_a_forced_prefix_continues_the_turn() -> None:
    plain = render_prompt(Tokenizer(), REQUEST)
    assert "".join(map(chr, plain)) == "<bos><user>What is 1+1?<assistant>"
    forced = GenerationRequest(REQUEST.messages, REQUEST.sampling, (1,), "<think>\n")
    assert "".join(map(chr, render_prompt(Tokenizer(), forced))).endswith("<assistant><think>\n")


def test_outputs_become_completions_with_reasoning_split_and_truncation_flagged() -> None:
    forced = GenerationRequest(REQUEST.messages, REQUEST.sampling, (1,), "<think>\n")
    done = to_completion(
        output("so 2</think>\\boxed{2}", "stop"), forced, {"seed": 1}, Tokenizer(), 1.0
    )
    assert done.text == "\\boxed{2}" and done.reasoning == "so 2"
    assert done.usage.reasoning_tokens == len("so 2") and done.usage.completion_tokens == 7
    assert done.request == {"seed": 1} and not done.truncated
    cut = to_completion(output("still thinking", "length"), forced, {}, Tokenizer(), 1.0)
    assert cut.truncated and cut.text == "" and cut.reasoning == "still thinking"


class FakeVLLM:
    """The two names VLLMBackend imports from vllm, recording every call."""

    def __init__(self) -> None:
        self.module = types.ModuleType("vllm")
        self.module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
        self.module.__version__ = "0.0-test"
        self.generate_calls: list[tuple[list, list]] = []
        self.engine_kwargs: dict[str, Any] = {}
        recorder = self

        class SamplingParams:
            def __init__(self, **kwargs: Any) -> None:
                self.kwargs = kwargs

        class LLM:
            def __init__(self, **kwargs: Any) -> None:
                recorder.engine_kwargs = kwargs

            def get_tokenizer(self) -> Tokenizer:
                return Tokenizer()

            def generate(self, prompts: list, params: list, use_tqdm: bool) -> list:
                recorder.generate_calls.append((prompts, params))
                return [output(f"seed {p.kwargs['seed']}", "stop") for p in params]

        self.module.LLM = LLM
        self.module.SamplingParams = SamplingParams


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> FakeVLLM:
    fake = FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake.module)
    return fake


def test_concurrent_requests_are_merged_into_one_engine_call(
    fake_vllm: FakeVLLM, tmp_path: Path
) -> None:
    backend = VLLMBackend(parse("vllm:org/model?tensor_parallel_size=2"))

    async def go() -> list:
        await backend.start(tmp_path)
        requests = [
            GenerationRequest(
                (Message("user", f"problem {i}"),), Sampling(), (100 * i, 100 * i + 1)
            )
            for i in range(5)
        ]
        try:
            return await asyncio.gather(*(backend.generate(r) for r in requests))
        finally:
            await backend.aclose()

    results = asyncio.run(go())
    assert fake_vllm.engine_kwargs["tensor_parallel_size"] == 2
    assert len(fake_vllm.generate_calls) == 1, "all five requests should share one batch"
    prompts, params = fake_vllm.generate_calls[0]
    assert len(prompts) == len(params) == 10
    # Each caller gets its own attempts back, in seed order.
    for i, completions in enumerate(results):
        assert [c.text for c in completions] == [f"seed {100 * i}", f"seed {100 * i + 1}"]
        assert [c.request["seed"] for c in completions] == [100 * i, 100 * i + 1]
    assert "".join(map(chr, prompts[2]["prompt_token_ids"])).startswith("<bos><user>problem 1")


def test_without_vllm_the_error_says_how_to_install() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(ConfigError, match=r"pip install 'evalr\[vllm\]'"):
        VLLMBackend(parse("vllm:org/model"))
