"""``evalr gate``: did the candidate run get worse than the baseline by more than we tolerate?

Per task both runs hold and per metric (pass@1 by default), over the problems both runs hold:
the paired difference of per-problem scores (``evalr.paired``), the one-sided p-value of a drop
and the smallest drop the comparison could have detected at ``power`` (its MDE). Verdicts:

- regression: the drop is significant at ``alpha`` and larger than ``max_drop`` (exit 1);
- inconclusive: no regression, but the MDE is above ``max_drop``, so the gate could not have
  seen the drop it guards against (exit 3, unless ``allow_inconclusive``); the outputs say which
  k (pass@1) or how many problems would bring the MDE down to ``max_drop``;
- pass: no regression, and a drop of ``max_drop`` would have been detected (exit 0).

A regression anywhere decides the exit code; inputs that cannot be gated exit 2 before any
verdict (``evalr.gate_inputs``). A rise of at least ``suspicious_gain`` whose interval excludes
zero is flagged in every output (a grader change or contamination?), never failed.
Values are fractions in [0, 1]; the CLI takes and shows points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evalr.gate_inputs import (
    RunSide,
    UnusableInput,
    check_complete,
    check_metric,
    grader_package_notes,
    open_finished,
    paired_scores,
    protocol_differences,
    result_tasks,
    shared_tasks,
    side,
)
from evalr.paired import (
    PairedResult,
    design_from_counts,
    design_from_scores,
    k_needed,
    minimum_detectable_effect,
    paired_difference,
    problems_needed,
)

EXIT_PASS, EXIT_REGRESSION, EXIT_UNUSABLE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
PASS, REGRESSION, INCONCLUSIVE = "pass", "regression", "inconclusive"


@dataclass(frozen=True)
class GateSettings:
    max_drop: float = 0.03  # fraction: the largest drop tolerated
    alpha: float = 0.05
    power: float = 0.8
    metrics: tuple[str, ...] = ("pass@1",)
    suspicious_gain: float = 0.10
    allow_protocol_mismatch: bool = False
    allow_inconclusive: bool = False
    allow_incomplete: bool = False
    resamples: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.max_drop < 1:
            raise UnusableInput(f"max drop must be 0 to 100 points, not {100 * self.max_drop:g}")
        if not (0 < self.alpha < 0.5 and 0 < self.power < 1):
            raise UnusableInput("alpha must be in (0, 0.5) and power in (0, 1)")
        if not self.metrics:
            raise UnusableInput("give at least one metric, e.g. --metric pass@1")
        for metric in self.metrics:
            check_metric(metric)


@dataclass(frozen=True)
class Comparison:
    """One task and metric: the statistics and the verdict."""

    task: str
    metric: str
    paired: PairedResult
    mde: float  # smallest drop detectable at the settings' power (fraction; inf: none)
    k_base: int
    k_cand: int
    k_needed: int | None  # pass@1: k (both runs) at which mde <= max_drop; None: no k can
    problems_needed: int | None  # problems (same spread) at which mde <= max_drop
    verdict: str
    suspicious: bool  # an improvement large enough to suspect the grader or contamination


def compare(
    task: str,
    metric: str,
    base: Sequence[float],
    cand: Sequence[float],
    settings: GateSettings,
    counts: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]] | None = None,
    k: tuple[int, int] = (1, 1),
) -> Comparison:
    """Gate one metric's per-problem scores (``counts``: pass@1's correct/attempt columns)."""
    paired = paired_difference(
        base, cand, alpha=settings.alpha, resamples=settings.resamples, seed=settings.seed
    )
    design = design_from_counts(*counts) if counts is not None else design_from_scores(base, cand)
    mde = minimum_detectable_effect(design, alpha=settings.alpha, power=settings.power)
    more_k = more_n = None
    if settings.max_drop > 0 and design.n >= 2:
        more_k = k_needed(design, settings.max_drop, alpha=settings.alpha, power=settings.power)
        more_n = problems_needed(
            design, settings.max_drop, alpha=settings.alpha, power=settings.power
        )
    drop = -paired.delta
    if paired.p_drop < settings.alpha and drop > settings.max_drop:
        verdict = REGRESSION
    elif not mde <= settings.max_drop:  # also when mde is nan or inf
        verdict = INCONCLUSIVE
    else:
        verdict = PASS
    suspicious = paired.delta >= settings.suspicious_gain and paired.ci95[0] > 0
    return Comparison(task, metric, paired, mde, k[0], k[1], more_k, more_n, verdict, suspicious)


@dataclass(frozen=True)
class GateReport:
    baseline: RunSide
    candidate: RunSide
    settings: GateSettings
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.comparisons}
        if REGRESSION in verdicts:
            return REGRESSION
        return INCONCLUSIVE if INCONCLUSIVE in verdicts else PASS

    @property
    def exit_code(self) -> int:
        verdict = self.verdict
        if verdict == REGRESSION:
            return EXIT_REGRESSION
        if verdict == INCONCLUSIVE and not self.settings.allow_inconclusive:
            return EXIT_INCONCLUSIVE
        return EXIT_PASS

    @property
    def suspicious(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.suspicious)


def gate(baseline: str | Path, candidate: str | Path, settings: GateSettings) -> GateReport:
    """Compare two run directories; raises UnusableInput (exit 2) when they cannot be gated."""
    base = open_finished(baseline, "baseline")
    cand = open_finished(candidate, "candidate")
    tasks = shared_tasks(base, cand)
    notes = check_complete(base, "baseline", tasks, settings.allow_incomplete)
    notes += check_complete(cand, "candidate", tasks, settings.allow_incomplete)
    differences = protocol_differences(base, cand, tasks)
    if differences and not settings.allow_protocol_mismatch:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise UnusableInput(
            f"the runs' protocols differ: {differences[0]}{more}; gate runs of one protocol, or "
            "pass --allow-protocol-mismatch"
        )
    notes += [f"protocol mismatch allowed: {d}" for d in differences]
    notes += grader_package_notes(base, cand, tasks)
    every = dict.fromkeys([*result_tasks(base), *result_tasks(cand)])
    notes += [f"{t}: in one run only, not gated" for t in every if t not in tasks]
    comparisons: list[Comparison] = []
    for task in tasks:
        b_out, c_out = base.outcomes(task), cand.outcomes(task)
        metrics_of = [(run.results or {})["tasks"][task].get("metrics", {}) for run in (base, cand)]
        has_cons = all(any(name.startswith("cons@") for name in m) for m in metrics_of)
        unpaired = len(set(b_out.ids) ^ set(c_out.ids))
        if unpaired:
            notes.append(f"{task}: {unpaired} problems in one run only, left out")
        for metric in dict.fromkeys(m.strip() for m in settings.metrics):
            scores = paired_scores(b_out, c_out, metric, has_cons)
            if isinstance(scores, str):
                notes.append(f"{task} {scores}")
                continue
            if scores.left_out:
                notes.append(
                    f"{task} {scores.label}: {scores.left_out} problems without graded "
                    "attempts left out"
                )
            comparisons.append(
                compare(
                    task,
                    scores.label,
                    scores.base,
                    scores.cand,
                    settings,
                    scores.counts,
                    (b_out.k, c_out.k),
                )
            )
    if not comparisons:
        raise UnusableInput(f"nothing to gate: {'; '.join(notes)}")
    for c in comparisons:
        if c.paired.n < 2:
            notes.append(f"{c.task} {c.metric}: {c.paired.n} shared problems, nothing to test")
    return GateReport(side(base), side(cand), settings, tuple(comparisons), tuple(notes))


def points(x: float | None, signed: bool = False) -> str:
    """A fraction as points with one decimal ('-' for unknown, 'inf' for unbounded)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"
