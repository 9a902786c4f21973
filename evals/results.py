"""From stored records to ``results.json``: a stable, versioned schema other tools read.

Per task, each metric sits under its plain name (``pass@1``, ``pass@8``, ``cons@64``) with
``value`` as a fraction in [0, 1], ``stderr``, ``ci95`` and ``n`` (problems covered).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from evalr.metrics import Attempt, task_metrics
from evalr.store import RESULTS_SCHEMA, SampleRecord
from evalr.task import Task
from evalr.types import MetricValue, Sample


def _number(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def _ratio(count: int, total: int) -> float | None:
    return round(count / total, 6) if total else None


def metric_json(m: MetricValue) -> dict[str, Any]:
    return {
        "value": _number(m.value),
        "stderr": _number(m.stderr),
        "ci95": [_number(m.ci95[0]), _number(m.ci95[1])],
        "n": m.n,
    }


async def task_result(
    task: Task,
    samples: Sequence[Sample],
    k: int,
    records: Mapping[tuple[str, str, int], SampleRecord],
) -> dict[str, Any]:
    """Aggregate one task over exactly the planned (sample, attempt) keys."""
    problems: list[list[Attempt]] = []
    counts: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    test_sets: Counter[str] = Counter()
    reasoning_tokens = answer_tokens = graded = 0
    for sample in samples:
        got = [records.get((task.name, sample.id, a)) for a in range(k)]
        ok = [r for r in got if r is not None and r.status == "ok" and r.grade is not None]
        counts["attempts"] += k
        counts["missing"] += sum(r is None for r in got)
        counts["errors"] += sum(r is not None for r in got) - len(ok)
        if not ok:
            continue
        answers = [r.grade.extracted for r in ok]  # type: ignore[union-attr]
        present = [a for a in answers if a is not None]
        classes = iter(await task.grader.classes(sample, present) if present else [])
        attempts = []
        for r in ok:
            grade = r.grade
            assert grade is not None and r.completion is not None
            vote = next(classes) if grade.extracted is not None else None
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
        problems.append(attempts)
    metrics = task_metrics(problems, task.majority_vote)
    out: dict[str, Any] = {
        # What the number may be called (a public-tests-only LiveCodeBench score is not one).
        "label": str(task.params.get("label", task.name)),
        "version": task.version,
        "k": k,
        "problems": len(samples),
        "metrics": {m.label: metric_json(m) for m in metrics},
        "counts": dict(counts),
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
    return out


def results_document(
    manifest: Mapping[str, Any], tasks: Mapping[str, Any], timing: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": RESULTS_SCHEMA,
        "run_id": manifest.get("run_id"),
        "evalr_version": manifest.get("evalr_version"),
        "protocol": manifest.get("protocol", {}).get("name"),
        "model": manifest.get("protocol", {}).get("model"),
        "model_spec": manifest.get("model_spec"),
        "tasks": dict(tasks),
        # Wall-clock facts live apart so two runs of the same protocol compare equal elsewhere.
        "timing": dict(timing),
    }
