"""``evalr gate`` on two 500-problem x 64-sample runs: wall time, peak RSS, bytes read
(target under 2 s with the small-n resampling, no stored text read), and the tests' error rates.

Writes synthetic run directories (manifest.json and results.json with ``per_problem`` columns,
as ``evalr run`` leaves them) holding MATH-500-sized (500 problems) and AIME-sized (30, where
the sign-flip test and the bootstrap interval run) tasks at k = 64, then times the console
script gating them with pass@1, pass@64 and cons@64 and every output. The second variant adds
a ``samples.jsonl`` of 33,920 completions with long texts to each run: bytes read (rchar of
the gating process) and time must not move, which shows that no completion text is read.
``--calibration`` adds the measured false-alarm rates and power behind docs/ci.md.

    .venv/bin/python tests/perf/bench_gate.py [--text-kb 2] [--calibration]
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

K = 64
TASKS = {"math500": 500, "aime24": 30}
CHILD = (
    "import sys\nfrom evalr.cli import main\ncode = main(sys.argv[1:])\n"
    "io = dict(line.split(': ') for line in open('/proc/self/io').read().splitlines())\n"
    "sys.stderr.write('rchar=' + io['rchar'] + '\\n')\nsys.exit(code)\n"
)


def write_run(path: Path, accuracy: float, seed: int, text_kb: int) -> None:
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    tasks, protocol_tasks = {}, {}
    for offset, (task, n) in enumerate(TASKS.items()):
        difficulty = np.random.default_rng(100 + offset).beta(2.0, 1.2, n)  # same problems
        correct = rng.binomial(K, np.clip(difficulty * accuracy / 0.62, 0, 1))
        cons = (correct > K // 2).tolist()
        protocol_tasks[task] = {
            "version": "1",
            "k": K,
            "limit": None,
            "options": {},
            "dataset_sha256": f"{task}-data",
            "prompts_sha256": f"{task}-prompts",
        }
        tasks[task] = {
            "label": task,
            "version": "1",
            "k": K,
            "problems": n,
            "metrics": {"pass@1": {"value": float(np.mean(correct / K))}, "cons@64": {}},
            "counts": {"attempts": n * K, "missing": 0, "errors": 0},
            "complete": True,
            "per_problem": {
                "ids": [f"{task}-{i}" for i in range(n)],
                "attempts": [K] * n,
                "correct": correct.tolist(),
                "cons": cons,
            },
        }
    protocol = {"name": "r1", "model": f"synthetic:{seed}", "sampling": {}, "tasks": protocol_tasks}
    manifest = {"run_id": path.name, "protocol": protocol, "deviations": []}
    (path / "manifest.json").write_text(json.dumps(manifest))
    results = {"protocol": "r1", "modified": False, "deviations": [], "complete": True}
    (path / "results.json").write_text(json.dumps({**results, "tasks": tasks}))
    if text_kb:
        filler = "wait, let me recheck that step. " * (text_kb * 32)
        with open(path / "samples.jsonl", "w") as fh:
            for task, n in TASKS.items():
                for i in range(n):
                    for a in range(K):
                        record = {
                            "task": task,
                            "sample_id": f"{task}-{i}",
                            "attempt": a,
                            "status": "ok",
                            "completion": {"text": filler, "reasoning": filler},
                        }
                        fh.write(json.dumps(record) + "\n")


def gate_once(base: Path, cand: Path, out: Path) -> tuple[float, float, int, int]:
    argv = [sys.executable, "-c", CHILD, "gate", str(base), str(cand)]
    argv += ["--metric", "pass@1,pass@k,cons@k", "--allow-inconclusive", "--markdown"]
    argv += [str(out / "g.md"), "--junit", str(out / "g.xml"), "--json", str(out / "g.json")]
    got = measure(argv)
    rchar = int(got.stderr.rsplit("rchar=", 1)[1].split()[0])
    return got.wall_s, got.peak_rss_mb, rchar, got.returncode


def bench(text_kb: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for variant, kb in (("per_problem only", 0), (f"+ samples.jsonl ({text_kb} KB)", text_kb)):
            base, cand = root / f"base{kb}", root / f"cand{kb}"
            started = time.perf_counter()
            write_run(base, 0.62, 1, kb)
            write_run(cand, 0.59, 2, kb)
            size = sum(p.stat().st_size for p in (base, cand) for p in p.iterdir()) / 2**20
            print(
                f"{variant}: wrote 2 runs, {size:.0f} MB, in {time.perf_counter() - started:.1f} s"
            )
            runs = [gate_once(base, cand, root) for _ in range(repeats)]
            wall = sorted(r[0] for r in runs)[len(runs) // 2]
            print(
                f"  evalr gate (2 tasks x 3 metrics, 4 outputs): median wall {wall:.2f} s of "
                f"{repeats}, peak RSS {max(r[1] for r in runs):.0f} MB, read "
                f"{runs[0][2] / 2**20:.1f} MB, exit {runs[0][3]} (target < 2 s)"
            )
    from evalr.paired import paired_difference

    rng = np.random.default_rng(0)
    for n, method in ((500, "t"), (500, "sign-flip"), (99, "auto"), (30, "auto")):
        b, c = rng.binomial(K, 0.6, n) / K, rng.binomial(K, 0.58, n) / K
        paired_difference(b, c, method=method)
        started = time.perf_counter()
        result = paired_difference(b, c, method=method)
        took = 1000 * (time.perf_counter() - started)
        print(
            f"  paired_difference n={n} {method}: {took:.1f} ms "
            f"({result.method}, {result.ci_method}; 10,000 resamples)"
        )


def calibration() -> None:
    """False alarms of both tests under identical distributions, and power at a drop."""
    from evalr.paired import paired_difference

    designs = [
        ("500 x k4, Beta(2,1.2)", 500, 4, (2.0, 1.2), 2000),
        ("198 x k8, Beta(2,1.2)", 198, 8, (2.0, 1.2), 2000),
        ("30 x k64, Beta(0.4,0.4)", 30, 64, (0.4, 0.4), 1000),
        ("30 x k64, Beta(0.2,2) skewed", 30, 64, (0.2, 2.0), 1000),
        ("30 x k8, Beta(0.2,2) skewed", 30, 8, (0.2, 2.0), 1000),
        ("30 x k1, Beta(1,1)", 30, 1, (1.0, 1.0), 1000),
    ]
    print("\nfalse alarms at alpha 0.05 (identical distributions; one-sided test for a drop)")
    for label, n, k, (a, b), sims in designs:
        rng = np.random.default_rng(42)
        p = rng.beta(a, b, n)
        base = rng.binomial(k, p, (sims, n)) / k
        cand = rng.binomial(k, p, (sims, n)) / k
        t = flip = 0
        for i in range(sims):
            r = paired_difference(base[i], cand[i], method="sign-flip", resamples=2000)
            t += r.t_p_drop < 0.05
            flip += (r.flip_p_drop or 1.0) < 0.05
        se = (0.05 * 0.95 / sims) ** 0.5
        print(
            f"  {label:30} paired t {t / sims:.3f}  sign-flip {flip / sims:.3f}  "
            f"({sims} runs, +-{2 * se:.3f})"
        )


def t_rate_precise(sims: int = 50_000) -> None:
    """The paired t test's false-alarm rate at 500 x 4, vectorised to many reruns."""
    from scipy.special import stdtr

    rng = np.random.default_rng(123)
    n, k = 500, 4
    p = np.random.default_rng(11).beta(2.0, 1.2, n)
    alarms = 0
    for _ in range(sims // 5000):
        d = (rng.binomial(k, p, (5000, n)) - rng.binomial(k, p, (5000, n))) / k
        t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
        alarms += int(np.sum(stdtr(n - 1, t) < 0.05))
    se = (0.05 * 0.95 / sims) ** 0.5
    print(f"  500 x k4 paired t over {sims} reruns: {alarms / sims:.4f} (+-{2 * se:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--text-kb", type=int, default=2, help="KB of text (and of reasoning) per completion"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calibration", action="store_true")
    args = parser.parse_args()
    bench(args.text_kb, args.repeats)
    if args.calibration:
        calibration()
        t_rate_precise()


if __name__ == "__main__":
    main()
