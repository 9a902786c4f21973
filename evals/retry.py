"""Retry transient backend failures with capped exponential backoff and full jitter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Backend, Capabilities
from evalr.breaker import Breaker
from evalr.errors import BackendError, TransientBackendError
from evalr.secrets import Scrubber
from evalr.types import Completion, GenerationRequest


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8  # total tries per request, the first included
    base_s: float = 1.0
    max_s: float = 60.0

    def delay(self, failure: int, retry_after: float | None, rng: random.Random) -> float:
        # Full jitter spreads a burst of 429s instead of re-synchronising it.
        backoff = rng.uniform(0, min(self.max_s, self.base_s * 2**failure))
        # A server's Retry-After is a floor, not a suggestion.
        return max(backoff, min(retry_after, self.max_s)) if retry_after else backoff


class RetryingBackend:
    """Wraps any backend: retries TransientBackendError, feeds every try to the circuit breaker
    and scrubs configured secrets from every error message that leaves it."""

    def __init__(
        self,
        inner: Backend,
        policy: RetryPolicy,
        seed: int = 0,
        breaker: Breaker | None = None,
        scrubber: Scrubber | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.retries = 0
        self.breaker = breaker or Breaker()
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self._rng = random.Random(seed)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def start(self, run_dir: Path) -> None:
        await self.inner.start(run_dir)

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        for failure in range(self.policy.attempts):
            self.breaker.check()
            try:
                completions = await self.inner.generate(request)
            except BackendError as exc:
                error = self._scrubbed(exc)
                self.breaker.failure(error)
                self.breaker.check()
                if not isinstance(error, TransientBackendError):
                    raise error from None
                if failure + 1 >= self.policy.attempts:
                    raise TransientBackendError(
                        f"{error} (gave up after {self.policy.attempts} tries)", cause=error.cause
                    ) from None
                self.retries += 1
                await asyncio.sleep(self.policy.delay(failure, error.retry_after, self._rng))
            else:
                self.breaker.success()
                return completions
        raise AssertionError("unreachable")

    def _scrubbed(self, exc: BackendError) -> BackendError:
        text = self.scrubber.scrub(str(exc))
        if text == str(exc):
            return exc
        if isinstance(exc, TransientBackendError):
            return TransientBackendError(text, exc.retry_after, exc.cause, exc.rate_limited)
        return type(exc)(text, exc.cause)

    def describe(self) -> Mapping[str, Any]:
        return self.inner.describe()

    async def aclose(self) -> None:
        await self.inner.aclose()
