"""Method S: place the model among a contest's real participants, then invert the rating model.

Per contest (CodeElo's rules, ``calc_rating.py``): each problem counts as solved at the first
accepted submission among the first ``SUBMISSIONS`` (8) in submission order; every earlier
rejected one costs 50 points (points rounds, never below 0) or 10 penalty minutes (ICPC rules).
Solve times are taken as minute 0, as CodeElo does: optimistic, real points decay with time.
The place is 1 + every participant with a better or equal result (a tie takes the lowest place,
as the official update does; CodeElo counts one place fewer). The contest performance is the
largest rating whose expected place is at least that place (``Field.performance``), capped at
the field's best rating + 100. The rating is the mean over contests.

Order policies: ``random`` (default) is the expectation over random orders of the model's
attempts, estimated with ``draws`` seeded permutations; ``given`` submits the attempts in the
order they were generated, as CodeElo submits its samples. Both values are always reported.

Interval: a bootstrap over contests and over each problem's attempts (resampled with
replacement, which also draws a random order), ``replicates`` times, seeded: percentiles 2.5
and 97.5 of the replicate means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .standings import Contest

SUBMISSIONS = 8
Order = Literal["random", "given"]


@dataclass(frozen=True)
class Placed:
    """One contest's performances: expected over orders, in the given order, and replicates."""

    contest: Contest
    expected: float
    given: int
    replicates: np.ndarray  # one performance per bootstrap draw


def first_accepted(flags: np.ndarray) -> np.ndarray:
    """Index of the first True in each row among the first SUBMISSIONS columns; -1 if none."""
    head = flags[..., :SUBMISSIONS]
    hit = head.any(axis=-1)
    return np.where(hit, head.argmax(axis=-1), -1)


def score(contest: Contest, first: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Points and penalty for arrays of first-accepted indices per problem (-1: unsolved);
    problems missing from ``first`` are unsolved."""
    shape = next(iter(first.values())).shape if first else ()
    points, penalty = np.zeros(shape), np.zeros(shape)
    for problem in contest.problems:
        ith = first.get(problem.problem_id)
        if ith is None:
            continue
        solved = ith >= 0
        if contest.rules == "points":
            assert problem.points is not None  # unplaceable contests never get here
            points += np.where(solved, np.maximum(0.0, problem.points - 50.0 * ith), 0.0)
        else:
            points += solved
            penalty += np.where(solved, 10.0 * ith, 0.0)
    return points, penalty


def _random_orders(flags: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """First-accepted index under ``draws`` random orders of one problem's attempts."""
    keys = rng.random((draws, flags.size))
    return first_accepted(flags[np.argsort(keys, axis=1)])


def _resampled(flags: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """First-accepted index when the attempts are drawn again with replacement (in the order
    drawn), as many as the model made, at most SUBMISSIONS."""
    picks = rng.integers(0, flags.size, (draws, min(flags.size, SUBMISSIONS)))
    return first_accepted(flags[picks])


def place_contest(
    contest: Contest,
    attempts: Mapping[str, np.ndarray],
    draws: int,
    replicates: int,
    rng: np.random.Generator,
) -> Placed:
    """The model's performance in one contest; ``attempts`` maps problem id to correctness
    flags in attempt order (problems absent from it count as unsolved)."""
    ids = [p.problem_id for p in contest.problems if p.problem_id in attempts]
    field = contest.field

    def performances(first: Mapping[str, np.ndarray]) -> np.ndarray:
        points, penalty = score(contest, first)
        return np.asarray(field.performance(contest.place(points, penalty)), dtype=np.float64)

    given = {i: first_accepted(attempts[i][None, :]) for i in ids}
    ordered = {i: _random_orders(attempts[i], draws, rng) for i in ids}
    resampled = {i: _resampled(attempts[i], replicates, rng) for i in ids}
    if not ids:  # nothing judged here: unsolved everywhere
        empty = performances({})
        return Placed(contest, float(empty), int(empty), np.full(replicates, float(empty)))
    return Placed(
        contest,
        expected=float(performances(ordered).mean()),
        given=int(performances(given)[0]),
        replicates=performances(resampled),
    )


@dataclass(frozen=True)
class Rating:
    value: float
    given: float
    replicates: np.ndarray  # the bootstrap distribution of the mean
    contests: tuple[Placed, ...]


def rate(placed: Sequence[Placed], order: Order, rng: np.random.Generator) -> Rating:
    """Mean performance over contests, and its bootstrap over contests (each drawn contest
    contributing one of its own replicates)."""
    count = len(placed)
    table = np.stack([p.replicates for p in placed])  # contest x replicate
    size = table.shape[1]
    chosen = rng.integers(0, count, (size, count))
    columns = rng.integers(0, size, (size, count))
    boot = table[chosen, columns].mean(axis=1)
    expected = float(np.mean([p.expected for p in placed]))
    given = float(np.mean([p.given for p in placed]))
    return Rating(expected if order == "random" else given, given, boot, tuple(placed))
