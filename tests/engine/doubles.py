"""Engine test doubles: a toy task with a string-matching grader and a scriptable backend."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.errors import TransientBackendError
from evalr.runner import RunConfig
from evalr.specs import ModelSpec
from evalr.task import Dataset, DatasetInfo, Prompt, Task
from evalr.types import Completion, GenerationRequest, Grade, Message, Problem, Usage

_BOXED = re.compile(r"\\boxed\{([^}]*)\}")


@dataclass
class ToyGrader:
    """Last \\boxed{} answer compared as a string; optionally raises for chosen sample ids."""

    fail_for: frozenset[str] = frozenset()

    def extract(self, sample: Problem, completion: Completion) -> str | None:
        found = _BOXED.findall(completion.text)
        return (found[-1].strip() or None) if found else None

    async def grade(self, sample: Problem, extracted: Sequence[str | None]) -> list[Grade]:
        if sample.id in self.fail_for:
            raise RuntimeError(f"grader exploded on {sample.id}")
        return [Grade(correct=e == sample.target, extracted=e) for e in extracted]

    async def classes(self, sample: Problem, answers: Sequence[str]) -> list[int]:
        ids: dict[str, int] = {}
        return [ids.setdefault(a, len(ids)) for a in answers]

    def describe(self) -> Mapping[str, Any]:
        return {"name": "toy", "version": "1"}


def toy_task(
    problems: int = 3,
    target: str = "42",
    name: str = "toy",
    default_samples: int = 2,
    majority_vote: bool = True,
    grader: ToyGrader | None = None,
) -> Task:
    samples = tuple(
        Problem(id=f"p{i}", input=f"Problem {i}: what is the answer?", target=target)
        for i in range(problems)
    )
    info = DatasetInfo(id="toy/data", revision="r0", source="memory")
    return Task(
        name=name,
        version="1",
        description="A toy task for engine tests",
        load=lambda seed: Dataset(samples, info),
        prompt=lambda s: Prompt((Message("user", s.input),), {"shown": s.id}),
        grader=grader or ToyGrader(),
        default_samples=default_samples,
        majority_vote=majority_vote,
    )


def other_toy_task() -> Task:
    return toy_task(name="other")


@dataclass
class ScriptedBackend:
    """Answers ``\\boxed{answer(seed)}``; raises TransientBackendError for seeds in ``fail``."""

    native_n: bool = False
    answer: Callable[[int], str] = lambda seed: "42"
    fail: set[int] = field(default_factory=set)
    requests: list[GenerationRequest] = field(default_factory=list)
    finish: str = "stop"
    started: list[Path] = field(default_factory=list)
    closed: int = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=self.native_n)

    async def start(self, run_dir: Path) -> None:
        self.started.append(run_dir)

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        self.requests.append(request)
        if self.fail & set(request.seeds):
            raise TransientBackendError("scripted failure")
        return [
            Completion(
                text=f"so \\boxed{{{self.answer(s)}}}",
                reasoning="hmm",
                finish_reason=self.finish,  # type: ignore[arg-type]
                usage=Usage(5, 10, 4),
                request={"seed": s},
            )
            for s in request.seeds
        ]

    def describe(self) -> Mapping[str, Any]:
        return {"backend": "scripted", "api_key": "must-not-be-stored", "api_key_env": "X"}

    async def aclose(self) -> None:
        self.closed += 1

    @property
    def seeds_sent(self) -> list[int]:
        return [s for r in self.requests for s in r.seeds]


# Tasks installed by the ``use_tasks`` fixture, by name: config() passes the objects themselves.
INSTALLED: dict[str, Task] = {}


def config(out: Path, tasks: tuple[str | Task, ...] = ("toy",), **kw: Any) -> RunConfig:
    from evalr.retry import RetryPolicy

    kw.setdefault("retry", RetryPolicy(attempts=1, base_s=0.0))
    kw.setdefault("quiet", True)
    refs = tuple(INSTALLED.get(t, t) if isinstance(t, str) else t for t in tasks)
    return RunConfig(model=ModelSpec("fake", "constant"), tasks=refs, out=out, **kw)
