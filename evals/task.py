"""What a task plugin provides: data, a prompt, and a grader. The runner owns everything else."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from evalr.types import Completion, Grade, Message, MetricValue, Problem

if TYPE_CHECKING:
    from evalr.metrics import ProblemAttempts


@dataclass(frozen=True)
class DatasetInfo:
    """Where a task's rows came from, recorded in the manifest."""

    id: str
    revision: str
    source: str  # "hub" or "mirror:<path>"
    split: str = "test"
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    problems: tuple[Problem, ...]
    info: DatasetInfo
    # Facts found while loading (which test set graded each problem, a score's label): they
    # join the task's params in the manifest and results; the Task itself is never changed.
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> tuple[Problem, ...]:
        """The problems, by the name of the first release (deprecated: use ``problems``)."""
        return self.problems


@dataclass(frozen=True)
class Prompt:
    messages: tuple[Message, ...]
    # Per-sample facts the prompt depended on (GPQA option order), stored with each record.
    meta: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Grader(Protocol):
    """Turns completions into grades. Async because graders may use a process pool or sandbox."""

    def extract(self, problem: Problem, completion: Completion) -> str | None:
        """The final answer the completion gives (after reasoning), or None."""
        ...

    async def grade(self, problem: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        """Grade each extracted answer of one sample against its target."""
        ...

    async def classes(self, problem: Problem, answers: Sequence[str]) -> list[int]:
        """Group answers by equivalence (same int = same answer) for majority voting."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """Grader name, version and the versions of packages it relies on."""
        ...


@dataclass(frozen=True)
class Task:
    """A benchmark: a composition of functions, no base class to inherit.

    ``version`` changes whenever prompt, extraction or grading changes; resume and reports
    compare it.
    """

    name: str
    version: str
    description: str
    load: Callable[[int], Dataset]  # seed -> rows (the seed fixes per-question shuffles)
    prompt: Callable[[Problem], Prompt]
    grader: Grader
    # The R1 protocol's k for this task (pass@1 averaged over k samples).
    default_samples: int
    # Voting makes no sense for code; tasks say whether cons@k is reported.
    majority_vote: bool = True
    # Extra manifest facts (e.g. LiveCodeBench window, which tests graded each problem).
    params: Mapping[str, Any] = field(default_factory=dict)
    # Task-specific aggregates beside pass@k/cons@k (a Codeforces rating): called once per
    # aggregation with every problem that has graded attempts; each MetricValue lands in
    # results.json under its label, like any metric.
    metrics: Callable[[Sequence[ProblemAttempts]], Sequence[MetricValue]] | None = None
