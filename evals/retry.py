"""Retry transient backend failures with capped exponential backoff and full jitter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Backend, Capabilities
from evalr.errors import TransientBackendError
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
    """Wraps any backend; only TransientBackendError is retried, everything else surfaces."""

    def __init__(self, inner: Backend, policy: RetryPolicy, seed: int = 0) -> None:
        self.inner = inner
        self.policy = policy
        self.retries = 0
        self._rng = random.Random(seed)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def start(self, run_dir: Path) -> None:
        await self.inner.start(run_dir)

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        for failure in range(self.policy.attempts):
            try:
                return await self.inner.generate(request)
            except TransientBackendError as exc:
                if failure + 1 >= self.policy.attempts:
                    raise TransientBackendError(
                        f"{exc} (gave up after {self.policy.attempts} tries)"
                    ) from None
                self.retries += 1
                await asyncio.sleep(self.policy.delay(failure, exc.retry_after, self._rng))
        raise AssertionError("unreachable")

    def describe(self) -> Mapping[str, Any]:
        return self.inner.describe()

    async def aclose(self) -> None:
        await self.inner.aclose()
