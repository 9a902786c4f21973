"""What a task page shows: metrics, accuracy by subject, level or difficulty, truncation and
no-answer rates, a reasoning-length histogram and the per-problem table; and each problem as the
drill-down pages show it (``PER_PAGE`` problems a page, with its answer panel from ``panel``).

A 64-attempt x 500-problem task becomes 25 drill-down pages of a few hundred kilobytes each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalr.reports.journal import TaskJournal
from evalr.reports.panel import ANSWER_SHOWN, Shortened, shorten
from evalr.reports.runset import RunView, TaskView, finite
from evalr.reports.table import CI_METHODS, fmt

PER_PAGE = 20
PROMPT_SHOWN = 20_000
BREAKDOWN_KEYS = ("subject", "level", "domain", "difficulty", "platform", "rating")
_HIDDEN_META = {"solution", "options", "permutation", "starter_code", "statement_facts", "tests"}


def page_of(index: int) -> int:
    """1-based drill-down page of the problem at 0-based ``index``."""
    return index // PER_PAGE + 1


def anchor(index: int) -> str:
    return f"p{index + 1}"


def _group(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if key == "rating" and isinstance(value, (int, float)):
        low = int(value) // 400 * 400
        return f"{low}-{low + 399}"
    return str(value)


def _summary(scores: list[float]) -> tuple[float | None, str, str]:
    from evalr.metrics import summarize

    m = summarize("pass", scores, 1)
    value = finite(m.value)
    low, high = finite(m.ci95[0]), finite(m.ci95[1])
    ci = "" if low is None or high is None else f"[{fmt(100 * low)}, {fmt(100 * high)}]"
    return (None if value is None else 100 * value), ci, m.ci_method


def breakdowns(view: TaskView, meta: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    pass1 = view.outcomes.pass1()
    for key in BREAKDOWN_KEYS:
        groups: dict[str, list[float]] = {}
        for pid, score in zip(view.outcomes.ids, pass1, strict=True):
            name = _group(key, meta.get(pid, {}).get(key))
            if name is not None and score is not None:
                groups.setdefault(name, []).append(score)
        if len(groups) < 2:
            continue
        rows = []
        for name in sorted(groups, key=lambda g: (len(g), g) if g[:1].isdigit() else (0, g)):
            value, ci, method = _summary(groups[name])
            rows.append(
                {"name": name, "n": len(groups[name]), "value": value, "ci": ci, "method": method}
            )
        out.append({"key": key, "groups": rows})
    return out


def _tokens(task: TaskJournal) -> tuple[str, Any, Any]:
    """Per graded attempt: its token count (reasoning, or completion where a model gives no
    separate reasoning) and whether it was correct, as numpy arrays."""
    import numpy as np

    stats = [p.stats() for p in task.problems.values()]
    correct = np.fromiter((c for s in stats for c in s.correct), dtype=bool)
    reasoning = np.fromiter((t for s in stats for t in s.reasoning), dtype=np.int64)
    if reasoning.any():
        return "reasoning tokens", reasoning, correct
    completion = np.fromiter((t for s in stats for t in s.completion), dtype=np.int64)
    return "completion tokens", completion, correct


def histogram(task: TaskJournal, cap: int | None, bins: int = 30) -> dict[str, Any] | None:
    """Bins for the template's SVG: stacked correct (below) and wrong counts."""
    import numpy as np

    xlabel, values, ok = _tokens(task)
    if not len(values):
        return None
    top = int(values.max()) or 1
    if cap and top > 0.8 * cap:
        top = max(top, cap)
    step = top / bins
    edges = np.linspace(0, top, bins + 1)
    correct = np.histogram(values[ok], edges)[0].tolist()
    wrong = np.histogram(values[~ok], edges)[0].tolist()
    width, height = 600, 150
    peak = max(c + w for c, w in zip(correct, wrong, strict=True)) or 1
    bar_w = width / bins
    rows = []
    for i, (c, w) in enumerate(zip(correct, wrong, strict=True)):
        hc, hw = height * c / peak, height * w / peak
        label = f"{int(i * step):,}-{int((i + 1) * step):,}"
        rows.append(
            {
                "x": round(i * bar_w + 0.5, 1),
                "w": round(bar_w - 1, 1),
                "yc": round(height - hc, 1),
                "hc": round(hc, 1),
                "yw": round(height - hc - hw, 1),
                "hw": round(hw, 1),
                "correct": c,
                "wrong": w,
                "label": label,
            }
        )
    ticks = [{"x": round(width * j / 4, 1), "label": f"{int(top * j / 4):,}"} for j in range(5)]
    ticks[0]["x"], ticks[-1]["x"] = 12, width - 16
    cap_x = round(width * cap / top, 1) if cap and cap <= top else None
    return {
        "bins": rows,
        "ticks": ticks,
        "width": width,
        "height": height,
        "peak": peak,
        "xlabel": xlabel,
        "cap": cap,
        "cap_x": cap_x,
    }


def _prompt(row: Mapping[str, Any] | None) -> Shortened:
    if not row:
        return Shortened("(the prompt was not stored: problems.jsonl is missing)", 0, "")
    messages = row.get("messages") or []
    if len(messages) == 1:
        text = str(messages[0].get("content", ""))
    else:
        text = "\n\n".join(f"[{m.get('role')}]\n{m.get('content', '')}" for m in messages)
    return shorten(text, PROMPT_SHOWN)


def _meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(k), str(v)[:300])
        for k, v in meta.items()
        if k not in _HIDDEN_META and isinstance(v, (str, int, float, bool)) and v != ""
    ]


@dataclass
class ProblemPage:
    """What the drill-down and side-by-side pages show of one problem."""

    index: int
    id: str
    anchor: str
    meta: list[tuple[str, str]]
    prompt: Shortened
    target: str
    solution: Shortened | None


def problem_pages(ids: Sequence[str], rows: Mapping[str, Mapping[str, Any]]) -> list[ProblemPage]:
    out = []
    for i, pid in enumerate(ids):
        row = rows.get(pid) or {}
        meta = row.get("metadata") or {}
        solution = meta.get("solution")
        out.append(
            ProblemPage(
                i + 1,
                pid,
                anchor(i),
                _meta_items(meta),
                _prompt(row),
                str(row.get("target") or "")[:2000],
                shorten(str(solution), ANSWER_SHOWN) if solution else None,
            )
        )
    return out


def metric_rows(view: TaskView) -> list[dict[str, Any]]:
    out = []
    for name, m in view.metrics.items():
        rating = not (name.startswith(("pass@", "cons@")))
        scale = 1 if rating or "percentile" in name else 100
        value = finite(m.get("value"))
        ci = m.get("ci95") or [None, None]
        low, high = finite(ci[0]), finite(ci[1])
        digits = 0 if rating and "percentile" not in name else 1
        out.append(
            {
                "name": name,
                "value": None if value is None else value * scale,
                "digits": digits,
                "ci": ""
                if low is None or high is None
                else f"[{fmt(low * scale, digits)}, {fmt(high * scale, digits)}]",
                "method": CI_METHODS.get(
                    str(m.get("ci_method") or ""), m.get("ci_method") or "bootstrap percentiles"
                ),
                "n": m.get("n"),
            }
        )
    return out


def _pct(x: Any) -> str:
    value = finite(x)
    return "–" if value is None else f"{100 * value:.1f}%"


def facts(run: RunView, view: TaskView, task: TaskJournal) -> list[tuple[str, str]]:
    entry = view.entry
    stats = [p.stats() for p in task.problems.values()]
    n = sum(s.graded for s in stats)
    rates = {
        "truncation_rate": entry.get(
            "truncation_rate", sum(s.truncated for s in stats) / n if n else None
        ),
        "no_answer_rate": entry.get(
            "no_answer_rate", sum(s.no_answer for s in stats) / n if n else None
        ),
    }
    # An unfinished run has no results entry: the same means from its journal.
    reasoning = sum(sum(s.reasoning) for s in stats) / n if n else None
    answer = sum(sum(s.completion) - sum(s.reasoning) for s in stats) / n if n else None
    manifest_task = run.run.manifest.get("tasks", {}).get(view.name, {})
    dataset = manifest_task.get("dataset", {})
    out = [
        ("truncated (finish_reason length)", _pct(rates["truncation_rate"])),
        ("no answer extracted", _pct(rates["no_answer_rate"])),
        ("errors", _pct(entry.get("error_rate")) if entry else "–"),
        ("mean reasoning tokens", fmt(finite(entry.get("mean_reasoning_tokens", reasoning)), 0)),
        ("mean answer tokens", fmt(finite(entry.get("mean_answer_tokens", answer)), 0)),
        ("graded attempts", f"{n:,}"),
    ]
    if entry.get("verdicts"):
        out.append(("verdicts", ", ".join(f"{k} {v:,}" for k, v in entry["verdicts"].items())))
    if entry.get("test_sets"):
        out.append(("test sets", ", ".join(f"{k} {v:,}" for k, v in entry["test_sets"].items())))
    if dataset:
        out.append(
            (
                "dataset",
                f"{dataset.get('id')} @ {dataset.get('revision')} ({dataset.get('source')})",
            )
        )
    grader = manifest_task.get("grader", {})
    if grader:
        out.append(("grader", f"{grader.get('grader')} v{grader.get('version')}"))
    return out
