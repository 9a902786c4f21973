"""Percentiles of a Codeforces rating among a named population of human ratings.

A percentile is the share of the population rated strictly below (``bisect_left / len * 100``,
as CodeElo and DeepCoder compute it). Every output names its distribution:

- ``cf-active-2024`` (default, shipped): the 89,352 users active on Codeforces in 2024, as
  DeepCoder published them (MIT). 2029, DeepSeek-R1's reported rating, maps to 96.4 here, next
  to the paper's 96.3.
- ``codeelo``: CodeElo's 717,421 ratings (``sorted_ratings.json``). The file carries no license,
  so it is not redistributed: it is read from ``$EVALR_DATA_DIR/codeforces/`` (a histogram of
  it would reproduce it exactly, which is not the obstacle).
- ``r1-reported``: the ten (rating, percentile) pairs the DeepSeek-R1 paper reports, linearly
  interpolated; only between 717 and 2061, and only to read numbers on the paper's own scale.
"""

from __future__ import annotations

import bisect
import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from evalr.data import data_dir
from evalr.errors import ConfigError, DataError

DEFAULT = "cf-active-2024"
PACKAGE_FILE = "ratings_2024.json.gz"
SOURCE_2024 = "codeforces/deepcoder_cf_ratings_2024.json"
CODEELO_FILE = "codeforces/codeelo_sorted_ratings.json.gz"
CODEELO_SOURCE = "QwenLM/CodeElo@0bffc84f0477abe5fd641d4cb4c859318a572c70 sorted_ratings.json"
# DeepSeek-R1 paper, Codeforces (rating, percentile) pairs across its tables.
R1_REPORTED = (
    (717, 20.3), (759, 23.6), (1134, 58.7), (1444, 80.4), (1534, 84.5),
    (1687, 90.5), (1746, 92.1), (1820, 93.4), (2029, 96.3), (2061, 96.6),
)  # fmt: skip
NAMES = (DEFAULT, "codeelo", "r1-reported")


@dataclass(frozen=True)
class Distribution:
    """A population of ratings as a histogram: each distinct rating and how many hold it."""

    name: str
    source: str
    ratings: np.ndarray  # distinct, ascending
    counts: np.ndarray

    @property
    def users(self) -> int:
        return int(self.counts.sum())

    def percentile(self, rating: float) -> float:
        """Share of the population rated strictly below ``rating``, in percent."""
        below = int(self.counts[: int(np.searchsorted(self.ratings, rating, side="left"))].sum())
        return 100.0 * below / self.users

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "users": self.users}


@dataclass(frozen=True)
class ReportedTable:
    """The R1 paper's own pairs, interpolated; not a population."""

    name: str = "r1-reported"
    source: str = "DeepSeek-R1 paper: ten reported (rating, percentile) pairs, interpolated"

    def percentile(self, rating: float) -> float:
        xs = [r for r, _ in R1_REPORTED]
        if not xs[0] <= rating <= xs[-1]:
            return float("nan")  # outside the reported range there is nothing to read
        i = max(1, bisect.bisect_left(xs, rating))
        (x0, y0), (x1, y1) = R1_REPORTED[i - 1], R1_REPORTED[i]
        return y0 + (y1 - y0) * (rating - x0) / (x1 - x0)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "range": [717, 2061]}


def _histogram(name: str, source: str, doc: Mapping[str, Any]) -> Distribution:
    return Distribution(
        name, source, np.asarray(doc["ratings"], np.int64), np.asarray(doc["counts"], np.int64)
    )


@cache
def _active_2024() -> Distribution:
    raw = resources.files(__package__).joinpath(PACKAGE_FILE).read_bytes()
    doc = json.loads(gzip.decompress(raw))
    return _histogram(doc["name"], doc["source"], doc)


@cache
def _codeelo(root: Path | None) -> Distribution:
    if root is None:
        raise DataError(
            f"the codeelo distribution is read from $EVALR_DATA_DIR/{CODEELO_FILE} (it carries "
            "no license, so evalr does not ship it); set EVALR_DATA_DIR"
        )
    path = root / CODEELO_FILE
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            ratings = np.asarray(json.load(fh), dtype=np.int64)
    except (OSError, ValueError) as exc:
        raise DataError(f"codeelo distribution: cannot read {path} ({exc})") from None
    values, counts = np.unique(ratings, return_counts=True)
    return Distribution("codeelo", CODEELO_SOURCE, values, counts)


def distribution(name: str = DEFAULT) -> Distribution | ReportedTable:
    if name == DEFAULT:
        return _active_2024()
    if name == "codeelo":
        return _codeelo(data_dir())
    if name == "r1-reported":
        return ReportedTable()
    raise ConfigError(f"unknown rating distribution {name!r}; known: {', '.join(NAMES)}")


def build_2024(mirror: Path) -> dict[str, Any]:
    """The shipped file's content, derived from the mirror's copy of DeepCoder's file."""
    try:
        raw: dict[str, int] = json.loads((mirror / SOURCE_2024).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{mirror / SOURCE_2024}: cannot read ({exc})") from None
    pairs: Sequence[tuple[int, int]] = sorted((int(k), int(v)) for k, v in raw.items())
    return {
        "name": DEFAULT,
        "source": "rllm-org/rllm@945b64945f63e4c1d828d95f81b28a6448c6ed76 "
        "scripts/benchmark/codeforces/ratings_2024.json (MIT)",
        "description": "ratings of the 89,352 Codeforces users active in 2024, as DeepCoder "
        "used them",
        "ratings": [r for r, _ in pairs],
        "counts": [c for _, c in pairs],
    }
