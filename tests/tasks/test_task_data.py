"""The four answer-matching tasks: real data, ids, prompts, option order, bad data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from evalr import registry
from evalr.errors import DataError
from evalr.task import Task
from evalr.tasks.aime import _aime25_sample
from evalr.tasks.prompts import GPQA_TEMPLATE, LETTERS, MATH_DIRECTIVE, permutation

TASKS = {"aime24": (30, 64), "aime25": (30, 64), "math500": (500, 4), "gpqa_diamond": (198, 8)}


def _task(name: str) -> Task:
    return registry.load("task", name)()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_load_from_the_mirror(mirror_env: Path, name: str) -> None:
    task = _task(name)
    dataset = task.load(0)
    rows, k = TASKS[name]
    assert task.name == name and task.default_samples == k and task.majority_vote
    assert len(dataset.problems) == rows == dataset.info.extra["rows"]
    assert len({s.id for s in dataset.problems}) == rows
    assert dataset.info.source.startswith("mirror:")
    assert len(dataset.info.revision) == 40 and int(dataset.info.revision, 16) >= 0
    assert len(dataset.info.extra["sha256"]) == 64
    assert all(s.input and s.target for s in dataset.problems)
    assert task.grader.describe()["grader"]


def test_aime_ids_and_integer_golds(mirror_env: Path) -> None:
    aime24 = {s.id: s.target for s in _task("aime24").load(0).problems}
    assert sorted(aime24, key=int) == [str(i) for i in range(60, 90)]
    assert aime24["60"] == "204" and all(t == str(int(t)) for t in aime24.values())
    raw = [json.loads(x) for x in (mirror_env / "aime24/aime24_qwen25math.jsonl").open()]
    assert any(r["answer"].startswith("0") for r in raw)  # zero-padded in the file, not in golds
    aime25 = [s.id for s in _task("aime25").load(0).problems]
    assert aime25 == [f"I-{i}" for i in range(1, 16)] + [f"II-{i}" for i in range(1, 16)]


def test_aime25_ids_from_hub_shaped_rows() -> None:
    url = "https://artofproblemsolving.com/wiki/index.php/2025_AIME_II_Problems/Problem_7"
    assert _aime25_sample(3, {"id": 21, "question": "q", "answer": "237", "url": url}).id == "II-7"
    assert _aime25_sample(17, {"id": 16, "problem": "q", "answer": "49"}).id == "II-2"
    assert _aime25_sample(1, {"id": "I-1", "problem": "q", "answer": 70}).target == "70"


def test_math_prompt_is_the_r1_user_turn(mirror_env: Path) -> None:
    task = _task("math500")
    sample = task.load(0).problems[0]
    (message,) = task.prompt(sample).messages
    assert message.role == "user"
    assert message.content == sample.input + "\n" + MATH_DIRECTIVE
    assert MATH_DIRECTIVE == (
        "Please reason step by step, and put your final answer within \\boxed{}."
    )
    assert sample.id == "test/precalculus/807.json"


def test_gpqa_prompt_shows_a_seeded_stored_order(mirror_env: Path) -> None:
    task = _task("gpqa_diamond")
    with gzip.open(mirror_env / "gpqa_diamond/gpqa_diamond_raw.jsonl.gz", "rt") as fh:
        raw = {r["Record ID"]: r for r in map(json.loads, fh)}
    samples = task.load(0).problems
    positions = set()
    for sample in samples:
        prompt = task.prompt(sample)
        order = sample.metadata["permutation"]
        assert prompt.meta == {"permutation": order}
        assert sorted(order) == [0, 1, 2, 3] and list(permutation(0, sample.id)) == order
        text = prompt.messages[0].content
        assert text.startswith(GPQA_TEMPLATE.split("{question}")[0])
        correct = raw[sample.id]["Correct Answer"].strip()
        assert f"\n{sample.target}) {correct}\n" in text + "\n"
        assert sample.target == LETTERS[order.index(0)]
        positions.add(sample.target)
    assert positions == set(LETTERS)
    again = task.load(0).problems
    other = task.load(1).problems
    assert [s.target for s in again] == [s.target for s in samples]
    assert sum(a.target != b.target for a, b in zip(samples, other, strict=True)) > 100


def test_permutation_is_a_stable_hash() -> None:
    # Fixed by SHA-256, not Python's per-process hash(): the same on every machine and run.
    assert permutation(0, "rec06pnAkLOr2t2mp") == permutation(0, "rec06pnAkLOr2t2mp")
    assert len({permutation(seed, "recX") for seed in range(50)}) > 10


def _mirror(tmp_path: Path, relpath: str, lines: list[str]) -> Path:
    path = tmp_path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("name", "relpath", "lines", "message"),
    [
        ("math500", "math500/test.jsonl", ['{"problem": "p", "answer": "1"}'],
         "math500: row 1 has no 'unique_id'"),
        ("math500", "math500/test.jsonl", ['{"problem": "p", "answer": "1", "unique_id": "a"}',
                                          "{not json"], "test.jsonl:2: malformed JSON row"),
        ("aime24", "aime24/aime24_qwen25math.jsonl", ['{"id": 60, "problem": "p", "answer": "x1"}'],
         "aime24: row 1 answer 'x1' is not an integer 0-999"),
        ("aime25", "aime25/aime25_evalchemy.jsonl", ['{"id": "I-1", "answer": "3"}'],
         "aime25: row 1 has no 'problem' or 'question'"),
        ("gpqa_diamond", "gpqa_diamond/gpqa_diamond_raw.jsonl.gz", [], "gpqa_diamond"),
    ],
)  # fmt: skip
def test_malformed_rows_are_one_line_data_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    relpath: str,
    lines: list,
    message: str,
) -> None:
    if relpath.endswith(".gz"):
        path = tmp_path / relpath
        path.parent.mkdir(parents=True)
        with gzip.open(path, "wt") as fh:
            fh.write(json.dumps({"Question": "q", "Record ID": "r1", "Correct Answer": "a"}) + "\n")
        message = "gpqa_diamond: row 1 has no 'Incorrect Answer 1'"
    else:
        _mirror(tmp_path, relpath, lines)
    monkeypatch.setenv("EVALR_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as info:
        _task(name).load(0)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_mirror_file_names_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALR_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as info:
        _task("aime25").load(0)
    text = str(info.value)
    assert "aime25/aime25_evalchemy.jsonl" in text and "yentinglin/aime_2025" in text
