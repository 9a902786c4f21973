"""Method P: the maximum-likelihood rating given which rated problems were solved.

A problem's Codeforces rating ``d`` is defined so that a participant rated ``d`` solves it half
the time; with the Elo curve, P(solve | R, d) = 1 / (1 + 10^((d - R) / 400)). Over every attempt
(problem i: c_i of k_i correct) the log-likelihood's derivative in R is proportional to
sum_i (c_i - k_i P(solve | R, d_i)), which falls as R grows, so its root is found by bisection.
With every attempt correct (or none) there is no finite maximum: the estimate is the search
bound and the result says so. Reported as ``cf_rating_mle``, never mixed with a placement
rating: a problem's rating is not the rating of the humans who met it in a contest.

Interval: bootstrap over problems and each problem's attempts (binomial redraw of its correct
count), seeded; percentiles 2.5 and 97.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW, HIGH = -500.0, 4500.0
_STEPS = 48  # bisection halvings of a 5000-point range: far below a rating point


@dataclass(frozen=True)
class Fit:
    value: float
    replicates: np.ndarray
    bounded: str | None  # "all solved" / "none solved": the value is the search bound


def solve_rate_root(
    difficulty: np.ndarray, correct: np.ndarray, attempts: np.ndarray
) -> np.ndarray:
    """Row-wise maximum-likelihood rating; arrays are (rows, problems)."""
    lo = np.full(difficulty.shape[0], LOW)
    hi = np.full(difficulty.shape[0], HIGH)
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        expected = attempts / (1.0 + np.power(10.0, (difficulty - mid[:, None]) / 400.0))
        rising = (correct - expected).sum(axis=1) > 0  # more solved than expected: go higher
        lo = np.where(rising, mid, lo)
        hi = np.where(rising, hi, mid)
    return (lo + hi) / 2


def fit(
    difficulty: np.ndarray,
    correct: np.ndarray,
    attempts: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> Fit:
    """The estimate and its bootstrap; one entry per rated problem."""
    value = float(solve_rate_root(difficulty[None], correct[None], attempts[None])[0])
    bounded = None
    if correct.sum() == attempts.sum():
        bounded = "all solved"
    elif correct.sum() == 0:
        bounded = "none solved"
    n = difficulty.size
    picks = rng.integers(0, n, (replicates, n))
    redrawn = rng.binomial(attempts[picks], (correct / attempts)[picks])
    boot = solve_rate_root(difficulty[picks], redrawn, attempts[picks])
    return Fit(value, boot, bounded)
