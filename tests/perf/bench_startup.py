"""Start-up cost: ``evalr --help`` (target under 0.5 s), ``evalr tasks`` and bare Python, plus the
modules that cost the most to import on the ``evalr run`` path (plain-http endpoints: no aiohttp).

    .venv/bin/python tests/perf/bench_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import bench_env, evalr_argv, median

RUN_PATH_MODULES = "import evalr.cli, evalr.runner, evalr.backends.openai, evalr.tasks.aime"


def timed(argv: list[str], repeat: int) -> list[float]:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=bench_env())
        walls.append(time.perf_counter() - started)
    return walls


def import_costs(top: int) -> list[tuple[int, str]]:
    """Cumulative import time (us) per module from ``-X importtime``, the largest first."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RUN_PATH_MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    costs = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            costs.append((int(parts[1]), parts[2].rstrip()))
    return sorted(costs, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "evalr --help": [*evalr_argv(), "--help"],
        "evalr run --help": [*evalr_argv(), "run", "--help"],
        "evalr tasks": [*evalr_argv(), "tasks"],
        "import run path": [sys.executable, "-c", RUN_PATH_MODULES],
    }
    for name, argv in cases.items():
        walls = timed(argv, args.repeat)
        target = "  (target < 0.5 s)" if name == "evalr --help" else ""
        print(f"{name:18} best {min(walls):.3f} s  median {median(walls):.3f} s{target}")
    print("largest cumulative imports on the run path (ms):")
    for micros, module in import_costs(12):
        print(f"  {micros / 1000:7.1f}  {module}")


if __name__ == "__main__":
    main()
