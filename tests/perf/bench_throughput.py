"""The reference workload: 30 AIME problems x 64 samples = 1,920 completions, concurrency 64,
one request per sample (the server ignores ``n``), at 500 ms and 0 ms per request.

Targets: at 500 ms, within 5% of the ideal ceil(1920/64) x 0.5 s = 15 s; at 0 ms, under 3 s for
the whole ``evalr`` process; peak RSS under 200 MB.

    .venv/bin/python tests/perf/bench_throughput.py [--repeat 3] [--latency-ms 500,0]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_env, measure, median, run_command, server_process, server_stats

PROBLEMS, SAMPLES, CONCURRENCY = 30, 64, 64
# The server's default reply: 40 thinking tokens + "The final answer is \\boxed{N}." (5 tokens).
REPLY_TOKENS = 45


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", default="500,0")
    parser.add_argument("--native-n", action="store_true", help="let the server honour n")
    parser.add_argument(
        "--spec-options", default="", help="extra model spec options, e.g. native_n=false"
    )
    parser.add_argument(
        "--per-token",
        action="store_true",
        help="spread the latency over the reply's tokens (a full reply still takes the given "
        "latency, a 1-token probe almost none), as on a real engine",
    )
    args = parser.parse_args()
    completions = PROBLEMS * SAMPLES
    print(
        f"workload: {PROBLEMS} problems x {SAMPLES} samples = {completions} completions, "
        f"concurrency {CONCURRENCY}, {'native n' if args.native_n else 'one request per sample'}"
        f"{', latency per token' if args.per_token else ''}"
    )
    for latency in (float(x) for x in args.latency_ms.split(",")):
        ideal = math.ceil(completions / CONCURRENCY) * latency / 1000
        timing = (
            ["--token-latency-ms", str(latency / REPLY_TOKENS)]
            if args.per_token
            else ["--latency-ms", str(latency)]
        )
        flags = [*timing, *([] if args.native_n else ["--no-n"])]
        walls, rss = [], []
        with server_process(*flags) as base_url:
            for _ in range(args.repeat):
                server_cpu = server_stats(base_url, reset=True)["process_cpu_s"]
                with tempfile.TemporaryDirectory() as tmp:
                    got = measure(
                        run_command(
                            base_url,
                            "aime24",
                            Path(tmp) / "run",
                            "--samples",
                            str(SAMPLES),
                            "--concurrency",
                            str(CONCURRENCY),
                            spec_options=args.spec_options,
                        ),
                        env=bench_env(),
                    )
                if got.returncode != 0:
                    raise SystemExit(f"evalr failed ({got.returncode}): {got.stderr[-2000:]}")
                stats = server_stats(base_url)
                known, server_cpu = stats["known"], stats["process_cpu_s"] - server_cpu
                phases = (
                    known["first_request_at"] - got.started_at,
                    known["last_answer_at"] - known["first_request_at"],
                    got.ended_at - known["last_answer_at"],
                )
                walls.append(got.wall_s)
                rss.append(got.peak_rss_mb)
                print(
                    f"  latency {latency:5.0f} ms: wall {got.wall_s:6.2f} s  "
                    f"cpu {got.user_s + got.system_s:5.2f} s  peak RSS {got.peak_rss_mb:5.1f} MB"
                    f"  [start-up {phases[0]:.2f} s, serving {phases[1]:.2f} s, "
                    f"wind-down {phases[2]:.2f} s; server cpu {server_cpu:.2f} s]"
                )
        best = min(walls)
        verdict = (
            f"ideal {ideal:.1f} s, overhead {100 * (best / ideal - 1):+.1f}%"
            if ideal
            else "target < 3 s"
        )
        print(
            f"latency {latency:.0f} ms: best {best:.2f} s, median {median(walls):.2f} s "
            f"({verdict}); {completions / best:.0f} completions/s; "
            f"peak RSS max {max(rss):.1f} MB (target < 200 MB)"
        )


if __name__ == "__main__":
    main()
