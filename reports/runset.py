"""The runs a report covers, read from the paths a user gave, with a note for everything that
is not a plain finished run: an empty directory, an unreadable run, a run that never finished
(its per-problem outcomes rebuilt from the journal), missing attempts, protocol deviations and
runs of different protocols side by side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.errors import DataError, EvalrError
from evalr.runs import ProblemOutcomes, RunDir, find_runs, open_run


@dataclass(frozen=True)
class TaskView:
    """One task of one run: its metrics (as in results.json) and per-problem outcomes."""

    name: str
    label: str
    k: int
    metrics: Mapping[str, Mapping[str, Any]]
    outcomes: ProblemOutcomes
    entry: Mapping[str, Any]  # the results.json task entry ({} for an unfinished run)
    provisional: bool  # rebuilt from the journal of an unfinished run

    def metric(self, name: str) -> Mapping[str, Any] | None:
        if name == "cons":
            name = next((m for m in self.metrics if m.startswith("cons@")), "")
        return self.metrics.get(name)


@dataclass
class RunView:
    run: RunDir
    slug: str  # unique, file-name safe: where the run's pages live
    label: str  # unique display name
    tasks: dict[str, TaskView]
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def protocol(self) -> str:
        return self.run.protocol_name or "unnamed"


@dataclass
class RunSet:
    runs: list[RunView]
    notes: list[str]  # about the inputs as a whole


def _expand(path: Path, notes: list[str]) -> list[Path]:
    if path.is_file():
        raise DataError(f"{path} is a file; give a run directory or a directory of runs")
    if not path.is_dir():
        raise DataError(f"{path}: no such directory; give a run directory or a directory of runs")
    found = find_runs(path)
    if not found:
        notes.append(f"{path}: no run directories in it (no manifest.json): nothing to show")
    return found


def _metric_from_scores(name: str, scores: list[float], k: int) -> dict[str, Any]:
    from evalr.metrics import summarize
    from evalr.results import metric_json

    return metric_json(summarize(name, scores, k))


def _rebuilt(outcomes: ProblemOutcomes) -> dict[str, dict[str, Any]]:
    """pass@1 and cons@k of an unfinished run from the outcomes stored so far."""
    scores = [c / a for a, c in zip(outcomes.attempts, outcomes.correct, strict=True) if a]
    out = {"pass@1": _metric_from_scores("pass", scores, 1)}
    votes = [float(v) for v in outcomes.cons if v is not None]
    if votes and outcomes.k > 1:
        out[f"cons@{outcomes.k}"] = _metric_from_scores("cons", votes, outcomes.k)
    return out


def _task_view(run: RunDir, name: str) -> TaskView:
    outcomes = run.outcomes(name)
    entry = (run.results or {}).get("tasks", {}).get(name)
    if entry is not None:
        return TaskView(
            name,
            str(entry.get("label", name)),
            int(entry.get("k", outcomes.k)),
            entry.get("metrics", {}),
            outcomes,
            entry,
            False,
        )
    return TaskView(name, name, outcomes.k, _rebuilt(outcomes), outcomes, {}, True)


def _run_notes(run: RunDir, tasks: Mapping[str, TaskView]) -> list[str]:
    notes = []
    if run.results is None:
        graded = sum(sum(t.outcomes.attempts) for t in tasks.values())
        planned = sum(t.k * len(t.outcomes.ids) for t in tasks.values())
        notes.append(
            f"no results.json: the run did not finish (crashed or stopped); its numbers are "
            f"rebuilt from the {graded:,} graded attempts stored of {planned:,} planned and are "
            "provisional"
        )
    else:
        missing = run.results.get("missing_attempts", 0)
        failed = run.results.get("failed_attempts", 0)
        if missing or failed:
            notes.append(
                f"incomplete: {missing:,} attempts missing and {failed:,} failed; metrics cover "
                "the graded attempts only"
            )
    for deviation in run.deviations:
        notes.append(f"departs from protocol {run.protocol_name or 'unnamed'}: {deviation}")
    return notes


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "run"


def _unique(names: Sequence[str], extra: Sequence[str]) -> list[str]:
    """Names made unique: duplicates get the extra text, then a number."""
    out = [n if names.count(n) == 1 else f"{n} ({e})" for n, e in zip(names, extra, strict=True)]
    seen: dict[str, int] = {}
    final = []
    for name in out:
        seen[name] = seen.get(name, 0) + 1
        final.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return final


def load_runset(paths: Sequence[str | Path]) -> RunSet:
    """Open every run under the given paths; a path that does not exist is a DataError, an
    unreadable run a note."""
    if not paths:
        raise DataError("give at least one run directory (or a directory of runs)")
    notes: list[str] = []
    dirs: list[Path] = []
    for given in paths:
        for found in _expand(Path(given), notes):
            if found.resolve() not in {d.resolve() for d in dirs}:
                dirs.append(found)
    opened: list[tuple[RunDir, dict[str, TaskView]]] = []
    for path in dirs:
        try:
            run = open_run(path)
            tasks = {name: _task_view(run, name) for name in run.task_names()}
        except EvalrError as exc:
            notes.append(f"{path}: left out: {exc}")
            continue
        opened.append((run, tasks))
    labels = _unique([r.model_label for r, _ in opened], [r.path.name for r, _ in opened])
    slugs = _unique([_slug(r.run_id) for r, _ in opened], [_slug(r.path.name) for r, _ in opened])
    runs = [
        RunView(run, _slug(slug), label, tasks, _run_notes(run, tasks))
        for (run, tasks), label, slug in zip(opened, labels, slugs, strict=True)
    ]
    protocols = sorted({r.protocol for r in runs})
    if len(protocols) > 1:
        by = "; ".join(
            f"{p}: {', '.join(r.label for r in runs if r.protocol == p)}" for p in protocols
        )
        notes.append(
            f"these runs follow different protocols ({by}); numbers across protocols are not "
            "comparable"
        )
    return RunSet(runs, notes)


def finite(x: Any) -> float | None:
    """A number, or None for missing and NaN."""
    if x is None:
        return None
    value = float(x)
    return None if math.isnan(value) else value
