"""Shards of a run's remaining work, and the driver's ledger of what came back.

A shard is (task, problem range, attempt range): the runner's units (one request each) for a
few consecutive problems of one task. A shard always holds whole problems, every attempt still
to do of each of its problems, so the answer classes of a problem (``Grade.answer_class``) are
assigned by one worker in one sequence, exactly as in-process, from the representatives already
stored (which the driver sends with the shard).

The ledger is the driver's side of "exactly once": a record whose (task, problem, attempt) was
already stored in this session is dropped and counted, and a shard that lost its worker is
re-queued with only the attempts not yet stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from evalr.grading import ProblemKey

if TYPE_CHECKING:
    from evalr.runner import Unit
    from evalr.store import SampleRecord

Key = tuple[str, str, int]
# One request, as sent to a worker: (problem id, attempts asked for, attempts kept).
UnitRef = tuple[str, tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class Shard:
    id: int
    task: str
    units: tuple[UnitRef, ...]
    first: int  # index of its first problem in the task's planned problems
    last: int
    tries: int = 0

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(sid for sid, _, _ in self.units))

    @property
    def keys(self) -> set[Key]:
        return {(self.task, sid, a) for sid, _, keep in self.units for a in keep}

    @property
    def attempts(self) -> tuple[int, int]:
        kept = [a for _, _, keep in self.units for a in keep]
        return (min(kept), max(kept)) if kept else (0, 0)

    def describe(self) -> str:
        low, high = self.attempts
        return (
            f"shard {self.id} ({self.task} problems {self.first}-{self.last}, "
            f"attempts {low}-{high})"
        )

    def remaining(self, stored: set[Key]) -> Shard | None:
        """This shard less what is stored: the same requests for the attempts still missing
        (an n-sample request asks for the whole group again and keeps only those)."""
        left: list[UnitRef] = []
        for sid, attempts, keep in self.units:
            todo = tuple(a for a in keep if (self.task, sid, a) not in stored)
            if todo:
                left.append((sid, attempts, todo))
        if not left:
            return None
        return replace(self, units=tuple(left), tries=self.tries + 1)


def make_shards(todo: Iterable[Unit], problems_per_shard: int) -> Iterator[Shard]:
    """Group the runner's units into shards of at most ``problems_per_shard`` whole problems.

    ``units()`` yields every unit of a problem before the next problem's, so cutting only
    between problems keeps each problem in one shard.
    """
    index: dict[str, dict[str, int]] = {}
    current: list[UnitRef] = []
    task: str | None = None
    problems: list[int] = []
    count = 0

    def close() -> Shard:
        nonlocal count
        count += 1
        return Shard(count - 1, str(task), tuple(current), problems[0], problems[-1])

    for unit in todo:
        name, sid = unit.planned.task.name, unit.problem.id
        if name not in index:
            index[name] = {s.id: i for i, s in enumerate(unit.planned.problems)}
        new_problem = not current or name != task or current[-1][0] != sid
        if new_problem and current and (name != task or len(set(problems)) >= problems_per_shard):
            yield close()
            current, problems = [], []
        task = name
        if new_problem:
            problems.append(index[name][sid])
        current.append((sid, unit.attempts, tuple(sorted(unit.keep))))
    if current:
        yield close()


def problems_per_shard(total_problems: int, slots: int) -> int:
    """About four shards per slot in flight (so a lost worker re-runs little), at most 16
    problems each (a shard's records stream back per request anyway)."""
    return max(1, min(16, total_problems // max(1, 4 * slots)))


class Ledger:
    """What the driver stored in this session, and each problem's answer representatives."""

    def __init__(self, known: Mapping[ProblemKey, Sequence[str]]) -> None:
        self.stored: set[Key] = set()
        self.duplicates = 0
        self.reps: dict[ProblemKey, list[str]] = {k: list(v) for k, v in known.items()}

    def accept(self, records: Sequence[SampleRecord]) -> list[SampleRecord]:
        """The records not stored yet in this session; late duplicates are counted and dropped."""
        fresh = []
        for record in records:
            if record.key in self.stored:
                self.duplicates += 1
                continue
            self.stored.add(record.key)
            fresh.append(record)
            grade = record.grade
            if grade is not None and grade.answer_class is not None:
                reps = self.reps.setdefault((record.task, record.sample_id), [])
                if grade.answer_class not in reps:
                    reps.append(grade.answer_class)
        return fresh

    def reps_for(self, shard: Shard) -> dict[ProblemKey, list[str]]:
        """The representatives a shard's problems already have (stored before it ran)."""
        out: dict[ProblemKey, list[str]] = {}
        for sid in shard.problems:
            key = (shard.task, sid)
            if key in self.reps:
                out[key] = list(self.reps[key])
        return out
