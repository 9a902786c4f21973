"""The site's pages, rendered with Jinja2 (autoescape on, StrictUndefined) from
``reports/templates/leaderboard``: the index, one page per model, one per run.

A run's page shows that run only (never its rank or whether a newer run replaced it), so it
depends on the run's own files and nothing else: that is what lets a rebuild carry it over.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from .catalog import FINISHED, ListedRun
from .ranking import PAIRED_METHOD, PER_PROBLEM, Board, Ranking, Standing

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "leaderboard"


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["value"] = format_value
    env.filters["interval"] = format_interval
    env.filters["percent"] = format_percent
    env.globals["anchor"] = board_anchor
    return env


def is_fraction(metric: str) -> bool:
    return PER_PROBLEM.fullmatch(metric) is not None


def format_value(value: Any, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if is_fraction(metric):
        return f"{100 * float(value):.1f}"
    return f"{float(value):.0f}" if abs(float(value)) >= 100 else f"{float(value):.2f}"


def format_interval(entry: Mapping[str, Any], metric: str) -> str:
    ci = entry.get("ci95") or [None, None]
    if len(ci) != 2 or ci[0] is None or ci[1] is None:
        return "\u2013"
    return f"{format_value(ci[0], metric)}\u2013{format_value(ci[1], metric)}"


def format_percent(value: Any) -> str:
    return "\u2013" if value is None else f"{100 * float(value):.1f}%"


def board_anchor(task: str, metric: str, protocol: str) -> str:
    """index.html's fragment that shows one ranking (the page reads its state from it)."""
    return "#" + urlencode({"task": task, "metric": metric, "protocol": protocol}, quote_via=quote)


@dataclass(frozen=True)
class Row:
    """One line of the index's table."""

    ranking: Ranking
    standing: Standing
    band: int  # alternating shade per tie group
    tied: bool  # shares its tie group with another model
    first: bool  # the ranking's first row
    report: str  # the run's report index relative to the site, "" when none


def _rows(board: Board, reports: Mapping[str, str]) -> list[Row]:
    rows = []
    for ranking in board.rankings:
        sizes: dict[int, int] = defaultdict(int)
        for s in ranking.standings:
            sizes[s.group] += 1
        for i, s in enumerate(ranking.standings):
            tied = sizes[s.group] > 1
            rows.append(Row(ranking, s, s.group % 2, tied, i == 0, reports.get(s.run.rel, "")))
    return rows


def method_text(alpha: float) -> str:
    return (
        f"Ranks and tie groups come from {PAIRED_METHOD} at \u03b1 = {alpha:g}. A model's rank "
        "interval runs from 1 + the number of models significantly better to N \u2212 the number "
        "significantly worse; a tie group ends where two neighbours in value order differ "
        "significantly. Only runs of one protocol (same k, problems, sampling, prompts, "
        "grader) are ranked together; the newest finished run of each model stands."
    )


def render_index(
    title: str,
    board: Board,
    runs: Sequence[ListedRun],
    reports: Mapping[str, str],
    alpha: float,
) -> str:
    rows = _rows(board, reports)
    metrics = sorted({r.metric for r in board.rankings}, key=lambda m: (not is_fraction(m), m))
    default_metric = "pass@1" if "pass@1" in metrics else (metrics[0] if metrics else "")
    return str(
        _environment()
        .get_template("index.html")
        .render(
            title=title,
            root="",
            rows=rows,
            tasks=sorted({r.task for r in board.rankings}),
            metrics=metrics,
            default_metric=default_metric,
            protocols=list(dict.fromkeys(r.protocol for r in board.rankings)),
            unranked=[r for r in runs if r.state != FINISHED],
            runs=runs,
            superseded=board.superseded,
            models=len({r.model for r in runs if r.model}),
            protocol_count=len({r.key for r in board.rankings}),
            method=method_text(alpha),
        )
    )


def render_model(
    title: str,
    model: str,
    board: Board,
    runs: Sequence[ListedRun],
    reports: Mapping[str, str],
    alpha: float,
) -> str:
    rows = [row for row in _rows(board, reports) if row.standing.run.model == model]
    own = sorted((r for r in runs if r.model == model), key=lambda r: -r.created)
    return str(
        _environment()
        .get_template("model.html")
        .render(
            title=title,
            root="../",
            model=model,
            rows=rows,
            runs=own,
            superseded=board.superseded,
            method=method_text(alpha),
        )
    )


def render_run(title: str, run: ListedRun, report: str, report_note: str) -> str:
    manifest: Mapping[str, Any] = run.run.manifest if run.run is not None else {}
    return str(
        _environment()
        .get_template("run.html")
        .render(
            title=title,
            root="../",
            run=run,
            protocol=manifest.get("protocol", {}).get("name", ""),
            # What served the model, never its address: a published site must not carry
            # a private endpoint's URL (the run directory keeps it).
            served_by=_served_by(manifest.get("model") or {}),
            evalr_version=manifest.get("evalr_version", ""),
            git_sha=manifest.get("git_sha") or "",
            deviations=run.run.deviations if run.run is not None else [],
            report=report,
            report_note=report_note,
        )
    )


def _served_by(model: Mapping[str, Any]) -> str:
    parts = [str(model[k]) for k in ("backend", "engine_version") if model.get(k)]
    return ", ".join(parts)
