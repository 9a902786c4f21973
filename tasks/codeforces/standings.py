"""Contests with standings: every rated participant's points, penalty and pre-contest rating.

Shipped as package data (``standings_2020.json.gz``, about 200 KB) rather than read from the data
mirror: placement must work wherever evalr is installed (no Hub dataset carries standings), and
the source is MIT-licensed (meooow25/carrot @ e615e1783d1f142829f018ea703c13a1abaa2c49,
``carrot/tests/data``). Handles and rating changes are left out; the tests compare the shipped
columns with the mirror's copy of the source and reproduce its rating changes from them.

Problems and their maximum points come from the Codeforces problemset dump in the mirror. Round
641's Div. 2 contest (1350) shares its problems C-F with Div. 1 (1349 A-D); the dump lists only
the Div. 1 point values, so 1350 cannot place a model (its arithmetic is still tested).

    python -m evalr.tasks.codeforces.standings DATA_DIR   # rewrite the package data file
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from evalr.errors import DataError

from .problems import SHARED
from .rating import Field, Ints, order_key

PACKAGE_FILE = "standings_2020.json.gz"
SOURCE = "meooow25/carrot@e615e1783d1f142829f018ea703c13a1abaa2c49 carrot/tests/data (MIT)"
STANDINGS_FILE = "codeforces/carrot_cf_rounds_2020_standings_ratingchanges.json.gz"
PROBLEMS_FILE = "codeforces/cf_2020_carrot_rounds_problems_samples.json.gz"
Rules = Literal["points", "icpc"]
# contest id -> (key in the source file, name, rules)
CONTESTS: dict[int, tuple[str, str, Rules]] = {
    1305: ("round-1305-ozon-2020-div1+2", "Ozon Tech Challenge 2020 (Div. 1 + Div. 2)", "points"),
    1326: ("round-1326-global-7", "Codeforces Global Round 7", "points"),
    1342: ("round-1342-edu-86", "Educational Codeforces Round 86 (Div. 2)", "icpc"),
    1349: ("round-1349-641-div1", "Codeforces Round 641 (Div. 1)", "points"),
    1350: ("round-1350-641-div2", "Codeforces Round 641 (Div. 2)", "points"),
    1352: ("round-1352-640-div4", "Codeforces Round 640 (Div. 4)", "icpc"),
}


@dataclass(frozen=True)
class ContestProblem:
    index: str
    problem_id: str  # the Codeforces id the problem is judged under
    points: float | None  # maximum points in a points round; None: ICPC rules, or unknown


@dataclass(frozen=True)
class Contest:
    id: int
    name: str
    rules: Rules
    problems: tuple[ContestProblem, ...]
    points: np.ndarray = field(repr=False)
    penalty: np.ndarray = field(repr=False)
    old_rating: Ints = field(repr=False)

    @property
    def participants(self) -> int:
        return int(self.old_rating.size)

    @property
    def unplaceable(self) -> str | None:
        """Why a model cannot be placed here, or None."""
        unknown = [p.index for p in self.problems if self.rules == "points" and p.points is None]
        if unknown:
            return f"maximum points of {', '.join(unknown)} are not in the data"
        return None

    @cached_property
    def field(self) -> Field:
        return Field(self.old_rating)

    @cached_property
    def _sorted_keys(self) -> np.ndarray:
        return np.sort(order_key(self.points, self.penalty))

    def place(self, points: Any, penalty: Any) -> Any:
        """A newcomer's place: 1 + every participant with a better or equal result (a tie takes
        the lowest place of its group, as the rating update does). Elementwise on arrays."""
        keys = self._sorted_keys
        found = keys.size - np.searchsorted(keys, order_key(points, penalty), side="left") + 1
        return found if np.ndim(found) else int(found)


def _contest(row: Mapping[str, Any]) -> Contest:
    problems = tuple(
        ContestProblem(str(p["index"]), str(p["id"]), p.get("points")) for p in row["problems"]
    )
    return Contest(
        id=int(row["id"]),
        name=str(row["name"]),
        rules=row["rules"],
        problems=problems,
        points=np.asarray(row["points"], dtype=np.float64),
        penalty=np.asarray(row["penalty"], dtype=np.float64),
        old_rating=np.asarray(row["old_rating"], dtype=np.int64),
    )


@cache
def load_contests() -> dict[int, Contest]:
    """The shipped contests with standings, by contest id."""
    raw = resources.files(__package__).joinpath(PACKAGE_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    return {int(row["id"]): _contest(row) for row in data["contests"]}


def contest(contest_id: int) -> Contest:
    found = load_contests().get(contest_id)
    if found is None:
        known = ", ".join(str(c) for c in sorted(load_contests()))
        raise DataError(f"no standings for contest {contest_id}; contests with standings: {known}")
    return found


# --- deriving the package data from the mirror ----------------------------------------------


def _read_gz_json(path: Path) -> Any:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def _problems(contest_id: int, listed: Sequence[Mapping[str, Any]], rules: Rules) -> list[dict]:
    own = sorted((p for p in listed if p["contest_id"] == contest_id), key=lambda p: p["index"])
    out = [
        {
            "index": p["index"],
            "id": f"{contest_id}{p['index']}",
            "points": p["points"] if rules == "points" else None,
        }
        for p in own
    ]
    for (cid, index), problem_id in sorted(SHARED.items()):
        if cid == contest_id:  # its points in this contest are not in the data
            out.append({"index": index, "id": problem_id, "points": None})
    return sorted(out, key=lambda p: p["index"])


def build(mirror: Path) -> dict[str, Any]:
    """The package data, derived from the mirror's copies of the sources."""
    standings = _read_gz_json(mirror / STANDINGS_FILE)
    listed = _read_gz_json(mirror / PROBLEMS_FILE)
    contests = []
    for contest_id, (key, name, rules) in sorted(CONTESTS.items()):
        rows = standings[key]["rows"]  # [handle, points, penalty, oldRating, trueDelta]
        contests.append(
            {
                "id": contest_id,
                "name": name,
                "rules": rules,
                "problems": _problems(contest_id, listed, rules),
                "points": [row[1] for row in rows],
                "penalty": [row[2] for row in rows],
                "old_rating": [row[3] for row in rows],
            }
        )
    return {"source": SOURCE, "contests": contests}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m evalr.tasks.codeforces.standings DATA_DIR", file=sys.stderr)
        return 2
    data = json.dumps(build(Path(argv[0])), separators=(",", ":")).encode()
    target = Path(__file__).with_name(PACKAGE_FILE)
    target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{target}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
