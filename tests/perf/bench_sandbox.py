"""Test cases per second on the R1 LiveCodeBench window with o1-mini's published solutions.

Three ways to run the same programs with the same LCB harness, ``--workers`` at a time (default:
CPU count). The warm pool grades first, fail-fast as LCB does; the other two then run exactly
the test cases the pool ran (container-per-test: a spread sample of them), so every mode does
the same work:

- warm Docker pool: evalr's DockerSandbox, one exec per submission;
- bare subprocess per test: one host ``python3`` per test running the same harness code, with
  no isolation at all (the floor);
- fresh container per test: a new hardened container for every single test.

    python tests/perf/bench_sandbox.py            # 80 problems; 40 tests (spread) per container
    python tests/perf/bench_sandbox.py --full     # all 279 problems in every mode
    python tests/perf/bench_sandbox.py --copies 8 # each problem's tests 8 times (hidden-set size)

Needs the offline data (``EVALR_DATA_DIR`` or ../shared/data) and a Docker engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evalr.sandbox import Program
from evalr.sandboxes.docker import DockerSandbox, _Frames
from evalr.sandboxes.grading import LCB_LIMITS, extract_code
from evalr.sandboxes.judge import call_equal, stdin_equal, stop_when_failed
from evalr.sandboxes.wire import COMMAND, PYTHON, RUNNER, encode_request
from evalr.tasks.livecodebench import livecodebench

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = "generations/lcb_submissions_o1-mini-2024-09-12_n1_codegeneration_eval_all.json.gz"
# One test, no sandbox: the runner's own harness functions, result on fd 3 (as in the sandbox).
BARE = """
import os, sys
sys.path.insert(0, {folder!r})
import runner
req = {{"source": open(sys.argv[1]).read(), "harness": sys.argv[2], "fn_name": sys.argv[3] or None}}
code, error = runner._prepare(req)
data = sys.stdin.read()
os.dup2(1, 3)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
runner._lcb_guard()
if req["harness"] == "lcb_stdin":
    runner._run_lcb_stdin(code, data)
else:
    runner._run_lcb_call(code, data, req["source"], req["fn_name"])
"""


def _jobs(limit: int | None, copies: int) -> list[tuple[Program, list[str], list[str]]]:
    os.environ.setdefault("EVALR_DATA_DIR", str((REPO / "../shared/data").resolve()))
    root = Path(os.environ["EVALR_DATA_DIR"])
    with gzip.open(root / SUBMISSIONS, "rt") as fh:
        subs = {row["question_id"]: row for row in json.load(fh)}
    jobs = []
    for sample in livecodebench().load(0).problems[:limit]:
        code = extract_code(subs[sample.id]["output_list"][0])
        if not code.strip():
            continue
        fn = sample.metadata["fn_name"]
        program = Program("python", code, "lcb_call" if fn else "lcb_stdin", fn)
        tests = sample.metadata["tests"]
        jobs.append((program, list(tests["inputs"]) * copies, list(tests["outputs"]) * copies))
    return jobs


def warm_pool(jobs, workers: int):
    """Grade every submission as evalr does; also return the test cases that actually ran and
    each one's own wall time inside the sandbox (the program's share of the work)."""
    box = DockerSandbox(pool_size=workers, limits=LCB_LIMITS)
    box.start()  # pool creation is not timed

    async def one(program: Program, inputs: list[str], outputs: list[str]):
        compare = call_equal if program.fn_name else stdin_equal
        stop = stop_when_failed(outputs, compare)
        execution = await box.run(program, inputs, LCB_LIMITS, should_stop=stop)
        return program, inputs[: len(execution.runs)], [r.wall_s for r in execution.runs]

    async def all_jobs():
        return await asyncio.gather(*(one(*job) for job in jobs))

    try:
        start = time.perf_counter()
        results = asyncio.run(all_jobs())
        seconds = time.perf_counter() - start
        ran = [(program, tests) for program, tests, _ in results]
        walls = [w for _, _, times in results for w in times]
        return len(walls), seconds, ran, walls
    finally:
        asyncio.run(box.aclose())


def bare_subprocess(jobs, workers: int) -> tuple[int, float]:
    folder = tempfile.mkdtemp(prefix="evalr-bench-")
    driver = Path(folder) / "driver.py"
    driver.write_text(BARE.format(folder=str(RUNNER.parent)))
    tasks = []
    for n, (program, tests) in enumerate(jobs):
        source = Path(folder) / f"s{n}.py"
        source.write_text(program.source)
        tasks += [(source, program, data) for data in tests]

    def one(item) -> bool:
        source, program, data = item
        cmd = [PYTHON, "-I", "-B", str(driver), str(source), program.harness, program.fn_name or ""]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(cmd, input=data.encode(), capture_output=True, timeout=12)
        return True

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        done = sum(pool.map(one, tasks))
    return done, time.perf_counter() - start


def container_per_test(jobs, workers: int, max_tests: int | None) -> tuple[int, float]:
    box = DockerSandbox(pool_size=1, limits=LCB_LIMITS)
    box.start()  # image and client; its single pool container is not used
    client = box._client
    every = [(p, data) for p, tests in jobs for data in tests]
    stride = max(1, len(every) // max_tests) if max_tests else 1
    tasks = every[::stride][:max_tests]  # spread over all problems, not just the first ones

    def one(item) -> bool:
        program, data = item
        memory = f"{LCB_LIMITS.memory_mb + LCB_LIMITS.disk_mb + 512}m"
        host = client.api.create_host_config(
            network_mode="none", read_only=True, ipc_mode="none", init=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={LCB_LIMITS.disk_mb + 64}m,mode=1777"},
            pids_limit=LCB_LIMITS.processes + 32, mem_limit=memory, memswap_limit=memory,
            nano_cpus=10**9, cap_drop=["ALL"], security_opt=["no-new-privileges"],
            log_config={"Type": "none"},
        )  # fmt: skip
        cid = client.api.create_container(
            box._tag, list(COMMAND), user="62100:62100", stdin_open=True, host_config=host
        )["Id"]
        try:
            sock = client.api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stream": 1})
            raw = getattr(sock, "_sock", sock)
            client.api.start(cid)
            raw.sendall(encode_request(program, [data], LCB_LIMITS, False))
            frames = _Frames(raw)
            buffer = b""
            while b'"done"' not in buffer:
                chunk = frames.read(30)
                if not chunk:
                    break
                buffer += chunk
            raw.close()
        finally:
            client.api.remove_container(cid, force=True)
        return True

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            done = sum(pool.map(one, tasks))
        return done, time.perf_counter() - start
    finally:
        asyncio.run(box.aclose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all 279 problems in every mode")
    parser.add_argument("--problems", type=int, default=80)
    parser.add_argument("--container-tests", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="repeat each problem's public tests N times, to mimic the hidden set's size "
        "(LCB problems carry tens of hidden tests; offline only the public ones exist)",
    )
    args = parser.parse_args()
    jobs = _jobs(None if args.full else args.problems, args.copies)
    total = sum(len(t) for _, t, _ in jobs)
    print(f"{len(jobs)} submissions, {total} test cases, {args.workers} workers")
    rates = {}

    def report(name: str, done: int, seconds: float) -> None:
        rates[name] = done / seconds
        print(f"{name:28s} {done:5d} tests in {seconds:7.2f} s = {rates[name]:7.1f} tests/s")

    done, seconds, ran, walls = warm_pool(jobs, args.workers)
    own = sum(walls) / len(walls)  # mean time a test's program itself ran
    overhead = {}

    def measured(name: str, done: int, seconds: float) -> None:
        report(name, done, seconds)
        overhead[name] = seconds * args.workers / done - own

    measured("warm docker pool", done, seconds)
    measured("bare subprocess per test", *bare_subprocess(ran, args.workers))
    sample = None if args.full else args.container_tests
    measured("fresh container per test", *container_per_test(ran, args.workers, sample))
    print(f"mean program run time per test: {own * 1000:.0f} ms; cost beyond it per test:")
    for name, cost in overhead.items():
        print(f"  {name:28s} {cost * 1000:7.0f} ms")
    pool, bare, fresh = rates.values()
    print(f"warm pool vs bare subprocess: {bare / pool:.2f}x slower (target <= 1.5x)")
    print(f"warm pool vs container per test: {pool / fresh:.1f}x faster (target >= 10x)")
    ratio = overhead["fresh container per test"] / max(overhead["warm docker pool"], 1e-3)
    print(f"per-test overhead, container per test / warm pool: {ratio:.1f}x")


if __name__ == "__main__":
    main()
