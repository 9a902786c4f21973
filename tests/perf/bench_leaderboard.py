"""``evalr leaderboard``: a cold build, an unchanged rebuild and a rebuild after one new run.

Writes synthetic run directories with the R1 protocol's shape (aime24, aime25 at k = 64,
math500 at k = 4, gpqa_diamond at k = 8, livecodebench at k = 16 over 300 problems: 12,224
completions per run), each with manifest.json, results.json (metrics and ``per_problem``
columns, as ``evalr run`` leaves them) and a samples.jsonl whose completions carry ``--text-kb``
of text each, then times the console script (wall time and peak RSS from the kernel):

1. the first build over ``--models`` runs (every run hashed and rendered, every pair tested);
2. the same command again with nothing changed (hashes from size and mtime, pages carried);
3. after one more model's run is added (only it is hashed, rendered and tested against the rest).

``--reports`` also renders each run's full report (``evalr report``) into the site: the
incremental rebuild then saves what dominates. Without it the site links no reports.

    .venv/bin/python tests/perf/bench_leaderboard.py [--models 6] [--text-kb 2] [--reports]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from harness import measure

TASKS = {"aime24": (30, 64), "aime25": (30, 64), "math500": (500, 4)}
TASKS |= {"gpqa_diamond": (198, 8), "livecodebench": (300, 16)}
CHILD = "import sys\nfrom evalr.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _metric(scores: np.ndarray) -> dict[str, object]:
    mean, se = float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(len(scores)))
    low, high = max(0.0, mean - 1.96 * se), min(1.0, mean + 1.96 * se)
    return {"value": round(mean, 6), "stderr": round(se, 6), "ci95": [low, high], "n": len(scores)}


def write_run(path: Path, model: str, accuracy: float, seed: int, text_kb: int) -> int:
    """One finished run; returns its completions."""
    from evalr.metrics import pass_at_k, pass_k_values

    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    tasks, protocol_tasks, described = {}, {}, {}
    for offset, (task, (n, k)) in enumerate(TASKS.items()):
        difficulty = np.random.default_rng(100 + offset).beta(2.0, 1.2, n)  # same problems
        correct = rng.binomial(k, np.clip(difficulty * accuracy / 0.62, 0, 1))
        cons = (correct > k // 2).tolist()
        protocol_tasks[task] = {"version": "1", "k": k, "limit": None, "options": {}}
        described[task] = {
            "dataset": {"id": task, "revision": "pinned"},
            "grader": {"grader": "math", "version": "1"},
        }
        metrics = {
            f"pass@{j}": _metric(np.array([pass_at_k(k, int(c), j) for c in correct]))
            for j in pass_k_values(k)
        }
        metrics[f"cons@{k}"] = _metric(np.array(cons, dtype=float))
        tasks[task] = {
            "label": task,
            "version": "1",
            "k": k,
            "problems": n,
            "metrics": metrics,
            "counts": {"attempts": n * k, "missing": 0, "errors": 0},
            "complete": True,
            "no_answer_rate": 0.02,
            "truncation_rate": 0.01,
            "per_problem": {
                "ids": [f"{task}-{i}" for i in range(n)],
                "attempts": [k] * n,
                "correct": correct.tolist(),
                "cons": cons,
            },
        }
    sampling = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 32768}
    protocol = {"name": "r1", "model": model, "sampling": sampling, "tasks": protocol_tasks}
    manifest = {
        "run_id": path.name,
        "created": time.time(),
        "protocol": protocol,
        "deviations": [],
        "tasks": described,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    results = {"protocol": "r1", "model": model, "modified": False, "deviations": []}
    results |= {"complete": True, "missing_attempts": 0, "failed_attempts": 0}
    (path / "results.json").write_text(json.dumps({**results, "tasks": tasks}))
    filler = "wait, let me recheck that step. " * (text_kb * 32)
    written = 0
    with open(path / "samples.jsonl", "w") as fh:
        for task, (n, k) in TASKS.items():
            for i in range(n):
                for a in range(k):
                    record = {
                        "task": task,
                        "sample_id": f"{task}-{i}",
                        "attempt": a,
                        "status": "ok",
                        "completion": {"text": "\\boxed{1}", "reasoning": filler},
                        "grade": {"correct": True, "extracted": "1", "answer_class": "1"},
                    }
                    fh.write(json.dumps(record) + "\n")
                    written += 1
    return written


def build(root: Path, site: Path, reports: bool, label: str) -> None:
    argv = [sys.executable, "-c", CHILD, "leaderboard", str(root), "--out", str(site)]
    got = measure([*argv, "--reports" if reports else "--no-reports"])
    summary = got.stderr.strip().splitlines()[-1] if got.stderr.strip() else ""
    print(
        f"  {label}: wall {got.wall_s:.2f} s, peak RSS {got.peak_rss_mb:.0f} MB, exit "
        f"{got.returncode}"
    )
    if got.returncode != 0:
        print(f"    {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--text-kb", type=int, default=2)
    parser.add_argument("--reports", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, site = Path(tmp) / "runs", Path(tmp) / "site"
        started = time.perf_counter()
        completions = 0
        for m in range(args.models):
            completions = write_run(root / f"m{m}", f"model-{m}", 0.5 + 0.02 * m, m, args.text_kb)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(
            f"{args.models} runs x {completions:,} completions ({args.text_kb} KB text each), "
            f"{size:.0f} MB, written in {time.perf_counter() - started:.1f} s; reports "
            f"{'on' if args.reports else 'off'}"
        )
        build(root, site, args.reports, "first build")
        build(root, site, args.reports, "rebuild, nothing changed")
        write_run(root / "new", "model-new", 0.6, 99, args.text_kb)
        build(root, site, args.reports, "rebuild after one new run")
        pages = [p for p in site.rglob("*.html")]
        largest = max(pages, key=lambda p: p.stat().st_size)
        total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20
        print(
            f"  site: {len(pages)} pages, {total:.1f} MB, largest {largest.relative_to(site)} "
            f"{largest.stat().st_size / 2**10:.0f} KB"
        )


if __name__ == "__main__":
    main()
