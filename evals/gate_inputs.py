"""What makes two run directories fit to be gated, and their per-problem scores.

Read through ``evalr.runs`` only: manifest.json, results.json and its ``per_problem`` columns
(no completion text). Every reason a pair of runs cannot be gated is one ``UnusableInput`` line
(exit 2) that says what to do.

- Not a run, or a run that never finished (no results.json: crashed or stopped): unusable.
- A shared task whose results are not complete (attempts missing or failed) in either run:
  unusable, unless ``allow_incomplete``; then each problem counts its graded attempts and
  problems with none in either run are left out (and the outputs say so).
- Protocol: the model may differ (that is what a gate compares), and so may the run seed (a
  different random draw, which the statistics account for). What must match, in the order a
  difference is named: the protocol's name, sampling, forced assistant prefix; per shared task
  its version, k, limit, dataset and prompt hashes, options, source and grader (name and
  version). Grader package versions may differ and are noted, since they can move scores.
- A modified run (one that departs from the protocol it names, e.g. ``--limit``) is gated like
  any other when both runs match; every output labels it, so nobody reads it as a protocol score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.errors import DataError, EvalrError
from evalr.runs import ProblemOutcomes, RunDir, open_run

_TASK_KEYS = ("version", "k", "limit", "dataset_sha256", "prompts_sha256", "options", "source")
_METRIC = re.compile(r"(pass|cons)@(k|[1-9]\d*)")


class UnusableInput(EvalrError):
    """The runs cannot be gated as given (the gate's exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class RunSide:
    """One side of the comparison, as every output names it."""

    path: str
    run_id: str
    model: str
    protocol: str
    modified: bool
    deviations: tuple[str, ...]


def open_finished(path: str | Path, role: str) -> RunDir:
    """A run directory with results.json, or one UnusableInput line."""
    try:
        run = open_run(path)
    except DataError as exc:
        raise UnusableInput(f"{role} {exc}") from None
    if run.results is None:
        raise UnusableInput(
            f"{role} {path} has no results.json: the run did not finish (crashed or stopped); "
            "rerun its evalr run command to finish it"
        )
    return run


def side(run: RunDir) -> RunSide:
    results = run.results or {}
    return RunSide(
        path=str(run.path),
        run_id=run.run_id,
        model=run.model,
        protocol=run.protocol_name,
        modified=bool(results.get("modified", bool(run.deviations))),
        deviations=tuple(results.get("deviations", run.deviations)),
    )


def result_tasks(run: RunDir) -> list[str]:
    return list((run.results or {}).get("tasks", {}))


def shared_tasks(base: RunDir, cand: RunDir) -> list[str]:
    theirs = set(result_tasks(cand))
    shared = [t for t in result_tasks(base) if t in theirs]
    if not shared:
        raise UnusableInput(
            f"no shared task: the baseline has {', '.join(result_tasks(base)) or 'none'}, the "
            f"candidate {', '.join(result_tasks(cand)) or 'none'}; gate runs of the same tasks"
        )
    return shared


def check_complete(run: RunDir, role: str, tasks: Sequence[str], allow: bool) -> list[str]:
    """Refuse (or, allowed, note) shared tasks with missing or failed attempts."""
    notes = []
    for task in tasks:
        entry = (run.results or {})["tasks"][task]
        if entry.get("complete", True):
            continue
        counts = entry.get("counts", {})
        what = f"{counts.get('missing', 0)} attempts missing, {counts.get('errors', 0)} failed"
        if not allow:
            raise UnusableInput(
                f"{role} {run.path}: {task} is incomplete ({what}); rerun its evalr run command "
                "to finish it, or pass --allow-incomplete to gate over the graded attempts"
            )
        notes.append(f"{role} {task} is incomplete ({what}): gated over its graded attempts")
    return notes


def _shown(key: str, value: Any) -> str:
    if isinstance(value, str) and key.endswith("sha256"):
        return value[:12] + "..."
    return json.dumps(value, sort_keys=True, default=str)


def _differences(base: Any, cand: Any, where: str) -> Iterator[str]:
    if isinstance(base, Mapping) and isinstance(cand, Mapping):
        for key in sorted(set(base) | set(cand), key=str):
            yield from _differences(base.get(key), cand.get(key), f"{where}.{key}")
    elif base != cand:
        yield f"{where}: baseline {_shown(where, base)}, candidate {_shown(where, cand)}"


def _grader(run: RunDir, task: str) -> dict[str, Any]:
    grader = dict(run.manifest.get("tasks", {}).get(task, {}).get("grader") or {})
    grader.pop("packages", None)
    return grader


def protocol_differences(base: RunDir, cand: RunDir, tasks: Sequence[str]) -> list[str]:
    """Every difference that makes the comparison unfair, the most telling first."""
    bp, cp = base.manifest.get("protocol", {}), cand.manifest.get("protocol", {})
    out: list[str] = []
    for key in ("name", "sampling", "assistant_prefix"):
        out.extend(_differences(bp.get(key), cp.get(key), key))
    for task in tasks:
        bt, ct = bp.get("tasks", {}).get(task, {}), cp.get("tasks", {}).get(task, {})
        for key in _TASK_KEYS:
            out.extend(_differences(bt.get(key), ct.get(key), f"{task}.{key}"))
        out.extend(_differences(_grader(base, task), _grader(cand, task), f"{task}.grader"))
    return out


def grader_package_notes(base: RunDir, cand: RunDir, tasks: Sequence[str]) -> list[str]:
    notes = []
    for task in tasks:
        packages = [
            run.manifest.get("tasks", {}).get(task, {}).get("grader", {}).get("packages") or {}
            for run in (base, cand)
        ]
        changed = [
            f"{name} {packages[0].get(name)} -> {packages[1].get(name)}"
            for name in sorted(set(packages[0]) | set(packages[1]))
            if packages[0].get(name) != packages[1].get(name)
        ]
        if changed:
            notes.append(
                f"{task}: grader packages differ ({', '.join(changed)}): a grading change can "
                "move scores"
            )
    return notes


def metric_k(metric: str, k: int) -> tuple[str, int]:
    """("pass"|"cons", j) for a --metric name; ``@k`` means the task's k."""
    match = _METRIC.fullmatch(metric.strip())
    if not match:
        raise ValueError(metric)
    kind, at = match.groups()
    return kind, k if at == "k" else int(at)


def check_metric(metric: str) -> str:
    if not _METRIC.fullmatch(metric.strip()):
        raise UnusableInput(f"unknown metric {metric!r}: use pass@1, pass@k, cons@k or pass@N")
    return metric.strip()


@dataclass(frozen=True)
class PairedScores:
    """One metric of one task, per problem both runs hold, in the baseline's order."""

    label: str  # the metric with k resolved (pass@64)
    ids: tuple[str, ...]
    base: tuple[float, ...]
    cand: tuple[float, ...]
    # pass@1 only: per-problem correct and graded attempts, for the k-aware power analysis
    counts: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]] | None
    left_out: int  # problems in either run without the attempts this metric needs


def _score(out: ProblemOutcomes, i: int, kind: str, j: int) -> float | None:
    from evalr.metrics import pass_at_k

    attempts, correct = out.attempts[i], out.correct[i]
    if kind == "cons":
        # No vote (no answer extracted) loses the vote, as in results.json's cons@k.
        return float(bool(out.cons[i])) if attempts else None
    return pass_at_k(attempts, correct, j) if attempts >= j else None


def paired_scores(
    base: ProblemOutcomes, cand: ProblemOutcomes, metric: str, has_cons: bool
) -> PairedScores | str:
    """The scores, or why this metric cannot be gated for this task."""
    k = min(base.k, cand.k)
    kind, j = metric_k(metric, k)
    label = f"{kind}@{j}"
    if kind == "cons" and (not has_cons or j != k):
        return (
            f"{label}: not available (majority vote over all {k} attempts only, "
            "for tasks that vote)"
        )
    if j > k:
        return f"{label}: needs {j} attempts per problem, the runs have {k}"
    where = {pid: i for i, pid in enumerate(cand.ids)}
    ids: list[str] = []
    b_scores: list[float] = []
    c_scores: list[float] = []
    rows: list[tuple[int, int]] = []
    left_out = 0
    for i, pid in enumerate(base.ids):
        if pid not in where:
            continue
        b, c = _score(base, i, kind, j), _score(cand, where[pid], kind, j)
        if b is None or c is None:
            left_out += 1
            continue
        ids.append(pid)
        b_scores.append(b)
        c_scores.append(c)
        rows.append((i, where[pid]))
    counts = None
    if label == "pass@1":
        counts = (
            [base.correct[i] for i, _ in rows],
            [base.attempts[i] for i, _ in rows],
            [cand.correct[m] for _, m in rows],
            [cand.attempts[m] for _, m in rows],
        )
    return PairedScores(label, tuple(ids), tuple(b_scores), tuple(c_scores), counts, left_out)
