"""The Codeforces grader: the last fenced program, compiled and run in the sandbox, judged here.

- Extraction: the last fenced code block of the final answer. Its fence names the language
  (``cpp``/``c++``/``cc``/``cxx`` are C++, ``python``/``py``/``python3``/``pypy`` are Python);
  an unnamed fence is the task's language; any other language is not judged (``no_code``).
  The extracted answer is the block itself, fence and language included, so a stored answer
  is graded again exactly as it was.
- Running: C++ is compiled once per submission in the sandbox (``g++ -std=gnu++17 -O2``); a
  failed compile is the verdict, and compile time is not run time. Each test runs under the
  problem's own limits: CPU time = the time limit times ``time_scale``, wall time twice that
  plus a second, address space = the memory limit (at most 1024 MB), stack as large.
- Judging: fail-fast in test order, as Codeforces judges; a host checker or checker program
  where the problem has one, else ``TokenCompare`` with the statement's tolerance and case rule.
  Verdicts are LiveCodeBench's: accepted, wrong_answer, time_limit, memory_limit,
  runtime_error, compile_error, no_code.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from evalr.sandbox import Limits, Program, Sandbox, open_sandbox
from evalr.sandboxes.judge import Judged, judge_outputs, stop_when_check_fails
from evalr.types import Completion, Grade, Problem

from .checking import HostChecker, TokenCompare, run_checker_program

VERSION = "1"
LANGUAGES = ("cpp", "python")
MAX_MEMORY_MB = 1024
POOL_LIMITS = Limits(cpu_s=20.0, wall_s=41.0, memory_mb=MAX_MEMORY_MB)  # sizes the containers
_ALIASES = {
    **dict.fromkeys(("cpp", "c++", "cc", "cxx", "cpp17", "cpp20", "c"), "cpp"),
    **dict.fromkeys(("python", "py", "python3", "pypy", "pypy3"), "python"),
}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([^\s`]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
_EXTRACTED = re.compile(r"\A```(\S*)\n(.*)\n```\Z", re.S)


def extract_program(text: str, default: str) -> str | None:
    """The last fenced block as ```<language>\\n<code>\\n```, or None without one."""
    blocks = _FENCE.findall(text)
    if not blocks:
        return None
    info, code = blocks[-1]
    if not code.strip():
        return None
    tag = info.strip().lower()
    language = _ALIASES.get(tag, tag) if tag else default
    return f"```{language}\n{code.rstrip(chr(10))}\n```"


def split_program(extracted: str) -> tuple[str, str]:
    """(language, code) of an extracted answer; a bare program counts as C++."""
    found = _EXTRACTED.match(extracted)
    return (found.group(1), found.group(2)) if found else ("cpp", extracted)


def limits_for(problem: Problem, time_scale: float) -> Limits:
    cpu = float(problem.metadata["time_limit_s"]) * time_scale
    memory = min(int(problem.metadata["memory_mb"]), MAX_MEMORY_MB)
    return Limits(cpu_s=cpu, wall_s=2 * cpu + 1.0, memory_mb=memory)


class CodeforcesGrader:
    name = "codeforces"

    def __init__(
        self,
        language: str = "cpp",
        sandbox: str | Sandbox | None = None,
        time_scale: float = 1.0,
        checkers: Mapping[str, HostChecker] | None = None,
    ) -> None:
        """``sandbox``: a sandbox name (opened on first use; None: the default choice) or an
        open sandbox to share."""
        self.language = language
        self.sandbox_name = sandbox if isinstance(sandbox, str) else None
        self.time_scale = time_scale
        self.checkers = dict(checkers or {})
        self._box: Sandbox | None = None if sandbox is None or isinstance(sandbox, str) else sandbox
        self._lock = threading.Lock()

    def sandbox(self) -> Sandbox:
        with self._lock:
            if self._box is None:
                self._box = open_sandbox(self.sandbox_name, limits=POOL_LIMITS)
            return self._box

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        return extract_program(completion.text, self.language)

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        meta = problem.metadata
        common = {
            "test_set": meta.get("test_set"),
            "sample_tests_only": bool(meta.get("sample_tests_only")),
            "tests": len(meta["tests"]["inputs"]),
            "compare": self._rule(problem),
        }
        distinct = list(dict.fromkeys(a for a in extracted if a is not None))
        judged: dict[str, Judged] = {}
        if distinct:
            box = await asyncio.to_thread(self.sandbox)
            results = await asyncio.gather(*(self._judge(box, problem, a) for a in distinct))
            judged = dict(zip(distinct, results, strict=True))
        grades = []
        for answer in extracted:
            if answer is None:
                grades.append(Grade(False, None, "no_code", {**common, "language": None}))
                continue
            result = judged[answer]
            details: dict[str, Any] = {
                **common,
                "language": split_program(answer)[0],
                "passed": result.passed,
            }
            if result.failed_test is not None:
                details["failed_test"] = result.failed_test
            if result.reason:
                details["reason"] = result.reason
            grades.append(Grade(result.verdict == "accepted", answer, result.verdict, details))
        return grades

    def _rule(self, problem: Problem) -> str:
        if problem.id in self.checkers:
            return "host checker"
        if problem.metadata.get("checker"):
            return "checker program (sandbox)"
        return self._compare(problem).describe()

    def _compare(self, problem: Problem) -> TokenCompare:
        facts = problem.metadata.get("statement_facts") or {}
        return TokenCompare(facts.get("float_tolerance"), bool(facts.get("any_case")))

    async def _judge(self, box: Sandbox, problem: Problem, answer: str) -> Judged:
        language, code = split_program(answer)
        if language not in LANGUAGES:
            return Judged("no_code", None, f"a {language or 'unnamed'} program is not judged")
        tests = problem.metadata["tests"]
        inputs, outputs = list(tests["inputs"]), list(tests["outputs"])
        program_checker = problem.metadata.get("checker")
        host = self.checkers.get(problem.id)
        checks: list[Any]
        if host is not None:
            checks = [
                lambda out, i=i, o=o: host(i, out, o) for i, o in zip(inputs, outputs, strict=True)
            ]
        elif program_checker:
            checks = [None] * len(inputs)  # decided after the run, in the sandbox
        else:
            compare = self._compare(problem)
            checks = [lambda out, o=o: compare(out, o) for o in outputs]
        execution = await box.run(
            Program(language, code),  # type: ignore[arg-type]
            inputs,
            limits_for(problem, self.time_scale),
            stop_on_failure=True,
            should_stop=stop_when_check_fails(checks),
        )
        if program_checker and execution.compile_error is None:
            verdicts = await run_checker_program(box, program_checker, inputs, outputs, execution)
            checks = [lambda _out, ok=ok: ok is not False for ok in verdicts]
            checks += [None] * (len(inputs) - len(checks))
        return judge_outputs(execution, checks)

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        return list(range(len(answers)))  # programs are not voted on (majority_vote=False)

    def describe(self) -> Mapping[str, Any]:
        from evalr.sandboxes.runner import CXX_FLAGS

        return {
            "name": self.name,
            "version": VERSION,
            "language": self.language,
            "extraction": "last fenced block of the final answer; its fence names the language",
            "compile": f"g++ {' '.join(CXX_FLAGS)}, once per submission, in the sandbox",
            "judge": "fail-fast in test order; host checker, checker program, or tokens with "
            "the statement's float tolerance and YES/NO case rule",
            "limits": f"the problem's time limit x {self.time_scale:g} as CPU time, memory "
            f"limit as address space (at most {MAX_MEMORY_MB} MB)",
            "host_checkers": sorted(self.checkers),
            "sandbox": dict(self.sandbox().describe()),
        }
