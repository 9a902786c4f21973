"""The code grader: extract the program, run it in a sandbox, judge on the host.

Implements ``evalr.task.Grader`` for code tasks. The sandbox is found by name through the
registry (``evalr.sandbox.open_sandbox``): Docker when an engine answers, else the weaker local
sandbox, or whichever the ``sandbox`` value names (the CLI's ``--sandbox``, which also reads
``EVALR_SANDBOX``, passes it down; nothing here reads the environment). Each problem's tests
travel in ``sample.metadata["tests"]`` (``inputs``, ``outputs``); only inputs enter the sandbox.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from evalr.sandbox import Limits, Program, Sandbox, open_sandbox
from evalr.types import Completion, Grade, Problem

from .judge import Judged, call_equal, judge, stdin_equal, stop_when_failed

VERSION = "1"
# LiveCodeBench's per-test timeout is 6 s of wall clock; we bound CPU at 6 s and wall at 12 s
# (a loaded machine must not turn a correct program into a time limit). LCB sets no memory limit;
# 2 GiB of address space per test is generous for Python solutions.
LCB_LIMITS = Limits(cpu_s=6.0, wall_s=12.0, memory_mb=2048)


def extract_code(text: str) -> str:
    """LiveCodeBench's ``extract_code``: the lines between the last two lines holding a fence."""
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


class CodeGrader:
    """LiveCodeBench grading: last fenced block of the final answer, LCB harness and judge."""

    name = "livecodebench"

    def __init__(self, sandbox: str | None = None, limits: Limits = LCB_LIMITS) -> None:
        self.sandbox_name = sandbox
        self.limits = limits
        self._box: Sandbox | None = None
        self._lock = threading.Lock()

    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._box is None:
                self._box = open_sandbox(self.sandbox_name, limits=self.limits)
            return self._box

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        code = extract_code(completion.text)
        return code if code.strip() else None

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        tests = problem.metadata.get("tests") or {}
        inputs = list(tests.get("inputs", ()))
        outputs = list(tests.get("outputs", ()))
        fn_name = problem.metadata.get("fn_name")
        common = {"test_set": problem.metadata.get("test_set"), "tests": len(inputs)}
        distinct = list(dict.fromkeys(code for code in extracted if code is not None))
        if distinct:
            box = await asyncio.to_thread(self.sandbox)
            judged = await asyncio.gather(
                *(self._grade_one(box, code, inputs, outputs, fn_name) for code in distinct)
            )
            by_code = dict(zip(distinct, judged, strict=True))
        grades = []
        for code in extracted:
            if code is None:
                grades.append(Grade(False, None, verdict="no_code", details=common))
                continue
            result = by_code[code]
            details = {**common, "passed": result.passed}
            if result.failed_test is not None:
                details["failed_test"] = result.failed_test
            if result.reason:
                details["reason"] = result.reason
            grades.append(Grade(result.verdict == "accepted", code, result.verdict, details))
        return grades

    async def _grade_one(
        self, box: Sandbox, code: str, inputs: list[str], outputs: list[str], fn_name: str | None
    ) -> Judged:
        if not inputs:
            return Judged("runtime_error", None, "problem has no tests")
        program = Program(
            "python", code, harness="lcb_call" if fn_name else "lcb_stdin", fn_name=fn_name
        )
        compare = call_equal if fn_name else stdin_equal
        execution = await box.run(
            program,
            inputs,
            self.limits,
            stop_on_failure=True,
            should_stop=stop_when_failed(outputs, compare),
        )
        return judge(execution, outputs, compare)

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        return list(range(len(answers)))  # programs are not voted on (majority_vote=False)

    def describe(self) -> Mapping[str, Any]:
        limits = self.limits
        return {
            "name": self.name,
            "version": VERSION,
            "extraction": "lines between the last two fence lines of the final answer (LCB)",
            "judge": "LiveCodeBench testing_util rules: stripped lines, Decimal tokens; "
            "functional: JSON args, tuple->list, ==; fail-fast",
            "limits": {
                "cpu_s": limits.cpu_s,
                "wall_s": limits.wall_s,
                "memory_mb": limits.memory_mb,
                "output_bytes": limits.output_bytes,
            },
            "sandbox": dict(self.sandbox().describe()),
        }
