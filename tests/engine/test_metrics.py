"""pass@k, cons@k and the across-problem statistics, checked against independent computations."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest
from evalr.metrics import (
    Attempt,
    majority_correct,
    pass_at_k,
    pass_k_values,
    summarize,
    t_quantile_975,
    task_metrics,
)


def brute_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of n attempts (the first c correct) holding a correct one."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_brute_force(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_edges() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 1, 10) == 1.0  # k = n: any correct attempt is drawn
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="pass@11"):
        pass_at_k(10, 3, 11)


def test_pass_at_k_stable_for_large_n() -> None:
    # C(1000, 500) overflows floats; the product form must not.
    value = pass_at_k(1000, 1, 500)
    assert value == pytest.approx(0.5)
    assert 0.0 <= pass_at_k(1000, 999, 999) <= 1.0


def _attempts(votes: list[int | None], correct_votes: set[int]) -> list[Attempt]:
    return [Attempt(v in correct_votes, v, i) for i, v in enumerate(votes)]


def test_majority_plain() -> None:
    assert majority_correct(_attempts([1, 2, 2, 3], {2}))
    assert not majority_correct(_attempts([1, 2, 2, 3], {1}))


def test_majority_tie_goes_to_earliest_first_vote() -> None:
    # 2 and 1 both have two votes; 2 voted first.
    assert majority_correct(_attempts([2, 1, 1, 2], {2}))
    assert not majority_correct(_attempts([2, 1, 1, 2], {1}))


def test_majority_tie_ignores_completion_order() -> None:
    attempts = _attempts([2, 1, 1, 2], {2})
    shuffled = attempts[:]
    random.Random(3).shuffle(shuffled)
    assert majority_correct(shuffled) == majority_correct(attempts)
    assert majority_correct(list(reversed(attempts)))


def test_majority_no_answer_attempts_do_not_vote() -> None:
    # Three attempts without an answer outnumber the two for 7, but cannot win.
    attempts = [Attempt(False, None, 0), Attempt(False, None, 1), Attempt(False, None, 2)]
    attempts += [Attempt(True, 7, 3), Attempt(True, 7, 4), Attempt(False, 8, 5)]
    assert majority_correct(attempts)


def test_majority_all_no_answer_is_incorrect() -> None:
    assert not majority_correct([Attempt(False, None, i) for i in range(4)])
    assert not majority_correct([])


def _t_cdf(x: float, df: int, steps: int = 4000) -> float:
    """Student t CDF by Simpson integration of the density (independent of the code under test)."""
    norm = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def pdf(t: float) -> float:
        return norm * (1 + t * t / df) ** (-(df + 1) / 2)

    h = x / steps
    total = pdf(0) + pdf(x) + sum((4 if i % 2 else 2) * pdf(i * h) for i in range(1, steps))
    return 0.5 + total * h / 3


def _t_quantile(df: int) -> float:
    lo, hi = 1.9, 13.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < 0.975 else (lo, mid)
    return (lo + hi) / 2


@pytest.mark.parametrize(("df", "known"), [(10, 2.228), (29, 2.045), (100, 1.984)])
def test_t_quantile_known_values(df: int, known: float) -> None:
    assert t_quantile_975(df) == pytest.approx(known, abs=1e-3)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 20, 40, 63, 200])
def test_t_quantile_against_numerical_integration(df: int) -> None:
    assert t_quantile_975(df) == pytest.approx(_t_quantile(df), abs=2e-4)


def test_t_quantile_decreases_towards_normal() -> None:
    values = [t_quantile_975(df) for df in range(1, 300)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert t_quantile_975(100_000) == pytest.approx(1.95996, abs=1e-4)


def test_summarize_stderr_is_sample_sd_over_sqrt_p() -> None:
    # From 100 problems on, the interval is Student t over problems.
    scores = [0.0, 0.25, 0.5, 1.0, 1.0, 0.75, 0.0, 0.5] * 13
    m = summarize("pass", scores, 1)
    assert m.value == pytest.approx(statistics.fmean(scores))
    assert m.stderr == pytest.approx(statistics.stdev(scores) / math.sqrt(len(scores)))
    half = t_quantile_975(len(scores) - 1) * m.stderr
    assert m.ci95 == pytest.approx((m.value - half, m.value + half))
    assert m.n == len(scores) and m.ci_method == "t"
    assert m.label == "pass@1"


def test_small_sets_use_the_problem_level_bootstrap() -> None:
    scores = [0.0, 0.25, 0.5, 1.0, 1.0, 0.75, 0.0, 0.5]
    m = summarize("pass", scores, 1)
    assert m.ci_method == "bootstrap-t"
    assert m.ci95[0] < m.value < m.ci95[1]
    assert summarize("pass", scores, 1).ci95 == m.ci95  # deterministic


def test_small_set_interval_holds_its_coverage() -> None:
    """AIME-sized (30 problems x 64 attempts), skewed difficulties, true mean 0.05 and 0.5:
    the interval covers the true mean at least 93% of the time (Student t: 81-86% at 0.05)."""
    import numpy as np
    from evalr.metrics import bootstrap_ci

    rng = np.random.default_rng(11)
    for a, b in ((0.1, 1.9), (0.3, 0.3)):
        true, covered, reps = a / (a + b), 0, 300
        for rep in range(reps):
            scores = rng.binomial(64, rng.beta(a, b, 30)) / 64
            if scores.std() == 0:
                covered += 1
                continue
            low, high = bootstrap_ci(list(scores), resamples=2000, seed=rep)
            covered += low <= true <= high
        assert covered / reps >= 0.93, (a, b, covered / reps)


def test_summarize_clips_interval_to_unit_range() -> None:
    high = summarize("pass", [1.0, 1.0, 1.0, 0.0])
    assert high.ci95[1] == 1.0 and high.ci95[0] < high.value
    low = summarize("pass", [0.0, 0.0, 0.0, 1.0])
    assert low.ci95[0] == 0.0 and low.ci95[1] > low.value


def test_summarize_constant_scores_keep_an_honest_interval() -> None:
    # 0/30 problems solved: the interval must not collapse to the single point 0.
    m = summarize("pass", [0.0] * 30)
    assert m.value == 0.0 and m.stderr == 0.0
    assert m.ci95[0] == 0.0 and 0.05 < m.ci95[1] < 0.2
    top = summarize("pass", [1.0] * 30)
    assert top.ci95[1] == 1.0 and 0.8 < top.ci95[0] < 0.95


@pytest.mark.parametrize("score", [0.1, 0.25, 1 / 3, 0.7])
def test_summarize_equal_fractional_scores_do_not_collapse(score: float) -> None:
    # Rounding must not decide between an honest interval and a point.
    m = summarize("pass", [score] * 30)
    assert m.stderr == 0.0
    assert m.ci95[0] < score - 0.05 and m.ci95[1] > score + 0.05


def test_summarize_degenerate_sizes() -> None:
    empty = summarize("pass", [])
    assert empty.n == 0 and math.isnan(empty.value)
    one = summarize("pass", [0.5])
    assert one.n == 1 and one.value == 0.5 and math.isnan(one.stderr)


def test_pass_k_values() -> None:
    assert pass_k_values(1) == [1]
    assert pass_k_values(2) == [1, 2]
    assert pass_k_values(3) == [1, 2, 3]
    assert pass_k_values(64) == [1, 2, 4, 8, 16, 32, 64]
    assert pass_k_values(10) == [1, 2, 4, 8, 10]


def _problem(correct: list[bool], votes: list[int | None] | None = None) -> list[Attempt]:
    votes = votes if votes is not None else [0 if c else 1 for c in correct]
    return [Attempt(c, v, i) for i, (c, v) in enumerate(zip(correct, votes, strict=True))]


def test_task_metrics_shape_and_values() -> None:
    problems = [
        _problem([True, False, False, False]),
        _problem([True, True, True, False]),
        _problem([False, False, False, False]),
    ]
    metrics = task_metrics(problems)
    assert [m.label for m in metrics] == ["pass@1", "pass@2", "pass@4", "cons@4"]
    by = {m.label: m for m in metrics}
    assert by["pass@1"].value == pytest.approx((0.25 + 0.75 + 0.0) / 3)
    assert by["pass@2"].value == pytest.approx(
        (brute_pass_at_k(4, 1, 2) + brute_pass_at_k(4, 3, 2) + 0.0) / 3
    )
    assert by["pass@4"].value == pytest.approx(2 / 3)
    assert by["cons@4"].value == pytest.approx(1 / 3)  # only the 3-of-4 problem's vote wins
    assert all(m.n == 3 for m in metrics)


def test_task_metrics_without_majority_vote() -> None:
    metrics = task_metrics([_problem([True, False]), _problem([True, True])], majority_vote=False)
    assert [m.label for m in metrics] == ["pass@1", "pass@2"]


def test_task_metrics_single_attempt_has_no_pass_k_or_cons() -> None:
    assert [m.label for m in task_metrics([_problem([True]), _problem([False])])] == ["pass@1"]


def test_task_metrics_short_problems_enter_only_supported_k() -> None:
    # The second problem lost two attempts to errors: it counts for pass@1 and pass@2 only.
    metrics = {m.label: m for m in task_metrics([_problem([True] * 4), _problem([False] * 2)])}
    assert metrics["pass@1"].n == 2 and metrics["pass@2"].n == 2
    assert metrics["pass@4"].n == 1 and metrics["pass@4"].value == 1.0


def test_task_metrics_no_usable_problems() -> None:
    (only,) = task_metrics([[], []])
    assert only.label == "pass@1" and only.n == 0
