"""``evalr.paired``: each statistic against an independent computation of it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from evalr.paired import (
    PairedDesign,
    design_from_counts,
    design_from_scores,
    k_needed,
    minimum_detectable_effect,
    paired_difference,
    problems_needed,
    sign_flip_p,
)
from scipy import stats


def scores(n: int, k: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 1.0, n)
    base = rng.binomial(k, p) / k
    cand = rng.binomial(k, np.clip(p + shift, 0, 1)) / k
    return base, cand


def test_large_n_is_the_paired_t_test() -> None:
    base, cand = scores(300, 4, -0.03, seed=1)
    got = paired_difference(base, cand)
    ref = stats.ttest_rel(cand, base, alternative="less")
    two = stats.ttest_rel(cand, base)
    low, high = two.confidence_interval(0.95)
    assert got.method == "t" and got.ci_method == "t" and got.flip_p_drop is None
    assert got.p_drop == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.p_two_sided == pytest.approx(two.pvalue, rel=1e-9)
    assert got.ci95 == pytest.approx((low, high), rel=1e-9)
    assert got.delta == pytest.approx(cand.mean() - base.mean())
    assert got.se == pytest.approx(stats.sem(cand - base))
    assert got.significant == (two.pvalue < 0.05)


def test_sign_flips_enumerate_exactly_for_few_problems() -> None:
    d = np.array([-0.25, -0.5, 0.125, -0.75, 0.0, -0.25, 0.5, -1.0, -0.125])
    sums = [
        sum(s * x for s, x in zip(signs, d, strict=True))
        for signs in itertools.product((1, -1), repeat=len(d))
    ]
    observed = d.sum()
    want_drop = np.mean([s <= observed + 1e-12 for s in sums])
    want_two = np.mean([abs(s) >= abs(observed) - 1e-12 for s in sums])
    assert sign_flip_p(d) == pytest.approx((want_drop, want_two))


def test_random_sign_flips_agree_with_scipy() -> None:
    base, cand = scores(40, 8, -0.04, seed=2)
    d = cand - base
    ref = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        alternative="less",
        n_resamples=20_000,
        random_state=0,
    )
    drop, two = sign_flip_p(d, resamples=20_000, seed=3)
    assert drop == pytest.approx(ref.pvalue, abs=0.01)
    assert two == pytest.approx(min(1.0, 2 * min(drop, 1 - drop)), abs=0.01)


def test_small_n_decides_by_sign_flip_with_a_bootstrap_interval() -> None:
    base, cand = scores(30, 64, -0.02, seed=4)
    got = paired_difference(base, cand)
    assert got.method == "sign-flip" and got.ci_method == "bootstrap-t"
    assert got.p_drop == got.flip_p_drop and got.t_p_drop != got.p_drop
    half = stats.t.ppf(0.975, 29) * got.se
    slack = 1e-3 * half  # the engine's bootstrap uses a t quantile within 2e-4 of exact
    assert got.ci95[0] <= got.delta - half + slack and got.ci95[1] >= got.delta + half - slack
    assert paired_difference(base, cand) == got  # deterministic for a seed
    assert paired_difference(base, cand, resamples=0).method == "t"


def test_no_spread_and_too_few_problems() -> None:
    same = paired_difference([0.5, 0.25, 1.0], [0.5, 0.25, 1.0])
    assert (same.delta, same.p_drop, same.p_two_sided, same.ci95) == (0, 1, 1, (0, 0))
    assert same.ci_method == "point"
    shifted = paired_difference([0.5] * 12, [0.25] * 12)  # every problem dropped alike
    assert shifted.p_drop == pytest.approx(2**-12) and shifted.method == "sign-flip"
    one = paired_difference([0.5], [0.25])
    assert one.method == "none" and math.isnan(one.p_drop) and one.delta == -0.25


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        paired_difference([0.1, 2.0], [0.1, 0.2])
    with pytest.raises(ValueError, match="at least one graded attempt"):
        design_from_counts([1, 0], [4, 0], [1, 1], [4, 4])


def test_mde_is_millers_formula_with_k() -> None:
    design = PairedDesign(
        n=198, k_base=8, k_cand=8, sigma2_base=0.15, sigma2_cand=0.12, omega2=0.02
    )
    q = stats.t.ppf(0.95, 197) + stats.t.ppf(0.8, 197)
    want = q * math.sqrt((0.02 + 0.15 / 8 + 0.12 / 8) / 198)
    assert minimum_detectable_effect(design) == pytest.approx(want)
    at_64 = minimum_detectable_effect(design, k=64)
    assert at_64 == pytest.approx(q * math.sqrt((0.02 + 0.27 / 64) / 198))
    floor = q * math.sqrt(0.02 / 198)  # k -> infinity leaves the between-problem part
    assert floor < at_64 < minimum_detectable_effect(design)
    assert minimum_detectable_effect(design, alpha=0.01) > minimum_detectable_effect(design)
    assert minimum_detectable_effect(design, power=0.95) > minimum_detectable_effect(design)


def test_k_needed_is_the_smallest_k_that_resolves_the_threshold() -> None:
    design = PairedDesign(
        n=500, k_base=4, k_cand=4, sigma2_base=0.16, sigma2_cand=0.16, omega2=0.004
    )
    threshold = 0.02
    k = k_needed(design, threshold)
    assert k is not None and k > 4
    assert minimum_detectable_effect(design, k=k) <= threshold
    assert minimum_detectable_effect(design, k=k - 1) > threshold
    assert k_needed(design, 0.2) == 1  # already resolved with one attempt
    # The between-problem variance alone is above what the threshold allows: no k can.
    assert k_needed(design, 0.007) is None
    n = problems_needed(design, 0.007)
    bigger = PairedDesign(n, 4, 4, 0.16, 0.16, 0.004)
    assert minimum_detectable_effect(bigger) <= 0.007
    assert minimum_detectable_effect(PairedDesign(n - 1, 4, 4, 0.16, 0.16, 0.004)) > 0.007


def test_design_recovers_known_variance_components() -> None:
    rng = np.random.default_rng(5)
    n, k = 40_000, 8
    p = rng.beta(1.5, 1.5, n)
    shift = rng.normal(0, 0.1, n)
    q = np.clip(p + shift, 0, 1)
    design = design_from_counts(
        rng.binomial(k, p), np.full(n, k), rng.binomial(k, q), np.full(n, k)
    )
    assert design.k_base == pytest.approx(k) and design.k_cand == pytest.approx(k)
    assert design.sigma2_base == pytest.approx(np.mean(p * (1 - p)), rel=0.03)
    assert design.sigma2_cand == pytest.approx(np.mean(q * (1 - q)), rel=0.03)
    assert design.omega2 == pytest.approx(np.var(q - p), rel=0.1)


def test_designs_never_claim_certainty() -> None:
    # Two runs that never solve anything, and two that agree on every majority vote.
    zeros = design_from_counts([0] * 30, [64] * 30, [0] * 30, [64] * 30)
    assert 0 < minimum_detectable_effect(zeros) < 0.02
    votes = design_from_scores([1.0, 0.0] * 15, [1.0, 0.0] * 15)
    assert votes.omega2 == pytest.approx(1 / 30) and not votes.from_attempts
    assert k_needed(votes, 0.05) is None
    k1 = design_from_counts([1, 0, 1, 1], [1] * 4, [0, 0, 1, 1], [1] * 4)
    assert not k1.from_attempts and k_needed(k1, 0.05) is None
    assert k1.omega2 == pytest.approx(np.var([-1, 0, 0, 0], ddof=1))
