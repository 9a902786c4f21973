"""A problem's answer panel: one mark per attempt, the most common answers (verdicts for code)
and the texts of the attempts shown in full (attempt 0, the first correct, the first wrong),
rendered once and reused by the drill-down and side-by-side pages.

Long texts are cut to their head and tail (``REASONING_SHOWN``, ``ANSWER_SHOWN`` characters),
saying how much was left out; all of it stays in samples.jsonl.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from evalr.reports.journal import Attempt, ProblemJournal, Texts
from evalr.reports.reportdir import environment
from markupsafe import Markup

REASONING_SHOWN = 8_000
ANSWER_SHOWN = 6_000
DIST_ROWS = 8  # answers listed per problem; the rest are counted


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
    spans, run_cls, run = [], "", ""
    for i in range(max(k, max(attempts, default=-1) + 1)):
        a = attempts.get(i)
        g = None if a is None else a.grade
        if a is None:
            cls, mark = "none", "·"
        elif a.status != "ok" or g is None:
            cls, mark = "err", "!"
        elif g.correct:
            cls, mark = "ok", "✓"
        elif g.extracted is not None:
            cls, mark = "no", "✗"
        elif a.completion is not None and a.completion.finish_reason == "length":
            cls, mark = "none", "⌛"
        else:
            cls, mark = "none", "∅"
        if cls == run_cls:
            run += mark
        else:
            if run:
                spans.append(_SPAN[run_cls] % run)
            run_cls, run = cls, mark
    if run:
        spans.append(_SPAN[run_cls] % run)
    return Markup("".join(spans))


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
