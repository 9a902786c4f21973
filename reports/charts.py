"""Charts with matplotlib: inline SVG for the page, a PNG written beside it.

Figures are built on ``matplotlib.figure.Figure`` (the Agg canvas, never pyplot's global
state), so rendering a report neither changes a user's backend nor leaks figures. Output is
deterministic: a fixed ``svg.hashsalt``, no date or creator in the metadata, text kept as text
(``svg.fonttype = none``: small, selectable, no font files). Each SVG's ids are prefixed with its
chart's name so several charts share one page without clashing.

The radar chart follows the paper's comparison figure (Figure 1): every axis is on the same
0-100 scale of the figure itself (pass@1 in percent, Codeforces as a percentile), no per-axis
rescaling, with Figure 1's benchmarks first in its order and the other percent-scale benchmarks
after them.

Per-task histograms are not drawn here: at about 0.5 s a figure (SVG and PNG, measured on the
project's 2-core VM), thirty run-task pages would spend the whole report's time budget on them;
the task page draws its histogram as a few SVG rectangles from its template instead.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_RC: Any = {
    "svg.hashsalt": "evalr-report",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)


@dataclass(frozen=True)
class Chart:
    name: str  # file stem of the PNG, prefix of the SVG's ids
    svg: str
    png: bytes
    title: str


@dataclass(frozen=True)
class Series:
    label: str
    values: Mapping[str, float]  # axis/benchmark -> value (percent)
    low: Mapping[str, float] | None = None
    high: Mapping[str, float] | None = None
    colour: int | None = None  # palette index (published series: the matched run's)


def colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _inline(svg: str, name: str, title: str) -> str:
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\bid="', f'id="{name}-', svg)
    svg = svg.replace("url(#", f"url(#{name}-").replace('href="#', f'href="#{name}-')
    title_text = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{title_text}" ', 1)


def _save(fig: object, name: str, title: str) -> Chart:
    import matplotlib

    svg_buf, png_buf = io.StringIO(), io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(svg_buf, format="svg", metadata={"Date": None, "Creator": None})  # type: ignore[attr-defined]
        fig.savefig(png_buf, format="png", dpi=110, metadata={"Software": None})  # type: ignore[attr-defined]
    return Chart(name, _inline(svg_buf.getvalue(), name, title), png_buf.getvalue(), title)


def radar(
    name: str, axes: Sequence[str], series: Sequence[Series], published: Sequence[Series] = ()
) -> Chart:
    """One polygon per series over ``axes`` (values 0-100); published series dashed, in the
    colour of the run they were matched to."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.2, 5.8))
        ax: Any = fig.add_subplot(projection="polar")
        fig.subplots_adjust(left=0.12, right=0.88, top=0.9, bottom=0.2)
        angles = [2 * math.pi * i / len(axes) for i in range(len(axes))]
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        ax.set_xticks(angles, [a.replace(" ", "\n", 1) for a in axes])
        ax.set_ylim(0, 100)
        ax.set_yticks([20, 40, 60, 80, 100], ["20", "40", "60", "80", "100"], fontsize=7)
        ax.set_rlabel_position(0)
        closed = [*angles, angles[0]]
        for i, s in enumerate(series):
            vals = [s.values.get(a, math.nan) for a in axes]
            line = [*vals, vals[0]]
            ax.plot(
                closed,
                line,
                color=colour(i),
                linewidth=1.8,
                label=s.label,
                marker="o",
                markersize=3,
            )
            if len(series) <= 3:
                ax.fill(
                    closed, [0 if math.isnan(v) else v for v in line], color=colour(i), alpha=0.08
                )
        for p in published:
            vals = [p.values.get(a, math.nan) for a in axes]
            tint = "#333333" if p.colour is None else colour(p.colour)
            ax.plot(
                closed, [*vals, vals[0]], color=tint, linestyle="--", linewidth=1.1, label=p.label
            )
        fig.legend(loc="lower center", ncols=2, frameon=False, fontsize=8)
    return _save(fig, name, "Radar chart: " + ", ".join(axes))


def bars(
    name: str,
    benchmarks: Sequence[str],
    series: Sequence[Series],
    published: Mapping[tuple[str, str], float] | None = None,
) -> Chart:
    """Grouped bars (one group per benchmark, one bar per series) with 95% interval whiskers;
    ``published[(series label, benchmark)]`` adds the paper's figure as a black mark."""
    import matplotlib
    from matplotlib.figure import Figure

    published = published or {}
    width = 0.8 / max(len(series), 1)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(5.0, 1.3 * len(benchmarks) + 2), 4.0))
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.09, right=0.98, top=0.8, bottom=0.1)
        marked = False
        for i, s in enumerate(series):
            xs: list[float] = []
            ys: list[float] = []
            errs: list[list[float]] = [[], []]
            for j, b in enumerate(benchmarks):
                if b not in s.values:
                    continue
                x = j - 0.4 + width * (i + 0.5)
                y = s.values[b]
                xs.append(x)
                ys.append(y)
                low = (s.low or {}).get(b, y)
                high = (s.high or {}).get(b, y)
                errs[0].append(max(y - low, 0))
                errs[1].append(max(high - y, 0))
                if (s.label, b) in published:
                    ax.plot(
                        [x - width / 2, x + width / 2],
                        [published[(s.label, b)]] * 2,
                        color="black",
                        linewidth=2,
                        label=None if marked else "published (paper)",
                    )
                    marked = True
            ax.bar(
                xs,
                ys,
                width * 0.92,
                color=colour(i),
                label=s.label,
                yerr=errs,
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#222222"},
            )
        ax.set_xticks(range(len(benchmarks)), [b.replace(" pass@1", "") for b in benchmarks])
        ax.set_ylim(0, 100)
        ax.set_ylabel("pass@1 (%) with 95% interval")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(
            fontsize=8,
            frameon=False,
            ncols=min(3, len(series) + int(marked)),
            loc="lower left",
            bbox_to_anchor=(0, 1.02),
        )
    return _save(fig, name, "pass@1 by benchmark with 95% intervals")
