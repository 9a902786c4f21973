"""The Ray executor's cost on this machine, and what it means for a cluster.

Starts a local Ray (loopback, usage reporting off) and measures, through the executor's own
``GradingWorker`` actors (evalr.executors.ray_workers):

1. grading throughput: MATH-500 problems x 16 responses each (a few distinct answers per
   problem, as a run has), graded and classed in-process (``Grading``) and by 1, 2 and 4 Ray
   grading workers;
2. sandbox throughput: LiveCodeBench problems with o1-mini's published solutions, judged in
   the Docker warm pool in-process and by 1, 2 and 4 Ray grading workers (a pool each);
3. the per-call overhead of Ray (an actor call carrying a problem's 16 completions that does
   nothing), and the driver's ceiling: records streamed back from a worker and stored once
   (ledger + ``RunStore.append_many``) per second.

It then prints an estimate for 4-node and 32-node clusters from those numbers.

    python tests/perf/bench_ray.py                 # EVALR_DATA_DIR or ../shared/data
    python tests/perf/bench_ray.py --problems 100 --lcb 24
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import os
import random
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("EVALR_DATA_DIR", str((REPO / "../shared/data").resolve()))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
SUBMISSIONS = "generations/lcb_submissions_o1-mini-2024-09-12_n1_codegeneration_eval_all.json.gz"
K = 16
WORKERS = (1, 2, 4)


def _math_work(problems: int) -> tuple[Any, list[tuple[Any, list[Any]]]]:
    from evalr.types import Completion

    plan = _plan("math500", problems)
    (planned,) = plan.tasks
    rng = random.Random(0)
    golds = [s.target for s in planned.problems]
    work = []
    for sample in planned.problems:
        answers = [sample.target, f"{sample.target} ", rng.choice(golds), f"{sample.target}+1"]
        picks = rng.choices(answers, weights=[0.55, 0.15, 0.15, 0.15], k=K)
        texts = [
            f"<think>\nstep {i}\n</think>\n\nSo $\\boxed{{{a}}}$." for i, a in enumerate(picks)
        ]
        work.append((sample, [Completion(t) for t in texts]))
    return plan, work


def _code_work(problems: int) -> tuple[Any, list[tuple[Any, list[Any]]]]:
    from evalr.types import Completion

    plan = _plan("livecodebench", problems)
    (planned,) = plan.tasks
    root = Path(os.environ["EVALR_DATA_DIR"])
    with gzip.open(root / SUBMISSIONS, "rt") as fh:
        subs = {row["question_id"]: row for row in json.load(fh)}
    work = [
        (s, [Completion(subs[s.id]["output_list"][0])]) for s in planned.problems if s.id in subs
    ]
    return plan, work


def _plan(task: str, limit: int) -> Any:
    from evalr import specs
    from evalr.plan import RunConfig, make_plan

    config = RunConfig(model=specs.resolve("fake:seeded"), tasks=(task,), limit=limit)
    return make_plan(config)


def _payload(plan: Any) -> bytes:
    from evalr import specs
    from evalr.executors.ray_cluster import payload
    from evalr.plan import RunConfig

    name = plan.tasks[0].task.name
    config = RunConfig(model=specs.resolve("fake:seeded"), tasks=(name,))
    return payload(config, plan)


async def _in_process(plan: Any, work: Sequence[tuple[Any, list[Any]]]) -> float:
    from evalr.grading import Grading

    task = plan.tasks[0].task
    grading = Grading()
    await grading.grade(task, work[0][0], work[0][1][:1])  # warm: pools started, as in a run
    start = time.perf_counter()
    await asyncio.gather(*(grading.grade(task, s, c) for s, c in work))
    return time.perf_counter() - start


async def _on_ray(
    plan: Any, blob: bytes, work: Sequence[tuple[Any, list[Any]]], workers: int
) -> float:
    import ray
    from evalr.executors.ray_workers import GradingWorker

    ref = ray.put(blob)
    actors = [ray.remote(GradingWorker).options(num_cpus=0).remote(ref) for _ in range(workers)]
    name = plan.tasks[0].task.name
    # Warm each worker (imports, pools) before timing, as a run's first calls would.
    s0, c0 = work[0]
    await asyncio.gather(*(a.grade.remote(name, s0.id, c0[:1], []) for a in actors))
    start = time.perf_counter()
    await asyncio.gather(
        *(
            actors[zlib.crc32(s.id.encode()) % workers].grade.remote(name, s.id, c, [])
            for s, c in work
        )
    )
    elapsed = time.perf_counter() - start
    for actor in actors:
        ray.kill(actor)
    return elapsed


class Echo:
    """Does nothing with what it is sent: the cost of the call itself."""

    def grade(self, task: str, sample_id: str, completions: Any, reps: Any) -> list[Any]:
        return []

    async def stream(self, batches: int, per_message: int, record: Any) -> Any:
        for _ in range(batches):
            yield ("records", [record] * per_message)


async def _overhead(work: Sequence[tuple[Any, list[Any]]]) -> float:
    import ray

    actor: Any = ray.remote(Echo).options(num_cpus=0).remote()
    await actor.grade.remote("t", "w", [], [])
    start = time.perf_counter()
    for s, c in work:  # one at a time: the latency a shard's grading call adds
        await actor.grade.remote("math500", s.id, c, [])
    return (time.perf_counter() - start) / len(work)


async def _driver_ceiling(records: int, per_message: int) -> float:
    """Records/s the driver takes in: streamed from a worker, deduplicated, appended."""
    import ray
    from evalr.executors.shards import Ledger
    from evalr.store import RunStore, SampleRecord
    from evalr.types import Completion, Grade, Usage

    text = "x" * 2000  # a short answer; reasoning is stored beside it
    record = SampleRecord(
        "math500",
        "p",
        0,
        1,
        "ok",
        completion=Completion(text, "r" * 6000, usage=Usage(100, 2000, 1500)),
        grade=Grade(True, "42", answer_class="42"),
    )
    actor: Any = ray.remote(Echo).options(num_cpus=0).remote()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        ledger = Ledger({})
        start = time.perf_counter()
        attempt = 0
        stream = actor.stream.options(num_returns="streaming")
        async for ref in stream.remote(records // per_message, per_message, record):
            _, batch = await ref
            renumbered = []
            for r in batch:
                renumbered.append(SampleRecord(**{**r.__dict__, "attempt": attempt}))
                attempt += 1
            store.append_many(ledger.accept(renumbered))
        elapsed = time.perf_counter() - start
        store.close()
    return records / elapsed


def _line(label: str, items: int, unit: str, seconds: float, base: float | None) -> str:
    rate = items / seconds
    extra = f"  ({rate / (items / base):.2f}x in-process)" if base else ""
    return f"  {label:<22} {rate:9.1f} {unit}/s  {seconds:7.2f} s{extra}"


async def _main(args: argparse.Namespace) -> None:
    import ray

    logging.disable(logging.WARNING)
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    print(f"machine: {os.cpu_count()} cores; ray {ray.__version__}, local, loopback")

    plan, work = _math_work(args.problems)
    blob = _payload(plan)  # before this process grades (a grader's open pool stays here)
    n = sum(len(c) for _, c in work)
    print(f"\ngrading: {len(work)} MATH-500 problems x {K} responses = {n} completions")
    base = await _in_process(plan, work)
    print(_line("in-process", n, "compl", base, None))
    math_rates = {0: n / base}
    for w in WORKERS:
        t = await _on_ray(plan, blob, work, w)
        math_rates[w] = n / t
        print(_line(f"ray, {w} worker(s)", n, "compl", t, base))
    overhead = await _overhead(work)
    per_call_base = base / len(work)
    print(
        f"  per-call overhead of a Ray actor call carrying {K} completions: "
        f"{overhead * 1e3:.2f} ms (in-process grading of one problem: "
        f"{per_call_base * 1e3:.2f} ms)"
    )

    code_rates: dict[int, float] = {}
    code_base = None
    if args.lcb:
        try:
            plan, work = _code_work(args.lcb)
            blob = _payload(plan)
            tests = sum(len(s.metadata["tests"]["inputs"]) for s, _ in work)
            print(f"\nsandbox: {len(work)} LiveCodeBench solutions, {tests} tests, Docker pool")
            code_base = await _in_process(plan, work)
            code_rates[0] = len(work) / code_base
            print(_line("in-process", len(work), "subm", code_base, None))
            for w in WORKERS:
                t = await _on_ray(plan, blob, work, w)
                code_rates[w] = len(work) / t
                print(_line(f"ray, {w} worker(s)", len(work), "subm", t, code_base))
        except Exception as exc:  # no Docker engine, no data: say so, keep the other numbers
            print(f"\nsandbox: skipped ({type(exc).__name__}: {exc})")

    print("\ndriver: records streamed back from a worker, deduplicated and stored")
    ceiling = 0.0
    for per_message in (1, 16):
        rate = await _driver_ceiling(args.records, per_message)
        ceiling = max(ceiling, rate)
        print(f"  {per_message:>2} record(s) per message: {rate:9,.0f} records/s")
    ray.shutdown()
    _estimate(math_rates, code_rates, overhead, per_call_base, ceiling)


def _estimate(
    math: dict[int, float],
    code: dict[int, float],
    overhead: float,
    per_call: float,
    ceiling: float,
) -> None:
    """Throughput on N nodes like this one: each node grades at its in-process rate less the
    per-call overhead, and the driver takes in at most ``ceiling`` records/s."""
    efficiency = per_call / (per_call + overhead)
    print(
        f"\nestimate (nodes like this one, {os.cpu_count()} cores; per-call overhead "
        f"{overhead * 1e3:.2f} ms -> {efficiency:.0%} of a node's in-process grading rate):"
    )
    for nodes in (4, 32):
        graded = nodes * math[0] * efficiency
        line = f"  {nodes:>2} nodes: math grading {min(graded, ceiling):,.0f} compl/s"
        if graded > ceiling:
            line += f" (driver-bound; {graded:,.0f} without that limit)"
        if code:
            line += f"; sandboxed code {nodes * code[0]:,.1f} subm/s"
        print(line)
    print(
        "  generation is the model's speed per node times nodes; the driver's ceiling above is\n"
        "  what bounds any of these, far above what 32 GPU nodes generate for reasoning models"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200, help="MATH-500 problems to grade")
    parser.add_argument("--lcb", type=int, default=24, help="LiveCodeBench problems (0: skip)")
    parser.add_argument("--records", type=int, default=5000, help="records for the driver test")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
