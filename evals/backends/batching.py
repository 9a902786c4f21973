"""Turn many concurrent per-request ``generate`` calls into few large blocking engine calls.

In-process engines (vLLM's ``LLM``, lm-eval model classes) batch best when handed everything at
once, but the Backend seam is one request per call. ``BatchQueue`` collects the calls that
arrive while the engine is busy (plus a short window), runs them as one batch on a single worker
thread, and hands each caller its own results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Value = TypeVar("Value")


class BatchQueue(Generic[Item, Result]):
    def __init__(
        self,
        run_batch: Callable[[list[Item]], Sequence[Result]],
        *,
        window_s: float = 0.05,
        name: str = "batch",
    ) -> None:
        self._run_batch = run_batch
        self.window_s = window_s
        # One thread: engines like vLLM's LLM are not safe to call from two threads at once.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batch_sizes: list[int] = []  # observed, for tests and the manifest

    async def call(self, work: Callable[[], Value]) -> Value:
        """Run one blocking callable on the worker thread (loading weights, say)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            # Let the callers that are about to arrive (the runner's other tasks) join.
            await asyncio.sleep(self.window_s)
            batch, self._pending = self._pending, []
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            self.batch_sizes.append(len(live))
            try:
                results = await loop.run_in_executor(
                    self._pool, self._run_batch, [item for item, _ in live]
                )
            except Exception as exc:  # every caller in the batch sees the engine's error
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            if len(results) != len(live):
                mismatch = RuntimeError(f"engine returned {len(results)} results for {len(live)}")
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(mismatch)
                continue
            for (_, fut), result in zip(live, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def aclose(self) -> None:
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()
        for _, fut in self._pending:
            if not fut.done():
                fut.cancel()
        self._pending = []
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
