"""plan -> generate -> extract -> grade -> record -> aggregate. The runner owns the loop."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalr import manifest as mf
from evalr import registry
from evalr.backends import Backend
from evalr.errors import BackendError, ConfigError, ErrorRateExceeded
from evalr.progress import Progress
from evalr.protocol import R1, Protocol
from evalr.results import results_document, task_result
from evalr.retry import RetryingBackend, RetryPolicy
from evalr.specs import ModelSpec
from evalr.store import RunStore, SampleRecord, now
from evalr.task import Dataset, Prompt, Task
from evalr.types import Completion, GenerationRequest, Sample, Sampling


@dataclass(frozen=True)
class RunConfig:
    model: ModelSpec
    tasks: tuple[str, ...]
    samples: int | None = None  # overrides each task's protocol k
    limit: int | None = None
    seed: int = 0
    concurrency: int = 16
    out: Path | None = None
    max_error_rate: float = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quiet: bool = False
    protocol: Protocol = R1
    task_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """A task with its rows, prompts and k, as this run uses them."""

    task: Task
    dataset: Dataset
    samples: tuple[Sample, ...]
    prompts: Mapping[str, Prompt]
    k: int


def attempt_seed(run_seed: int, task: str, sample_id: str, attempt: int) -> int:
    """A stable per-attempt seed: distinct across attempts, identical across resumes."""
    digest = hashlib.sha256(f"{run_seed}|{task}|{sample_id}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def build_task(name: str, options: Mapping[str, Any]) -> Task:
    factory = registry.load("task", name)
    try:
        return factory(**options)
    except TypeError as exc:
        raise ConfigError(f"task {name}: bad option ({exc})") from None


def plan_tasks(config: RunConfig) -> list[Planned]:
    planned = []
    for name in config.tasks:
        task = build_task(name, config.task_options.get(name, {}))
        dataset = task.load(config.seed)
        samples = dataset.samples[: config.limit] if config.limit else dataset.samples
        if not samples:
            raise ConfigError(f"task {name}: no problems selected")
        k = (
            config.samples
            or config.model.samples
            or config.protocol.samples.get(name, task.default_samples)
        )
        if k < 1:
            raise ConfigError("--samples must be at least 1")
        prompts = {s.id: task.prompt(s) for s in samples}
        planned.append(Planned(task, dataset, samples, prompts, k))
    return planned


def sampling_for(config: RunConfig) -> Sampling:
    base = config.protocol.sampling
    over = config.model.sampling
    return Sampling(
        temperature=float(over.get("temperature", base.temperature)),
        top_p=float(over.get("top_p", base.top_p)),
        max_tokens=int(over.get("max_tokens", base.max_tokens)),
    )


def protocol_record(
    config: RunConfig, planned: list[Planned], sampling: Sampling
) -> dict[str, Any]:
    """What must match for a run directory to be resumed; hashed into reports."""
    return {
        "name": config.protocol.name,
        "model": config.model.identity,
        "sampling": sampling.as_dict(),
        "seed": config.seed,
        "assistant_prefix": config.protocol.assistant_prefix,
        "tasks": {
            p.task.name: {
                "version": p.task.version,
                "k": p.k,
                "limit": config.limit,
                "options": dict(config.task_options.get(p.task.name, {})),
                "dataset_sha256": mf.sha256_json(
                    [(s.id, s.input, s.target, dict(s.metadata)) for s in p.samples]
                ),
                "prompts_sha256": mf.prompts_sha256(list(p.prompts.values())),
            }
            for p in planned
        },
    }


def default_out(config: RunConfig) -> Path:
    return Path("runs") / config.model.label.replace("/", "_") / "+".join(config.tasks)


@dataclass(frozen=True)
class Unit:
    """One request: ``attempts`` are asked for, the ones in ``keep`` are stored."""

    planned: Planned
    sample: Sample
    attempts: tuple[int, ...]
    keep: frozenset[int]


def _units(
    planned: list[Planned], done: set[tuple[str, str, int]], native_n: Callable[[], bool]
) -> Iterator[Unit]:
    """Work still to do; one unit per request.

    With ``n``, a problem's k attempts are one request (seed of attempt 0, choices 0..k-1), so a
    problem left half stored asks for the whole group again and keeps only the missing
    attempts: the same request yields the same samples a seed-honouring server gave before.
    ``native_n`` is asked per problem: a backend may learn mid-run that its server ignores n.
    """
    for p in planned:
        for s in p.samples:
            todo = tuple(a for a in range(p.k) if (p.task.name, s.id, a) not in done)
            if not todo:
                continue
            if native_n():
                yield Unit(p, s, tuple(range(p.k)), frozenset(todo))
            else:
                yield from (Unit(p, s, (a,), frozenset((a,))) for a in todo)


class _Execution:
    """One pass over the planned work with C workers pulling units from a shared iterator."""

    def __init__(
        self, backend: Backend, store: RunStore, config: RunConfig, sampling: Sampling
    ) -> None:
        self.backend = backend
        self.store = store
        self.config = config
        self.sampling = sampling
        self.progress = Progress(0, quiet=True)

    async def run(self, units: Iterator[Unit], total: int) -> None:
        self.progress = Progress(total, self.config.quiet)
        caps = self.backend.capabilities
        workers = max(total, 1) if caps.batching else self.config.concurrency
        if caps.max_concurrency:
            workers = min(workers, caps.max_concurrency)
        try:
            await asyncio.gather(*(self._worker(units) for _ in range(max(1, workers))))
        finally:
            self.progress.close()

    async def _worker(self, units: Iterator[Unit]) -> None:
        for unit in units:
            await self._unit(unit)

    async def _unit(self, unit: Unit) -> None:
        name, sample = unit.planned.task.name, unit.sample
        seeds = tuple(attempt_seed(self.config.seed, name, sample.id, a) for a in unit.attempts)
        prompt = unit.planned.prompts[sample.id]
        request = GenerationRequest(
            prompt.messages, self.sampling, seeds, self.config.protocol.assistant_prefix
        )
        try:
            completions = await self.backend.generate(request)
        except BackendError as exc:
            failed = [
                SampleRecord(
                    name,
                    sample.id,
                    a,
                    s,
                    "error",
                    error=str(exc)[:500],
                    prompt_meta=prompt.meta,
                    time=now(),
                )
                for a, s in zip(unit.attempts, seeds, strict=True)
                if a in unit.keep
            ]
            self.store.append_many(failed)
            self.progress.advance(len(failed), 0, errors=len(failed))
            return
        await self._record(unit, prompt, seeds, completions)

    async def _record(
        self, unit: Unit, prompt: Prompt, seeds: tuple[int, ...], completions: list[Completion]
    ) -> None:
        kept = [
            (a, s, c)
            for a, s, c in zip(unit.attempts, seeds, completions, strict=True)
            if a in unit.keep
        ]
        grader, sample = unit.planned.task.grader, unit.sample
        extracted = [grader.extract(sample, c) for _, _, c in kept]
        try:
            grades: list[Any] = await grader.grade(sample, extracted)
            error = None
        except Exception as exc:  # a grader bug must not lose paid-for completions
            grades, error = [None] * len(kept), f"grading failed: {exc!r}"[:500]
        records = [
            SampleRecord(
                unit.planned.task.name,
                sample.id,
                a,
                s,
                "ok",
                completion=c,
                grade=g,
                error=error,
                prompt_meta=prompt.meta,
                time=now(),
            )
            for (a, s, c), g in zip(kept, grades, strict=True)
        ]
        # One write per request: a kill cannot leave a problem's group half stored.
        self.store.append_many(records)
        self.progress.advance(len(records), sum(c.usage.completion_tokens for _, _, c in kept))


async def aggregate(planned: list[Planned], store: RunStore) -> dict[str, Any]:
    latest = store.latest(light=True)
    return {p.task.name: await task_result(p.task, p.samples, p.k, latest) for p in planned}


def _warn(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"warning: {message}", file=sys.stderr)


def _manifest(
    config: RunConfig, planned: list[Planned], protocol: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "run_id": f"{config.model.label}-{time.strftime('%Y%m%dT%H%M%S')}",
        "created": now(),
        "evalr_version": mf.evalr_version(),
        "git_sha": mf.git_sha(),
        "protocol": protocol,
        # The full spec, transport options included; the protocol holds only what shapes output.
        "model_spec": config.model.text,
        "host": mf.host(),
        "tasks": {
            p.task.name: {
                "description": p.task.description,
                "dataset": {
                    "id": p.dataset.info.id,
                    "revision": p.dataset.info.revision,
                    "source": p.dataset.info.source,
                    "split": p.dataset.info.split,
                    **dict(p.dataset.info.extra),
                },
                "grader": dict(p.task.grader.describe()),
                "params": dict(p.task.params),
            }
            for p in planned
        },
    }


async def _grade_ungraded(
    planned: list[Planned], store: RunStore, light: Mapping[tuple[str, str, int], SampleRecord]
) -> None:
    """Completions stored while grading failed are graded now, without asking the model again.

    ``light`` is the journal without texts; only if it shows ungraded records is it read whole.
    """
    by_task = {p.task.name: p for p in planned}
    if not any(r.status == "ok" and r.grade is None for r in light.values()):
        return  # the common case: no need to hold every completion's text in memory
    for record in list(store.latest().values()):
        p = by_task.get(record.task)
        if record.status != "ok" or record.grade is not None or not p or not record.completion:
            continue
        sample = next((s for s in p.samples if s.id == record.sample_id), None)
        if sample is None:
            continue
        try:
            (grade,) = await p.task.grader.grade(
                sample, [p.task.grader.extract(sample, record.completion)]
            )
        except Exception:  # still failing: keep the record as it is, counted as an error
            continue
        store.append(replace(record, grade=grade, error=None, time=now()))


async def run_async(config: RunConfig, backend: Backend | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation and return the results document."""
    started = time.time()
    planned = plan_tasks(config)
    sampling = sampling_for(config)
    protocol = protocol_record(config, planned, sampling)
    # Before the run dir exists: a bad backend option must not leave a manifest that would
    # then refuse the corrected command as a different protocol.
    raw = backend or registry.load("backend", config.model.backend)(config.model)
    store = RunStore(config.out or default_out(config))
    resumed = store.exists()
    if resumed:
        store.check_resumable(protocol)
    else:
        store.create(_manifest(config, planned, protocol))
    store.lock()
    ignored = [x for x in config.model.ignores if x in ("temperature", "top_p", "max_tokens")]
    if ignored:
        _warn(
            f"{config.model.label} is known to ignore {', '.join(ignored)}; recorded in the "
            "manifest",
            config.quiet,
        )
    engine = RetryingBackend(raw, config.retry, seed=config.seed)
    try:
        try:
            await engine.start(store.path)
        except BaseException:
            if not resumed:
                store.discard_if_empty()  # a failed first start leaves no directory behind
            raise
        store.update_manifest(
            model=mf.scrub(dict(engine.describe())),
            ignored_sampling=ignored,
            **(
                {"resumed_at": [*store.read_manifest().get("resumed_at", []), now()]}
                if resumed
                else {}
            ),
        )
        stored = store.latest(light=True)
        await _grade_ungraded(planned, store, stored)
        done = {key for key, r in stored.items() if r.status == "ok"}
        total = sum(len(u.keep) for u in _units(planned, done, lambda: False))
        execution = _Execution(engine, store, config, sampling)
        await execution.run(_units(planned, done, lambda: engine.capabilities.native_n), total)
    finally:
        store.close()
        await engine.aclose()
    tasks = await aggregate(planned, store)
    doc = results_document(
        store.read_manifest(),
        tasks,
        {
            "finished": now(),
            "duration_s": round(time.time() - started, 3),
            "retries": engine.retries,
        },
    )
    store.write_results(doc)
    attempts = sum(t["counts"]["attempts"] for t in tasks.values())
    errors = sum(
        t["counts"].get("errors", 0) + t["counts"].get("missing", 0) for t in tasks.values()
    )
    if attempts and errors / attempts > config.max_error_rate:
        raise ErrorRateExceeded(
            f"{errors} of {attempts} attempts failed (limit {config.max_error_rate:.1%}); "
            f"results in {store.path}; rerun the same command to retry only those"
        )
    return doc


def run(config: RunConfig) -> dict[str, Any]:
    return asyncio.run(run_async(config))
