"""The paper table: one row per run, the R1 paper's columns for the tasks present, each cell with
its 95% interval, k and n, the published figure of the matched model, the delta and whether the
figure lies inside the interval; every protocol difference becomes a numbered footnote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from evalr.reports.paper import Match, Published, match_run, protocol_differences, verdict
from evalr.reports.runset import RunSet, RunView, finite

CI_METHODS = {
    "bootstrap-t": "problem-level studentized bootstrap (fewer than 100 problems)",
    "t": "Student t over problems",
    "wilson": "Wilson score interval (every problem scored the same)",
    "bootstrap": "bootstrap percentiles (Codeforces rating: contests and attempts resampled)",
}


@dataclass(frozen=True)
class Column:
    key: str  # the published figure's key (or "task:NAME" for a task the paper lacks)
    task: str
    metric: str  # "pass@1", "cons" (cons@k at the run's k), or a task metric's name
    label: str
    unit: str  # fraction (shown in percent), percent, or rating
    note: str = ""


_CF_NOTE = (
    "Codeforces: the paper's rating method is unpublished (10 Div. 2 contests, expert tests); "
    "evalr places the model among each contest's rated participants (CodeElo's method): compare "
    "with care"
)
PAPER_COLUMNS = (
    Column("aime24_pass1", "aime24", "pass@1", "AIME 2024 pass@1", "fraction"),
    Column("aime24_cons64", "aime24", "cons", "AIME 2024 cons@64", "fraction"),
    Column("aime25_pass1", "aime25", "pass@1", "AIME 2025 pass@1", "fraction"),
    Column("math500_pass1", "math500", "pass@1", "MATH-500 pass@1", "fraction"),
    Column("gpqa_diamond_pass1", "gpqa_diamond", "pass@1", "GPQA Diamond pass@1", "fraction"),
    Column("livecodebench_pass1", "livecodebench", "pass@1", "LiveCodeBench pass@1", "fraction"),
    Column(
        "codeforces_rating",
        "codeforces",
        "codeforces_rating",
        "Codeforces rating",
        "rating",
        _CF_NOTE,
    ),
    Column(
        "codeforces_percentile",
        "codeforces",
        "codeforces_percentile",
        "Codeforces percentile",
        "percent",
        _CF_NOTE,
    ),
)


@dataclass(frozen=True)
class Cell:
    column: Column
    metric: str  # the metric shown (cons@64, pass@1, ...), "" when the run lacks it
    value: float | None  # in display units: percent, or rating points
    low: float | None
    high: float | None
    ci_method: str
    k: int | None
    n: int | None
    published: float | None
    status: str  # consistent | differs | "" (nothing to compare)
    flags: tuple[str, ...]
    provisional: bool
    footnotes: tuple[int, ...] = ()

    @property
    def delta(self) -> float | None:
        if self.value is None or self.published is None:
            return None
        return self.value - self.published

    @property
    def digits(self) -> int:
        return 0 if self.column.unit == "rating" else 1


@dataclass(frozen=True)
class Row:
    run: RunView
    match: Match | None
    cells: Mapping[str, Cell]  # by column key; only tasks the run has


@dataclass
class PaperTable:
    columns: list[Column]
    rows: list[Row]
    footnotes: list[str] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=dict)  # ci_method -> description


def _columns(runset: RunSet) -> list[Column]:
    present = {t for r in runset.runs for t in r.tasks}
    cols = [c for c in PAPER_COLUMNS if c.task in present]
    known = {c.task for c in PAPER_COLUMNS}
    for task in sorted(present - known):
        labels = {r.tasks[task].label for r in runset.runs if task in r.tasks}
        label = labels.pop() if len(labels) == 1 else task
        cols.append(Column(f"task:{task}", task, "pass@1", f"{label} pass@1", "fraction"))
    # Codeforces columns only where some run has the metric (a run without placeable contests
    # has no rating).
    return [
        c
        for c in cols
        if c.task != "codeforces"
        or any(c.task in r.tasks and r.tasks[c.task].metric(c.metric) for r in runset.runs)
    ]


def _scaled(x: Any, unit: str) -> float | None:
    value = finite(x)
    if value is None:
        return None
    return value * 100 if unit == "fraction" else value


def make_cell(run: RunView, column: Column, published: Published | None) -> Cell | None:
    view = run.tasks.get(column.task)
    if view is None:
        return None
    metric_name = column.metric
    m = view.metric(metric_name)
    if metric_name == "cons":
        metric_name = next((name for name in view.metrics if name.startswith("cons@")), "cons")
    figure = published.figures.get(column.key) if published else None
    problems = len(view.outcomes.ids)
    flags = protocol_differences(
        run.run.manifest, column.task, view.entry, problems, run.run.model_label
    )
    if column.metric == "cons" and metric_name != "cons@64":
        flags.append(f"{metric_name}, not cons@64")
    if view.provisional:
        flags.append("provisional: the run did not finish")
    if m is None:
        return Cell(
            column,
            "",
            None,
            None,
            None,
            "",
            view.k,
            None,
            figure,
            "",
            tuple(flags),
            view.provisional,
        )
    ci = m.get("ci95") or [None, None]
    value = _scaled(m.get("value"), column.unit)
    low, high = _scaled(ci[0], column.unit), _scaled(ci[1], column.unit)
    return Cell(
        column,
        metric_name,
        value,
        low,
        high,
        str(m.get("ci_method") or ("bootstrap" if column.task == "codeforces" else "")),
        view.k,
        m.get("n"),
        figure,
        verdict(figure, low, high),
        tuple(flags),
        view.provisional,
    )


def _names(run: RunView) -> list[str]:
    return [run.run.model_label, run.label, run.run.run_id, run.path.name, str(run.path)]


def build_table(
    runset: RunSet, every: Published | None = None, by_run: Mapping[str, Published] | None = None
) -> PaperTable:
    """The paper table; ``every``/``by_run``: the published model named by --published-as."""
    by_run = dict(by_run or {})
    columns = _columns(runset)
    table = PaperTable(columns, [])
    notes: dict[str, int] = {}
    for run in runset.runs:
        override = every or next((by_run[n] for n in _names(run) if n in by_run), None)
        match = match_run(_names(run), run.run.model, override)
        cells = {}
        for column in columns:
            cell = make_cell(run, column, match.model if match else None)
            if cell is None:
                continue
            texts = [*cell.flags, *([column.note] if column.note else [])]
            numbers = tuple(notes.setdefault(t, len(notes) + 1) for t in texts)
            cells[column.key] = replace(cell, footnotes=numbers)
            if cell.ci_method:
                table.methods[cell.ci_method] = CI_METHODS.get(cell.ci_method, cell.ci_method)
        table.rows.append(Row(run, match, cells))
    unused = set(by_run) - {n for run in runset.runs for n in _names(run)}
    if unused:
        from evalr.errors import ConfigError

        raise ConfigError(
            f"--published-as names no run called {', '.join(sorted(unused))}; use a run's label, "
            "run id or directory name"
        )
    table.footnotes = list(notes)
    return table


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def interval_text(cell: Cell) -> str:
    if cell.low is None or cell.high is None:
        return ""
    return f"[{fmt(cell.low, cell.digits)}, {fmt(cell.high, cell.digits)}]"


RECORD_FIELDS = (
    "model", "run_id", "protocol", "benchmark", "task", "metric", "unit", "value", "ci95_low",
    "ci95_high", "ci_method", "k", "n", "published_model", "published", "delta", "status",
    "protocol_differences",
)  # fmt: skip


def table_records(table: PaperTable) -> list[dict[str, Any]]:
    """One record per (run, column): the tidy form the data exports and the page embed."""
    out = []
    for row in table.rows:
        for column in table.columns:
            cell = row.cells.get(column.key)
            if cell is None:
                continue
            out.append(
                {
                    "model": row.run.label,
                    "run_id": row.run.run.run_id,
                    "protocol": row.run.protocol,
                    "benchmark": column.label,
                    "task": column.task,
                    "metric": cell.metric,
                    "unit": "rating" if column.unit == "rating" else "percent",
                    "value": _round(cell.value),
                    "ci95_low": _round(cell.low),
                    "ci95_high": _round(cell.high),
                    "ci_method": cell.ci_method,
                    "k": cell.k,
                    "n": cell.n,
                    "published_model": row.match.model.name if row.match else None,
                    "published": cell.published,
                    "delta": _round(cell.delta),
                    "status": cell.status,
                    "protocol_differences": "; ".join(cell.flags),
                }
            )
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
