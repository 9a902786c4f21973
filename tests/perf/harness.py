"""What the benchmarks share: the test server as a subprocess, and timing a whole ``evalr`` run.

The server runs in its own process so the measured ``evalr`` process pays only for itself;
wall time and peak RSS are those of the whole ``evalr`` process, taken from ``wait4``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
KEY_ENV = "EVALR_BENCH_KEY"


def data_dir() -> Path:
    env = os.environ.get("EVALR_DATA_DIR")
    return Path(env) if env else (REPO / "../shared/data").resolve()


def evalr_argv() -> list[str]:
    script = Path(sys.executable).with_name("evalr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalr"]


@contextmanager
def server_process(*flags: str) -> Iterator[str]:
    """``python -m evalr.testing.server`` with the mirror's answer key; yields the /v1 URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalr.testing.server",
            "--port",
            "0",
            "--answers-mirror",
            str(data_dir()),
            *flags,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"listening on (\S+)\n", line)
        if not match:
            raise RuntimeError(f"test server did not start: {line!r}")
        yield match.group(1) + "/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(base_url: str, reset: bool = False) -> dict[str, Any]:
    """The test server's request log (and optionally clear it)."""
    root = base_url.removesuffix("/v1")
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{root}/stats/reset", method="POST"))
    with urllib.request.urlopen(f"{root}/stats?detail=0") as resp:
        return json.loads(resp.read())


@dataclass(frozen=True)
class Measured:
    started_at: float  # time.time() at launch, to line up with the server's timestamps
    ended_at: float
    wall_s: float
    peak_rss_mb: float
    user_s: float
    system_s: float
    returncode: int
    stderr: str


def measure(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run a command to completion; its wall time, peak RSS and CPU from the kernel."""
    started_at, started = time.time(), time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # wait4 reports the child's own rusage; its grading workers are its children, counted apart.
    _, status, usage = os.wait4(proc.pid, 0)
    wall, ended_at = time.perf_counter() - started, time.time()
    stderr = proc.stderr.read()
    proc.stderr.close()
    return Measured(
        started_at=started_at,
        ended_at=ended_at,
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        user_s=usage.ru_utime,
        system_s=usage.ru_stime,
        returncode=os.waitstatus_to_exitcode(status),
        stderr=stderr,
    )


def run_command(
    base_url: str, tasks: str, out: Path, *extra: str, spec_options: str = ""
) -> list[str]:
    spec = f"openai:evalr-test?base_url={base_url}&api_key_env={KEY_ENV}"
    if spec_options:
        spec += f"&{spec_options}"
    return [
        *evalr_argv(),
        "run",
        "--model",
        spec,
        "--tasks",
        tasks,
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def bench_env() -> dict[str, str]:
    return {"EVALR_DATA_DIR": str(data_dir()), KEY_ENV: "sk-bench"}


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
