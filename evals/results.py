"""From stored records to ``results.json``: a stable, versioned schema other tools read.

Per task, each metric sits under its plain name (``pass@1``, ``pass@8``, ``cons@64``) with
``value`` (a fraction in [0, 1]; task metrics such as ``codeforces_rating`` are in their own
unit), ``stderr``, ``ci95``, ``ci_method`` and ``n`` (problems covered). ``per_problem`` holds
each problem's graded attempts, correct count and majority-vote outcome; the document says
whether the run is complete and how it departs from the protocol it names.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from evalr.metrics import Attempt, ProblemAttempts, majority_correct, task_metrics
from evalr.store import RESULTS_SCHEMA, SampleRecord
from evalr.task import Task
from evalr.types import MetricValue, Problem


def _number(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def _ratio(count: int, total: int) -> float | None:
    return round(count / total, 6) if total else None


def metric_json(m: MetricValue) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": _number(m.value),
        "stderr": _number(m.stderr),
        "ci95": [_number(m.ci95[0]), _number(m.ci95[1])],
        "n": m.n,
    }
    if m.ci_method:
        out["ci_method"] = m.ci_method
    if m.details:
        out["details"] = dict(m.details)
    return out


def _votes(records: Sequence[SampleRecord]) -> list[int | None]:
    """Vote ids from the stored answer classes (no grader call).

    Records written before classes were stored fall back to their extracted string.
    """
    ids: dict[str, int] = {}
    out: list[int | None] = []
    for r in records:
        grade = r.grade
        assert grade is not None
        cls = grade.answer_class if grade.answer_class is not None else grade.extracted
        out.append(None if cls is None else ids.setdefault(cls, len(ids)))
    return out


def task_result(
    task: Task,
    problems: Sequence[Problem],
    k: int,
    records: Mapping[tuple[str, str, int], SampleRecord],
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Aggregate one task over exactly the planned (problem, attempt) keys.

    ``params``: the task's params with its loader's facts (the score's label among them).

    Besides the metrics, ``per_problem`` holds each problem's graded attempts, correct count and
    majority-vote outcome (columns, in dataset order): what gates, reports and intervals need,
    without reading a single completion's text again.
    """
    graded_attempts: list[list[Attempt]] = []
    outcomes: list[ProblemAttempts] = []
    per_problem: dict[str, list[Any]] = {"ids": [], "attempts": [], "correct": [], "cons": []}
    counts: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    test_sets: Counter[str] = Counter()
    reasoning_tokens = answer_tokens = graded = 0
    for problem in problems:
        got = [records.get((task.name, problem.id, a)) for a in range(k)]
        ok = [r for r in got if r is not None and r.status == "ok" and r.grade is not None]
        counts["attempts"] += k
        counts["missing"] += sum(r is None for r in got)
        counts["errors"] += sum(r is not None for r in got) - len(ok)
        per_problem["ids"].append(problem.id)
        per_problem["attempts"].append(len(ok))
        per_problem["correct"].append(sum(bool(r.grade and r.grade.correct) for r in ok))
        if not ok:
            per_problem["cons"].append(None)
            continue
        attempts = []
        for r, vote in zip(ok, _votes(ok), strict=True):
            grade = r.grade
            assert grade is not None and r.completion is not None
            attempts.append(Attempt(grade.correct, vote, r.attempt))
            graded += 1
            counts["no_answer"] += grade.extracted is None
            counts["truncated"] += r.completion.finish_reason == "length"
            if grade.verdict:
                verdicts[grade.verdict] += 1
            test_set = grade.details.get("test_set") if grade.details else None
            if test_set:
                test_sets[str(test_set)] += 1
            usage = r.completion.usage
            reasoning_tokens += usage.reasoning_tokens
            answer_tokens += max(usage.completion_tokens - usage.reasoning_tokens, 0)
        graded_attempts.append(attempts)
        per_problem["cons"].append(majority_correct(attempts) if task.majority_vote else None)
        outcomes.append(ProblemAttempts(problem, tuple(sorted(attempts, key=lambda a: a.index))))
    metrics = task_metrics(graded_attempts, task.majority_vote)
    if task.metrics is not None and outcomes:
        metrics = [*metrics, *task.metrics(outcomes)]
    out: dict[str, Any] = {
        # What the number may be called (a public-tests-only LiveCodeBench score is not one).
        "label": str((task.params if params is None else params).get("label", task.name)),
        "version": task.version,
        "k": k,
        "problems": len(problems),
        "metrics": {m.label: metric_json(m) for m in metrics},
        "counts": dict(counts),
        "complete": counts["missing"] == 0 and counts["errors"] == 0,
        "no_answer_rate": _ratio(counts["no_answer"], graded),
        "truncation_rate": _ratio(counts["truncated"], graded),
        "error_rate": round(counts["errors"] / counts["attempts"], 6)
        if counts["attempts"]
        else 0.0,
        "mean_reasoning_tokens": round(reasoning_tokens / graded, 1) if graded else None,
        "mean_answer_tokens": round(answer_tokens / graded, 1) if graded else None,
    }
    if verdicts:
        out["verdicts"] = dict(sorted(verdicts.items()))
    if test_sets:
        out["test_sets"] = dict(sorted(test_sets.items()))
    out["per_problem"] = per_problem
    return out


def results_document(
    manifest: Mapping[str, Any], tasks: Mapping[str, Any], timing: Mapping[str, Any]
) -> dict[str, Any]:
    deviations = list(manifest.get("deviations", []))
    missing = sum(t["counts"].get("missing", 0) for t in tasks.values())
    failed = sum(t["counts"].get("errors", 0) for t in tasks.values())
    return {
        "schema_version": RESULTS_SCHEMA,
        "run_id": manifest.get("run_id"),
        "evalr_version": manifest.get("evalr_version"),
        "protocol": manifest.get("protocol", {}).get("name"),
        # How the run departs from the protocol it names (k, token cap, slice, ...): a run
        # with any is "modified" and is never presented as following the protocol.
        "modified": bool(deviations),
        "deviations": deviations,
        "model": manifest.get("protocol", {}).get("model"),
        "model_spec": manifest.get("model_spec"),
        # Complete: every planned attempt is stored and graded.
        "complete": missing == 0 and failed == 0,
        "missing_attempts": missing,
        "failed_attempts": failed,
        "tasks": dict(tasks),
        # Wall-clock facts live apart so two runs of the same protocol compare equal elsewhere.
        "timing": dict(timing),
    }
