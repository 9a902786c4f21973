"""A whole HTML report: the index (paper table, charts, runs, published figures), each run's
task and drill-down pages, and the comparison pages, built into a temporary directory that then
replaces the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalr.reports import charts as ch
from evalr.reports.paper import paper, published_models
from evalr.reports.reportdir import building
from evalr.reports.runpages import TaskPages
from evalr.reports.runset import RunSet, RunView
from evalr.reports.table import PAPER_COLUMNS, PaperTable, table_records
from evalr.reports.workers import write_pages
from markupsafe import Markup

RADAR_CAPTION = (
    "Radar chart as in the paper's Figure 1: every axis on the same 0-100 scale (pass@1 in "
    "percent, Codeforces as a percentile), no per-axis rescaling; dashed: the matched model's "
    "published figures."
)
# Figure 1's benchmarks that evalr runs, in the figure's order (MMLU and SWE-bench Verified, the
# figure's other two, are not evalr tasks).
FIGURE1_AXES = ("aime24_pass1", "codeforces_percentile", "gpqa_diamond_pass1", "math500_pass1")


def _plain(label: str) -> str:
    """A label matplotlib shows as typed (a ``$`` would start its math mode, a leading ``_``
    would hide it from the legend)."""
    label = label.replace("$", r"\$")
    return f" {label}" if label.startswith("_") else label


def _chart_axes(table: PaperTable) -> list[Any]:
    percent = [c for c in table.columns if c.unit != "rating" and c.metric != "cons"]
    first = [c for key in FIGURE1_AXES for c in percent if c.key == key]
    return first + [c for c in percent if c not in first]


def make_charts(table: PaperTable) -> tuple[list[dict[str, Any]], list[str]]:
    """The radar and pass@1 bar charts (with captions), and notes on what was left out."""
    rows = [r for r in table.rows if any(c.value is not None for c in r.cells.values())]
    notes: list[str] = []
    made: list[dict[str, Any]] = []
    if not rows:
        return made, ["No measured values to chart."]
    axes = _chart_axes(table)
    series, published, seen = [], [], set()
    for i, row in enumerate(rows):
        values = {
            c.label: value
            for c in axes
            if c.key in row.cells and (value := row.cells[c.key].value) is not None
        }
        series.append(ch.Series(_plain(row.run.label), values))
        if row.match and row.match.model.name not in seen:
            seen.add(row.match.model.name)
            figures = {
                c.label: row.match.model.figures[c.key]
                for c in axes
                if c.key in row.match.model.figures
            }
            if figures:
                label = _plain(f"paper: {row.match.model.name}")
                published.append(ch.Series(label, figures, colour=i))
    if len(axes) >= 3:
        chart = ch.radar("radar", [c.label for c in axes], series, published)
        made.append(
            {
                "name": chart.name,
                "svg": Markup(chart.svg),
                "png": chart.png,
                "caption": RADAR_CAPTION,
            }
        )
    else:
        notes.append(
            f"No radar chart: it needs at least three benchmarks on a percent scale, and these "
            f"runs have {len(axes)}."
        )
    bar_cols = [c for c in axes if c.metric == "pass@1"]
    if bar_cols:
        bar_series, marks = [], {}
        for row in rows:
            cells = {c.label: row.cells[c.key] for c in bar_cols if c.key in row.cells}
            cells = {k: v for k, v in cells.items() if v.value is not None}
            label = _plain(row.run.label)
            bar_series.append(
                ch.Series(
                    label,
                    {k: v.value for k, v in cells.items() if v.value is not None},
                    {k: v.low for k, v in cells.items() if v.low is not None},
                    {k: v.high for k, v in cells.items() if v.high is not None},
                )
            )
            for k, v in cells.items():
                if v.published is not None:
                    marks[(label, k)] = v.published
        chart = ch.bars("pass1", [c.label for c in bar_cols], bar_series, marks)
        made.append(
            {
                "name": chart.name,
                "svg": Markup(chart.svg),
                "png": chart.png,
                "caption": "pass@1 with 95% interval whiskers; black marks: published figures.",
            }
        )
    return made, notes


def _run_context(run: RunView, tasks: Mapping[str, TaskPages]) -> dict[str, Any]:
    manifest = run.run.manifest
    sampling = manifest.get("protocol", {}).get("sampling", {})
    if run.run.results is None:
        state = "not finished (no results.json)"
    elif run.run.complete:
        state = "finished, complete"
    else:
        state = "finished, incomplete"
    return {
        "slug": run.slug,
        "label": run.label,
        "run_id": run.run.run_id,
        "path": str(run.path),
        # What the model is, not where it was served: a published report carries no endpoint.
        "model": run.run.model or manifest.get("model_spec"),
        "protocol": run.protocol,
        "sampling": ", ".join(f"{k} {v}" for k, v in sampling.items()),
        "version": manifest.get("evalr_version", "?"),
        "state": state,
        "notes": run.notes,
        "tasks": [t.summary for t in tasks.values()],
    }


def _discrepancies() -> list[str]:
    out = []
    for d in paper().get("discrepancies", []):
        values = "; ".join(f"{k}: {v}" for k, v in d.items() if k != "item")
        out.append(f"{d.get('item')}: {values}")
    return out


def render_html(runset: RunSet, table: PaperTable, target: Path) -> Path:
    info = {"generator": "evalr report", "runs": [str(r.path) for r in runset.runs]}
    with building(target, info) as out:
        # The charts are drawn here while worker processes (if any) write the pages.
        written, comparisons, (charts, chart_notes) = write_pages(
            runset, out, lambda: make_charts(table)
        )
        for run in runset.runs:
            run.notes += written[run.slug].notes
        for chart in charts:
            out.write(f"assets/{chart['name']}.png", chart["png"])
        labels = ", ".join(r.label for r in runset.runs) or "no runs"
        notes = list(runset.notes)
        notes += [f"{r.label}: {n}" for r in runset.runs for n in r.notes if "departs" not in n]
        out.page(
            "index.html",
            "report_index.html",
            title=f"evalr report: {labels}",
            notes=notes,
            runs=[_run_context(r, written[r.slug].tasks) for r in runset.runs],
            table=table,
            charts=charts,
            chart_notes=chart_notes,
            comparisons=comparisons,
            paper=paper(),
            published=list(published_models().values()),
            published_columns=[c for c in PAPER_COLUMNS if c.key != "aime25_pass1"],
            discrepancies=_discrepancies(),
            data={"table": table_records(table), "footnotes": table.footnotes},
        )
    return target / "index.html"
