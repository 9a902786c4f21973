"""Drive the real ``evalr`` console script against the project's loopback test server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.testing.threaded import ServerThread

KEY_ENV = "EVALR_E2E_API_KEY"
API_KEY = "sk-e2e-0123456789abcdef-never-on-disk"
# Small backoff so retried faults cost milliseconds, not the production seconds.
FAST_RETRIES = ("--retries", "12", "--retry-base", "0.01")


def evalr_argv() -> list[str]:
    script = Path(sys.executable).with_name("evalr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalr"]


def model_spec(server: ServerThread, key_env: str = KEY_ENV, **options: str) -> str:
    query = "&".join(
        f"{k}={v}"
        for k, v in {"base_url": server.base_url, "api_key_env": key_env, **options}.items()
    )
    return f"openai:evalr-test?{query}"


@dataclass(frozen=True)
class Evalr:
    """Runs ``evalr`` in a scratch directory with the data mirror and the API key set."""

    cwd: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*evalr_argv(), *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*evalr_argv(), *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def records(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "samples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def record_counts(run_dir: Path) -> Counter[tuple[str, str, int]]:
    return Counter((r["task"], r["sample_id"], r["attempt"]) for r in records(run_dir))


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what legitimately differs between two runs of one protocol."""
    return {k: v for k, v in results.items() if k not in ("timing", "run_id")}


def run_args(
    server: ServerThread,
    out: Path,
    tasks: str,
    limit: int,
    samples: int,
    extra: Sequence[str] = (),
    **spec_options: str,
) -> list[str]:
    return [
        "run",
        "--model",
        model_spec(server, **spec_options),
        "--tasks",
        tasks,
        "--limit",
        str(limit),
        "--samples",
        str(samples),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the process failed the way users should see failures: one line, no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]
