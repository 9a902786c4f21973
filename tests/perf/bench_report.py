"""Benchmark: `evalr report` over 6 models x 5 tasks x 64 samples x 500 problems.

Synthesises the run directories directly (manifest.json, problems.jsonl, samples.jsonl and
results.json, as the runner writes them; about 1 kB a record, 960,000 records), then times the
HTML report and prints its total size and largest page. Targets: under 10 s, no page over 5 MB.

    .venv/bin/python tests/perf/bench_report.py [--models 6] [--problems 500] [--k 64]
        [--reasoning-chars N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evalr.metrics import Attempt, majority_correct, task_metrics
from evalr.results import metric_json

TASKS = ("aime24", "aime25", "math500", "gpqa_diamond", "livecodebench")
SUBJECTS = ("Algebra", "Geometry", "Number Theory", "Precalculus", "Prealgebra", "Counting")
REASONING = (
    "Let me think about this step by step. First we set up the equation and simplify it; "
    "then we check the small cases to see the pattern, and verify the answer. "
) * 4
PROMPT = "Find the number of ordered pairs (a, b) of positive integers such that " * 6


def _problems(task: str, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        meta: dict = {}
        if task == "math500":
            meta = {"subject": SUBJECTS[i % len(SUBJECTS)], "level": 1 + i % 5}
        elif task == "livecodebench":
            meta = {"difficulty": ("easy", "medium", "hard")[i % 3], "platform": "leetcode"}
        rows.append(
            {
                "task": task,
                "id": f"{task}-{i}",
                "messages": [{"role": "user", "content": f"{PROMPT} (problem {i})"}],
                "target": str(i % 1000),
                "metadata": meta,
            }
        )
    return rows


def make_run(
    root: Path, model: str, strength: float, n: int, k: int, seed: int, chars: int = 0
) -> Path:
    rng = random.Random(seed)
    reasoning = (REASONING * (1 + chars // len(REASONING)))[:chars] if chars else REASONING
    run = root / model
    run.mkdir(parents=True)
    protocol_tasks: dict[str, Any] = {
        t: {"version": "1", "k": k, "limit": None, "options": {}} for t in TASKS
    }
    manifest = {
        "run_id": f"{model}-20250101T000000",
        "evalr_version": "bench",
        "protocol": {
            "name": "r1",
            "model": f"openai:{model}",
            "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 32768},
            "seed": 0,
            "assistant_prefix": "",
            "tasks": protocol_tasks,
        },
        "deviations": [],
        "model_spec": f"openai:{model}",
        "tasks": {t: {"description": t, "dataset": {"rows": n}} for t in TASKS},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    problems, results_tasks = [], {}
    line = (
        '{{"task":"{task}","sample_id":"{pid}","attempt":{a},"seed":{a},"status":"ok",'
        '"completion":{{"text":"So the answer is \\\\boxed{{{ans}}}.","reasoning":"{reasoning}",'
        '"finish_reason":"{finish}","usage":{{"prompt_tokens":120,"completion_tokens":{ct},'
        '"reasoning_tokens":{rt}}},"latency_s":1.0,"request":{{"model":"{model}","seed":{a}}},'
        '"model":"{model}"}},"grade":{{"correct":{ok},"extracted":{ext},"verdict":null,'
        '"details":{{}},"answer_class":{ext}}},"error":null,"prompt_meta":{{}},"time":0.0}}\n'
    )
    with open(run / "samples.jsonl", "w") as fh:
        for task in TASKS:
            rows = _problems(task, n)
            problems += rows
            per: dict[str, list[Any]] = {"ids": [], "attempts": [], "correct": [], "cons": []}
            attempts_all = []
            for row in rows:
                p = min(max(strength + rng.uniform(-0.4, 0.4), 0.0), 1.0)
                gold = row["target"]
                attempts, chunk = [], []
                for a in range(k):
                    ok = rng.random() < p
                    truncated = not ok and rng.random() < 0.1
                    ans = gold if ok else str(rng.randint(0, 999))
                    ext = "null" if truncated else f'"{ans}"'
                    rt = 32768 if truncated else rng.randint(500, 20000)
                    chunk.append(
                        line.format(
                            task=task,
                            pid=row["id"],
                            a=a,
                            ans=ans,
                            reasoning=reasoning,
                            finish="length" if truncated else "stop",
                            ct=rt + 40,
                            rt=rt,
                            model=model,
                            ok="true" if ok else "false",
                            ext=ext,
                        )
                    )
                    vote = None if truncated else int(ans)
                    attempts.append(Attempt(ok, vote, a))
                fh.write("".join(chunk))
                attempts_all.append(attempts)
                per["ids"].append(row["id"])
                per["attempts"].append(k)
                per["correct"].append(sum(x.correct for x in attempts))
                per["cons"].append(majority_correct(attempts))
            metrics = {m.label: metric_json(m) for m in task_metrics(attempts_all)}
            results_tasks[task] = {
                "label": task,
                "version": "1",
                "k": k,
                "problems": n,
                "metrics": metrics,
                "counts": {"attempts": n * k},
                "complete": True,
                "no_answer_rate": 0.05,
                "truncation_rate": 0.05,
                "error_rate": 0.0,
                "mean_reasoning_tokens": 10000.0,
                "mean_answer_tokens": 40.0,
                "per_problem": per,
            }
    (run / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in problems))
    results = {
        "schema_version": 2,
        "run_id": manifest["run_id"],
        "protocol": "r1",
        "modified": False,
        "deviations": [],
        "model": f"openai:{model}",
        "complete": True,
        "missing_attempts": 0,
        "failed_attempts": 0,
        "tasks": results_tasks,
        "timing": {},
    }
    (run / "results.json").write_text(json.dumps(results))
    return run


def _cpu_seconds() -> float:
    own, workers = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument(
        "--reasoning-chars",
        type=int,
        default=0,
        help="reasoning length per record (default about 600 characters; R1 writes 10,000s)",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the synthesised runs (reused next time) and report here"
    )
    args = parser.parse_args()
    from evalr.reports import render_report

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        start = time.perf_counter()
        runs = [root / "runs" / f"model-{i}" for i in range(args.models)]
        if not all((r / "results.json").is_file() for r in runs):  # --keep: made once
            shutil.rmtree(root / "runs", ignore_errors=True)
            runs = [
                make_run(
                    root / "runs",
                    f"model-{i}",
                    0.3 + 0.1 * i,
                    args.problems,
                    args.k,
                    i,
                    args.reasoning_chars,
                )
                for i in range(args.models)
            ]
        made = time.perf_counter() - start
        records = args.models * len(TASKS) * args.problems * args.k
        journal = sum((r / "samples.jsonl").stat().st_size for r in runs)
        print(
            f"synthesised {args.models} runs, {records:,} records, "
            f"{journal / 1e6:,.0f} MB of samples.jsonl in {made:.1f} s"
        )
        out = root / "report"
        cpu = _cpu_seconds()
        start = time.perf_counter()
        render_report(runs, out)
        took = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
        pages = [p for p in out.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in pages)
        largest = max(pages, key=lambda p: p.stat().st_size)
        print(
            f"render: {took:.2f} s (target < 10 s); CPU {cpu:.1f} s in this process and its "
            f"workers, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        )
        print(f"output: {len(pages):,} files, {total / 1e6:,.1f} MB")
        print(
            f"largest page: {largest.relative_to(out)} {largest.stat().st_size / 1e6:.2f} MB "
            "(target < 5 MB)"
        )
        return 0 if took < 10 and largest.stat().st_size < 5e6 else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
