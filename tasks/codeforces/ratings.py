"""The task's own metrics: Codeforces ratings and percentiles, each with a bootstrap interval.

- ``codeforces_rating``: method S (``placement``), over the contests with standings whose every
  problem the run judged (interactive ones, skipped, count as unsolved); ``n`` = contests.
- ``codeforces_percentile``: that rating's percentile in the named distribution.
- ``cf_rating_mle``: method P (``difficulty``), over every judged problem with a rating;
  ``n`` = problems. ``cf_percentile_mle``: its percentile. The two methods are never mixed.

Each value carries ``value``, ``stderr`` (the bootstrap's standard deviation), ``ci95``
(bootstrap percentiles) and ``n``; ``details`` names the method, the order policy, the
distribution, the contests and the test sets that judged them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from evalr.types import MetricValue

from . import difficulty, placement
from .percentile import Distribution, ReportedTable, distribution
from .standings import Contest, load_contests

if TYPE_CHECKING:
    from evalr.metrics import ProblemAttempts


@dataclass(frozen=True)
class RatingOptions:
    distribution: str = "cf-active-2024"
    order: placement.Order = "random"
    seed: int = 0
    draws: int = 1000  # random attempt orders per contest for the expectation
    replicates: int = 2000  # bootstrap draws


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan)
    low, high = np.percentile(finite, [2.5, 97.5])
    return (float(low), float(high))


def _metric(
    name: str, value: float, replicates: np.ndarray, n: int, details: Mapping[str, Any]
) -> MetricValue:
    finite = replicates[np.isfinite(replicates)]
    stderr = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return MetricValue(name, value, stderr, _interval(replicates), n, None, dict(details))


def _percentile(
    name: str,
    of: str,
    rating: float,
    replicates: np.ndarray,
    n: int,
    table: Distribution | ReportedTable,
) -> MetricValue:
    boot = np.array([table.percentile(float(r)) for r in replicates])
    details = {"of": of, "rating": round(rating, 1), "distribution": table.describe()}
    return _metric(name, table.percentile(rating), boot, n, details)


def _flags(problem: ProblemAttempts) -> np.ndarray:
    return np.array([a.correct for a in problem.attempts], dtype=bool)


class CodeforcesRatings:
    """``Task.metrics`` for the codeforces task. ``skipped`` is read at call time: the ids the
    loader skipped (interactive), which count as attempted-and-unsolved in a contest."""

    def __init__(self, options: RatingOptions, skipped: Callable[[], Sequence[str]]) -> None:
        self.options = options
        self.skipped = skipped
        self.table = distribution(options.distribution)  # fails early on an unknown name

    def __call__(self, problems: Sequence[ProblemAttempts]) -> list[MetricValue]:
        judged = {p.problem.id: p for p in problems if p.attempts}
        out: list[MetricValue] = []
        out += self._placement(judged)
        out += self._difficulty(judged)
        return out

    # --- method S ---------------------------------------------------------------------------

    def _placeable(self, judged: Mapping[str, ProblemAttempts]) -> tuple[list[Contest], dict]:
        present = set(judged) | set(self.skipped())
        chosen, not_placed = [], {}
        for contest in load_contests().values():
            ids = [p.problem_id for p in contest.problems]
            if not any(i in judged for i in ids):
                continue
            missing = [i for i in ids if i not in present]
            reason = contest.unplaceable or (
                f"problems not in this run: {', '.join(missing)}" if missing else None
            )
            if reason:
                not_placed[str(contest.id)] = reason
            else:
                chosen.append(contest)
        return chosen, not_placed

    def _placement(self, judged: Mapping[str, ProblemAttempts]) -> list[MetricValue]:
        contests, not_placed = self._placeable(judged)
        if not contests:
            return []
        rng = np.random.default_rng(self.options.seed)
        placed = []
        test_sets: Counter[str] = Counter()
        for contest in contests:
            attempts = {
                p.problem_id: _flags(judged[p.problem_id])
                for p in contest.problems
                if p.problem_id in judged
            }
            for problem_id in attempts:
                test_sets[str(judged[problem_id].problem.metadata.get("test_set"))] += 1
            placed.append(
                placement.place_contest(
                    contest, attempts, self.options.draws, self.options.replicates, rng
                )
            )
        rating = placement.rate(placed, self.options.order, rng)
        details = {
            "method": "S: placement among the contest's rated participants (CodeElo)",
            "order": self.options.order,
            "value_random_order": round(float(np.mean([p.expected for p in placed])), 1),
            "value_given_order": rating.given,
            "policy": f"first accepted of the first {placement.SUBMISSIONS} attempts; -50 "
            "points (points rounds) or +10 penalty minutes (ICPC rules) per earlier attempt; "
            "solve times taken as minute 0; ties take the lowest place; performance capped at "
            "the field's best rating + 100",
            "contests": [
                {
                    "id": p.contest.id,
                    "name": p.contest.name,
                    "rules": p.contest.rules,
                    "participants": p.contest.participants,
                    "performance": round(p.expected, 1),
                    "performance_given_order": p.given,
                    "cap": p.contest.field.cap,
                    "unsolved_unjudged": [
                        q.problem_id for q in p.contest.problems if q.problem_id not in judged
                    ],
                }
                for p in placed
            ],
            "not_placed": not_placed,
            "test_sets": dict(sorted(test_sets.items())),
            "draws": self.options.draws,
            "replicates": self.options.replicates,
            "seed": self.options.seed,
            "interval": "bootstrap over contests and each problem's attempts (which also "
            "draws their order); percentiles 2.5 and 97.5",
        }
        n = len(placed)
        return [
            _metric("codeforces_rating", rating.value, rating.replicates, n, details),
            _percentile(
                "codeforces_percentile",
                "codeforces_rating",
                rating.value,
                rating.replicates,
                n,
                self.table,
            ),
        ]

    # --- method P ---------------------------------------------------------------------------

    def _difficulty(self, judged: Mapping[str, ProblemAttempts]) -> list[MetricValue]:
        rated = [p for p in judged.values() if p.problem.metadata.get("rating") is not None]
        if not rated:
            return []
        rng = np.random.default_rng(self.options.seed + 1)
        found = difficulty.fit(
            np.array([float(p.problem.metadata["rating"]) for p in rated]),
            np.array([sum(a.correct for a in p.attempts) for p in rated], dtype=np.int64),
            np.array([len(p.attempts) for p in rated], dtype=np.int64),
            self.options.replicates,
            rng,
        )
        test_sets = Counter(str(p.problem.metadata.get("test_set")) for p in rated)
        details = {
            "method": "P: maximum likelihood given solved problems and their ratings",
            "problems_unrated": len(judged) - len(rated),
            "contests": sorted({int(p.problem.metadata["contest_id"]) for p in rated}),
            "test_sets": dict(sorted(test_sets.items())),
            "bounded": found.bounded,
            "replicates": self.options.replicates,
            "seed": self.options.seed,
            "interval": "bootstrap over problems and their attempts; percentiles 2.5 and 97.5",
        }
        n = len(rated)
        return [
            _metric("cf_rating_mle", found.value, found.replicates, n, details),
            _percentile(
                "cf_percentile_mle", "cf_rating_mle", found.value, found.replicates, n, self.table
            ),
        ]
