"""Peak RSS while ``evalr run`` stores 100,000 completions (target under 500 MB), and while it
resumes over them (every record is read back).

MATH-500's 500 problems x 200 samples, served with ``n`` so the run is bound by evalr itself;
each reply carries ``--reasoning-words`` words of thinking (an R1 reply has thousands of tokens;
the default keeps the run short while the journal still holds over 100 MB). Every answer is the
gold string by default (``--p-correct 1``), so grading takes the string fast path and the number
measures storage; lower it to put math-verify in the loop as well.

    .venv/bin/python tests/perf/bench_memory.py [--samples 200] [--reasoning-words 150]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_env, measure, run_command, server_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--reasoning-words", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--p-correct", default="1")
    args = parser.parse_args()
    completions = args.samples * args.limit
    flags = ["--reasoning-words", str(args.reasoning_words), "--p-correct", args.p_correct]
    with server_process(*flags) as base_url, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        argv = run_command(
            base_url,
            "math500",
            out,
            "--samples",
            str(args.samples),
            "--limit",
            str(args.limit),
            "--concurrency",
            str(args.concurrency),
        )
        for phase in ("store", "resume"):
            got = measure(argv, env=bench_env())
            if got.returncode != 0:
                raise SystemExit(f"evalr failed ({got.returncode}): {got.stderr[-2000:]}")
            size = (out / "samples.jsonl").stat().st_size / 2**20
            print(
                f"{phase:6}: {completions} completions, journal {size:.0f} MB, wall "
                f"{got.wall_s:.1f} s, cpu {got.user_s + got.system_s:.1f} s, peak RSS "
                f"{got.peak_rss_mb:.0f} MB (target < 500 MB)"
            )


if __name__ == "__main__":
    main()
