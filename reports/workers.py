"""Writing every run's pages and every shared task's comparison pages, in worker processes
when there is much to read.

Reading a journal is most of a report's time (a 160,000-record run: about 1 s to decode with
msgspec and 1 s to lay out on this project's 2-core VM), and runs are independent, so above
``PARALLEL_ABOVE`` bytes of journals each run is a job for a process pool, then each shared
task's comparison; meanwhile the calling process draws the charts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from evalr.reports.compare import compare_in, write_task_comparison
from evalr.reports.reportdir import ReportDir
from evalr.reports.runpages import RunPages, write_run, write_run_in
from evalr.reports.runset import RunSet, RunView
from evalr.store import SAMPLES

PARALLEL_ABOVE = 64 << 20
T = TypeVar("T")


def _journal_bytes(runs: Sequence[RunView]) -> int:
    return sum((r.path / SAMPLES).stat().st_size for r in runs if (r.path / SAMPLES).is_file())


def _pool_context() -> Any:
    """A fork context when forking is safe here (one thread, fork available), else None.

    fork, not forkserver or spawn: those re-import the caller's main module in every worker,
    which breaks a user's script without an ``if __name__ == "__main__"`` guard.
    """
    import multiprocessing
    import threading

    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def write_pages(
    runset: RunSet, out: ReportDir, meanwhile: Callable[[], T]
) -> tuple[dict[str, RunPages], list[Any], T]:
    """Every run's pages, then every shared task's comparison pages (in worker processes when
    there is enough to read: one job per run, then per task), and ``meanwhile()``'s result."""
    runs = runset.runs
    tasks = list(dict.fromkeys(t for r in runs for t in r.tasks))
    shared = [(t, [r for r in runs if t in r.tasks]) for t in tasks]
    shared = [(t, sharing) for t, sharing in shared if len(sharing) >= 2]
    workers = min(len(runs), os.cpu_count() or 1)
    context = _pool_context() if workers > 1 and _journal_bytes(runs) > PARALLEL_ABOVE else None
    if context is None:
        written = {run.slug: write_run(run, out) for run in runs}
        pages = {slug: w.tasks for slug, w in written.items()}
        compared = [write_task_comparison(t, s, pages, out) for t, s in shared]
        return written, compared, meanwhile()
    from concurrent.futures import ProcessPoolExecutor

    root = str(out.root)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        done = pool.map(write_run_in, runs, [root] * len(runs))
        result = meanwhile()
        written = {run.slug: pages for run, pages in zip(runs, done, strict=True)}
        jobs = [
            pool.submit(
                compare_in,
                task,
                sharing,
                {r.slug: {task: written[r.slug].tasks[task]} for r in sharing},
                root,
            )
            for task, sharing in shared
        ]
        return written, [job.result() for job in jobs], result
