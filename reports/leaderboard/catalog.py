"""The runs a leaderboard lists, each read once through ``evalr.runs`` and put in one state.

- ``finished``: results.json says every planned attempt is stored and graded; its tasks can be
  ranked (against runs of the same protocol only, see ``ranking``).
- ``incomplete``: results.json exists but attempts are missing or failed; listed, never ranked.
- ``unfinished``: no results.json (crashed, stopped, or still running); listed with how many
  attempts are graded so far (rebuilt from the journal without reading texts), never ranked.
- ``unreadable``: not a readable run directory (corrupt manifest or results); listed with the
  reason.

Nothing here writes; a broken run never stops the others from being listed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalr.errors import DataError
from evalr.runs import RunDir, find_runs, open_run

FINISHED, INCOMPLETE, UNFINISHED, UNREADABLE = "finished", "incomplete", "unfinished", "unreadable"


def slug(text: str) -> str:
    """A file name for ``text``: readable part plus a hash, so distinct texts never collide."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "run"
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class TaskState:
    """One task of one run as the site shows it."""

    name: str
    label: str
    k: int
    problems: int
    metrics: Mapping[str, Mapping[str, Any]]  # results.json's metrics (empty when unfinished)
    graded: int  # graded attempts
    planned: int  # problems x k
    deviations: tuple[str, ...]  # the run's deviations that concern this task (global ones too)
    facts: Mapping[str, Any] = field(default_factory=dict)  # rates, token means


@dataclass(frozen=True)
class ListedRun:
    rel: str  # path under the runs root, the run's identity in the site
    path: Path
    state: str
    note: str  # one line saying what the state means for this run ("" when finished)
    run: RunDir | None = field(default=None, compare=False, repr=False)
    model: str = ""
    created: float = 0.0
    tasks: tuple[TaskState, ...] = ()

    @property
    def slug(self) -> str:
        return slug(self.rel)

    @property
    def model_slug(self) -> str:
        return slug(self.model or "unknown model")

    @property
    def created_utc(self) -> str:
        if not self.created:
            return "unknown"
        return datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def modified(self) -> bool:
        return bool(self.run is not None and self.run.deviations)


def task_deviations(deviations: Sequence[str], task: str, tasks: Sequence[str]) -> tuple[str, ...]:
    """The deviations that concern ``task``: its own (``task: ...``, prefix dropped) and the
    run-wide ones (sampling, assistant prefix), which name no task."""
    own, prefixes = [], tuple(f"{t}: " for t in tasks)
    for text in deviations:
        if text.startswith(f"{task}: "):
            own.append(text[len(task) + 2 :])
        elif not text.startswith(prefixes):
            own.append(text)
    return tuple(own)


def _finished_tasks(run: RunDir, results: Mapping[str, Any]) -> tuple[TaskState, ...]:
    names = list(results.get("tasks", {}))
    out = []
    for name, entry in results.get("tasks", {}).items():
        counts = entry.get("counts", {})
        facts = {
            key: entry.get(key)
            for key in ("no_answer_rate", "truncation_rate", "error_rate", "mean_reasoning_tokens")
            if entry.get(key) is not None
        }
        attempts = int(counts.get("attempts", 0))
        graded = attempts - int(counts.get("missing", 0)) - int(counts.get("errors", 0))
        out.append(
            TaskState(
                name,
                str(entry.get("label", name)),
                int(entry.get("k", 0)),
                int(entry.get("problems", 0)),
                dict(entry.get("metrics", {})),
                graded,
                attempts,
                task_deviations(run.deviations, name, names),
                facts,
            )
        )
    return tuple(out)


def _unfinished_tasks(run: RunDir) -> tuple[TaskState, ...]:
    names = run.task_names()
    out = []
    for name in names:
        outcome = run.outcomes(name)
        problems = len(outcome.ids)
        out.append(
            TaskState(
                name,
                name,
                outcome.k,
                problems,
                {},
                sum(outcome.attempts),
                problems * outcome.k,
                task_deviations(run.deviations, name, names),
            )
        )
    return tuple(out)


def _created(run: RunDir) -> float:
    value = run.manifest.get("created")
    if isinstance(value, (int, float)):
        return float(value)
    return (run.path / "manifest.json").stat().st_mtime


def list_run(root: Path, path: Path) -> ListedRun:
    """One run directory in its state; never raises for a broken run."""
    rel = path.relative_to(root).as_posix() if path != root else "."
    try:
        run = open_run(path)
        if not isinstance(run.manifest, Mapping) or not isinstance(
            run.manifest.get("protocol", {}), Mapping
        ):
            raise DataError(f"{path / 'manifest.json'} is not a run manifest")
        model, created = run.model or run.model_label, _created(run)
        results = run.results
        if results is None:
            tasks = _unfinished_tasks(run)
            graded, planned = sum(t.graded for t in tasks), sum(t.planned for t in tasks)
            note = (
                f"not finished (crashed, stopped or still running): no results.json, "
                f"{graded} of {planned} attempts graded; rerun the same command to finish"
            )
            return ListedRun(rel, path, UNFINISHED, note, run, model, created, tasks)
        if not isinstance(results, Mapping) or not isinstance(results.get("tasks"), Mapping):
            raise DataError(f"{path / 'results.json'} is not a results document")
        tasks = _finished_tasks(run, results)
        if not results.get("complete", True):
            note = (
                f"incomplete: {results.get('missing_attempts', 0)} attempts missing and "
                f"{results.get('failed_attempts', 0)} failed; rerun the same command to retry"
            )
            return ListedRun(rel, path, INCOMPLETE, note, run, model, created, tasks)
        return ListedRun(rel, path, FINISHED, "", run, model, created, tasks)
    except DataError as exc:
        return ListedRun(rel, path, UNREADABLE, f"unreadable: {exc}")
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return ListedRun(rel, path, UNREADABLE, f"unreadable: {type(exc).__name__}: {exc}")


def list_runs(root: Path, skip: Callable[[Path], bool] | None = None) -> list[ListedRun]:
    """Every run under ``root`` (sorted by path), leaving out paths ``skip`` says to."""
    return [list_run(root, p) for p in find_runs(root) if skip is None or not skip(p)]
