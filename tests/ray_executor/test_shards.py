"""Shards hold whole problems; a re-queued shard asks only for what is missing; the ledger
stores each attempt once. No Ray needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalr import specs
from evalr.executors.shards import Ledger, make_shards, problems_per_shard
from evalr.plan import Plan, RunConfig, make_plan
from evalr.runner import units
from evalr.store import SampleRecord
from evalr.types import Grade


def _plan(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, limit: int = 5, samples: int = 3
) -> Plan:
    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    config = RunConfig(
        model=specs.resolve("fake:seeded"),
        tasks=("aime24", "math500"),
        limit=limit,
        samples=samples,
    )
    return make_plan(config)


def test_shards_cut_only_between_problems_and_cover_every_attempt_once(data_dir, monkeypatch):
    plan = _plan(data_dir, monkeypatch)
    done = {("aime24", plan.tasks[0].problems[1].id, 0)}
    for native_n in (True, False):
        todo = list(units(plan.tasks, done, lambda n=native_n: n))
        shards = list(make_shards(todo, 2))
        keys = [k for s in shards for k in s.keys]
        assert len(keys) == len(set(keys)) == sum(len(u.keep) for u in todo)
        problems = [(s.task, p) for s in shards for p in s.problems]
        assert len(problems) == len(set(problems)), "a problem was split across shards"
        assert all(len(s.problems) <= 2 and len({s.task}) == 1 for s in shards)
        assert [s.id for s in shards] == list(range(len(shards)))
        assert {s.task for s in shards} == {"aime24", "math500"}
        first = shards[0]
        assert (first.first, first.last) == (0, 1)


def test_a_requeued_shard_keeps_its_requests_and_drops_stored_attempts(data_dir, monkeypatch):
    plan = _plan(data_dir, monkeypatch, limit=2, samples=4)
    (shard,) = list(make_shards(units(plan.tasks[:1], set(), lambda: True), 4))
    sid = shard.units[0][0]
    stored = {("aime24", sid, 0), ("aime24", sid, 2)}
    left = shard.remaining(stored)
    assert left is not None and left.tries == 1
    assert left.units[0] == (sid, (0, 1, 2, 3), (1, 3))  # the same n-request, fewer kept
    assert left.keys == shard.keys - stored
    assert shard.remaining(shard.keys) is None


def _record(attempt: int, cls: str | None) -> SampleRecord:
    return SampleRecord("t", "p", attempt, attempt, "ok", grade=Grade(True, cls, answer_class=cls))


def test_the_ledger_drops_late_duplicates_and_tracks_representatives():
    ledger = Ledger({("t", "p"): ["1/2"]})
    fresh = ledger.accept([_record(0, "1/2"), _record(1, "3"), _record(2, None)])
    assert [r.attempt for r in fresh] == [0, 1, 2]
    assert ledger.accept([_record(1, "3"), _record(3, "4")]) == [_record(3, "4")]
    assert ledger.duplicates == 1
    assert ledger.reps[("t", "p")] == ["1/2", "3", "4"]


def test_shard_size_keeps_several_shards_per_slot():
    assert problems_per_shard(30, 4) == 1
    assert problems_per_shard(500, 4) == 16
    assert problems_per_shard(200, 2) == 16
    assert problems_per_shard(3, 8) == 1
