"""The run directory: atomic manifest, a journal that survives a torn write, resume checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalr import store as store_mod
from evalr.errors import ConfigError, DataError, ResumeError
from evalr.store import RunStore, SampleRecord
from evalr.types import Completion, Grade, Usage


def record(sample: str = "p0", attempt: int = 0, status: str = "ok", **kw: object) -> SampleRecord:
    completion = None
    grade = None
    if status == "ok":
        completion = Completion(
            text="so \\boxed{42}",
            reasoning="r ü",
            finish_reason="length",
            usage=Usage(3, 20, 7),
            latency_s=0.5,
            request={"seed": 9, "n": 2},
            model="m",
        )
        grade = Grade(True, "42", verdict="accepted", details={"test_set": "hidden"})
    return SampleRecord(
        "toy",
        sample,
        attempt,
        seed=1000 + attempt,
        status=status,  # type: ignore[arg-type]
        completion=completion,
        grade=grade,
        prompt_meta={"order": [2, 0, 1]},
        time=12.5,
        **kw,  # type: ignore[arg-type]
    )


def test_record_round_trips_through_json() -> None:
    for original in (record(), record(status="error", error="HTTP 500")):
        back = SampleRecord.from_dict(json.loads(original.to_json()))
        assert back == original
        assert back.completion is None or back.completion.truncated


def test_manifest_written_and_updated(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "a" / "b")
    assert not store.exists()
    store.create({"run_id": "x", "protocol": {"k": 1}})
    assert store.exists()
    store.update_manifest(model={"backend": "fake"})
    assert store.read_manifest() == {
        "run_id": "x",
        "protocol": {"k": 1},
        "model": {"backend": "fake"},
    }
    assert sorted(p.name for p in store.path.iterdir()) == ["manifest.json"]  # no temp left


def test_manifest_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RunStore(tmp_path)
    store.create({"run_id": "old"})

    def killed_before_rename(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # the new file is written beside, never renamed

    monkeypatch.setattr(store_mod.os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        store.update_manifest(run_id="new")
    monkeypatch.undo()
    assert store.read_manifest() == {"run_id": "old"}
    assert not list(tmp_path.glob(".*.tmp"))  # and the temporary file is gone


def test_corrupt_manifest_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="corrupt"):
        RunStore(tmp_path).read_manifest()
    with pytest.raises(DataError, match="not a run directory"):
        RunStore(tmp_path / "nothing").read_manifest()


def test_torn_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create({})
    store.append(record("p0"))
    store.append(record("p1"))
    store.close()
    journal = tmp_path / "samples.jsonl"
    whole = journal.read_bytes()
    torn = record("p2").to_json().encode()[:37]
    journal.write_bytes(whole + torn)  # a kill in the middle of writing the third record

    got = store.records()
    assert [r.sample_id for r in got] == ["p0", "p1"]
    # Reading never writes: the tail may be a live run's record still being written.
    assert journal.read_bytes() == whole + torn
    store.lock()  # the one writer repairs it
    assert journal.read_bytes() == whole

    store.append(record("p2"))
    store.close()
    assert [r.sample_id for r in RunStore(tmp_path).records()] == ["p0", "p1", "p2"]


def test_corrupt_middle_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    (tmp_path / "samples.jsonl").write_text(record("p0").to_json() + "\n{oops\n")
    with pytest.raises(DataError, match=r"samples\.jsonl:2"):
        store.records()


def test_no_journal_means_no_records(tmp_path: Path) -> None:
    assert RunStore(tmp_path).records() == []


def test_latest_keeps_the_last_record_per_key(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create({})
    store.append(record("p0", 0, status="error", error="first"))
    store.append(record("p0", 1))
    store.append(record("p0", 0))
    store.append(record("p1", 0, status="error", error="late"))
    store.close()
    latest = store.latest()
    assert set(latest) == {("toy", "p0", 0), ("toy", "p0", 1), ("toy", "p1", 0)}
    assert latest[("toy", "p0", 0)].status == "ok"
    assert latest[("toy", "p1", 0)].error == "late"


def test_appends_are_visible_before_close(tmp_path: Path) -> None:
    # Flushed per record: a second reader (or a SIGKILL) sees every acknowledged record.
    store = RunStore(tmp_path)
    store.create({})
    store.append(record("p0"))
    assert [r.sample_id for r in RunStore(tmp_path).records()] == ["p0"]
    store.close()


def test_check_resumable_names_the_first_difference(tmp_path: Path) -> None:
    protocol = {"name": "r1", "seed": 0, "tasks": {"toy": {"k": 4, "limit": None}}}
    store = RunStore(tmp_path)
    store.create({"protocol": protocol})
    store.check_resumable(protocol)  # identical: fine
    changed = {"name": "r1", "seed": 1, "tasks": {"toy": {"k": 8, "limit": None}}}
    with pytest.raises(ResumeError) as err:
        store.check_resumable(changed)
    message = str(err.value)
    # The most telling difference first: k before the seed.
    assert "tasks.toy.k: stored 4, now 8" in message
    assert "and 1 more" in message
    with pytest.raises(ResumeError, match="seed: stored 0, now 1"):
        store.check_resumable({**protocol, "seed": 1})
    with pytest.raises(ResumeError, match=r"tasks\.toy\.k: stored 4, now 8"):
        store.check_resumable({**protocol, "tasks": {"toy": {"k": 8, "limit": None}}})


def test_check_resumable_survives_json_round_trip(tmp_path: Path) -> None:
    # Tuples come back from JSON as lists; the same protocol must still resume.
    protocol = {"tasks": {"lcb": {"options": {"window": ("2024-08-01", "2025-01-31")}}}}
    store = RunStore(tmp_path)
    store.create({"protocol": protocol})
    store.check_resumable(protocol)


def test_unwritable_directory_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write") as err:
        RunStore(blocker / "run").create({})
    assert "\n" not in str(err.value)


def test_rewrite_replaces_journal(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create({})
    for i in range(3):
        store.append(record(f"p{i}"))
    store.close()
    with pytest.raises(RuntimeError, match="lock"):
        store.rewrite([record("p9")])  # never without the one-writer lock
    store.lock()
    store.rewrite([record("p9")])
    store.close()
    assert [r.sample_id for r in store.records()] == ["p9"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_results_round_trip_and_missing(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(DataError, match="not a run directory"):
        store.read_results()
    store.create({})
    with pytest.raises(DataError, match=r"no results\.json yet"):
        store.read_results()
    store.write_results({"schema_version": 1})
    assert store.read_results() == {"schema_version": 1}
