"""Plain-text results tables for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def results_table(results: Mapping[str, Any]) -> str:
    rows = [("task", "metric", "value %", "95% CI", "n", "trunc %", "no-ans %", "errors")]
    notes = []
    for name, task in results.get("tasks", {}).items():
        label = name if task.get("label", name) == name else f"{name} ({task['label']})"
        test_sets = task.get("test_sets") or {}
        if test_sets and set(test_sets) != {"hidden"}:
            label = f"{label}*"
            notes.append(
                f"* {name}: graded on {', '.join(f'{k} ({v})' for k, v in test_sets.items())} "
                "test sets, not the full hidden tests: not comparable to published scores"
            )
        for i, (metric, m) in enumerate(task["metrics"].items()):
            lo, hi = m["ci95"]
            ci = "-" if lo is None else f"{_pct(lo)}-{_pct(hi)}"
            rows.append(
                (
                    label if i == 0 else "",
                    metric,
                    _pct(m["value"]),
                    ci,
                    str(m["n"]),
                    _pct(task.get("truncation_rate")) if i == 0 else "",
                    _pct(task.get("no_answer_rate")) if i == 0 else "",
                    str(task["counts"].get("errors", 0)) if i == 0 else "",
                )
            )
        if task.get("verdicts"):
            verdicts = ", ".join(f"{k} {v}" for k, v in task["verdicts"].items())
            notes.append(f"{name} verdicts: {verdicts}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if j < 2 else c.rjust(w)
            for j, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    model = results.get("model") or ""
    protocol = str(results.get("protocol"))
    deviations = results.get("deviations") or []
    if deviations:
        protocol += " (modified)"
        notes.append(f"modified {results.get('protocol')}: {'; '.join(deviations)}")
    if not results.get("complete", True):
        missing, failed = results.get("missing_attempts", 0), results.get("failed_attempts", 0)
        planned = sum(t["counts"].get("attempts", 0) for t in results.get("tasks", {}).values())
        notes.append(
            f"INCOMPLETE: {missing} of {planned} attempts not run, {failed} failed; the numbers "
            "cover what is stored (rerun the same command to finish)"
        )
    head = f"model {model}  protocol {protocol}"
    return "\n".join([head, *lines, *notes])
