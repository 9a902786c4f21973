"""The gate's statistics on simulated runs with a known per-problem difficulty spread.

Runs are simulated as per-problem correct counts (binomial draws of k attempts at each
problem's own solve rate) and gated by ``evalr.gate.compare``, the function ``evalr gate``
calls for every task and metric. Stated tolerances, with the rates they were set against:

- power: a 5-point drop on 500 problems x k=4 is flagged in at least 80% of 200 simulations
  (measured 95% with the default --max-drop of 3 points);
- false alarms: identical-distribution reruns, 2,000 simulations, gated with --max-drop 0 (the
  bare test at alpha): within 0.015 of alpha, 3 binomial standard errors (measured 0.058 at
  alpha 0.05 and 0.110 at 0.10 here; 0.0495 +- 0.002 over 50,000 in bench_gate --calibration);
  the default --max-drop only lowers it (measured 0.003);
- the detectable effect: a true drop equal to the reported MDE is found at the stated power,
  within 0.05 (measured 0.79 at 500 x 4);
- AIME-sized (30 x 64): the sign-flip test stays at or under alpha + 0.02 (an exact test;
  measured 0.038 with 2,000-flip resolution), reports a detectable effect (about 2.7 points),
  and is inconclusive for a threshold under it (1 point: 97.5% inconclusive, the rest false
  alarms, never a pass); a drop of the MDE is found in 76% (the exact test's price).
"""

from __future__ import annotations

import numpy as np
import pytest
from evalr.gate import INCONCLUSIVE, PASS, REGRESSION, Comparison, GateSettings, compare

ALPHA = 0.05


def spread(n: int, a: float, b: float, seed: int) -> np.ndarray:
    """Each problem's solve rate: a fixed, known difficulty spread."""
    return np.random.default_rng(seed).beta(a, b, n)


def dropped(p: np.ndarray, points: float) -> np.ndarray:
    """The same problems with the mean solve rate lower by exactly ``points``, each problem
    in proportion to its rate (so every rate stays in [0, 1])."""
    return p * (1 - points / 100 / p.mean())


def simulate(
    p_base: np.ndarray, p_cand: np.ndarray, k: int, sims: int, settings: GateSettings, seed: int
) -> list[Comparison]:
    rng = np.random.default_rng(seed)
    n = len(p_base)
    base = rng.binomial(k, p_base, size=(sims, n))
    cand = rng.binomial(k, p_cand, size=(sims, n))
    attempts = np.full(n, k)
    return [
        compare(
            "sim",
            "pass@1",
            base[i] / k,
            cand[i] / k,
            settings,
            (base[i], attempts, cand[i], attempts),
            (k, k),
        )
        for i in range(sims)
    ]


def rate(results: list[Comparison], verdict: str = REGRESSION) -> float:
    return float(np.mean([r.verdict == verdict for r in results]))


MATH = spread(500, 2.0, 1.2, seed=11)  # MATH-500-like: mean 0.62, easy and hard problems


def test_five_point_drop_is_caught_on_500_problems_at_k4() -> None:
    results = simulate(MATH, dropped(MATH, 5), 4, 200, GateSettings(), seed=1)
    assert rate(results) >= 0.80
    assert all(r.paired.method == "t" for r in results)
    # The gate knew it could: the detectable drop is under 5 points.
    assert np.median([r.mde for r in results]) < 0.05


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_identical_reruns_false_alarm_at_alpha(alpha: float) -> None:
    bare = GateSettings(max_drop=0.0, alpha=alpha)
    results = simulate(MATH, MATH, 4, 2000, bare, seed=2)
    measured = rate(results)
    assert abs(measured - alpha) <= 0.015, measured
    tolerant = simulate(MATH, MATH, 4, 300, GateSettings(alpha=alpha), seed=2)
    assert rate(tolerant) <= measured


def test_a_drop_of_the_reported_mde_is_found_at_the_stated_power() -> None:
    settings = GateSettings(max_drop=0.0, power=0.8)
    null = simulate(MATH, MATH, 4, 200, settings, seed=3)
    mde = float(np.median([r.mde for r in null]))
    found = simulate(MATH, dropped(MATH, 100 * mde), 4, 1000, settings, seed=4)
    assert abs(rate(found) - 0.8) <= 0.05, (mde, rate(found))


AIME = spread(30, 0.4, 0.4, seed=12)  # AIME-like: most problems solved almost always or never
SMALL: dict[str, int] = {
    "resamples": 2_000
}  # the gate's own test at a coarser p resolution, for speed


def test_aime_sized_false_alarms_stay_under_alpha() -> None:
    results = simulate(AIME, AIME, 64, 500, GateSettings(max_drop=0.0, **SMALL), seed=5)
    assert all(r.paired.method == "sign-flip" for r in results)
    assert rate(results) <= ALPHA + 0.02


def test_aime_sized_reports_what_it_can_detect() -> None:
    tight = simulate(AIME, AIME, 64, 40, GateSettings(max_drop=0.01, **SMALL), seed=6)
    mde = np.array([r.mde for r in tight])
    # A detectable effect of a few points: k = 64 shrinks the within-problem noise.
    assert np.all((mde > 0.01) & (mde < 0.10))
    # 1 point is below it: never a pass. Inconclusive, save for the false alarms a test at
    # alpha raises, with the way out: a larger k, or (where the between-problem variance
    # estimated from 30 differences leaves no room, no k can) more problems.
    assert rate(tight, PASS) == 0
    assert rate(tight, INCONCLUSIVE) >= 0.85
    inconclusive = [r for r in tight if r.verdict == INCONCLUSIVE]
    for r in inconclusive:
        assert r.k_needed is None or r.k_needed > 64
        assert r.problems_needed is not None and r.problems_needed > 30
    assert np.mean([r.k_needed is not None for r in inconclusive]) >= 0.5
    # A threshold above the detectable effect passes (but for those false alarms).
    loose = simulate(AIME, AIME, 64, 40, GateSettings(max_drop=0.10, **SMALL), seed=6)
    assert rate(loose, PASS) >= 0.85 and rate(loose, INCONCLUSIVE) == 0


def test_aime_sized_drop_of_the_mde_is_found() -> None:
    settings = GateSettings(max_drop=0.0, **SMALL)
    (probe,) = simulate(AIME, AIME, 64, 1, settings, seed=7)
    found = simulate(AIME, dropped(AIME, 100 * probe.mde), 64, 300, settings, seed=8)
    assert rate(found) >= 0.7  # the exact test pays a little power for its guarantee


def test_aime_sized_different_model_no_k_can_resolve_3_points() -> None:
    # A different model: per-problem rates with the same mean but their own ordering, so the
    # between-problem variance dominates and more attempts cannot help.
    other = np.random.default_rng(13).permutation(AIME)
    (result,) = simulate(AIME, other, 64, 1, GateSettings(max_drop=0.03, **SMALL), seed=9)
    assert result.verdict == INCONCLUSIVE
    assert result.k_needed is None
    assert result.problems_needed is not None and result.problems_needed > 100
