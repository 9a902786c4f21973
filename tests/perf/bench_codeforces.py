"""Codeforces judging throughput on the 165-problem set, and the compile cost of C++.

No reference solutions ship with the offline set, so every problem is judged with the same
stand-in program, in C++ and in Python: it reads the whole input and prints a checksum of its
bytes. It does a test's I/O without its algorithm, so the numbers are the harness's cost per
test (start a process, feed the input, collect the output, clean up). Every test runs (no
fail-fast), under each problem's own limits.

Modes, ``--workers`` at a time (default: CPU count):

- warm pool: evalr's DockerSandbox, one exec per submission, C++ compiled once per submission;
- container per test: the same hardened containers, but each test is a submission of its own
  on a container that is then replaced (``recycle_after=1``), and C++ is compiled again for
  every test, as a harness that sends each test to a fresh sandbox does; a spread sample of
  ``--container-tests`` tests;
- local: the bubblewrap sandbox, one fresh namespace set per submission.

Compile cost: the median time of a C++ submission with no tests minus that of a Python one,
for a program including <bits/stdc++.h> and for one including only <cstdio>.

    python tests/perf/bench_codeforces.py [--workers N] [--container-tests 60] [--repeat 5]

Needs the offline data (``EVALR_DATA_DIR`` or ../shared/data) and a Docker engine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from evalr.sandbox import Limits, Program, Sandbox
from evalr.sandboxes.docker import DockerSandbox
from evalr.sandboxes.local import LocalSandbox
from evalr.tasks.codeforces import codeforces
from evalr.tasks.codeforces.grading import POOL_LIMITS, limits_for

REPO = Path(__file__).resolve().parents[2]
CPP = r"""
#include <cstdio>
int main() {
    unsigned long long sum = 0, count = 0;
    int c;
    while ((c = getchar()) != EOF) { sum = sum * 131 + (unsigned)c; count++; }
    printf("%llu %llu\n", count, sum);
}
"""
PYTHON = """
import sys
data = sys.stdin.buffer.read()
total = 0
for byte in data[:200000]:
    total = (total * 131 + byte) & 0xFFFFFFFFFFFFFFFF
print(len(data), total)
"""
BITS = '#include <bits/stdc++.h>\nint main() { std::vector<int> v{3, 1, 2}; std::sort(v.begin(), v.end()); printf("%d\\n", v[0]); }\n'  # noqa: E501
PLAIN = '#include <cstdio>\nint main() { printf("1\\n"); }\n'
Job = tuple[Program, list[str], Limits]


def _jobs(language: str) -> list[Job]:
    os.environ.setdefault("EVALR_DATA_DIR", str((REPO / "../shared/data").resolve()))
    source = CPP if language == "cpp" else PYTHON
    samples = codeforces(problems="codecontests").load(0).problems
    return [
        (Program(language, source), list(s.metadata["tests"]["inputs"]), limits_for(s, 1.0))  # type: ignore[arg-type]
        for s in samples
    ]


def _run_all(box: Sandbox, jobs: Sequence[Job]) -> tuple[int, float, int]:
    async def one(job: Job) -> tuple[int, int]:
        program, inputs, limits = job
        execution = await box.run(program, inputs, limits, stop_on_failure=False)
        return len(execution.runs), sum(r.status != "ok" for r in execution.runs)

    async def every() -> list[tuple[int, int]]:
        return await asyncio.gather(*(one(job) for job in jobs))

    start = time.perf_counter()
    results = asyncio.run(every())
    return sum(r for r, _ in results), time.perf_counter() - start, sum(f for _, f in results)


def warm_pool(jobs: Sequence[Job], workers: int) -> tuple[int, float, int]:
    box = DockerSandbox(pool_size=workers, limits=POOL_LIMITS)
    box.start()  # pool creation is not timed
    try:
        return _run_all(box, jobs)
    finally:
        asyncio.run(box.aclose())


def container_per_test(jobs: Sequence[Job], workers: int, tests: int) -> tuple[int, float, int]:
    every = [(program, [data], limits) for program, inputs, limits in jobs for data in inputs]
    stride = max(1, len(every) // tests)
    box = DockerSandbox(pool_size=workers, recycle_after=1, limits=POOL_LIMITS)
    box.start()
    try:
        return _run_all(box, every[::stride][:tests])
    finally:
        asyncio.run(box.aclose())


def local(jobs: Sequence[Job], workers: int) -> tuple[int, float, int]:
    box = LocalSandbox(workers=workers)
    asyncio.run(box.run(Program("python", "print(1)"), ["\n"], Limits()))  # build the root first
    try:
        return _run_all(box, jobs)
    finally:
        asyncio.run(box.aclose())


def compile_cost(repeat: int) -> dict[str, float]:
    box = DockerSandbox(pool_size=1, limits=POOL_LIMITS)
    box.start()
    limits = Limits(cpu_s=2.0)

    def median(program: Program) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            execution = asyncio.run(box.run(program, [], limits))
            assert execution.compile_error is None, execution.compile_error
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    try:
        base = median(Program("python", "print(1)"))
        return {
            "python (no compile)": base,
            "c++ <bits/stdc++.h>": median(Program("cpp", BITS)) - base,
            "c++ <cstdio>": median(Program("cpp", PLAIN)) - base,
        }
    finally:
        asyncio.run(box.aclose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--container-tests", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    print(f"{args.workers} workers, {os.cpu_count()} CPUs")
    for language in ("cpp", "python"):
        jobs = _jobs(language)
        total = sum(len(inputs) for _, inputs, _ in jobs)
        print(f"\n{language}: {len(jobs)} submissions, {total} tests")
        modes = [("warm pool (docker)", lambda j=jobs: warm_pool(j, args.workers))]
        if not args.skip_local:
            modes.append(("local (bubblewrap)", lambda j=jobs: local(j, args.workers)))
        modes.append(
            (
                "container per test (docker)",
                lambda j=jobs: container_per_test(j, args.workers, args.container_tests),
            )
        )
        for name, mode in modes:
            done, seconds, failed = mode()
            note = f" ({failed} not ok)" if failed else ""
            rate = done / seconds
            print(f"  {name:30s} {done:5d} tests in {seconds:7.2f} s = {rate:7.1f} tests/s{note}")
    print(f"\ncompile cost per C++ submission (median of {args.repeat}, one container, 1 CPU):")
    for name, seconds in compile_cost(args.repeat).items():
        print(f"  {name:30s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
