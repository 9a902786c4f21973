"""The Python API: ``evalr.run(...)`` and ``evalr.load_runs(paths)``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evalr.protocol import R1, Protocol
from evalr.retry import RetryPolicy


def run(
    model: str,
    tasks: str | Sequence[str],
    *,
    samples: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    concurrency: int = 16,
    out: str | Path | None = None,
    base_url: str | None = None,
    max_error_rate: float = 0.0,
    retry: RetryPolicy | None = None,
    quiet: bool = True,
    protocol: Protocol = R1,
) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns the results document (as in results.json)."""
    from evalr import specs
    from evalr.runner import RunConfig
    from evalr.runner import run as run_config

    listed = tasks.split(",") if isinstance(tasks, str) else tasks
    names = tuple(t.strip() for t in listed if t.strip())
    config = RunConfig(
        model=specs.resolve(model, base_url=base_url),
        tasks=names,
        samples=samples,
        limit=limit,
        seed=seed,
        concurrency=concurrency,
        out=Path(out) if out else None,
        max_error_rate=max_error_rate,
        retry=retry or RetryPolicy(),
        quiet=quiet,
        protocol=protocol,
    )
    return run_config(config)


def load_runs(paths: Iterable[str | Path]) -> Any:
    """One row per (run, task, metric) from run directories' results.json, as a DataFrame."""
    import pandas as pd
    from evalr.store import RunStore

    rows = []
    for path in paths:
        results = RunStore(Path(path)).read_results()
        for task, entry in results["tasks"].items():
            for metric, m in entry["metrics"].items():
                rows.append(
                    {
                        "run": str(path),
                        "run_id": results.get("run_id"),
                        "model": results.get("model"),
                        "protocol": results.get("protocol"),
                        "task": task,
                        "task_version": entry["version"],
                        "metric": metric,
                        "value": m["value"],
                        "stderr": m["stderr"],
                        "ci95_low": m["ci95"][0],
                        "ci95_high": m["ci95"][1],
                        "n": m["n"],
                    }
                )
    return pd.DataFrame(rows)
