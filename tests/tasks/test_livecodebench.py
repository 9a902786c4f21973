"""LiveCodeBench task: data, windows, prompts, extraction and the LCB comparison rules."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib
from pathlib import Path

import pytest
from evalr.errors import ConfigError, DataError
from evalr.reasoning import split_reasoning
from evalr.sandboxes.grading import CodeGrader, extract_code
from evalr.sandboxes.judge import call_equal, stdin_equal
from evalr.tasks.livecodebench import decode_private, livecodebench
from evalr.types import Completion

LCB = "livecodebench"


def test_r1_window_has_the_papers_279_problems(mirror_env: Path) -> None:
    task = livecodebench()
    data = task.load(0)
    assert len(data.problems) == 279
    assert all(
        "2024-08-01" <= s.metadata["contest_date"][:10] <= "2025-01-31" for s in data.problems
    )
    assert task.default_samples == 16 and task.majority_vote is False
    assert data.facts["test_sets"] == {"public": 271, "public+partial_hidden": 8}
    by_problem = data.facts["test_set_by_problem"]
    assert len(by_problem) == 279 and by_problem["abc365_d"] in ("public", "public+partial_hidden")
    assert data.facts["lcb_score"] is False
    assert "not LCB" in data.facts["label"]
    assert "label" not in task.params  # loading never changes the Task
    assert {s.metadata["test_set"] for s in data.problems} == {"public", "public+partial_hidden"}
    assert data.info.revision == "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
    assert data.info.source.startswith("mirror:")


def test_custom_window_bounds_are_inclusive(mirror_env: Path) -> None:
    rows = [
        json.loads(line)
        for line in (mirror_env / LCB / "lcb_release_v5_problems_public_tests.jsonl").open()
    ]
    want = {
        r["question_id"]
        for r in rows
        if "2024-10-01" <= r["contest_date"][:10] <= "2024-10-31" and r["public_test_cases"]
    }
    data = livecodebench(window=None, start="2024-10-01", end="2024-10-31").load(0)
    assert {s.id for s in data.problems} == want
    later = livecodebench(window="r1", start="2024-12-01").load(0)
    assert all(s.metadata["contest_date"][:10] >= "2024-12-01" for s in later.problems)


@pytest.mark.parametrize(
    "options",
    [{"release": "release_v9"}, {"window": "r2"}, {"start": "2024/01/01"}, {"style": "chatty"}],
)
def test_bad_options_are_one_line_config_errors(options: dict) -> None:
    with pytest.raises(ConfigError) as err:
        livecodebench(**options)
    assert "\n" not in str(err.value)


def test_release_without_hidden_tests_offline_names_the_files(mirror_env: Path) -> None:
    with pytest.raises(DataError) as err:
        livecodebench(release="release_v6").load(0)
    assert "test6.jsonl" in str(err.value) and "EVALR_DATA_DIR" in str(err.value)


def test_r1_prompt_is_byte_identical_to_qwq_published_inputs(mirror_env: Path) -> None:
    task = livecodebench()
    samples = {s.id: s for s in task.load(0).problems}
    published = [
        json.loads(line)
        for line in (mirror_env / LCB / "qwq_livecodebench_v5_2408_2501_prompts.jsonl").open()
    ]
    assert len(published) == 279
    for row in published:
        prompt = task.prompt(samples[row["question_id"]])
        assert len(prompt.messages) == 1 and prompt.messages[0].role == "user"
        assert prompt.messages[0].content == row["prompt"], row["question_id"]


def test_generic_prompt_has_lcb_system_message_and_format(mirror_env: Path) -> None:
    task = livecodebench(style="generic")
    functional = next(s for s in task.load(0).problems if s.metadata["fn_name"])
    system, user = task.prompt(functional).messages
    assert system.role == "system" and system.content.startswith("You are an expert Python")
    assert user.content.startswith("### Question:\n")
    assert f"```python\n{functional.metadata['starter_code']}\n```" in user.content
    assert user.content.endswith("### Answer: (use the provided format with backticks)\n\n")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("intro\n```python\na = 1\n```\nthen\n```python\nb = 2\n```\nend", "b = 2"),
        ("```\nx = 1\ny = 2\n```", "x = 1\ny = 2"),
        ("no fences at all", ""),
        ("one ```python fence only\nprint(1)", ""),
    ],
)
def test_extract_code_takes_the_last_fenced_block(text: str, code: str) -> None:
    assert extract_code(text) == code


def test_code_inside_unfinished_reasoning_is_not_graded() -> None:
    grader = CodeGrader()
    reasoning, answer = split_reasoning("<think>\n```python\nprint(1)\n```\nstill thinking")
    assert (
        answer == "" and grader.extract(None, Completion(text=answer, reasoning=reasoning)) is None
    )  # type: ignore[arg-type]
    _, answer = split_reasoning("<think>```python\nprint(0)\n```</think>\n```python\nprint(2)\n```")
    assert grader.extract(None, Completion(text=answer)) == "print(2)"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("output", "expected", "equal"),
    [
        ("5\n", "5", True),
        ("  1 2 3  \n\n", "1 2 3\n", True),
        ("1.0\n", "1", True),
        ("1e3", "1000", True),
        ("0.1000000001", "0.1", False),
        ("50000000000000001", "50000000000000000", False),
        ("Yes", "yes", False),
        ("1\n2", "1\n2\n3", False),
        ("1  2", "1 2", True),
        ("a b", "a  b", False),  # words never reach the Decimal fallback's token compare
    ],
)
def test_stdin_comparison_follows_lcb(output: str, expected: str, equal: bool) -> None:
    assert stdin_equal(output, expected) is equal


@pytest.mark.parametrize(
    ("output", "expected", "equal"),
    [
        ("[1, 2]", "[1,2]", True),
        ("[(1, 2)]", "[[1, 2]]", False),  # LCB only turns the outer tuple into a list
        ("True", "true", True),
        ("1", "1.0", True),
        ("None", "null", True),
        ("0.30000000000000004", "0.3", False),  # no float tolerance for functional problems
        ("inf", "1e999", False),
        ("<object at 0x1>", "1", False),
        ("'abc'", '"abc"', True),
    ],
)
def test_functional_comparison_follows_lcb(output: str, expected: str, equal: bool) -> None:
    assert call_equal(output, expected) is equal


def _hub_row(qid: str, date: str, private: list[dict]) -> dict:
    payload = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(private)))).decode()
    return {
        "question_id": qid,
        "question_title": qid,
        "question_content": "Print the input.",
        "platform": "atcoder",
        "contest_id": "abc",
        "contest_date": f"{date}T00:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": json.dumps([{"input": "1\n", "output": "1\n", "testtype": "stdin"}]),
        "private_test_cases": payload,
        "metadata": json.dumps({}),
    }


def test_hub_files_in_the_mirror_give_the_full_lcb_test_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / LCB
    folder.mkdir()
    private = [{"input": "7\n", "output": "7\n", "testtype": "stdin"}]
    for n, name in enumerate(
        ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")
    ):
        row = _hub_row(f"p{n}", f"2024-{8 + n:02d}-02", private)
        (folder / name).write_text(json.dumps(row) + "\n")
    monkeypatch.setenv("EVALR_DATA_DIR", str(tmp_path))
    task = livecodebench()
    data = task.load(0)
    assert [s.id for s in data.problems] == ["p0", "p1", "p2", "p3", "p4"]
    assert data.facts["lcb_score"] is True and data.facts["label"] == "LiveCodeBench"
    sample = data.problems[0]
    assert sample.metadata["test_set"] == "hidden"
    assert sample.metadata["tests"] == {"inputs": ["1\n", "7\n"], "outputs": ["1\n", "7\n"]}


def test_private_tests_never_unpickle_objects() -> None:
    class Boom:
        def __reduce__(self):
            return (os.system, ("true",))

    hostile = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    with pytest.raises(pickle.UnpicklingError):
        decode_private(hostile)
    assert decode_private(json.dumps([{"input": "1", "output": "2"}])) == [
        {"input": "1", "output": "2"}
    ]
