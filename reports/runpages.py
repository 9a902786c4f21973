"""Everything one run contributes to a report: its task pages and drill-down pages, written
from one pass over its journal. Returns what the comparison pages reuse (each problem's answer
panel and page facts), so no journal is read twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.reports import taskpage as tp
from evalr.reports.journal import read_journal
from evalr.reports.panel import panel
from evalr.reports.paper import protocol_differences
from evalr.reports.reportdir import ReportDir
from evalr.reports.runset import RunView, TaskView
from evalr.reports.table import fmt
from markupsafe import Markup


@dataclass
class TaskPages:
    """One task of one run, as the comparison pages need it."""

    href: str  # the task page, relative to the report root
    problems: list[tp.ProblemPage]
    panels: dict[str, Markup]  # problem id -> answer panel
    summary: dict[str, Any] = field(default_factory=dict)  # for the index's run table


def task_dir(run: RunView, task: str) -> str:
    return f"runs/{run.slug}/{task}"


def _problem_rows(view: TaskView, journal_problems: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, (pid, n, c, vote) in enumerate(
        zip(
            view.outcomes.ids,
            view.outcomes.attempts,
            view.outcomes.correct,
            view.outcomes.cons,
            strict=True,
        )
    ):
        problem = journal_problems.get(pid)
        stats = problem.stats() if problem is not None else None
        tokens = (stats.reasoning if any(stats.reasoning) else stats.completion) if stats else ()
        rows.append(
            {
                "index": i + 1,
                "id": pid,
                "href": f"samples-{tp.page_of(i):03d}.html#{tp.anchor(i)}",
                "attempts": n,
                "correct": c,
                "pass1": 100 * c / n if n else None,
                "cons": "–" if vote is None else ("✓" if vote else "✗"),
                "no_answer": stats.no_answer if stats else 0,
                "truncated": stats.truncated if stats else 0,
                "tokens": sum(tokens) / len(tokens) if tokens else None,
            }
        )
    return rows


def _summary(view: TaskView, href: str) -> dict[str, Any]:
    m = view.metric("pass@1") or {}
    value = m.get("value")
    ci = m.get("ci95") or [None, None]
    return {
        "task": view.name,
        "label": view.label,
        "href": href,
        "problems": len(view.outcomes.ids),
        "k": view.k,
        "pass1": None if value is None else 100 * value,
        "ci": "" if ci[0] is None or ci[1] is None else f"[{fmt(100 * ci[0])}, {fmt(100 * ci[1])}]",
        "no_answer": None
        if view.entry.get("no_answer_rate") is None
        else 100 * view.entry["no_answer_rate"],
        "truncated": None
        if view.entry.get("truncation_rate") is None
        else 100 * view.entry["truncation_rate"],
    }


@dataclass
class RunPages:
    tasks: dict[str, TaskPages]
    notes: list[str]  # what reading the journal found


def write_run(run: RunView, out: ReportDir) -> RunPages:
    """Write ``runs/SLUG/TASK/`` pages for every task of ``run``."""
    journal = read_journal(run.path, {t: v.k for t, v in run.tasks.items()})
    found = []
    if journal.unreadable:
        found.append(f"{journal.unreadable:,} unreadable lines in samples.jsonl were skipped")
    if journal.torn_tail:
        found.append(
            "the last line of samples.jsonl is incomplete (the run was killed while "
            "writing it) and was skipped"
        )
    general = [n for n in run.notes if not n.startswith("departs from")] + found
    stored = run.run.problems()
    cap = run.run.manifest.get("protocol", {}).get("sampling", {}).get("max_tokens")
    result = {}
    for name, view in run.tasks.items():
        rows = {str(p.get("id")): p for p in stored if p.get("task") == name}
        meta = {pid: (row.get("metadata") or {}) for pid, row in rows.items()}
        task_journal = journal.task(name)
        base = task_dir(run, name)
        problems = tp.problem_pages(view.outcomes.ids, rows)
        panels = {p.id: panel(task_journal.problems.get(p.id), view.k) for p in problems}
        pages = list(range(1, tp.page_of(max(len(problems) - 1, 0)) + 1))
        notes = list(general)
        differences = protocol_differences(
            run.run.manifest, name, view.entry, len(view.outcomes.ids), run.run.model_label
        )
        if differences:
            notes.append("differs from the paper's protocol: " + "; ".join(differences))
        common = {"run_label": run.label, "task_label": view.label, "slug": run.slug}
        keys = [
            k for k in tp.BREAKDOWN_KEYS if any(k in m and m[k] is not None for m in meta.values())
        ]
        out.page(
            f"{base}/index.html",
            "report_task.html",
            **common,
            description=run.run.manifest.get("tasks", {}).get(name, {}).get("description", ""),
            k=view.k,
            protocol=run.protocol,
            notes=notes,
            metrics=tp.metric_rows(view),
            facts=tp.facts(run, view, task_journal),
            breakdowns=tp.breakdowns(view, meta),
            histogram=tp.histogram(task_journal, cap if isinstance(cap, int) else None),
            meta_keys=keys,
            problems=[
                {**row, "meta": {k: meta.get(row["id"], {}).get(k, "") for k in keys}}
                for row in _problem_rows(view, task_journal.problems)
            ],
            pages=pages,
        )
        for page in pages:
            items = problems[(page - 1) * tp.PER_PAGE : page * tp.PER_PAGE]
            out.page(
                f"{base}/samples-{page:03d}.html",
                "report_samples.html",
                **common,
                page=page,
                pages=pages,
                first=items[0].index if items else 0,
                last=items[-1].index if items else 0,
                total=len(problems),
                items=[{**p.__dict__, "panel": panels[p.id]} for p in items],
            )
        href = f"{base}/index.html"
        result[name] = TaskPages(href, problems, panels, _summary(view, href))
    return RunPages(result, found)


def write_run_in(run: RunView, root: str) -> RunPages:
    """``write_run`` for a worker process: the report directory by path."""
    return write_run(run, ReportDir(Path(root)))
