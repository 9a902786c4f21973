"""Codeforces rating arithmetic: expected places, performance ratings, official rating changes.

The model (Codeforces blog entry 20762; Mike Mirzayanov's reference code as restated by Carrot
and CodeElo): a participant rated ``a`` beats one rated ``b`` with probability
``1 / (1 + 10^((b - a) / 400))``; the expected place (seed) of a participant rated ``R`` is
``1 + sum over the others of P(other beats R)``.

- *Performance* (CodeElo's definition, what the task reports): the largest integer ``R`` whose
  seed is still at least the place.
- *Official update*: the geometric mean of seed and place, the rating whose seed equals it, half
  the gap, then two sum corrections that deflate every change by the same amount.
- *Zero-change rating* (Carrot's "performance"): the rating at which the official update,
  corrections included, would leave a participant unchanged. It sits below the performance by
  about four times the contest's correction (tens of points), which is why the two differ.

Seeds come from a table over every integer rating in ``[LOW, HIGH]``, built once per field with
numpy, so the many binary searches of a contest cost one table. No maintained Python package
implements the Codeforces update (the known implementations are JavaScript, Carrot, or inside a
Discord bot, TLE), hence this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

LOW, HIGH = -1000, 6000  # every rating the searches consider
_BLOCK = 512
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def win_probability(rating: Any, other: Any) -> Any:
    """P(a participant rated ``rating`` beats one rated ``other``); elementwise on arrays."""
    return 1.0 / (1.0 + np.power(10.0, (np.asarray(other) - np.asarray(rating)) / 400.0))


def _largest(lo: Ints, hi: Ints, ok: Callable[[Ints], npt.NDArray[np.bool_]]) -> Ints:
    """Elementwise: the largest x in [lo, hi) with ok(x), for ok true then false as x grows
    (lo itself is returned where ok never holds)."""
    lo, hi = lo.copy(), hi.copy()
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        good = ok(mid)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return lo


class Field:
    """The rated participants of one contest, as seen by a newcomer of any rating."""

    def __init__(self, ratings: Sequence[int] | Ints) -> None:
        values, counts = np.unique(np.asarray(ratings, dtype=np.int64), return_counts=True)
        grid = np.arange(LOW, HIGH + 1, dtype=np.float64)
        seed = np.empty_like(grid)
        for start in range(0, grid.size, _BLOCK):
            beats = counts * win_probability(values[None, :], grid[start : start + _BLOCK, None])
            seed[start : start + _BLOCK] = 1.0 + beats.sum(axis=1)
        self.size = int(counts.sum())
        self.max_rating = int(values.max()) if values.size else 0
        self.cap = self.max_rating + 100  # CodeElo's upper bound for a performance
        self._seed = seed

    def seed(self, rating: Any) -> Floats:
        """Expected place of a participant rated ``rating`` who is not in the field."""
        index = np.clip(np.asarray(rating, dtype=np.int64) - LOW, 0, HIGH - LOW)
        return self._seed[index]

    def seed_without(self, rating: Any, own: Any) -> Floats:
        """Seed at ``rating`` of a field member whose listed rating is ``own`` (self excluded)."""
        return self.seed(rating) - win_probability(own, rating)

    def performance(self, place: Any, high: int | None = None, exclude: Any = None) -> Any:
        """The largest integer rating in ``[0, high]`` whose seed is at least ``place``.

        ``high`` defaults to CodeElo's cap, the field's highest rating + 100 (a first place
        proves no more than that). ``exclude``: the listed rating of a field member taking this
        place in a member's stead (so the member does not play against itself). Elementwise on
        arrays of places.
        """
        top = self.cap if high is None else high
        target = np.asarray(place, dtype=np.float64)
        shape = target.shape

        def reached(r: Ints) -> npt.NDArray[np.bool_]:
            seed = self.seed(r) if exclude is None else self.seed_without(r, exclude)
            return seed >= target

        found = _largest(
            np.zeros(shape, dtype=np.int64), np.full(shape, top + 1, dtype=np.int64), reached
        )
        return found if shape else int(found)


def places(points: npt.ArrayLike, penalty: npt.ArrayLike) -> Ints:
    """Codeforces places: by points, then penalty; a tie takes the lowest place of its group."""
    key = order_key(points, penalty)
    return (key.size - np.searchsorted(np.sort(key), key, side="left")).astype(np.int64)


def order_key(points: Any, penalty: Any) -> Floats:
    """One number that orders results as the standings do (larger is better). Exact in
    float64 for the integer points and penalties Codeforces reports."""
    return np.asarray(points, dtype=np.float64) * 1e7 - np.asarray(penalty, dtype=np.float64)


def _unadjusted_change(field: Field, place: Floats, assumed: Ints, own: Ints | None) -> Ints:
    """The update before its corrections, for participants placed ``place`` if they were rated
    ``assumed``: field members listed at ``own`` (excluded from their own field), or
    newcomers outside the field (``own`` None)."""

    def seed(r: Any) -> Floats:
        return field.seed(r) if own is None else field.seed_without(r, own)

    mid_place = np.sqrt(place * seed(assumed))
    need = _largest(
        np.ones(place.shape, dtype=np.int64),
        np.full(place.shape, HIGH, dtype=np.int64),
        lambda r: seed(r) >= mid_place,
    )
    return np.trunc((need - assumed) / 2).astype(np.int64)


@dataclass(frozen=True)
class Update:
    """One contest's official rating changes and the correction applied to every one of them."""

    changes: Ints
    correction: int


def rating_update(
    points: npt.ArrayLike, penalty: npt.ArrayLike, old_ratings: npt.ArrayLike
) -> Update:
    """The official rating update (the rules of 2020: newcomers at their listed rating)."""
    old = np.asarray(old_ratings, dtype=np.int64)
    n = old.size
    change = _unadjusted_change(Field(old), places(points, penalty).astype(np.float64), old, old)
    first = math.trunc(-int(change.sum()) / n) - 1
    change = change + first
    by_rating = np.argsort(-old, kind="stable")  # equal ratings keep place order
    top = min(4 * math.floor(math.sqrt(n) + 0.5), n)
    second = min(max(math.trunc(-int(change[by_rating[:top]].sum()) / top), -10), 0)
    return Update(change + second, first + second)


def zero_change_rating(field: Field, place: int, correction: int, own: int | None = None) -> int:
    """The smallest rating at which a participant with this place would gain nothing under the
    contest's correction: Carrot's "performance". ``own``: the listed rating of a field member
    (excluded from its own field); None for a newcomer outside the field."""
    places_ = np.array([float(place)])
    owns = None if own is None else np.array([own], dtype=np.int64)

    def gains(r: Ints) -> npt.NDArray[np.bool_]:
        return _unadjusted_change(field, places_, r, owns) + correction > 0

    # gains is true below the answer and false from it on: the largest r that gains, plus one
    found = _largest(np.array([LOW]), np.array([HIGH]), gains)
    return int(found[0]) + 1
