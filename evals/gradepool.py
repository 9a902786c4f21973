"""A small pool of grading processes with a hard wall-clock deadline per comparison.

math-verify times out with SIGALRM, which only works in a process's main thread, and an alarm
only lands between Python bytecodes, so a comparison stuck inside a C routine can outlive it.
Each worker here is a process of its own, fed one pair at a time over a pipe; a worker past its
deadline is killed and replaced, and its pair is graded false with a note. The pool starts on
first use, is reused by every later call, and is shut down at interpreter exit.

Verdicts are cached in the parent by (gold, answer) string, and each worker caches its parsed
golds, so the k samples of a problem, which repeat a handful of answers, cost a few parses.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import IO, Any

from evalr.mathgrade import verify_strings

Pair = tuple[str, str]


@dataclass(frozen=True)
class Verdict:
    equal: bool
    note: str | None = None  # "timeout" or "error: ..." when math-verify could not decide


def _serve(stdin: IO[str], stdout: IO[str]) -> None:
    """Worker loop: answer ``[index, gold, answer]`` JSON lines until stdin closes."""
    import logging

    logging.disable(logging.WARNING)  # math-verify logs every unparsable answer
    for line in stdin:
        index, gold, answer = json.loads(line)
        try:
            result: bool | str = bool(verify_strings(gold, answer))
        except Exception as exc:  # a malformed answer is a wrong answer, not a crash
            result = f"error: {type(exc).__name__}"
        stdout.write(json.dumps([index, result]) + "\n")
        stdout.flush()


class _Worker:
    """One grading process. A plain subprocess (not multiprocessing) so that the caller's
    ``__main__`` is never re-imported in the child."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evalr.gradepool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.job: int | None = None
        self.started = 0.0

    def send(self, index: int, pair: Pair) -> None:
        self.stdin.write(json.dumps([index, *pair]) + "\n")
        self.stdin.flush()
        self.job, self.started = index, time.monotonic()

    def receive(self) -> tuple[int, bool | str]:
        line = self.stdout.readline()
        if not line:
            raise EOFError("grading worker exited")
        index, result = json.loads(line)
        return index, result

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()  # the worker's loop ends at EOF
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(OSError):
            self.stdout.close()


class VerifyPool:
    """Grade (gold, answer) pairs on ``workers`` processes; thread-safe and reusable.

    Concurrent callers share the workers: each caller queues its uncached pairs, and whichever
    caller holds the dispatch lock feeds the workers from the common queue until it is empty,
    so two graders with one slow pair each still keep two processes busy.
    """

    def __init__(
        self,
        workers: int | None = None,
        deadline_s: float = 20.0,
        cache_size: int = 200_000,
    ) -> None:
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self.deadline_s = deadline_s
        self._pool: list[_Worker] = []
        self._state = threading.Lock()  # guards cache, queue, in-flight futures, stats
        self._dispatch = threading.Lock()  # held by the one thread talking to the workers
        self._cache: OrderedDict[Pair, Verdict] = OrderedDict()
        self._cache_size = cache_size
        self._queue: deque[Pair] = deque()
        self._inflight: dict[Pair, Future[Verdict]] = {}
        self._registered = False
        self.stats = {"pairs": 0, "cached": 0, "computed": 0, "timeouts": 0}

    def close(self) -> None:
        """Stop every worker (idempotent; a later call starts a fresh pool)."""
        with self._dispatch:
            for worker in self._pool:
                worker.stop()
            self._pool = []

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        """One verdict per pair, in order; cached pairs cost nothing."""
        mine: dict[Pair, Future[Verdict]] = {}
        known: dict[Pair, Verdict] = {}
        with self._state:
            self.stats["pairs"] += len(pairs)
            for pair in dict.fromkeys(pairs):
                if pair in self._cache:
                    known[pair] = self._cache[pair]
                    self._cache.move_to_end(pair)
                elif pair in self._inflight:
                    mine[pair] = self._inflight[pair]
                else:
                    mine[pair] = self._inflight[pair] = Future()
                    self._queue.append(pair)
            self.stats["cached"] += sum(1 for p in pairs if p in known)
        while not all(f.done() for f in mine.values()):
            if self._dispatch.acquire(blocking=False):
                try:
                    self._drain()
                except BaseException as exc:  # no worker could start: fail every waiter
                    self._abandon(exc)
                    raise
                finally:
                    self._dispatch.release()
            else:
                # Wake when all of ours are done, or soon, to take over if the leader left.
                futures_wait(list(mine.values()), timeout=0.05)
        known.update((pair, future.result()) for pair, future in mine.items())
        return [known[p] for p in pairs]

    def _finish(self, pair: Pair, verdict: Verdict) -> None:
        with self._state:
            self._cache[pair] = verdict
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            future = self._inflight.pop(pair)
            self.stats["computed"] += 1
            self.stats["timeouts"] += verdict.note == "timeout"
        future.set_result(verdict)

    def _abandon(self, exc: BaseException) -> None:
        with self._state:
            futures = list(self._inflight.values())
            self._inflight.clear()
            self._queue.clear()
        for future in futures:
            if not future.done():
                future.set_exception(exc)

    def _next(self) -> Pair | None:
        with self._state:
            return self._queue.popleft() if self._queue else None

    def _drain(self) -> None:
        """Feed the workers until the shared queue is empty and every job has come back."""
        if not self._pool:
            self._pool = [_Worker() for _ in range(self.workers)]
            if not self._registered:
                atexit.register(self.close)
                self._registered = True
        jobs: dict[int, Pair] = {}
        counter = 0
        while True:
            for slot, worker in enumerate(self._pool):
                if worker.job is not None:
                    continue
                pair = self._next()
                if pair is None:
                    break
                counter += 1
                try:
                    worker.send(counter, pair)
                except OSError:  # the worker is gone: replace it and try the pair again
                    self._replace(slot)
                    self._pool[slot].send(counter, pair)
                jobs[counter] = pair
            busy = [w for w in self._pool if w.job is not None]
            if not busy:
                return
            soonest = min(w.started for w in busy) + self.deadline_s
            pipes: list[Any] = [w.stdout for w in busy]
            ready = wait(pipes, timeout=max(0.0, soonest - time.monotonic()))
            for slot, worker in enumerate(self._pool):
                if worker.job is None:
                    continue
                job = worker.job
                if worker.stdout in ready:
                    try:
                        _, result = worker.receive()
                    except (EOFError, OSError, ValueError):  # died mid-comparison
                        self._replace(slot)
                        self._finish(jobs.pop(job), Verdict(False, "error: worker died"))
                        continue
                    worker.job = None
                    verdict = (
                        Verdict(result) if isinstance(result, bool) else Verdict(False, str(result))
                    )
                    self._finish(jobs.pop(job), verdict)
                elif time.monotonic() - worker.started >= self.deadline_s:
                    self._replace(slot)
                    self._finish(jobs.pop(job), Verdict(False, "timeout"))

    def _replace(self, slot: int) -> None:
        self._pool[slot].kill()
        self._pool[slot] = _Worker()


_shared: VerifyPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> VerifyPool:
    """The process-wide pool every math grader uses (created on first call)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = VerifyPool()
        return _shared


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
