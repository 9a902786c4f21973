"""How an output is found correct: token comparison, or a checker for problems with several
correct answers.

- ``TokenCompare`` (Codeforces' default checkers, testlib's ``wcmp``/``rcmp``): the same
  whitespace-separated tokens; with the statement's float tolerance ``eps``, two numbers also
  match when ``|a - b| <= eps * max(1, |b|)`` (absolute or relative error); where the statement
  lets YES/NO be printed in any case, tokens compare case-insensitively.
- A host checker: a Python callable ``(input, output, expected) -> bool``, trusted code written
  for a problem and run on the host.
- A checker program: Python source run in the sandbox, as a submission of its own, with argv
  ``input.txt correct_output.txt solution_output.txt``; it accepts by printing ``1`` (the
  convention of open-r1's generated checkers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalr.sandbox import Execution, Limits, Program, Sandbox

HostChecker = Callable[[str, str, str], bool]  # (input, output, expected) -> correct?
CHECKER_LIMITS = Limits(cpu_s=10.0, wall_s=20.0, memory_mb=1024)


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class TokenCompare:
    float_tolerance: float | None = None
    any_case: bool = False

    def __call__(self, output: str, expected: str) -> bool:
        got, want = output.split(), expected.split()
        if len(got) != len(want):
            return False
        return all(self._same(a, b) for a, b in zip(got, want, strict=True))

    def _same(self, got: str, want: str) -> bool:
        if got == want or (self.any_case and got.casefold() == want.casefold()):
            return True
        if self.float_tolerance is None:
            return False
        a, b = _number(got), _number(want)
        return (
            a is not None
            and b is not None
            and abs(a - b) <= self.float_tolerance * max(1.0, abs(b))
        )

    def describe(self) -> str:
        rule = "tokens"
        if self.float_tolerance is not None:
            rule += f", numbers within {self.float_tolerance:g} (absolute or relative)"
        if self.any_case:
            rule += ", any letter case"
        return rule


async def run_checker_program(
    box: Sandbox,
    source: str,
    inputs: Sequence[str],
    expected: Sequence[str],
    execution: Execution,
) -> list[bool | None]:
    """The checker's verdict on every test the solution finished normally (None for the
    others, whose status decides); a checker that fails rejects."""
    ran = [i for i, run in enumerate(execution.runs) if run.status == "ok" and i < len(inputs)]
    verdicts: list[bool | None] = [None] * len(execution.runs)
    if not ran:
        return verdicts
    cases = [
        json.dumps(
            {"input": inputs[i], "expected": expected[i], "output": execution.runs[i].stdout}
        )
        for i in ran
    ]
    checked = await box.run(
        Program("python", source, harness="checker"), cases, CHECKER_LIMITS, stop_on_failure=False
    )
    for position, index in enumerate(ran):
        run = checked.runs[position] if position < len(checked.runs) else None
        words = run.stdout.split() if run is not None and run.status == "ok" else []
        verdicts[index] = bool(words) and words[0] == "1"
    return verdicts
