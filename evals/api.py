"""The Python API: ``evalr.run``, ``rescore``, ``load_runs`` and ``load_problems``.

``run`` checks its arguments exactly as the CLI does (both build a ``RunConfig``, which refuses
bad values with the same one-line ``ConfigError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evalr.protocol import R1, Protocol
from evalr.retry import RetryPolicy
from evalr.task import Task

TaskArg = str | Task | Sequence[str | Task]
PathArg = str | Path | Iterable[str | Path]


def _task_refs(tasks: TaskArg) -> tuple[str | Task, ...]:
    if isinstance(tasks, Task):
        return (tasks,)
    listed = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    refs: list[str | Task] = []
    for item in listed:
        if isinstance(item, Task):
            refs.append(item)
        elif isinstance(item, str) and item.strip():
            refs.append(item.strip())
        elif not isinstance(item, str):
            from evalr.errors import ConfigError

            raise ConfigError(f"tasks must be names, task files or Task objects, not {item!r}")
    return tuple(refs)


def run(
    model: str,
    tasks: TaskArg,
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
    options: Mapping[str, Any] | None = None,
    sandbox: str | None = None,
    executor: str = "in-process",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns the results document (as in results.json).

    ``tasks``: registered names, task files (``*.yaml``), ``module:factory`` references or
    ``Task`` objects (a comma-separated string, one of them, or a list). ``options``: task
    options as with ``-T`` (``{"window": "none"}`` for every task taking it, or
    ``{"livecodebench": {"window": "none"}}`` for one). ``executor``: ``"in-process"`` or
    ``"ray"`` (the cluster named by ``RAY_ADDRESS``, else a local Ray for this run).
    """
    from evalr import specs
    from evalr.plan import ALL_TASKS, RunConfig
    from evalr.runner import run as run_config

    task_options: dict[str, dict[str, Any]] = {}
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            task_options.setdefault(key, {}).update(value)
        else:
            task_options.setdefault(ALL_TASKS, {})[key] = value
    config = RunConfig(
        model=specs.resolve(model, base_url=base_url),
        tasks=_task_refs(tasks),
        samples=samples,
        limit=limit,
        seed=seed,
        concurrency=concurrency,
        out=Path(out) if out else None,
        max_error_rate=max_error_rate,
        retry=retry or RetryPolicy(),
        quiet=quiet,
        protocol=protocol,
        task_options=task_options,
        sandbox=sandbox,
        executor=executor,
        ray_address=ray_address,
    )
    return run_config(config)


def rescore(
    run_dir: str | Path, tasks: Sequence[Task] = (), sandbox: str | None = None
) -> dict[str, Any]:
    """Re-grade a stored run without the model (as ``evalr score RUN_DIR``); ``tasks``
    supplies Task objects for runs made with them."""
    from evalr.regrade import rescore as rescore_dir

    return rescore_dir(Path(run_dir), tasks, sandbox)


def _paths(paths: PathArg) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]  # one path, never its characters
    return [Path(p) for p in paths]


def load_runs(paths: PathArg) -> Any:
    """One row per (run, task, metric) from run directories' results.json, as a DataFrame.

    Columns: run, run_id, model, protocol, modified, deviations, complete, task, task_label,
    task_version, k, metric, value, stderr, ci95_low, ci95_high, ci_method, n.
    """
    import pandas as pd
    from evalr.runs import open_run

    rows = []
    for path in _paths(paths):
        run_ = open_run(path)
        results = run_.require_results()
        for task, entry in results["tasks"].items():
            for metric, m in entry["metrics"].items():
                rows.append(
                    {
                        "run": str(path),
                        "run_id": results.get("run_id"),
                        "model": results.get("model"),
                        "protocol": results.get("protocol"),
                        "modified": bool(results.get("modified", False)),
                        "deviations": "; ".join(results.get("deviations", [])),
                        "complete": results.get("complete", True),
                        "task": task,
                        "task_label": entry.get("label", task),
                        "task_version": entry["version"],
                        "k": entry.get("k"),
                        "metric": metric,
                        "value": m["value"],
                        "stderr": m["stderr"],
                        "ci95_low": m["ci95"][0],
                        "ci95_high": m["ci95"][1],
                        "ci_method": m.get("ci_method", ""),
                        "n": m["n"],
                    }
                )
    return pd.DataFrame(rows)


def load_problems(paths: PathArg) -> Any:
    """One row per (run, task, problem): the per-problem table reports and gates use.

    Columns: run, model, task, problem, attempts (graded), correct, pass1 (correct/attempts),
    cons (majority vote right; None without voting), plus the problem's stored metadata
    (``meta_subject``, ``meta_level``, ...) where the run stored it.
    """
    import pandas as pd
    from evalr.runs import open_run

    frames = [open_run(p).problem_frame() for p in _paths(paths)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
