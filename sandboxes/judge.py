"""Host-side judging with LiveCodeBench's rules (lcb_runner/evaluation/testing_util.py).

stdin problems: strip the whole output, split on "\\n", strip each line; the line counts must
match; a line passes if equal, else if every whitespace-separated token of both lines parses as
``Decimal`` and the two token lists are equal (so ``1.0`` equals ``1``; there is no epsilon).
Functional problems: the returned value (its repr, evaluated here) must ``==`` the JSON-decoded
expected output; tuples were already turned into lists in the sandbox, as LCB does.
Tests are judged in order and the first failure decides the verdict (LCB is fail-fast).

``judge_outputs`` is the general form other tasks use: one check per test, given the output.
"""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from evalr.sandbox import Execution, TestRun

Compare = Callable[[str, str], bool]
Check = Callable[[str], bool]  # one test's output -> does it pass?
_STATUS_VERDICT = {
    "time_limit": "time_limit",
    "memory_limit": "memory_limit",
    "runtime_error": "runtime_error",
    "output_limit": "wrong_answer",  # more output than any expected answer: cannot match
    "sandbox_error": "runtime_error",  # the program broke its sandbox's runner: fail closed
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def stdin_equal(output: str, expected: str) -> bool:
    got, want = _lines(output), _lines(expected)
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        if da is None or db is None or da != db:
            return False
    return True


# CPython 3.11 keeps the parser's recursion guard per interpreter, not per thread: ast calls
# racing in threads fail with "SystemError: AST constructor recursion depth mismatch".
_PARSER = threading.Lock()


def _literal(output: str) -> object:
    with _PARSER:
        try:
            return ast.literal_eval(output)
        except SystemError:  # someone else's unlocked parse raced ours: once more
            return ast.literal_eval(output)


def call_equal(output: str, expected: str) -> bool:
    try:
        value = _literal(output)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False  # not a plain value (an object, inf, nan): LCB's == would not match JSON
    try:
        return bool(value == json.loads(expected))
    except (ValueError, RecursionError):
        return False


@dataclass(frozen=True)
class Judged:
    verdict: str
    failed_test: int | None = None  # index of the first failing test
    reason: str | None = None
    passed: int = 0  # tests passed before the first failure


def _checks(expected: Sequence[str], compare: Compare) -> list[Check]:
    def check(want: str) -> Check:
        return lambda output: compare(output, want)

    return [check(want) for want in expected]


def judge(execution: Execution, expected: Sequence[str], compare: Compare) -> Judged:
    return judge_outputs(execution, _checks(expected, compare))


def judge_outputs(execution: Execution, checks: Sequence[Check]) -> Judged:
    """The verdict of a submission: its compile error, else its first failing test, in order."""
    if execution.compile_error is not None:
        return Judged("compile_error", None, execution.compile_error[:300])
    for index, run in enumerate(execution.runs):
        if index >= len(checks):
            return Judged("runtime_error", index, "more results than tests")
        failure = _failure(run, checks[index])
        if failure is not None:
            verdict, reason = failure
            return Judged(verdict, index, reason, passed=index)
    if len(execution.runs) < len(checks):
        return Judged("runtime_error", len(execution.runs), "submission stopped early")
    return Judged("accepted", passed=len(checks))


def _failure(run: TestRun, check: Check | None) -> tuple[str, str] | None:
    if run.status != "ok":
        tail = run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else []
        return _STATUS_VERDICT[run.status], (tail[0][:200] if tail else run.status)
    if check is not None and not check(run.stdout):
        return "wrong_answer", "output differs"
    return None


def stop_when_failed(expected: Sequence[str], compare: Compare) -> Callable[[int, TestRun], bool]:
    """The host-side early stop: as soon as a test fails, skip the rest (LCB is fail-fast)."""
    return stop_when_check_fails(_checks(expected, compare))


def stop_when_check_fails(checks: Sequence[Check | None]) -> Callable[[int, TestRun], bool]:
    """Early stop on the first failing test; a None check only looks at the run's status."""

    def should_stop(index: int, run: TestRun) -> bool:
        return index >= len(checks) or _failure(run, checks[index]) is not None

    return should_stop
