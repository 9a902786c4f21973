"""One pass over a run's ``samples.jsonl`` for the report: every attempt's light facts and the
texts of the few attempts a page shows.

Per attempt the report needs correctness, the extracted answer and its equivalence class, the
verdict, the finish reason and the token counts (answer distributions, attempt strips,
histograms); texts only for attempt 0 and each problem's first correct and first wrong attempt.
Each line is decoded with msgspec into a typed struct holding just those fields: the completion
text and reasoning are skipped, not built. Measured on 1.8 kB records (this project's 2-core VM):
stdlib ``json.loads`` 18-21 us a line, orjson 8-9 us, pyarrow's JSON reader 9-11 us, msgspec's
typed decode 4.3 us. The texts of a shown attempt are decoded in a second call on that line.
The structs hold no reference cycles, so they are kept out of the garbage collector
(``gc=False``): tracked, the collector's passes over 160,000 kept records took about a third of
the reading time.

Nothing here writes: a torn last line (a run killed mid-write) is ignored, an unreadable line
is skipped and counted, so a report of a crashed run renders instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from evalr.store import SAMPLES


class _Usage(msgspec.Struct, gc=False):
    completion_tokens: int = 0
    reasoning_tokens: int = 0


class _Completion(msgspec.Struct, gc=False):
    finish_reason: str | None = None
    usage: _Usage | None = None


class _Grade(msgspec.Struct, gc=False):
    correct: bool = False
    extracted: str | None = None
    verdict: str | None = None
    answer_class: str | None = None
    details: dict[str, Any] | None = None


class Attempt(msgspec.Struct, gc=False):
    """One attempt's light facts, decoded straight from its samples.jsonl line (the texts are
    skipped); the latest record for its key wins."""

    task: str
    sample_id: str | int
    attempt: int
    status: str = "ok"
    completion: _Completion | None = None
    grade: _Grade | None = None
    error: str | None = None

    @property
    def index(self) -> int:
        return self.attempt

    @property
    def graded(self) -> bool:
        return self.status == "ok" and self.grade is not None

    @property
    def correct(self) -> bool:
        return self.grade is not None and self.grade.correct

    @property
    def extracted(self) -> str | None:
        return None if self.grade is None else self.grade.extracted

    @property
    def vote(self) -> str | None:
        """The equivalence class this answer votes for (None: no answer)."""
        g = self.grade
        if g is None or g.extracted is None:
            return None
        return g.answer_class if g.answer_class is not None else g.extracted

    @property
    def verdict(self) -> str | None:
        return None if self.grade is None else self.grade.verdict

    @property
    def details(self) -> dict[str, Any]:
        return (self.grade.details or {}) if self.grade is not None else {}

    @property
    def finish_reason(self) -> str | None:
        return None if self.completion is None else self.completion.finish_reason

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def reasoning_tokens(self) -> int:
        c = self.completion
        return c.usage.reasoning_tokens if c is not None and c.usage is not None else 0

    @property
    def completion_tokens(self) -> int:
        c = self.completion
        return c.usage.completion_tokens if c is not None and c.usage is not None else 0


class _TextCompletion(msgspec.Struct):
    text: str | None = None
    reasoning: str | None = None


class _Texts(msgspec.Struct):
    completion: _TextCompletion | None = None


@dataclass(frozen=True)
class Texts:
    reasoning: str
    answer: str


@dataclass(frozen=True)
class ProblemStats:
    """One problem's graded attempts, counted in one pass (field access, no properties: this
    runs over every attempt of a report)."""

    graded: int
    no_answer: int
    truncated: int
    reasoning: tuple[int, ...]  # per graded attempt
    completion: tuple[int, ...]
    correct: tuple[bool, ...]


@dataclass
class ProblemJournal:
    attempts: dict[int, Attempt] = field(default_factory=dict)
    texts: dict[int, Texts] = field(default_factory=dict)
    # Lowest graded attempt index read so far, by correctness (chooses texts while reading).
    first: dict[bool, int] = field(default_factory=dict)
    _stats: ProblemStats | None = None

    def shown(self) -> list[int]:
        """Attempt 0, the first correct and the first wrong attempt (by index), with texts."""
        picks = set(self.first.values())
        zero = self.attempts.get(0)
        if zero is not None and zero.status == "ok" and zero.grade is not None:
            picks.add(0)
        return sorted(i for i in picks if i in self.texts)

    def stats(self) -> ProblemStats:
        if self._stats is None:
            graded = no_answer = truncated = 0
            reasoning, completion, correct = [], [], []
            for a in self.attempts.values():
                g = a.grade
                if a.status != "ok" or g is None:
                    continue
                graded += 1
                no_answer += g.extracted is None
                c = a.completion
                u = c.usage if c is not None else None
                truncated += c is not None and c.finish_reason == "length"
                reasoning.append(u.reasoning_tokens if u is not None else 0)
                completion.append(u.completion_tokens if u is not None else 0)
                correct.append(g.correct)
            self._stats = ProblemStats(
                graded, no_answer, truncated, tuple(reasoning), tuple(completion), tuple(correct)
            )
        return self._stats


@dataclass
class TaskJournal:
    problems: dict[str, ProblemJournal] = field(default_factory=dict)


@dataclass
class Journal:
    tasks: dict[str, TaskJournal] = field(default_factory=dict)
    unreadable: int = 0  # lines skipped (not counting a torn last line)
    torn_tail: bool = False

    def task(self, name: str) -> TaskJournal:
        return self.tasks.get(name) or TaskJournal()


def read_journal(run_dir: Path, tasks: Mapping[str, int] | None = None) -> Journal:
    """Every task's attempts (keys beyond a task's k are ignored when ``tasks`` gives k)."""
    journal = Journal()
    path = run_dir / SAMPLES
    if not path.is_file():
        return journal
    light = msgspec.json.Decoder(Attempt)
    texts = msgspec.json.Decoder(_Texts)
    problems: dict[tuple[str, str | int], ProblemJournal] = {}
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                journal.torn_tail = bool(line.strip())
                break
            try:
                row = light.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                journal.unreadable += bool(line.strip())
                continue
            index = row.attempt
            if tasks is not None and not 0 <= index < tasks.get(row.task, 0):
                continue
            problem = problems.get((row.task, row.sample_id))
            if problem is None:
                task = journal.tasks.setdefault(row.task, TaskJournal())
                problem = task.problems.setdefault(str(row.sample_id), ProblemJournal())
                problems[(row.task, row.sample_id)] = problem
            problem.attempts[index] = row
            # Texts only for what may end up shown: attempt 0, or the lowest-numbered correct
            # (or wrong) attempt seen so far.
            grade = row.grade
            if row.status == "ok" and grade is not None:
                first = problem.first.get(grade.correct)
                if first is None or index <= first or index == 0:
                    if first is None or index < first:
                        problem.first[grade.correct] = index
                    comp = texts.decode(line).completion
                    if comp is not None:
                        problem.texts[index] = Texts(comp.reasoning or "", comp.text or "")
                    continue
            if problem.texts:
                problem.texts.pop(index, None)
    for task in journal.tasks.values():
        for problem in task.problems.values():
            keep_ids = set(problem.shown())
            problem.texts = {i: t for i, t in problem.texts.items() if i in keep_ids}
    return journal
