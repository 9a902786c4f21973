"""Graders for answer-matching tasks: math equivalence, AIME integers, multiple-choice letters.

All three implement ``evalr.task.Grader``. ``grade`` and ``classes`` see every attempt of one
problem at once, so repeated answers are decided once and the distinct ones go to the grading
processes together (both cores busy). ``classes`` returns the equivalence groups cons@k votes
over: answers that are mathematically equal share a group even when their strings differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalr.extract import answer_part, extract_boxed, extract_choice
from evalr.gradepool import VerifyPool, shared_pool
from evalr.mathgrade import VERSION, canonical, number, package_versions, quick_verdict
from evalr.types import Completion, Grade, Problem


def _vote_key(answer: str) -> str:
    value = number(answer)
    return f"#{value}" if value is not None else canonical(answer)


def _union_find(count: int, joined: Sequence[tuple[int, int]]) -> list[int]:
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in joined:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(count)]


@dataclass(frozen=True)
class MathGrader:
    """Last ``\\boxed{}`` of the answer, compared with the gold by mathematical equivalence."""

    name: str = "math"
    pool: Callable[[], VerifyPool] = field(default=shared_pool, compare=False)

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        return extract_boxed(completion.text)

    async def equal(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[bool, str | None]]:
        """(equal, note) per (gold, answer) pair: fast path here, the rest in the pool."""
        out: list[tuple[bool, str | None] | None] = []
        slow: list[int] = []
        for i, (gold, answer) in enumerate(pairs):
            quick = quick_verdict(gold, answer)
            out.append(None if quick is None else (quick, None))
            if quick is None:
                slow.append(i)
        if slow:
            verdicts = await asyncio.to_thread(self.pool().verify, [pairs[i] for i in slow])
            for i, verdict in zip(slow, verdicts, strict=True):
                out[i] = (verdict.equal, verdict.note)
        return [o if o is not None else (False, None) for o in out]

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        answered = [(i, a) for i, a in enumerate(extracted) if a is not None]
        results = await self.equal([(problem.target, a) for _, a in answered])
        grades = [Grade(correct=False, extracted=None) for _ in extracted]
        for (i, answer), (equal, note) in zip(answered, results, strict=True):
            grades[i] = Grade(equal, answer, details={"note": note} if note else {})
        return grades

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        keys = [_vote_key(a) for a in answers]
        distinct = list(dict.fromkeys(keys))
        first = [answers[keys.index(key)] for key in distinct]
        # Everything equal to the gold is one group (and those verdicts are cached from grading);
        # only the wrong answers need comparing with each other.
        right = [eq for eq, _ in await self.equal([(problem.target, a) for a in first])]
        wrong = [i for i, ok in enumerate(right) if not ok]
        pairs = [(i, j) for n, i in enumerate(wrong) for j in wrong[n + 1 :]]
        verdicts = await self.equal([(first[i], first[j]) for i, j in pairs])
        joined = [p for p, (eq, _) in zip(pairs, verdicts, strict=True) if eq]
        correct = [i for i, ok in enumerate(right) if ok]
        joined += [(correct[0], i) for i in correct[1:]]
        roots = _union_find(len(distinct), joined)
        return [roots[distinct.index(key)] for key in keys]

    def describe(self) -> Mapping[str, Any]:
        return {"grader": self.name, "version": VERSION, "packages": package_versions()}


@dataclass(frozen=True)
class IntegerGrader:
    """AIME: integers compare by value (``025`` = ``25`` = ``25.0``; ``25.5`` is wrong).

    An answer that is not a plain number (``\\frac{50}{2}``, ``204 \\text{ minutes}``) falls back
    to mathematical equivalence with the integer gold, so a correct value in another form counts.
    """

    name: str = "integer"
    math: MathGrader = field(default_factory=MathGrader)

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        return extract_boxed(completion.text)

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        return await self.math.grade(problem, extracted)

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        return await self.math.classes(problem, answers)

    def describe(self) -> Mapping[str, Any]:
        return {"grader": self.name, "version": VERSION, "packages": package_versions()}


@dataclass(frozen=True)
class ChoiceGrader:
    """Multiple choice: the letter the answer names (``Answer: C``, ``\\boxed{C}``, ``(C)``)."""

    name: str = "choice"

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        return extract_choice(completion.text)

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        target = problem.target.strip().upper()
        return [Grade(a is not None and a.strip().upper() == target, a) for a in extracted]

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        letters = [a.strip().upper() for a in answers]
        order = list(dict.fromkeys(letters))
        return [order.index(letter) for letter in letters]

    def describe(self) -> Mapping[str, Any]:
        return {"grader": self.name, "version": VERSION, "packages": {}}


def _normal_text(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class ExactGrader:
    """Exact match after whitespace normalisation: the last ``\\boxed{}`` of the answer if there
    is one, else the whole answer (after the reasoning)."""

    name: str = "exact"

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        boxed = extract_boxed(completion.text)
        if boxed is not None:
            return boxed
        answer = _normal_text(answer_part(completion.text))
        return answer or None

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        target = _normal_text(problem.target)
        return [Grade(a is not None and _normal_text(a) == target, a) for a in extracted]

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        order: dict[str, int] = {}
        return [order.setdefault(_normal_text(a), len(order)) for a in answers]

    def describe(self) -> Mapping[str, Any]:
        return {"grader": self.name, "version": VERSION, "packages": {}}


@dataclass(frozen=True)
class FunctionGrader:
    """A plain ``check(answer, target) -> bool`` as a grader: the answer is what ``ExactGrader``
    extracts (last boxed, else the whole answer), classes group identical answers."""

    check: Callable[[str, str], Any]
    name: str = "function"

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        return ExactGrader().extract(problem, completion)

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        return [Grade(a is not None and bool(self.check(a, problem.target)), a) for a in extracted]

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        return await ExactGrader().classes(problem, answers)

    def describe(self) -> Mapping[str, Any]:
        return {"grader": self.name, "version": VERSION, "packages": {}}


def as_grader(found: Any, label: str) -> Any:
    """A task file's ``grader: module:callable``: a Grader object, a zero-argument factory of
    one, or a ``check(answer, target) -> bool`` function."""
    from evalr.errors import ConfigError
    from evalr.task import Grader

    if isinstance(found, Grader):
        return found
    if callable(found):
        import inspect

        params: Mapping[str, inspect.Parameter]
        try:
            params = inspect.signature(found).parameters
        except (TypeError, ValueError):
            params = {}
        required = [
            p
            for p in params.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if not required:
            made = found()
            if isinstance(made, Grader):
                return made
        elif len(required) == 2:
            return FunctionGrader(found, name=label)
    raise ConfigError(
        f"grader {label}: not a Grader, a factory of one, or a check(answer, target) function"
    )
