"""BatchQueue: concurrent submissions become few blocking batch calls, each caller gets its own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from evalr.backends.batching import BatchQueue


def test_concurrent_submissions_share_a_batch_and_get_their_own_results() -> None:
    calls: list[list[int]] = []
    threads: set[str] = set()

    def square_all(items: list[int]) -> list[int]:
        calls.append(items)
        threads.add(threading.current_thread().name)
        return [i * i for i in items]

    async def go() -> list[int]:
        queue: BatchQueue[int, int] = BatchQueue(square_all, window_s=0.02)
        try:
            return await asyncio.gather(*(queue.submit(i) for i in range(20)))
        finally:
            await queue.aclose()

    assert asyncio.run(go()) == [i * i for i in range(20)]
    assert calls == [list(range(20))]
    assert len(threads) == 1 and threads != {threading.main_thread().name}


def test_work_arriving_during_a_batch_forms_the_next_one() -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[list[str]] = []

    def slow(items: list[str]) -> list[str]:
        calls.append(items)
        started.set()
        release.wait(5)
        return [s.upper() for s in items]

    async def go() -> list[str]:
        queue: BatchQueue[str, str] = BatchQueue(slow, window_s=0.01)
        first = asyncio.create_task(queue.submit("a"))
        await asyncio.to_thread(started.wait, 5)
        later = [asyncio.create_task(queue.submit(s)) for s in "bcd"]
        await asyncio.sleep(0.05)
        release.set()
        try:
            return [await first, *[await t for t in later]]
        finally:
            await queue.aclose()

    assert asyncio.run(go()) == ["A", "B", "C", "D"]
    assert calls == [["a"], ["b", "c", "d"]]


def test_an_engine_error_reaches_every_caller_in_the_batch() -> None:
    def broken(items: list[int]) -> list[int]:
        raise RuntimeError("CUDA out of memory")

    async def go() -> list[object]:
        queue: BatchQueue[int, int] = BatchQueue(broken, window_s=0.01)
        try:
            return await asyncio.gather(
                *(queue.submit(i) for i in range(3)), return_exceptions=True
            )
        finally:
            await queue.aclose()

    results = asyncio.run(go())
    assert len(results) == 3 and all(isinstance(r, RuntimeError) for r in results)


def test_a_cancelled_caller_is_left_out_of_the_batch() -> None:
    calls: list[list[int]] = []

    def record(items: list[int]) -> list[int]:
        calls.append(items)
        return items

    async def go() -> int:
        queue: BatchQueue[int, int] = BatchQueue(record, window_s=0.05)
        gone = asyncio.create_task(queue.submit(1))
        kept = asyncio.create_task(queue.submit(2))
        await asyncio.sleep(0)
        gone.cancel()
        try:
            with pytest.raises(asyncio.CancelledError):
                await gone
            return await kept
        finally:
            await queue.aclose()

    assert asyncio.run(go()) == 2
    assert calls == [[2]]
