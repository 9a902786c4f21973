"""The gate's outputs: a terminal table, Markdown for a pull-request comment, JUnit XML and JSON.

Each says the same things: per task and metric the baseline, candidate, delta with its 95%
interval, the p-value of a drop, the detectable drop and the verdict with its reason; a
suspicious improvement; a modified protocol; every note. Text that comes from a run directory
(run ids, model names, task names, deviations) is escaped for the format it lands in. When the
runs cannot be gated (exit 2), ``error_*`` give each format a document that says why, so a CI
step that posts or parses the output still has one.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from evalr.gate import (
    EXIT_UNUSABLE,
    INCONCLUSIVE,
    PASS,
    REGRESSION,
    Comparison,
    GateReport,
    GateSettings,
    points,
)

SCHEMA = "evalr-gate/1"
MARKER = "<!-- evalr-gate -->"  # lets a CI step find and update its earlier comment
_ICON = {PASS: "✅", REGRESSION: "❌", INCONCLUSIVE: "⚠️"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")


def p_value(p: float) -> str:
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p: float) -> str:
    shown = p_value(p)
    return f"p {shown[0]} {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


def reason(c: Comparison, settings: GateSettings) -> str:
    """Why this verdict, in one sentence."""
    tolerated = points(settings.max_drop)
    power = f"{100 * settings.power:.0f}%"
    p = c.paired
    if c.verdict == REGRESSION:
        return (
            f"dropped {points(-p.delta)} points ({p_phrase(p.p_drop)}, alpha {settings.alpha:g}, "
            f"{p.method}), more than the {tolerated} tolerated"
        )
    if c.verdict == INCONCLUSIVE:
        head = f"only drops of {points(c.mde)} points or more are detected at {power} power"
        if p.n < 2:
            head = f"{p.n} shared problems: nothing can be detected"
        if c.k_needed is not None:
            tail = f"k = {c.k_needed} attempts per problem (both runs) would detect {tolerated}"
        elif c.metric == "pass@1" and min(c.k_base, c.k_cand) >= 2:
            tail = "no k can: the problems' own differences dominate"
        else:
            tail = "more attempts per problem would not tell (this metric or k = 1)"
        if c.problems_needed is not None:
            tail += f"; about {c.problems_needed} problems of this spread would"
        return f"{head}, above the {tolerated} tolerated; {tail}"
    return (
        f"no significant drop above {tolerated} points ({p_phrase(p.p_drop)}); drops of "
        f"{points(c.mde)} points or more are detected at {power} power"
    )


def suspicion(c: Comparison) -> str:
    low, high = c.paired.ci95
    return (
        f"{c.task} {c.metric} rose {points(c.paired.delta)} points (95% CI {points(low)} to "
        f"{points(high)}): suspiciously large; check for a grader change or contamination"
    )


def protocol_line(report: GateReport) -> str:
    """The protocol both runs follow, and how they depart from it (a modified run's numbers
    are not the protocol's)."""
    b, c = report.baseline, report.candidate
    sides = [(b, "baseline"), (c, "candidate")]
    if (b.protocol, b.deviations) == (c.protocol, c.deviations):
        sides = [(b, "both runs")]
    parts = []
    for s, who in sides:
        label = f"protocol {s.protocol or '?'}"
        if s.modified:
            label += f", modified in {who}: {'; '.join(s.deviations)}"
        elif len(sides) > 1:
            label += f" in {who}"
        parts.append(label)
    return " / ".join(parts)


def printable(text: str) -> str:
    """Control characters (terminal escapes) shown as escapes, never interpreted."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def text_table(report: GateReport) -> str:
    b, c, s = report.baseline, report.candidate, report.settings
    lines = [
        f"baseline  {printable(b.run_id)}  {printable(b.model)}",
        f"candidate {printable(c.run_id)}  {printable(c.model)}",
        printable(protocol_line(report)),
    ]
    head = ("task", "metric", "n", "base %", "cand %", "delta [95% CI]", "p drop", "test", "MDE")
    rows: list[tuple[str, ...]] = [(*head, "verdict")]
    for x in report.comparisons:
        p = x.paired
        interval = f"{points(p.delta, True)} [{points(p.ci95[0], True)}, {points(p.ci95[1], True)}]"
        rows.append(
            (
                printable(x.task),
                x.metric,
                str(p.n),
                points(p.base_mean),
                points(p.cand_mean),
                interval,
                p_value(p.p_drop),
                p.method,
                points(x.mde),
                x.verdict.upper() + (" !" if x.suspicious else ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [
            v.ljust(w) if i in (0, 1, 9) else v.rjust(w)
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines += [f"{printable(x.task)} {x.metric}: {reason(x, s)}" for x in report.comparisons]
    lines += [f"! {printable(suspicion(x))}" for x in report.suspicious]
    lines += [f"note: {printable(n)}" for n in report.notes]
    lines.append(
        f"gate: {report.verdict.upper()} (exit {report.exit_code}); max drop "
        f"{points(s.max_drop)} points, alpha {s.alpha:g}, power {s.power:g}"
    )
    return "\n".join(lines)


def md(text: str) -> str:
    """Run-directory text as literal Markdown (inside a table cell too)."""
    flat = " ".join(_CONTROL.sub("", text).split())
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))
    return escaped.replace("@", "&#64;")  # no @mentions from a run's names


def markdown(report: GateReport) -> str:
    b, c, s = report.baseline, report.candidate, report.settings
    out = [
        MARKER,
        f"### evalr gate: {_ICON[report.verdict]} {report.verdict} (exit {report.exit_code})",
        "",
        f"Baseline **{md(b.run_id)}** ({md(b.model)}) vs candidate **{md(c.run_id)}** "
        f"({md(c.model)}); {md(protocol_line(report))}.",
        "",
        f"Fails on a drop of more than {points(s.max_drop)} points that is significant at "
        f"alpha {s.alpha:g}; detectable drops at {100 * s.power:.0f}% power.",
        "",
        "| task | metric | problems | baseline % | candidate % | delta, points (95% CI) "
        "| p (drop) | detectable drop | verdict |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for x in report.comparisons:
        p = x.paired
        out.append(
            f"| {md(x.task)} | {x.metric} | {p.n} | {points(p.base_mean)} | "
            f"{points(p.cand_mean)} | {points(p.delta, True)} ({points(p.ci95[0], True)} to "
            f"{points(p.ci95[1], True)}) | {p_value(p.p_drop)} | {points(x.mde)} | "
            f"{_ICON[x.verdict]} {x.verdict}{' (suspicious rise)' if x.suspicious else ''} |"
        )
    out.append("")
    out += [f"- **{md(x.task)} {x.metric}**: {md(reason(x, s))}" for x in report.comparisons]
    if report.suspicious:
        out += [
            "",
            *[f"> **Suspicious improvement**: {md(suspicion(x))}" for x in report.suspicious],
        ]
    if report.notes:
        out += ["", "Notes:", *[f"- {md(n)}" for n in report.notes]]
    out += [
        "",
        "<sub>Paired over problems: per-problem scores averaged over the k attempts; sign-flip "
        "permutation test under 100 problems, paired t from 100; the detectable drop is the "
        "one found at the stated power (evalr gate).</sub>",
        "",
    ]
    return "\n".join(out)


def _number(x: float | None) -> float | None:
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return round(x, 6)


def comparison_json(x: Comparison, settings: GateSettings) -> dict[str, Any]:
    p = x.paired
    return {
        "task": x.task,
        "metric": x.metric,
        "n": p.n,
        "k_baseline": x.k_base,
        "k_candidate": x.k_cand,
        "baseline": _number(p.base_mean),
        "candidate": _number(p.cand_mean),
        "delta": _number(p.delta),
        "se": _number(p.se),
        "ci95": [_number(p.ci95[0]), _number(p.ci95[1])],
        "ci_method": p.ci_method,
        "p_drop": _number(p.p_drop),
        "p_two_sided": _number(p.p_two_sided),
        "method": p.method,
        "t_p_drop": _number(p.t_p_drop),
        "sign_flip_p_drop": _number(p.flip_p_drop),
        "mde": _number(x.mde),
        "k_needed": x.k_needed,
        "problems_needed": x.problems_needed,
        "verdict": x.verdict,
        "suspicious": x.suspicious,
        "reason": reason(x, settings),
    }


def settings_json(s: GateSettings) -> dict[str, Any]:
    return {**asdict(s), "metrics": list(s.metrics)}


def json_document(report: GateReport) -> str:
    doc = {
        "schema": SCHEMA,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "baseline": asdict(report.baseline),
        "candidate": asdict(report.candidate),
        "settings": settings_json(report.settings),
        "comparisons": [comparison_json(x, report.settings) for x in report.comparisons],
        "suspicious": [suspicion(x) for x in report.suspicious],
        "notes": list(report.notes),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _xml(text: str) -> str:
    return _CONTROL.sub("", text)  # XML 1.0 cannot carry control characters at all


def _suite(name: str, counts: Mapping[str, int]) -> Any:
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="evalr gate")
    suite = ET.SubElement(root, "testsuite", name=_xml(name))
    for element in (root, suite):
        for key, value in counts.items():
            element.set(key, str(value))
    return root, suite


def _xml_text(root: Any) -> str:
    import xml.etree.ElementTree as ET

    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def junit_xml(report: GateReport) -> str:
    """One test case per task and metric: a failure for a regression, an error for an
    inconclusive gate (skipped when inconclusive is allowed)."""
    import xml.etree.ElementTree as ET

    s = report.settings
    verdicts = [x.verdict for x in report.comparisons]
    inconclusive = verdicts.count(INCONCLUSIVE)
    counts = {
        "tests": len(verdicts),
        "failures": verdicts.count(REGRESSION),
        "errors": 0 if s.allow_inconclusive else inconclusive,
        "skipped": inconclusive if s.allow_inconclusive else 0,
    }
    name = f"evalr gate: {report.candidate.run_id} vs {report.baseline.run_id}"
    root, suite = _suite(name, counts)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("baseline", report.baseline.path),
        ("candidate", report.candidate.path),
        ("verdict", report.verdict),
        ("exit_code", str(report.exit_code)),
        ("max_drop_points", points(s.max_drop)),
        ("alpha", f"{s.alpha:g}"),
        ("power", f"{s.power:g}"),
    ):
        ET.SubElement(properties, "property", name=key, value=_xml(value))
    for x in report.comparisons:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"evalr.gate.{x.task}"))
        case.set("name", x.metric)
        why = _xml(reason(x, s))
        if x.verdict == REGRESSION:
            ET.SubElement(case, "failure", message=why, type="regression").text = why
        elif x.verdict == INCONCLUSIVE:
            tag = "skipped" if s.allow_inconclusive else "error"
            ET.SubElement(case, tag, message=why, type="inconclusive")
        out = [f"{x.verdict}: {why}"] + ([_xml(suspicion(x))] if x.suspicious else [])
        ET.SubElement(case, "system-out").text = "\n".join(out)
    if report.notes:
        ET.SubElement(suite, "system-out").text = "\n".join(_xml(n) for n in report.notes)
    return _xml_text(root)


def error_markdown(message: str) -> str:
    return f"{MARKER}\n### evalr gate: 🚫 unusable input (exit {EXIT_UNUSABLE})\n\n{md(message)}\n"


def error_json(message: str, settings: GateSettings | None) -> str:
    doc = {
        "schema": SCHEMA,
        "verdict": "unusable",
        "exit_code": EXIT_UNUSABLE,
        "error": message,
        "settings": settings_json(settings) if settings else None,
        "comparisons": [],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def error_junit(message: str) -> str:
    import xml.etree.ElementTree as ET

    root, suite = _suite("evalr gate", {"tests": 1, "failures": 0, "errors": 1, "skipped": 0})
    case = ET.SubElement(suite, "testcase", classname="evalr.gate", name="inputs")
    ET.SubElement(case, "error", message=_xml(message), type="unusable")
    return _xml_text(root)
