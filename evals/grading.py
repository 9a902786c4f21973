"""The one grading path: extract, grade and class every attempt of a problem.

The run, the resume's re-grade of stored-but-ungraded completions, ``evalr score RUN_DIR`` and
``evalr score --responses`` all call :meth:`Grading.grade`; nothing else calls a grader.

Each graded attempt stores its answer's equivalence class (``Grade.answer_class``): the first
answer seen among the problem's attempts that the grader judges equivalent to it (``"1/2"``
and ``"0.5"`` share the class ``"1/2"`` when ``"1/2"`` came first). Equal strings mean the same
class, so aggregation (cons@k) groups records by that string and never calls the grader again:
a resume over 100,000 stored completions spends no time grading.

Attempts of one problem may arrive in separate requests; a per-problem lock makes the classes
they get independent of arrival order under concurrency, and classes already stored (a resume)
are the representatives later answers are compared with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from evalr.task import Task
from evalr.types import Completion, Grade, Problem

ProblemKey = tuple[str, str]  # (task name, sample id)


class Grading:
    """Grades attempts for a set of tasks, remembering each problem's answer classes."""

    def __init__(self, known: Mapping[ProblemKey, Iterable[str]] | None = None) -> None:
        # Per problem: the representative answer of every class seen so far, in first-seen order.
        self._classes: dict[ProblemKey, list[str]] = {
            key: list(dict.fromkeys(reps)) for key, reps in (known or {}).items()
        }
        self._locks: dict[ProblemKey, asyncio.Lock] = {}

    async def grade(
        self, task: Task, problem: Problem, completions: Sequence[Completion]
    ) -> list[Grade]:
        """Grades for ``completions`` (attempts of one problem), each with its answer class."""
        grader = task.grader
        extracted = [grader.extract(problem, c) for c in completions]
        grades = await grader.grade(problem, extracted)
        if len(grades) != len(completions):
            raise RuntimeError(
                f"{task.name}: grader returned {len(grades)} grades for {len(completions)} answers"
            )
        if not task.majority_vote:
            return list(grades)  # code is not voted on: no classes to keep
        key = (task.name, problem.id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            classes = await self._assign(task, problem, key, [g.extracted for g in grades])
        return [replace(g, answer_class=c) for g, c in zip(grades, classes, strict=True)]

    async def _assign(
        self, task: Task, problem: Problem, key: ProblemKey, answers: Sequence[str | None]
    ) -> list[str | None]:
        reps = self._classes.setdefault(key, [])
        new = list(dict.fromkeys(a for a in answers if a is not None and a not in reps))
        if not new:
            return list(answers)  # every answer is itself a representative (or absent)
        ids = await task.grader.classes(problem, [*reps, *new])
        owner: dict[int, str] = {}
        for rep, cls in zip(reps, ids, strict=False):
            owner.setdefault(cls, rep)
        mapped: dict[str, str] = {}
        for answer, cls in zip(new, ids[len(reps) :], strict=True):
            if cls not in owner:
                owner[cls] = answer
                reps.append(answer)
            mapped[answer] = owner[cls]
        return [None if a is None else mapped.get(a, a) for a in answers]
