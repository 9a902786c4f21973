"""Comparison pages for a task two or more runs share.

``compare/TASK.html``: every pair's paired difference in pass@1 over the problems both runs
graded (``evalr.paired.paired_difference``: per-problem pass@1 paired by problem; a sign-flip
test and bootstrap-t interval under 100 problems, paired t above), and how the runs' protocols
differ. The first run given is the reference: ``compare/TASK/REF--OTHER.html`` lists which
problems each solves and the other does not (solves: more than half its attempts correct), and
``...-side-NNN.html`` pages show both runs' answers to each problem side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalr.reports import taskpage as tp
from evalr.reports.reportdir import ReportDir
from evalr.reports.runpages import TaskPages
from evalr.reports.runset import RunView, TaskView, finite
from evalr.reports.table import fmt


def _scores(view: TaskView) -> dict[str, float]:
    return {
        pid: c / n
        for pid, n, c in zip(
            view.outcomes.ids, view.outcomes.attempts, view.outcomes.correct, strict=True
        )
        if n
    }


def paired(a: TaskView, b: TaskView) -> dict[str, Any]:
    """b - a in pass@1 points over the problems both graded."""
    from evalr.paired import paired_difference

    sa, sb = _scores(a), _scores(b)
    shared = [pid for pid in sa if pid in sb]
    result = paired_difference([sa[p] for p in shared], [sb[p] for p in shared])
    low, high = finite(result.ci95[0]), finite(result.ci95[1])
    p = finite(result.p_two_sided)
    return {
        "n": result.n,
        "delta": 100 * result.delta if result.n else None,
        "ci": "" if low is None or high is None else f"[{100 * low:+.1f}, {100 * high:+.1f}]",
        "p": "–" if p is None else (f"{p:.3f}" if p >= 0.001 else "<0.001"),
        "significant": result.significant,
        "method": f"{result.method} test, {result.ci_method} interval",
    }


def _pass1(view: TaskView) -> str:
    value = finite((view.metric("pass@1") or {}).get("value"))
    return fmt(None if value is None else 100 * value)


def protocol_differences(runs: Sequence[RunView], task: str) -> list[str]:
    """What differs between the runs' protocols for ``task`` (sampling, k, problems, data)."""
    seen: dict[str, dict[str, str]] = {}
    for run in runs:
        protocol = run.run.manifest.get("protocol", {})
        spec = protocol.get("tasks", {}).get(task, {})
        facts = {
            "protocol": str(protocol.get("name")),
            "sampling": json.dumps(protocol.get("sampling", {}), sort_keys=True),
            "k": str(spec.get("k")),
            "problems": str(len(run.tasks[task].outcomes.ids)),
            "dataset": str(spec.get("dataset_sha256", ""))[:12],
            "prompts": str(spec.get("prompts_sha256", ""))[:12],
            "options": json.dumps(spec.get("options", {}), sort_keys=True),
            "assistant prefix": repr(protocol.get("assistant_prefix", "")),
        }
        for key, value in facts.items():
            seen.setdefault(key, {})[run.label] = value
    return [
        f"{key} differs: " + "; ".join(f"{label} {value}" for label, value in by_run.items())
        for key, by_run in seen.items()
        if len(set(by_run.values())) > 1
    ]


def _classes(a: dict[str, float], b: dict[str, float], pid: str) -> str:
    solved_a, solved_b = a.get(pid, 0) > 0.5, b.get(pid, 0) > 0.5
    return {(True, True): "both", (True, False): "only A", (False, True): "only B"}.get(
        (solved_a, solved_b), "neither"
    )


def write_pair(
    task: str,
    ref: RunView,
    other: RunView,
    pages: Mapping[str, Mapping[str, TaskPages]],
    out: ReportDir,
) -> dict[str, Any]:
    """The per-problem comparison of ``other`` against ``ref`` and its side-by-side pages."""
    va, vb = ref.tasks[task], other.tasks[task]
    sa, sb = _scores(va), _scores(vb)
    pa, pb = pages[ref.slug][task], pages[other.slug][task]
    in_b = {p.id for p in pb.problems}
    problems = [p for p in pa.problems if p.id in in_b]
    name = f"{ref.slug}--{other.slug}"
    base = f"compare/{task}/{name}"
    side_pages = list(range(1, tp.page_of(max(len(problems) - 1, 0)) + 1))
    rows = []
    counts = {"both": 0, "only A": 0, "only B": 0, "neither": 0}
    for i, p in enumerate(problems):
        cls = _classes(sa, sb, p.id)
        counts[cls] += 1
        a, b = sa.get(p.id), sb.get(p.id)
        rows.append(
            {
                "index": p.index,
                "id": p.id,
                "a": None if a is None else 100 * a,
                "b": None if b is None else 100 * b,
                "delta": None if a is None or b is None else 100 * (b - a),
                "cls": cls,
                "href": f"{name}-side-{tp.page_of(i):03d}.html#{tp.anchor(i)}",
            }
        )
    common = {"task_label": va.label, "task": task, "a": ref.label, "b": other.label}
    summary = {**common, "href": f"{task}/{name}.html", "counts": counts, "diff": paired(va, vb)}
    out.page(
        f"{base}.html",
        "report_pair.html",
        **summary,
        rows=rows,
        side_pages=side_pages,
        side_prefix=f"{name}-side-",
    )
    for page in side_pages:
        chunk = problems[(page - 1) * tp.PER_PAGE : page * tp.PER_PAGE]
        out.page(
            f"{base}-side-{page:03d}.html",
            "report_side.html",
            **common,
            page=page,
            pages=side_pages,
            side_prefix=f"{name}-side-",
            pair_href=f"{name}.html",
            items=[
                {
                    **p.__dict__,
                    "anchor": tp.anchor((page - 1) * tp.PER_PAGE + j),
                    "left": pa.panels[p.id],
                    "right": pb.panels[p.id],
                }
                for j, p in enumerate(chunk)
            ],
        )
    return summary


def write_task_comparison(
    task: str,
    runs: Sequence[RunView],
    pages: Mapping[str, Mapping[str, TaskPages]],
    out: ReportDir,
) -> dict[str, Any]:
    """``compare/TASK.html`` and the reference's pair pages; returns the index's link."""
    ref, others = runs[0], runs[1:]
    matrix = [
        {
            "label": a.label,
            "cells": [None if a is b else paired(a.tasks[task], b.tasks[task]) for b in runs],
        }
        for a in runs
    ]
    pairs = [write_pair(task, ref, other, pages, out) for other in others]
    label = ref.tasks[task].label
    out.page(
        f"compare/{task}.html",
        "report_compare.html",
        task_label=label,
        runs=[
            {
                "label": r.label,
                "protocol": r.protocol,
                "k": r.tasks[task].k,
                "problems": len(r.tasks[task].outcomes.ids),
                "pass1": _pass1(r.tasks[task]),
            }
            for r in runs
        ],
        labels=[r.label for r in runs],
        notes=protocol_differences(runs, task),
        matrix=matrix,
        pairs=pairs,
    )
    return {"label": label, "href": f"compare/{task}.html", "runs": [r.label for r in runs]}


def compare_in(
    task: str, runs: Sequence[RunView], pages: Mapping[str, Mapping[str, TaskPages]], root: str
) -> dict[str, Any]:
    """``write_task_comparison`` for a worker process: the report directory by path."""
    return write_task_comparison(task, runs, pages, ReportDir(Path(root)))
