"""Codeforces problems with their tests, limits and ratings: the offline mirror or the Hub.

Presets (ids shipped in ``presets.json``, derived from the mirror by ``build_presets``):

- ``codecontests``: 165 problems of 25 contests, Sep-Dec 2021 (DeepMind CodeContests' test
  split, joined to Codeforces ids and ratings). Offline: the tests rllm ships for them
  (``test_set="codecontests"``, a subset of CodeContests' public, private and generated tests).
- ``2024``: 408 problems of 57 contests, May-Nov 2024 (CodeElo's window, DeepCoder's list).
  Offline: the statements' sample tests only (``test_set="samples"``).
- ``2020``: the 39 problems of the six 2020 contests with standings. Offline: samples only.
- ``all``: the three together.

Online (``EVALR_DATA_DIR`` unset) every preset reads ``open-r1/codeforces`` (train and test
splits) at revision ``19bd90dd95fc733d07c819064ef996f3e1f355fd`` through ``datasets``: the
official tests (``test_set="official"``, or ``official_partial`` where the card says they are
incomplete) and its generated Python checkers, run in the sandbox. That revision, and the field
names read from it, are from the dataset card and have not been checked offline.

Interactive problems and file-input problems cannot be judged here: they are skipped, and
counted in the task's params.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evalr.data import HubRef, data_dir, load_rows
from evalr.errors import ConfigError, DataError

from .statement import compose, html_text, without_limits

MIRROR = "codeforces"
HUB = "open-r1/codeforces"
HUB_REVISION = "19bd90dd95fc733d07c819064ef996f3e1f355fd"
PRESETS = ("codecontests", "2024", "2020", "all")
FILES = {
    "codecontests": ("rllm_code_contests_test_165.json.gz", "code_contests_test_165_cf_ids.jsonl"),
    "2024": ("rllm_codeforces_test_408_sampletests.json.gz", "codeforces_test_408_cf_ids.jsonl"),
    "2020": ("cf_2020_carrot_rounds_problems_samples.json.gz",),
}
PRESETS_FILE = "presets.json"
# Problems one contest shares with a parallel one: (contest, index) -> problem id.
SHARED = {(1350, "C"): "1349A", (1350, "D"): "1349B", (1350, "E"): "1349C", (1350, "F"): "1349D"}


@dataclass(frozen=True)
class ContestProblem:
    problem_id: str  # contest id + index, as in the contest that posed it ("1579A")
    contest_id: int
    index: str
    name: str
    rating: int | None
    statement: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    test_set: str  # codecontests | samples | official | official_partial
    time_limit_s: float
    memory_mb: int
    interactive: bool = False
    checker: str | None = None  # Python checker source (argv: input, expected, output files)
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())  # other ids of the same problem

    @property
    def sample_tests_only(self) -> bool:
        return self.test_set == "samples"


@dataclass(frozen=True)
class Loaded:
    problems: tuple[ContestProblem, ...]
    source: str
    sha256: str
    skipped: Mapping[str, tuple[str, ...]]  # reason -> problem ids


# --- the mirror -------------------------------------------------------------------------------


def _read(path: Path) -> Any:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return json.load(fh)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except FileNotFoundError:
        raise DataError(f"codeforces: {path} not found in the offline mirror") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"codeforces: {path}: malformed ({str(exc)[:80]})") from None


def _joined(root: Path, preset: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    statements, ids = (_read(root / MIRROR / name) for name in FILES[preset])
    if len(statements) != len(ids):
        raise DataError(f"codeforces: {preset}: {len(statements)} statements, {len(ids)} ids")
    return [(statements[row["rllm_index"]], row) for row in ids]


def _codecontests(root: Path) -> Iterable[ContestProblem]:
    for body, meta in _joined(root, "codecontests"):
        tests = body["tests"]
        tests = json.loads(tests) if isinstance(tests, str) else tests
        memory = _memory_from_statement(body["problem"])
        yield ContestProblem(
            problem_id=f"{meta['contest_id']}{meta['index']}",
            contest_id=int(meta["contest_id"]),
            index=str(meta["index"]),
            name=str(meta["name"]),
            rating=meta.get("cf_rating"),
            statement=without_limits(body["problem"]),
            inputs=tuple(map(str, tests["inputs"])),
            outputs=tuple(map(str, tests["outputs"])),
            test_set="codecontests",
            time_limit_s=_time_from_statement(body["problem"], float(meta["time_limit_s"])),
            memory_mb=memory,
            interactive="interactive" in (meta.get("cf_tags") or ()),
            tags=tuple(meta.get("cf_tags") or ()),
            aliases=(str(meta["problemset_id"]),),
        )


def _memory_from_statement(text: str) -> int:
    found = re.search(r"Memory Limit:\s*(\d+)\s*Bytes", text)
    return round(int(found.group(1)) / 1e6) if found else 256


def _time_from_statement(text: str, listed: float) -> float:
    """CodeContests' own limit, with its nanoseconds (the id table rounds 0.5 s down to 0)."""
    found = re.search(r"Time Limit:\s*\{'seconds':\s*(\d+),\s*'nanos':\s*(\d+)\}", text)
    return int(found.group(1)) + int(found.group(2)) / 1e9 if found else listed


def _year2024(root: Path) -> Iterable[ContestProblem]:
    for body, meta in _joined(root, "2024"):
        tests = body["tests"]
        tests = json.loads(tests) if isinstance(tests, str) else tests
        yield ContestProblem(
            problem_id=str(meta["problem_id"]),
            contest_id=int(meta["contest_id"]),
            index=str(meta["index"]),
            name=str(meta["cf_name"]),
            rating=meta.get("cf_rating"),
            statement=without_limits(body["problem"]),
            inputs=tuple(str(t["input"]) for t in tests),
            outputs=tuple(str(t["output"]) for t in tests),
            test_set="samples",
            time_limit_s=int(meta["time_limit_ms"]) / 1000,
            memory_mb=int(meta["memory_limit_mb"]),
            interactive=bool(meta.get("interactive_in_statement"))
            or "interactive" in (meta.get("cf_tags") or ()),
            tags=tuple(meta.get("cf_tags") or ()),
            aliases=(str(meta["problemset_id"]),),
        )


def _seconds(limit: Mapping[str, Any]) -> float:
    return float(limit["value"]) * (1 / 1000 if str(limit["unit"]).startswith("milli") else 1)


def _year2020(root: Path) -> Iterable[ContestProblem]:
    (rows,) = (_read(root / MIRROR / name) for name in FILES["2020"])
    for row in rows:
        samples = [(t["input"].lstrip("\n"), t["output"].lstrip("\n")) for t in row["sample_tests"]]
        statement = compose(
            row["name"],
            html_text(row.get("statement_html")),
            html_text(row.get("input_spec_html")),
            html_text(row.get("output_spec_html")),
            samples,
            html_text(row.get("note_html")),
        )
        yield ContestProblem(
            problem_id=f"{row['contest_id']}{row['index']}",
            contest_id=int(row["contest_id"]),
            index=str(row["index"]),
            name=str(row["name"]),
            rating=row.get("rating"),
            statement=statement,
            inputs=tuple(i for i, _ in samples),
            outputs=tuple(o for _, o in samples),
            test_set="samples",
            time_limit_s=_seconds(row["time_limit"]),
            memory_mb=int(float(row["memory_limit"]["value"])),
            interactive="interactive" in (row.get("tags") or ()),
            tags=tuple(row.get("tags") or ()),
        )


_READERS = {"codecontests": _codecontests, "2024": _year2024, "2020": _year2020}


def _mirror(root: Path, presets: Sequence[str]) -> tuple[list[ContestProblem], str, str]:
    problems: list[ContestProblem] = []
    for preset in presets:
        problems.extend(_READERS[preset](root))  # reads (and checks) every file first
    names = [name for preset in presets for name in FILES[preset]]
    digest = hashlib.sha256()
    for name in names:
        digest.update((root / MIRROR / name).read_bytes())
    return problems, f"mirror:{MIRROR}/{{{','.join(names)}}}", digest.hexdigest()


# --- the Hub ---------------------------------------------------------------------------------


def _hub_problem(row: Mapping[str, Any]) -> ContestProblem:
    examples = [(str(t["input"]), str(t["output"])) for t in row.get("examples") or ()]
    official = [(str(t["input"]), str(t["output"])) for t in row.get("official_tests") or ()]
    tests = official or examples
    test_set = "samples"
    if official:
        test_set = "official" if row.get("official_tests_complete") else "official_partial"
    statement = compose(
        str(row.get("title") or ""),
        str(row.get("description") or ""),
        str(row.get("input_format") or ""),
        str(row.get("output_format") or ""),
        examples,
        str(row.get("note") or ""),
    )
    return ContestProblem(
        problem_id=f"{row['contest_id']}{row['index']}",
        contest_id=int(row["contest_id"]),
        index=str(row["index"]),
        name=str(row.get("title") or ""),
        rating=row.get("rating"),
        statement=statement,
        inputs=tuple(i for i, _ in tests),
        outputs=tuple(o for _, o in tests),
        test_set=test_set,
        time_limit_s=float(row.get("time_limit") or 2.0),
        memory_mb=int(float(row.get("memory_limit") or 256)),
        interactive=bool(row.get("interaction_format")),
        checker=row.get("generated_checker") or None,
        tags=tuple(row.get("tags") or ()),
    )


def _hub(wanted: set[str]) -> tuple[list[ContestProblem], str, str]:
    problems, digests = [], []
    for split in ("train", "test"):
        rows = load_rows("codeforces", HubRef(HUB, HUB_REVISION, split=split), MIRROR)
        digests.append(rows.sha256)
        for row in rows.rows:
            key = f"{row.get('contest_id')}{row.get('index')}"
            if key in wanted and row.get("input_mode", "stdio") == "stdio":
                problems.append(_hub_problem(row))
    return problems, "hub", ":".join(digests)


# --- presets ---------------------------------------------------------------------------------


@cache
def preset_ids() -> dict[str, tuple[str, ...]]:
    raw = resources.files(__package__).joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    return {name: tuple(ids) for name, ids in json.loads(raw).items()}


def build_presets(mirror: Path) -> dict[str, list[str]]:
    """The shipped preset id lists, derived from the mirror."""
    return {preset: [p.problem_id for p in _READERS[preset](mirror)] for preset in FILES}


def _parts(preset: str) -> tuple[str, ...]:
    if preset not in PRESETS:
        raise ConfigError(f"unknown codeforces problem set {preset!r}; known: {', '.join(PRESETS)}")
    return tuple(FILES) if preset == "all" else (preset,)


def load(preset: str, contests: frozenset[int] | None) -> Loaded:
    """The preset's problems (optionally only some contests), skipping what cannot be judged."""
    parts = _parts(preset)
    wanted = {i for part in parts for i in preset_ids()[part]}
    root = data_dir()
    if root is not None:
        found, source, sha = _mirror(root, parts)
    else:
        found, source, sha = _hub(wanted)
    skipped: dict[str, list[str]] = {"interactive": [], "no_tests": []}
    shared = {pid for (cid, _), pid in SHARED.items() if contests is not None and cid in contests}
    kept = []
    for problem in found:
        if contests is not None and not (
            problem.contest_id in contests or problem.problem_id in shared
        ):
            continue
        if problem.interactive:
            skipped["interactive"].append(problem.problem_id)
        elif not problem.inputs:
            skipped["no_tests"].append(problem.problem_id)
        else:
            kept.append(problem)
    if contests is not None:
        missing = sorted(contests - {p.contest_id for p in found})
        if missing:
            raise ConfigError(
                f"codeforces: no problems of contest(s) {', '.join(map(str, missing))} in "
                f"problem set {preset!r}"
            )
    if len({p.problem_id for p in kept}) != len(kept):
        raise DataError(f"codeforces: duplicate problem ids in {source}")
    return Loaded(tuple(kept), source, sha, {k: tuple(v) for k, v in skipped.items()})
