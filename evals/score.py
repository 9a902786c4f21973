"""``evalr score --responses FILE.jsonl``: grade existing generations without a model.

Each row names a problem by the dataset's own id (MATH-500 ``unique_id``, AIME problem id, GPQA
``Record ID``) and carries the model's full ``response`` (reasoning included: it is split off
with ``evalr.reasoning.split_reasoning`` before extraction). Optional fields: ``task`` (else the
default task), ``gold`` (overrides the dataset's answer) and ``seed`` (GPQA: the seed whose
option order the response answered; default 0). Output rows keep every input field and add
``correct`` and ``extracted`` (and ``verdict`` for graders that give one, such as code tasks).

All rows are checked before any grading starts, so a bad row costs nothing; then every problem
is graded concurrently (the math graders share one process pool, so both cores stay busy).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from evalr import taskref
from evalr.errors import ConfigError, DataError
from evalr.grading import Grading
from evalr.reasoning import split_reasoning
from evalr.task import Task
from evalr.types import Completion, Grade, Problem


@dataclass(frozen=True)
class _Row:
    number: int
    fields: Mapping[str, Any]
    task: str
    id: str
    response: str
    gold: str | None
    seed: int


def _check(number: int, row: Any, default_task: str | None) -> _Row:
    if not isinstance(row, Mapping):
        raise DataError(f"row {number}: not a JSON object")
    task = row.get("task", default_task)
    if not isinstance(task, str) or not task:
        raise DataError(f"row {number}: no 'task' field and no --task given")
    sample_id, response = row.get("id"), row.get("response")
    if sample_id is None or isinstance(sample_id, (bool, dict, list)):
        raise DataError(f"row {number}: missing or invalid 'id'")
    if not isinstance(response, str):
        raise DataError(f"row {number}: 'response' must be a string")
    gold, seed = row.get("gold"), row.get("seed", 0)
    if gold is not None and isinstance(gold, (bool, dict, list)):
        raise DataError(f"row {number}: 'gold' must be a string or number")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise DataError(f"row {number}: 'seed' must be an integer")
    return _Row(
        number, row, task, str(sample_id), response, None if gold is None else str(gold), seed
    )


class _Tasks:
    """Tasks and their samples by id, loaded once per (task, seed)."""

    def __init__(self, sandbox: str | None = None) -> None:
        self.sandbox = sandbox
        self._tasks: dict[str, Task] = {}
        self._samples: dict[tuple[str, int], dict[str, Problem]] = {}

    def task(self, row: _Row) -> Task:
        if row.task not in self._tasks:
            try:
                self._tasks[row.task] = taskref.resolve(row.task, sandbox=self.sandbox).task
            except ConfigError as exc:
                raise ConfigError(f"row {row.number}: {exc}") from None
        return self._tasks[row.task]

    def problem(self, row: _Row) -> Problem:
        key = (row.task, row.seed)
        if key not in self._samples:
            dataset = self.task(row).load(row.seed)
            self._samples[key] = {s.id: s for s in dataset.problems}
        found = self._samples[key].get(row.id)
        if found is None:
            raise DataError(f"row {row.number}: {row.task} has no problem with id {row.id!r}")
        return found if row.gold is None else replace(found, target=row.gold)


def as_completion(response: str) -> Completion:
    """A stored response as the backend would have returned it: reasoning split off."""
    reasoning, answer = split_reasoning(response)
    return Completion(text=answer, reasoning=reasoning)


async def _grade_all(groups: Mapping[Any, tuple[Task, Problem, list[_Row]]]) -> dict[int, Grade]:
    grading = Grading()
    results = await asyncio.gather(
        *(
            grading.grade(task, problem, [as_completion(r.response) for r in rows])
            for task, problem, rows in groups.values()
        )
    )
    graded: dict[int, Grade] = {}
    for (_, _, rows), grades in zip(groups.values(), results, strict=True):
        graded.update((row.number, grade) for row, grade in zip(rows, grades, strict=True))
    return graded


def score_rows(
    rows: Iterable[Mapping[str, Any]], default_task: str | None, sandbox: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every input row, in order, with ``correct`` (bool) and ``extracted`` (str or None)."""
    checked = [_check(n, row, default_task) for n, row in enumerate(rows, 1)]
    tasks = _Tasks(sandbox)
    groups: dict[tuple[str, int, str, str | None], tuple[Task, Problem, list[_Row]]] = {}
    for row in checked:
        key = (row.task, row.seed, row.id, row.gold)
        if key not in groups:
            groups[key] = (tasks.task(row), tasks.problem(row), [])
        groups[key][2].append(row)
    graded = asyncio.run(_grade_all(groups)) if groups else {}
    for row in checked:
        grade = graded[row.number]
        out = {**row.fields, "correct": bool(grade.correct), "extracted": grade.extracted}
        if grade.verdict is not None:  # code tasks: accepted, wrong_answer, time_limit, ...
            out["verdict"] = grade.verdict
        if grade.answer_class is not None:  # the vote group among rows of the same problem
            out["answer_class"] = grade.answer_class
        yield out


def summarize(outputs: Iterable[Mapping[str, Any]], default_task: str | None = None) -> str:
    """One line: per task, rows graded and accuracy in percent."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in outputs:
        entry = counts[str(row.get("task", default_task or "-"))]
        entry[0] += 1
        entry[1] += bool(row.get("correct"))
    if not counts:
        return "no rows graded"
    return "; ".join(
        f"{task}: n={n} accuracy {100.0 * ok / n:.1f}%" for task, (n, ok) in sorted(counts.items())
    )
