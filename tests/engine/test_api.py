"""The Python API and re-grading a stored run."""

from __future__ import annotations

import json
from pathlib import Path

import evalr
import pytest
from evalr.errors import DataError, ErrorRateExceeded
from evalr.regrade import rescore
from evalr.store import RunStore

from .doubles import ToyGrader, toy_task


def test_run_and_load_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = [toy_task(name="one"), toy_task(name="two", target="41")]
    doc = evalr.run("fake:constant?answer=42", tasks, samples=2, out=tmp_path / "a")
    assert set(doc["tasks"]) == {"one", "two"}
    assert doc["schema_version"] == 2 and doc["protocol"] == "r1"
    assert doc["model"] == "fake:constant?answer=42"

    frame = evalr.load_runs([tmp_path / "a"])
    assert len(frame) == 2 * 3  # two tasks x (pass@1, pass@2, cons@2)
    row = frame[(frame.task == "two") & (frame.metric == "pass@1")].iloc[0]
    assert row.value == 0.0 and row.n == 3 and row.model == doc["model"]
    assert set(frame.metric) == {"pass@1", "pass@2", "cons@2"}


def test_load_runs_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        evalr.load_runs([tmp_path / "absent"])


def test_rescore_repairs_grading_failures_without_requests(tmp_path: Path) -> None:
    broken = toy_task(problems=2, grader=ToyGrader(fail_for=frozenset({"p1"})))
    with pytest.raises(ErrorRateExceeded):
        evalr.run("fake:constant?answer=42", broken, samples=2, out=tmp_path)
    before = (tmp_path / "samples.jsonl").read_text()

    doc = rescore(tmp_path, [toy_task(problems=2)])
    toy = doc["tasks"]["toy"]
    assert toy["counts"]["errors"] == 0 and toy["metrics"]["pass@1"]["n"] == 2
    assert json.loads((tmp_path / "results.json").read_text())["tasks"] == doc["tasks"]
    records = RunStore(tmp_path).records()
    assert len(records) == 4 and all(r.grade and r.grade.correct for r in records)
    # The completions are the ones stored before: nothing was generated again.
    texts = {json.loads(x)["completion"]["text"] for x in before.splitlines()}
    assert {r.completion.text for r in records if r.completion} == texts


def test_rescore_refuses_a_changed_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evalr.run("fake:constant", toy_task(), samples=1, out=tmp_path)
    with pytest.raises(DataError, match="dataset differs"):
        rescore(tmp_path, [toy_task(target="7")])


def test_resume_regrades_grading_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = toy_task(problems=2, grader=ToyGrader(fail_for=frozenset({"p1"})))
    with pytest.raises(ErrorRateExceeded):
        evalr.run("fake:constant?answer=42", broken, samples=2, out=tmp_path)
    doc = evalr.run("fake:constant?answer=42", toy_task(problems=2), samples=2, out=tmp_path)
    assert doc["tasks"]["toy"]["counts"]["errors"] == 0


def test_run_accepts_spaced_task_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # module:factory references, as --tasks takes them, with spaces around the commas.
    doc = evalr.run(
        "fake:constant",
        "engine.doubles:toy_task , engine.doubles:other_toy_task",
        samples=1,
        out=tmp_path,
    )
    assert set(doc["tasks"]) == {"toy", "other"}
