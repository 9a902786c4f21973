"""What a run will do, decided before anything is written: tasks, rows, prompts, k, sampling,
the protocol record that must match on resume, and how the run departs from the protocol it names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr import manifest as mf
from evalr import taskref
from evalr.errors import ConfigError
from evalr.protocol import PROTOCOLS, R1, Protocol
from evalr.retry import RetryPolicy
from evalr.specs import ModelSpec
from evalr.task import Dataset, Prompt, Task
from evalr.taskref import TaskRef, TaskSource
from evalr.types import Problem, Sampling

ALL_TASKS = "*"  # task_options key for -T options without a task prefix


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is asked to do; checked on construction, so the Python API and the CLI
    refuse the same mistakes with the same one-line errors."""

    model: ModelSpec
    tasks: tuple[TaskRef, ...]
    samples: int | None = None  # overrides each task's protocol k
    limit: int | None = None
    seed: int = 0
    concurrency: int = 16
    out: Path | None = None
    max_error_rate: float = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quiet: bool = False
    protocol: Protocol = R1
    # -T options: per task reference as given in --tasks, or ALL_TASKS for every task taking it.
    task_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Where model-written code runs (docker | local | None: the default). Isolation, not
    # protocol: passed to task factories that take it, never stored with the options.
    sandbox: str | None = None
    # Where requests run: "in-process" or "ray" (evalr.executors). Not protocol: a run resumes
    # under either, and the records and results are the same.
    executor: str = "in-process"
    # The Ray cluster for executor "ray" (else RAY_ADDRESS; neither: a local Ray for the run).
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ConfigError("give at least one task, e.g. --tasks aime24,math500")
        _at_least("samples", self.samples, 1)
        _at_least("limit", self.limit, 1)
        _at_least("concurrency", self.concurrency, 1)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, not {self.seed!r}")
        if not 0.0 <= self.max_error_rate <= 1.0:
            raise ConfigError(f"max_error_rate must be between 0 and 1, not {self.max_error_rate}")
        if self.sandbox not in (None, "docker", "local"):
            raise ConfigError(f"sandbox must be docker or local, not {self.sandbox!r}")
        if self.executor not in ("in-process", "ray"):
            raise ConfigError(f"executor must be in-process or ray, not {self.executor!r}")
        if self.ray_address and self.executor != "ray":
            raise ConfigError("a Ray address needs the ray executor (--executor ray)")


def _at_least(name: str, value: int | None, low: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an integer of at least {low}, not {value!r}")


@dataclass(frozen=True)
class Planned:
    """A task with its rows, prompts and k, as this run uses them."""

    task: Task
    dataset: Dataset
    problems: tuple[Problem, ...]
    prompts: Mapping[str, Prompt]
    k: int
    source: TaskSource = field(default_factory=lambda: TaskSource("object", ""))
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The task's params with the facts its loader found (recorded in the manifest)."""
        return {**self.task.params, **self.dataset.facts}


@dataclass(frozen=True)
class Plan:
    tasks: tuple[Planned, ...]
    sampling: Sampling
    protocol: Mapping[str, Any]  # what must match to resume (hashed into reports)
    deviations: tuple[str, ...]  # how this run departs from the protocol it names


def attempt_seed(run_seed: int, task: str, sample_id: str, attempt: int) -> int:
    """A stable per-attempt seed: distinct across attempts, identical across resumes."""
    digest = hashlib.sha256(f"{run_seed}|{task}|{sample_id}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def ref_label(ref: TaskRef) -> str:
    return ref.name if isinstance(ref, Task) else str(ref).strip()


def options_for(config: RunConfig, ref: TaskRef) -> dict[str, Any]:
    """The -T options meant for this task: its own, plus the global ones it accepts."""
    label = ref_label(ref)
    scoped = dict(config.task_options.get(label, {}))
    common = config.task_options.get(ALL_TASKS, {})
    if not common:
        return scoped
    accepted = taskref.accepted_options(ref)
    return {**{k: v for k, v in common.items() if accepted is None or k in accepted}, **scoped}


def _check_global_options(config: RunConfig) -> None:
    common = config.task_options.get(ALL_TASKS, {})
    for key in common:
        takers = [r for r in config.tasks if (a := taskref.accepted_options(r)) is None or key in a]
        if not takers:
            names = ", ".join(ref_label(r) for r in config.tasks)
            raise ConfigError(
                f"no task takes option {key!r} ({names}); `evalr tasks NAME` lists a task's options"
            )


def plan_tasks(config: RunConfig) -> list[Planned]:
    _check_global_options(config)
    planned: list[Planned] = []
    for ref in config.tasks:
        resolved = taskref.resolve(ref, options_for(config, ref), config.sandbox)
        task = resolved.task
        if any(p.task.name == task.name for p in planned):
            raise ConfigError(f"task {task.name} is named twice in --tasks")
        dataset = task.load(config.seed)
        problems = dataset.problems[: config.limit] if config.limit else dataset.problems
        if not problems:
            raise ConfigError(f"task {task.name}: no problems selected")
        k = (
            config.samples
            or config.model.samples
            or config.protocol.samples.get(task.name, task.default_samples)
        )
        prompts = {s.id: task.prompt(s) for s in problems}
        planned.append(
            Planned(task, dataset, problems, prompts, k, resolved.source, resolved.options)
        )
    return planned


def sampling_for(config: RunConfig) -> Sampling:
    base = config.protocol.sampling
    over = config.model.sampling
    return Sampling(
        temperature=float(over.get("temperature", base.temperature)),
        top_p=float(over.get("top_p", base.top_p)),
        max_tokens=int(over.get("max_tokens", base.max_tokens)),
    )


def dataset_sha256(problems: Sequence[Problem]) -> str:
    return mf.sha256_json([(s.id, s.input, s.target, dict(s.metadata)) for s in problems])


def protocol_record(
    config: RunConfig, planned: Sequence[Planned], sampling: Sampling
) -> dict[str, Any]:
    """What must match for a run directory to be resumed; hashed into reports."""
    tasks: dict[str, Any] = {}
    for p in planned:
        entry: dict[str, Any] = {
            "version": p.task.version,
            "k": p.k,
            "limit": config.limit,
            "options": dict(p.options),
            "dataset_sha256": dataset_sha256(p.problems),
            "prompts_sha256": mf.prompts_sha256(list(p.prompts.values())),
        }
        # Registered tasks are known by name; other sources say what built them (a task
        # file's content hash: an edited file is a different task).
        if p.source.kind == "file":
            entry["source"] = {"kind": "file", "sha256": p.source.sha256}
        elif p.source.kind == "factory":
            entry["source"] = {"kind": "factory", "ref": p.source.ref}
        tasks[p.task.name] = entry
    return {
        "name": config.protocol.name,
        "model": config.model.identity,
        "sampling": sampling.as_dict(),
        "seed": config.seed,
        "assistant_prefix": config.protocol.assistant_prefix,
        "tasks": tasks,
    }


def deviations(
    config: RunConfig, planned: Sequence[Planned], sampling: Sampling
) -> tuple[str, ...]:
    """How this run departs from the named protocol's definition, in words; empty when it
    follows it. A run with any is labelled modified in results, tables, reports and gates."""
    named = PROTOCOLS.get(config.protocol.name, config.protocol)
    out: list[str] = []
    base = named.sampling.as_dict()
    for key, value in sampling.as_dict().items():
        if value != base[key]:
            out.append(f"{key} {value} ({named.name}: {base[key]})")
    if config.protocol.assistant_prefix != named.assistant_prefix:
        out.append(f"assistant turn starts with {config.protocol.assistant_prefix!r}")
    for p in planned:
        name = p.task.name
        if len(p.problems) < len(p.dataset.problems):
            out.append(f"{name}: first {len(p.problems)} of {len(p.dataset.problems)} problems")
        expected = named.samples.get(name, p.task.default_samples)
        if p.k != expected:
            out.append(f"{name}: k={p.k} ({named.name}: {expected})")
        for key, value in sorted(p.options.items()):
            out.append(f"{name}: option {key}={value}")
    return tuple(out)


def make_plan(config: RunConfig) -> Plan:
    planned = plan_tasks(config)
    sampling = sampling_for(config)
    return Plan(
        tuple(planned),
        sampling,
        protocol_record(config, planned, sampling),
        deviations(config, planned, sampling),
    )


def default_out(config: RunConfig, task_names: Sequence[str]) -> Path:
    """``runs/MODEL/TASKS``, plus what makes protocols differ (limit, k), so a quick
    ``--limit 3`` run never claims the directory of the full run."""
    name = "+".join(task_names)
    if config.limit:
        name += f"_limit{config.limit}"
    k = config.samples or config.model.samples
    if k:
        name += f"_k{k}"
    return Path("runs") / config.model.label.replace("/", "_") / name
