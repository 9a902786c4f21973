"""Every verdict the LiveCodeBench grader gives, from real programs in the default sandbox."""

from __future__ import annotations

import asyncio

import pytest
from evalr.sandbox import Limits, availability
from evalr.sandboxes.grading import CodeGrader
from evalr.types import Completion, Problem

LIMITS = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=512)


@pytest.fixture(scope="module")
def grader() -> CodeGrader:
    if not (availability("docker").usable or availability("local").usable):
        pytest.skip("no sandbox can run here")
    return CodeGrader(limits=LIMITS)


def _stdin_problem() -> Problem:
    tests = {"inputs": ["1 2\n", "10 20\n"], "outputs": ["3\n", "30\n"]}
    return Problem(
        "sum", "Add two numbers.", "", {"tests": tests, "fn_name": None, "test_set": "t"}
    )


def _functional_problem() -> Problem:
    tests = {"inputs": ["[1, 2]\n3", "[]\n0"], "outputs": ["[[1, 2], 3]", "[[], 0]"]}
    return Problem(
        "pair", "Pair them.", "", {"tests": tests, "fn_name": "pair", "test_set": "hidden"}
    )


def _answer(code: str) -> str:
    return f"Here is my solution.\n```python\n{code}\n```\n"


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("a, b = map(int, input().split())\nprint(a + b)", "accepted"),
        ("import sys\nprint(sum(map(int, sys.stdin.read().split())))\nsys.exit(3)", "accepted"),
        ("a, b = map(int, input().split())\nprint(a * b)", "wrong_answer"),
        ("while True:\n    pass", "time_limit"),
        ("x = bytearray(4 << 30)", "memory_limit"),
        ("raise ValueError('no')", "runtime_error"),
        ("def broken(:\n    pass", "compile_error"),
        (None, "no_code"),
    ],
)
def test_stdin_verdicts(grader: CodeGrader, code: str | None, verdict: str) -> None:
    sample = _stdin_problem()
    text = _answer(code) if code is not None else "I would add the numbers."
    extracted = grader.extract(sample, Completion(text=text))
    (grade,) = asyncio.run(grader.grade(sample, [extracted]))
    assert grade.verdict == verdict
    assert grade.correct is (verdict == "accepted")
    assert grade.details["test_set"] == "t" and grade.details["tests"] == 2
    if verdict not in ("accepted", "no_code", "compile_error"):
        assert grade.details["failed_test"] == 0


def test_wrong_answer_on_a_later_test_reports_which(grader: CodeGrader) -> None:
    code = "a, b = map(int, input().split())\nprint(3 if a == 1 else 0)"
    (grade,) = asyncio.run(grader.grade(_stdin_problem(), [code]))
    assert grade.verdict == "wrong_answer"
    assert grade.details["failed_test"] == 1 and grade.details["passed"] == 1


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("return (nums, k)", "accepted"),  # the outer tuple becomes a list, as in LCB
        ("return [tuple(nums), k]", "wrong_answer"),  # an inner tuple is not a list
        ("print('debug'); return [nums, k]", "accepted"),  # prints do not leak into results
        ("return nums[5]", "runtime_error"),
    ],
)
def test_functional_verdicts(grader: CodeGrader, body: str, verdict: str) -> None:
    code = f"class Solution:\n    def pair(self, nums: List[int], k: int):\n        {body}\n"
    (grade,) = asyncio.run(grader.grade(_functional_problem(), [code]))
    assert grade.verdict == verdict


def test_identical_programs_are_run_once_and_all_graded(grader: CodeGrader) -> None:
    good = "a, b = map(int, input().split())\nprint(a + b)"
    grades = asyncio.run(grader.grade(_stdin_problem(), [good, None, good, "print(0)"]))
    assert [g.verdict for g in grades] == ["accepted", "no_code", "accepted", "wrong_answer"]


def test_describe_records_sandbox_and_limits(grader: CodeGrader) -> None:
    facts = grader.describe()
    assert facts["limits"]["cpu_s"] == 1.0
    sandbox = facts["sandbox"]
    assert sandbox["isolation"] in ("docker", "bubblewrap")
    if sandbox["isolation"] == "docker":
        assert sandbox["image_id"].startswith("sha256:")
