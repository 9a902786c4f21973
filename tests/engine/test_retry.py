"""Backoff policy and the retrying wrapper."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from evalr.errors import FatalBackendError, TransientBackendError
from evalr.retry import RetryingBackend, RetryPolicy
from evalr.types import Completion, GenerationRequest, Message, Sampling

from .doubles import ScriptedBackend


class Ceiling(random.Random):
    """Always draws the top of the jitter range, exposing the backoff bound itself."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_grows_exponentially_and_caps() -> None:
    policy = RetryPolicy(attempts=10, base_s=0.5, max_s=10.0)
    bounds = [policy.delay(f, None, Ceiling()) for f in range(8)]
    assert bounds == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_backoff_is_jittered_within_the_bound() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=60.0)
    rng = random.Random(1)
    draws = [policy.delay(3, None, rng) for _ in range(200)]
    assert all(0 <= d <= 8.0 for d in draws)
    assert len(set(draws)) == 200  # jitter: a burst of 429s does not retry in lockstep
    assert max(draws) > 6 and min(draws) < 2


def test_retry_after_is_a_floor_capped_at_max() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=30.0)
    rng = random.Random(0)
    assert all(policy.delay(0, 5.0, rng) >= 5.0 for _ in range(50))
    assert policy.delay(0, 5.0, Ceiling()) == 5.0
    assert policy.delay(6, 5.0, Ceiling()) == 30.0  # our own backoff is longer: it wins
    assert policy.delay(0, 3600.0, rng) == 30.0  # a silly Retry-After cannot stall the run


def _request(n: int = 1) -> GenerationRequest:
    return GenerationRequest((Message("user", "q"),), Sampling(), tuple(range(n)))


class Failing(ScriptedBackend):
    def __init__(self, errors: list[Exception]) -> None:
        super().__init__()
        self.errors = errors

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return [Completion(text="ok")] * request.n


def test_retries_transient_then_succeeds() -> None:
    inner = Failing([TransientBackendError("429"), TransientBackendError("503")])
    backend = RetryingBackend(inner, RetryPolicy(attempts=3, base_s=0.0))
    got = asyncio.run(backend.generate(_request(2)))
    assert [c.text for c in got] == ["ok", "ok"]
    assert len(inner.requests) == 3 and backend.retries == 2


def test_gives_up_after_attempts() -> None:
    inner = Failing([TransientBackendError(f"boom {i}") for i in range(10)])
    backend = RetryingBackend(inner, RetryPolicy(attempts=4, base_s=0.0))
    with pytest.raises(TransientBackendError, match="gave up after 4 tries"):
        asyncio.run(backend.generate(_request()))
    assert len(inner.requests) == 4 and backend.retries == 3


def test_fatal_errors_are_not_retried() -> None:
    inner = Failing([FatalBackendError("HTTP 400")])
    backend = RetryingBackend(inner, RetryPolicy(attempts=5, base_s=0.0))
    with pytest.raises(FatalBackendError, match="400"):
        asyncio.run(backend.generate(_request()))
    assert len(inner.requests) == 1 and backend.retries == 0


def test_waits_at_least_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("evalr.retry.asyncio.sleep", fake_sleep)
    inner = Failing([TransientBackendError("429", retry_after=7.0)])
    backend = RetryingBackend(inner, RetryPolicy(attempts=2, base_s=0.01, max_s=60))
    asyncio.run(backend.generate(_request()))
    assert slept == [7.0]


def test_wrapper_delegates_lifecycle(tmp_path: Path) -> None:
    inner = ScriptedBackend(native_n=True)
    backend = RetryingBackend(inner, RetryPolicy())
    asyncio.run(backend.start(tmp_path))
    asyncio.run(backend.aclose())
    assert inner.started == [tmp_path] and inner.closed == 1
    assert backend.capabilities.native_n is True
    assert backend.describe() == inner.describe()
