"""Codeforces rating arithmetic against the real 2020 contests, placement, MLE, percentiles.

The 2020 standings (Carrot's test data, in the mirror and shipped compactly) carry every rated
participant's points, penalty, pre-contest rating, official rating change and Carrot's
performance, so the arithmetic is checked against what Codeforces actually did.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from evalr.tasks.codeforces import difficulty, placement
from evalr.tasks.codeforces.percentile import Distribution, build_2024, distribution
from evalr.tasks.codeforces.rating import Field, places, rating_update, zero_change_rating
from evalr.tasks.codeforces.standings import CONTESTS, STANDINGS_FILE, build, load_contests

PACKAGE = Path(__file__).resolve().parents[2] / "tasks" / "codeforces"


@cache
def _source(root: Path) -> dict[str, Any]:
    with gzip.open(root / STANDINGS_FILE, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _rows(root: Path, contest_id: int) -> list[list[Any]]:
    return _source(root)[CONTESTS[contest_id][0]]["rows"]


@pytest.mark.parametrize("contest_id", sorted(CONTESTS))
def test_rating_update_reproduces_the_real_changes(data_dir: Path, contest_id: int) -> None:
    rows = _rows(data_dir, contest_id)
    update = rating_update([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
    real = np.array([r[4] for r in rows])
    assert len(rows) > 1000
    assert np.array_equal(update.changes, real)  # every participant, to the point
    assert update.correction < 0


def test_shipped_standings_are_the_source_columns(data_dir: Path) -> None:
    rebuilt = build(data_dir)
    with gzip.open(PACKAGE / "standings_2020.json.gz", "rt", encoding="utf-8") as fh:
        shipped = json.load(fh)
    assert shipped == json.loads(json.dumps(rebuilt))
    contests = load_contests()
    assert sorted(contests) == sorted(CONTESTS)
    assert contests[1342].rules == "icpc" and contests[1305].rules == "points"
    assert contests[1350].unplaceable and not contests[1305].unplaceable


@pytest.mark.parametrize("contest_id", [1305, 1342, 1349, 1352])
def test_virtual_participant_gets_the_real_participants_performance(
    data_dir: Path, contest_id: int
) -> None:
    """A virtual participant taking a real one's place with the same points and penalty.

    Tolerances: the zero-change rating (the official update, corrections included, leaves
    it unchanged) is Carrot's performance to within 4 points (equal for 60,042 of the 60,133
    participants of the six contests; where the truncated update is not monotone, two binary
    searches with different bounds stop at crossings up to 4 points apart); CodeElo's
    performance (expected place = place, what the task reports) lies above Carrot's by more
    than 0 and at most 4 x |correction| + 5 points, the gap the correction opens.
    """
    rows = _rows(data_dir, contest_id)
    carrot = dict(_source(data_dir)[CONTESTS[contest_id][0]]["perfs"])
    contest = load_contests()[contest_id]
    correction = rating_update(contest.points, contest.penalty, contest.old_rating).correction
    real_places = places(contest.points, contest.penalty)
    rng = np.random.default_rng(contest_id)
    checked = exact = 0
    for i in rng.choice(len(rows), 25, replace=False):
        handle, points, penalty, own = rows[i][0], rows[i][1], rows[i][2], rows[i][3]
        if carrot[handle] == "Infinity":
            continue
        others = np.delete(np.arange(len(rows)), i)
        better_or_tied = np.sum(
            (contest.points[others] > points)
            | ((contest.points[others] == points) & (contest.penalty[others] <= penalty))
        )
        place = int(better_or_tied) + 1
        assert place == real_places[i]
        zero = zero_change_rating(contest.field, place, correction, own)
        assert 0 <= zero - carrot[handle] <= 4
        exact += zero == carrot[handle]
        performance = contest.field.performance(place, high=6000, exclude=own)
        assert 0 < performance - carrot[handle] <= 4 * abs(correction) + 5
        checked += 1
    assert checked >= 20 and exact >= 0.9 * checked


def test_performance_is_the_rating_whose_expected_place_is_the_place() -> None:
    contest = load_contests()[1326]
    for place in (1.0, 10.0, 500.0, 5000.0, 10000.0):
        r = contest.field.performance(place)
        assert contest.field.seed(r) >= place or r == 0
        assert r == contest.field.cap or contest.field.seed(r + 1) < place
    assert contest.field.performance(1.0) == contest.field.cap == contest.field.max_rating + 100
    many = contest.field.performance(np.array([3.0, 3000.0]))
    assert list(many) == [contest.field.performance(3.0), contest.field.performance(3000.0)]


def test_a_newcomers_place_counts_everyone_better_or_tied() -> None:
    contest = load_contests()[1342]
    for solved, minutes in ((0, 0), (3, 40), (5, 95), (6, 0)):
        ahead = (contest.points > solved) | (
            (contest.points == solved) & (contest.penalty <= minutes)
        )
        assert contest.place(solved, minutes) == int(ahead.sum()) + 1
    assert contest.place(6, 0) == 1  # better than the winner (6 solved, 211 minutes)


def test_placement_expectation_over_random_orders_is_exact_for_one_problem() -> None:
    """ICPC rules: A solved by 2 of 4 attempts. The first accepted among 4 random orders lands
    at position 0, 1, 2 with probabilities 1/2, 1/3, 1/6, costing 0, 10, 20 minutes."""
    contest = load_contests()[1342]
    flags = np.array([False, True, False, True])
    rng = np.random.default_rng(0)
    placed = placement.place_contest(contest, {"1342A": flags}, 4000, 200, rng)
    exact = sum(
        p * contest.field.performance(contest.place(1, minutes))
        for p, minutes in ((1 / 2, 0), (1 / 3, 10), (1 / 6, 20))
    )
    assert abs(placed.expected - exact) < 2.0
    assert placed.given == contest.field.performance(contest.place(1, 10))  # accepted 2nd


def test_points_rounds_charge_50_per_rejected_attempt() -> None:
    contest = load_contests()[1305]
    first = {"1305A": np.array([2]), "1305B": np.array([0]), "1305C": np.array([-1])}
    points, penalty = placement.score(contest, first)
    assert points[0] == (500 - 100) + 1000 and penalty[0] == 0
    assert placement.first_accepted(np.array([[False] * 8 + [True]]))[0] == -1  # 9th: too late


def test_rating_means_contests_and_its_interval_covers_it() -> None:
    contests = load_contests()
    rng = np.random.default_rng(1)
    placed = [
        placement.place_contest(contests[1305], {"1305A": np.ones(8, bool)}, 100, 400, rng),
        placement.place_contest(contests[1352], {"1352A": np.ones(8, bool)}, 100, 400, rng),
    ]
    rating = placement.rate(placed, "random", rng)
    assert rating.value == pytest.approx((placed[0].expected + placed[1].expected) / 2)
    low, high = np.percentile(rating.replicates, [2.5, 97.5])
    assert low <= rating.value <= high


def test_mle_recovers_the_rating_that_generated_the_results() -> None:
    rng = np.random.default_rng(7)
    ratings = np.repeat(np.arange(800, 3100, 100), 4).astype(float)
    truth, k = 1700.0, 64
    p = 1 / (1 + 10 ** ((ratings - truth) / 400))
    correct = rng.binomial(k, p)
    found = difficulty.fit(ratings, correct, np.full(ratings.size, k), 500, rng)
    assert abs(found.value - truth) < 40 and found.bounded is None
    low, high = np.percentile(found.replicates, [2.5, 97.5])
    assert low < truth < high
    everything = difficulty.fit(
        ratings, np.full(ratings.size, k), np.full(ratings.size, k), 50, rng
    )
    assert everything.bounded == "all solved" and everything.value > 4000


def test_percentile_of_2029_on_the_shipped_distribution_is_96_4() -> None:
    table = distribution()
    assert isinstance(table, Distribution)
    assert table.name == "cf-active-2024" and table.users == 89352
    assert round(table.percentile(2029), 1) == 96.4
    assert round(table.percentile(1936), 1) == 95.2  # DeepCoder's published 95.3 rounds here
    assert table.percentile(-1000) == 0.0 and table.percentile(10000) == 100.0


def test_shipped_2024_distribution_is_the_source(data_dir: Path) -> None:
    with gzip.open(PACKAGE / "ratings_2024.json.gz", "rt", encoding="utf-8") as fh:
        assert json.load(fh) == build_2024(data_dir)


def test_codeelo_distribution_from_the_mirror(mirror_env: Path) -> None:
    table = distribution("codeelo")
    assert isinstance(table, Distribution) and table.users == 717421
    assert round(table.percentile(2029), 1) == 98.1
    assert round(table.percentile(1600), 1) == 89.8


def test_codeelo_distribution_needs_the_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalr.errors import DataError

    monkeypatch.delenv("EVALR_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="not ship"):
        distribution("codeelo")


def test_r1_reported_table_reads_the_papers_pairs() -> None:
    table = distribution("r1-reported")
    assert table.percentile(2029) == pytest.approx(96.3)
    assert table.percentile(1444) == pytest.approx(80.4)
    assert np.isnan(table.percentile(3000))


def test_field_seed_is_one_plus_expected_wins_of_others() -> None:
    field = Field([1500, 1500, 2000])
    expected = 1 + 2 * 0.5 + 1 / (1 + 10 ** ((1500 - 2000) / 400))
    assert field.seed(1500) == pytest.approx(expected)
