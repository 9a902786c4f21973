"""The grading process pool: lazy, reusable, deadline-bounded, safe to share between threads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

from evalr.gradepool import Verdict, VerifyPool
from evalr.graders import MathGrader
from evalr.types import Grade, Problem

# math-verify needs longer than its own 5 s alarm allows to expand and compare these.
HANG = ("(x+1)^{2000}", "(x+2)^{2000}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A reaped child is gone; an unreaped one would be a zombie: check its state.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_starts_lazily_and_reuses_its_workers() -> None:
    pool = VerifyPool(workers=2)
    try:
        assert pool._pool == []
        assert [v.equal for v in pool.verify([("\\frac12", "0.5"), ("2", "3")])] == [True, False]
        pids = [w.process.pid for w in pool._pool]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        assert pool.verify([("\\sqrt{8}", "2\\sqrt2")])[0].equal
        assert [w.process.pid for w in pool._pool] == pids
    finally:
        pool.close()
    assert not any(_alive(p) for p in pids)
    assert pool.verify([("x+1", "1+x")])[0].equal  # a closed pool starts afresh
    pool.close()


def test_repeated_pairs_are_answered_from_the_cache() -> None:
    pool = VerifyPool(workers=1)
    try:
        pair = ("\\frac{3}{4}", "0.75")
        pool.verify([pair] * 5)
        assert pool.stats["computed"] == 1
        start = time.perf_counter()
        assert all(v.equal for v in pool.verify([pair] * 1000))
        assert pool.stats["computed"] == 1
        assert time.perf_counter() - start < 0.5
    finally:
        pool.close()


def test_a_hung_comparison_is_killed_at_the_deadline() -> None:
    pool = VerifyPool(workers=2, deadline_s=3.0)
    try:
        pool.verify([("\\frac{1}{3}", "1/3"), ("\\sqrt{2}", "2^{1/2}")])  # warm both workers
        before = {w.process.pid for w in pool._pool}
        start = time.monotonic()
        (verdict,) = pool.verify([HANG])
        elapsed = time.monotonic() - start
        # "timeout" is only ever our deadline's note: math-verify's own alarm returns a plain False.
        assert verdict.equal is False and verdict.note == "timeout"
        assert elapsed >= 3.0
        after = {w.process.pid for w in pool._pool}
        killed = before - after
        assert len(killed) == 1 and not any(_alive(p) for p in killed)
        assert pool.stats["timeouts"] == 1
        assert pool.verify([("\\frac12", "0.5"), ("y", "y")]) == [Verdict(True), Verdict(True)]
    finally:
        pool.close()


def test_threads_share_the_pool() -> None:
    pool = VerifyPool(workers=2)
    results: dict[int, list[bool]] = {}

    def grade(n: int) -> None:
        pairs = [(f"\\frac{{{n}}}{{2}}", str(n / 2)), (str(n), str(n + 1))]
        results[n] = [v.equal for v in pool.verify(pairs)]

    try:
        threads = [threading.Thread(target=grade, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert results == {n: [True, False] for n in range(12)}
        assert len(pool._pool) == 2
    finally:
        pool.close()


def test_workers_end_with_the_program() -> None:
    script = (
        "from evalr.gradepool import shared_pool\n"
        "p = shared_pool()\n"
        "assert p.verify([('1/2', '0.5')])[0].equal\n"
        "print(' '.join(str(w.process.pid) for w in p._pool), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def test_a_timed_out_answer_is_graded_wrong_with_a_note() -> None:
    pool = VerifyPool(workers=1, deadline_s=3.0)
    try:
        grader = MathGrader(pool=lambda: pool)
        sample = Problem("q", "", HANG[0])
        (grade,) = asyncio.run(grader.grade(sample, [HANG[1]]))
        assert grade == Grade(False, HANG[1], details={"note": "timeout"})
    finally:
        pool.close()
