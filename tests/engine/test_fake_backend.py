"""The fake backend: deterministic answers, injected failures, strict options."""

from __future__ import annotations

import asyncio

import pytest
from evalr.backends.fake import FakeBackend
from evalr.errors import ConfigError, TransientBackendError
from evalr.specs import parse
from evalr.types import GenerationRequest, Message, Sampling


def request(seeds: tuple[int, ...], prompt: str = "q") -> GenerationRequest:
    return GenerationRequest((Message("user", prompt),), Sampling(), seeds)


def test_constant_and_seeded_modes() -> None:
    constant = FakeBackend(parse("fake:constant?answer=7"))
    got = asyncio.run(constant.generate(request((1, 2, 3))))
    assert [c.text for c in got] == ["The answer is $\\boxed{7}$."] * 3
    assert [c.request["seed"] for c in got] == [1, 2, 3]
    seeded = FakeBackend(parse("fake:seeded"))
    first = [c.text for c in asyncio.run(seeded.generate(request(tuple(range(20)))))]
    again = [c.text for c in asyncio.run(seeded.generate(request(tuple(range(20)))))]
    assert first == again and len(set(first)) > 10
    assert seeded.calls == 2


def test_fail_rate_is_deterministic() -> None:
    backend = FakeBackend(parse("fake:constant?fail_rate=1"))
    with pytest.raises(TransientBackendError):
        asyncio.run(backend.generate(request((1,))))
    half = FakeBackend(parse("fake:constant?fail_rate=0.5"))
    outcomes = []
    for seed in range(200):
        try:
            asyncio.run(half.generate(request((seed,))))
            outcomes.append(True)
        except TransientBackendError:
            outcomes.append(False)
    assert 60 < sum(outcomes) < 140


@pytest.mark.parametrize(
    "text", ["fake:constnat", "fake:constant?fail_rate=often", "fake:constant?answr=42"]
)
def test_bad_options(text: str) -> None:
    with pytest.raises(ConfigError):
        FakeBackend(parse(text))
