"""The backend seam: one async method. Retry and concurrency are wrappers, not backend code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from evalr.types import Completion, GenerationRequest


@dataclass(frozen=True)
class Capabilities:
    # True: one request returns n choices; False: the runner fans out one request per attempt.
    native_n: bool = False
    seeds: bool = True
    # Most requests the engine serves at once (None: no known limit).
    max_concurrency: int | None = None
    # Sampling parameters the endpoint is known to ignore (recorded in the manifest).
    ignores: tuple[str, ...] = ()
    # The engine batches whatever is in flight (in-process vLLM): the runner then puts the
    # whole task in flight instead of --concurrency requests.
    batching: bool = False


@runtime_checkable
class Backend(Protocol):
    """Any engine that turns a chat prompt into completions.

    The ``evalr.backends`` entry point names a callable taking a ``ModelSpec``
    (``evalr.specs``) and returning a Backend; construction must be cheap, heavy work goes in
    ``start``. The runner calls ``start`` once, then ``generate`` concurrently, then ``aclose``.
    """

    @property
    def capabilities(self) -> Capabilities: ...

    async def start(self, run_dir: Path) -> None:
        """Acquire what the backend needs (load weights, launch a server); logs go in run_dir."""
        ...

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        """Return exactly ``request.n`` completions, or raise a BackendError."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """Engine and endpoint facts for the manifest; never credentials."""
        ...

    async def aclose(self) -> None: ...
