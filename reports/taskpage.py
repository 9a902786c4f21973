"""A run's task pages: metrics, accuracy by subject, level or difficulty, truncation and
no-answer rates, a reasoning-length histogram, the per-problem table, and drill-down pages of
``PER_PAGE`` problems each (prompt, gold, every attempt's outcome and answer, and the texts of
attempt 0 and the first correct and first wrong attempt).

A 64-attempt x 500-problem task becomes 25 drill-down pages, each well under a few megabytes:
long texts are cut to their head and tail (``REASONING_SHOWN``, ``ANSWER_SHOWN`` characters) with
the number of characters left out said where they were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from evalr.reports.journal import Attempt, ProblemJournal, TaskJournal, Texts
from evalr.reports.reportdir import environment
from evalr.reports.runset import RunView, TaskView, finite
from evalr.reports.table import CI_METHODS, fmt
from markupsafe import Markup

PER_PAGE = 20
REASONING_SHOWN = 8_000
ANSWER_SHOWN = 6_000
PROMPT_SHOWN = 20_000
DIST_ROWS = 8  # answers listed per problem; the rest are counted
BREAKDOWN_KEYS = ("subject", "level", "domain", "difficulty", "platform", "rating")
_HIDDEN_META = {"solution", "options", "permutation", "starter_code", "statement_facts", "tests"}


@dataclass(frozen=True)
class Shortened:
    head: str
    omitted: int
    tail: str

    @property
    def note(self) -> str:
        return f"\n\n[… {self.omitted:,} characters not shown; all of it is in samples.jsonl …]\n\n"


def shorten(text: str, limit: int) -> Shortened:
    if len(text) <= limit:
        return Shortened(text, 0, "")
    half = limit // 2
    return Shortened(text[:half], len(text) - 2 * half, text[-half:])


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


def _tokens(task: TaskJournal) -> tuple[str, list[tuple[int, bool]]]:
    stats = [p.stats() for p in task.problems.values()]
    if any(any(s.reasoning) for s in stats):
        return "reasoning tokens", [
            x for s in stats for x in zip(s.reasoning, s.correct, strict=True)
        ]
    return "completion tokens", [
        x for s in stats for x in zip(s.completion, s.correct, strict=True)
    ]


def histogram(task: TaskJournal, cap: int | None, bins: int = 30) -> dict[str, Any] | None:
    """Bins for the template's SVG: stacked correct (below) and wrong counts."""
    xlabel, values = _tokens(task)
    if not values:
        return None
    top = max(v for v, _ in values) or 1
    if cap and top > 0.8 * cap:
        top = max(top, cap)
    step = top / bins
    correct, wrong = [0] * bins, [0] * bins
    for v, ok in values:
        i = min(int(v / step), bins - 1)
        (correct if ok else wrong)[i] += 1
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


def _mark(a: Attempt | None) -> tuple[str, str]:
    if a is None:
        return "·", "none"
    if not a.graded:
        return "!", "err"
    if a.correct:
        return "✓", "ok"
    if a.extracted is None:
        return ("⌛", "none") if a.truncated else ("∅", "none")
    return "✗", "no"


_SPAN = {cls: f'<span class="a {cls}">%s</span>' for cls in ("ok", "no", "none", "err")}


def strip(attempts: Mapping[int, Attempt], k: int) -> Markup:
    """Attempt by attempt, one mark each (as ``_mark``), runs of one kind in one coloured span.

    Built here rather than in the template: a 64 x 500 task would otherwise loop 32,000 times
    through Jinja. Only the constant marks and class names above enter this HTML.
    """
    marks = []
    for i in range(max(k, max(attempts, default=-1) + 1)):
        a = attempts.get(i)
        g = None if a is None else a.grade
        if a is None:
            marks.append(("none", "·"))
        elif a.status != "ok" or g is None:
            marks.append(("err", "!"))
        elif g.correct:
            marks.append(("ok", "✓"))
        elif g.extracted is not None:
            marks.append(("no", "✗"))
        elif a.completion is not None and a.completion.finish_reason == "length":
            marks.append(("none", "⌛"))
        else:
            marks.append(("none", "∅"))
    html = "".join(
        _SPAN[cls] % "".join(m for _, m in run) for cls, run in groupby(marks, key=itemgetter(0))
    )
    return Markup(html)


def _details(a: Attempt) -> list[tuple[str, str]]:
    out = [("verdict", a.verdict)] if a.verdict else []
    out += [(str(k), str(v)[:300]) for k, v in sorted(a.details.items()) if v not in (None, "")]
    return out


def _distribution(attempts: Mapping[int, Attempt], code: bool) -> list[tuple[str | None, int, str]]:
    """The most common answers (verdicts for code) with their counts and a ✓ for the correct
    one; the rest summed in a last row."""
    counts: Counter[str | None] = Counter()
    shown_as: dict[str | None, str | None] = {}
    right: set[str | None] = set()
    for a in attempts.values():
        g = a.grade
        if a.status != "ok" or g is None:
            continue
        if code:
            vote = shown = g.verdict
        else:
            vote = None if g.extracted is None else (g.answer_class or g.extracted)
            shown = g.extracted
        counts[vote] += 1
        if vote not in shown_as:
            shown_as[vote] = _cut(shown, 300)
        if g.correct:
            right.add(vote)
    common = counts.most_common()
    none_label = "(no code)" if code else "(no answer)"
    rows = [
        (none_label if v is None else shown_as[v], n, "✓" if v in right else "")
        for v, n in common[:DIST_ROWS]
    ]
    rest = common[DIST_ROWS:]
    if rest:
        rows.append((f"({len(rest)} other answers)", sum(n for _, n in rest), ""))
    return rows


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


_OUTCOME = {"ok": "correct", "no": "wrong", "err": "error", "none": "no answer"}


def _shown(a: Attempt, texts: Texts) -> dict[str, Any]:
    _, cls = _mark(a)
    summary = [f"attempt {a.attempt}", _OUTCOME[cls]]
    if a.extracted is not None:
        summary.append(f"extracted {_cut(a.extracted, 80)}")
    summary.append(a.finish_reason or "unknown finish")
    summary.append(f"{a.reasoning_tokens:,} reasoning / {a.completion_tokens:,} completion tokens")
    return {
        "cls": cls,
        "summary": " · ".join(summary),
        "reasoning": shorten(texts.reasoning, REASONING_SHOWN) if texts.reasoning else None,
        "reasoning_summary": f"reasoning ({len(texts.reasoning):,} characters)",
        "answer": shorten(texts.answer, ANSWER_SHOWN),
        "details": _details(a),
    }


def panel(problem: ProblemJournal | None, k: int) -> Markup:
    """Every attempt's outcome and the answer distribution, then the shown attempts' texts
    (the first of them open)."""
    problem = problem or ProblemJournal()
    attempts = problem.attempts
    code = any(a.grade is not None and a.grade.verdict for a in attempts.values())
    shown = [_shown(attempts[i], problem.texts[i]) for i in problem.shown()]
    errors = sorted({a.error[:200] for a in attempts.values() if not a.graded and a.error})
    return Markup(
        _panel_template().render(
            attempts=bool(attempts),
            strip=strip(attempts, k),
            dist=_distribution(attempts, code),
            dist_head="verdict" if code else "answer",
            shown=shown,
            errors=errors[:5],
            hidden=max(len(attempts) - len(shown), 0),
        )
    )


@cache
def _panel_template() -> Any:
    return environment().get_template("report_panel.html")


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
    manifest_task = run.run.manifest.get("tasks", {}).get(view.name, {})
    dataset = manifest_task.get("dataset", {})
    out = [
        ("truncated (finish_reason length)", _pct(rates["truncation_rate"])),
        ("no answer extracted", _pct(rates["no_answer_rate"])),
        ("errors", _pct(entry.get("error_rate")) if entry else "–"),
        ("mean reasoning tokens", fmt(finite(entry.get("mean_reasoning_tokens")), 0)),
        ("mean answer tokens", fmt(finite(entry.get("mean_answer_tokens")), 0)),
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
