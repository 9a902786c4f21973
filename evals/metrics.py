"""Per-problem reducers (pass@k, cons@k) and across-problem statistics (mean, stderr, 95% CI).

Uncertainty is over problems: each problem contributes one score (e.g. its mean correctness over
k attempts), and the standard error is that of the mean of those scores. The 95% interval uses
Student's t with P-1 degrees of freedom, clipped to [0, 1] (Wilson's interval when every problem
scored the same and the t interval would collapse to a point).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from evalr.types import MetricValue

_Z975 = NormalDist().inv_cdf(0.975)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), computed stably."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def t_quantile_975(df: int) -> float:
    """Student t 0.975 quantile: a table to df 5, then Cornish-Fisher (within 2e-4 of exact)."""
    if df <= 0:
        return math.inf
    exact = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706}
    if df in exact:
        return exact[df]
    z = _Z975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    # The fourth term brings df = 6 from 1.3e-3 to 1e-4 of the exact quantile.
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def summarize(name: str, scores: Sequence[float], k: int | None = None) -> MetricValue:
    """Mean of per-problem scores with its standard error and a t-based 95% interval."""
    p = len(scores)
    if p == 0:
        return MetricValue(name, math.nan, math.nan, (math.nan, math.nan), 0, k)
    mean = sum(scores) / p
    if p == 1:
        return MetricValue(name, mean, math.nan, (math.nan, math.nan), 1, k)
    if max(scores) == min(scores):
        # Every problem scored the same (say 0/30): a t interval collapses to a point, which
        # would claim certainty. Wilson's interval for P Bernoulli trials stays honest.
        # (Compared directly: rounding leaves a tiny non-zero variance for scores like 0.1.)
        return MetricValue(name, mean, 0.0, wilson(mean, p), p, k)
    var = sum((s - mean) ** 2 for s in scores) / (p - 1)
    se = math.sqrt(var / p)
    half = t_quantile_975(p - 1) * se
    return MetricValue(name, mean, se, (max(0.0, mean - half), min(1.0, mean + half)), p, k)


def wilson(mean: float, n: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion observed over n trials."""
    z2 = _Z975**2
    centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z975 * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Attempt:
    correct: bool
    # Equivalence class of the extracted answer among this problem's attempts; None: no answer.
    vote: int | None
    index: int


def majority_correct(attempts: Sequence[Attempt]) -> bool:
    """cons@k for one problem: is the most common answer class correct?

    Ties go to the class whose first vote came earliest (lowest attempt index), so the result
    is deterministic and independent of completion order. No-answer attempts do not vote.
    """
    first: dict[int, int] = {}
    count: dict[int, int] = {}
    correct: dict[int, bool] = {}
    for a in sorted(attempts, key=lambda a: a.index):
        if a.vote is None:
            continue
        first.setdefault(a.vote, a.index)
        count[a.vote] = count.get(a.vote, 0) + 1
        correct[a.vote] = correct.get(a.vote, False) or a.correct
    if not count:
        return False
    winner = min(count, key=lambda v: (-count[v], first[v]))
    return correct[winner]


def pass_k_values(n: int) -> list[int]:
    """The k reported for pass@k: 1, powers of two below n, and n itself."""
    ks = [1]
    k = 2
    while k < n:
        ks.append(k)
        k *= 2
    if n > 1:
        ks.append(n)
    return ks


def task_metrics(
    problems: Sequence[Sequence[Attempt]], majority_vote: bool = True
) -> list[MetricValue]:
    """pass@1 (mean over attempts), pass@k for the reported k, and cons@n.

    Problems with fewer attempts than the largest (errors excluded) enter pass@k only for
    k they can support; the MetricValue's n says how many problems each number covers.
    """
    usable = [p for p in problems if p]
    if not usable:
        return [summarize("pass", [], 1)]
    n_max = max(len(p) for p in usable)
    out = [summarize("pass", [sum(a.correct for a in p) / len(p) for p in usable], 1)]
    for k in pass_k_values(n_max)[1:]:
        scores = [pass_at_k(len(p), sum(a.correct for a in p), k) for p in usable if len(p) >= k]
        out.append(summarize("pass", scores, k))
    if majority_vote and n_max > 1:
        out.append(summarize("cons", [float(majority_correct(p)) for p in usable], n_max))
    return out
