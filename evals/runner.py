"""plan -> open the run directory -> generate -> grade -> record -> aggregate.

``run_async`` reads top to bottom as those steps. The run directory is the one source of
truth: it is locked before anything in it is read or written, the manifest and the problems
file exist before the first request, each request's records are appended in one flushed write,
and results.json is rebuilt from the journal alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evalr import executors, registry
from evalr import manifest as mf
from evalr.backends import Backend
from evalr.breaker import Breaker
from evalr.errors import BackendError, CircuitOpen, ErrorRateExceeded
from evalr.grading import Grading, ProblemKey
from evalr.plan import (
    Plan,
    Planned,
    RunConfig,
    attempt_seed,
    default_out,
    make_plan,
    plan_tasks,
    sampling_for,
)
from evalr.progress import Progress
from evalr.results import results_document, task_result
from evalr.retry import RetryingBackend
from evalr.secrets import Scrubber, header_secrets, redact_url, url_secrets
from evalr.store import RunStore, SampleRecord, now
from evalr.task import Prompt
from evalr.types import Completion, GenerationRequest, Problem

__all__ = [
    "Planned",
    "RunConfig",
    "aggregate",
    "attempt_seed",
    "plan_tasks",
    "run",
    "run_async",
    "sampling_for",
]

Key = tuple[str, str, int]


@dataclass(frozen=True)
class Unit:
    """One request: ``attempts`` are asked for, the ones in ``keep`` are stored."""

    planned: Planned
    problem: Problem
    attempts: tuple[int, ...]
    keep: frozenset[int]


def units(
    planned: Sequence[Planned], done: set[Key], native_n: Callable[[], bool]
) -> Iterator[Unit]:
    """Work still to do; one unit per request.

    With ``n``, a problem's k attempts are one request (seed of attempt 0, choices 0..k-1), so a
    problem left half stored asks for the whole group again and keeps only the missing
    attempts: the same request yields the same samples a seed-honouring server gave before.
    ``native_n`` is asked per problem: a backend may learn mid-run that its server ignores n.
    """
    for p in planned:
        for s in p.problems:
            todo = tuple(a for a in range(p.k) if (p.task.name, s.id, a) not in done)
            if not todo:
                continue
            if native_n():
                yield Unit(p, s, tuple(range(p.k)), frozenset(todo))
            else:
                yield from (Unit(p, s, (a,), frozenset((a,))) for a in todo)


async def all_or_none(coroutines: Sequence[Coroutine[Any, Any, Any]]) -> None:
    """Run the coroutines together; when one fails (a full disk) or the run is cancelled, stop
    the others before returning, so nothing is written after the error is reported."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def sent_seed(completion: Completion, planned_seed: int) -> int:
    """The seed the backend actually sent for this attempt (an n-sample request sends one)."""
    seed = completion.request.get("seed") if completion.request else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else planned_seed


@dataclass
class Execution:
    """One pass over the planned work with C workers pulling units from a shared iterator."""

    backend: RetryingBackend
    store: RunStore
    config: RunConfig
    plan: Plan
    grading: Grading
    progress: Progress = field(default_factory=lambda: Progress(0, quiet=True))
    causes: Counter[str] = field(default_factory=Counter)

    async def run(self, todo: Iterator[Unit], total: int) -> None:
        self.progress = Progress(total, self.config.quiet)
        caps = self.backend.capabilities
        workers = max(total, 1) if caps.batching else self.config.concurrency
        if caps.max_concurrency:
            workers = min(workers, caps.max_concurrency)
        try:
            await all_or_none([self._worker(todo) for _ in range(max(1, workers))])
        finally:
            self.progress.close()

    async def _worker(self, todo: Iterator[Unit]) -> None:
        for unit in todo:
            if self.backend.breaker.opened is not None:
                return  # the endpoint is down: leave the rest for a rerun
            await self._unit(unit)

    async def _unit(self, unit: Unit) -> None:
        name, problem = unit.planned.task.name, unit.problem
        seeds = tuple(attempt_seed(self.config.seed, name, problem.id, a) for a in unit.attempts)
        prompt = unit.planned.prompts[problem.id]
        request = GenerationRequest(
            prompt.messages, self.plan.sampling, seeds, self.config.protocol.assistant_prefix
        )
        try:
            completions = await self.backend.generate(request)
        except CircuitOpen:
            return  # not an answer from the model: nothing to store for this unit
        except BackendError as exc:
            self._store_failure(unit, prompt, seeds, exc)
            return
        await self._record(unit, prompt, seeds, completions)

    def _store_failure(
        self, unit: Unit, prompt: Prompt, seeds: tuple[int, ...], exc: BackendError
    ) -> None:
        failed = [
            SampleRecord(
                unit.planned.task.name,
                unit.problem.id,
                a,
                s if len(seeds) == 1 else seeds[0],
                "error",
                error=str(exc)[:500],
                prompt_meta=prompt.meta,
                time=now(),
            )
            for a, s in zip(unit.attempts, seeds, strict=True)
            if a in unit.keep
        ]
        self.causes[exc.cause] += len(failed)
        self.store.append_many(failed)
        self.progress.advance(len(failed), 0, errors=len(failed))

    async def _record(
        self, unit: Unit, prompt: Prompt, seeds: tuple[int, ...], completions: list[Completion]
    ) -> None:
        kept = [
            (a, sent_seed(c, s), c)
            for a, s, c in zip(unit.attempts, seeds, completions, strict=True)
            if a in unit.keep
        ]
        try:
            grades: list[Any] = await self.grading.grade(
                unit.planned.task, unit.problem, [c for _, _, c in kept]
            )
            error = None
        except Exception as exc:  # a grader bug must not lose paid-for completions
            grades, error = [None] * len(kept), f"grading failed: {exc!r}"[:500]
        records = [
            SampleRecord(
                unit.planned.task.name,
                unit.problem.id,
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


def aggregate(
    planned: Sequence[Planned],
    store: RunStore,
    latest: Mapping[Key, SampleRecord] | None = None,
) -> dict[str, Any]:
    """Per-task results from the journal alone (stored grades and classes; no grader call).

    ``latest``: the journal already read without texts, when nothing was stored since."""
    if latest is None:
        latest = store.latest(light=True)
    return {p.task.name: task_result(p.task, p.problems, p.k, latest, p.params) for p in planned}


def known_classes(records: Mapping[Key, SampleRecord]) -> dict[ProblemKey, list[str]]:
    """Answer classes already stored, per problem: what new answers are compared with."""
    out: dict[ProblemKey, list[str]] = {}
    for r in sorted(records.values(), key=lambda r: r.attempt):
        if r.grade is not None and r.grade.answer_class is not None:
            out.setdefault((r.task, r.sample_id), []).append(r.grade.answer_class)
    return out


def _warn(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"warning: {message}", file=sys.stderr)


def problem_rows(planned: Sequence[Planned]) -> list[dict[str, Any]]:
    """What problems.jsonl holds: each problem's prompt, gold and light metadata."""
    rows = []
    for p in planned:
        for s in p.problems:
            prompt = p.prompts[s.id]
            rows.append(
                {
                    "task": p.task.name,
                    "id": s.id,
                    "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
                    "target": s.target,
                    "metadata": mf.light_metadata(s.metadata),
                }
            )
    return rows


def new_manifest(config: RunConfig, plan: Plan) -> dict[str, Any]:
    return {
        "run_id": f"{config.model.label}-{time.strftime('%Y%m%dT%H%M%S')}",
        "created": now(),
        "evalr_version": mf.evalr_version(),
        "git_sha": mf.git_sha(),
        "protocol": plan.protocol,
        "deviations": list(plan.deviations),
        # The full spec, transport options included (without credentials); the protocol holds
        # only what shapes output.
        "model_spec": config.model.text,
        # Sampling settings the endpoint is known to ignore (the DeepSeek API's temperature and
        # top-p for deepseek-reasoner): the run could not follow the protocol there.
        "ignored_sampling": ignored_sampling(config),
        "host": mf.host(),
        "executor": config.executor,
        "tasks": {
            p.task.name: {
                "description": p.task.description,
                "source": p.source.as_dict(),
                "dataset": {
                    "id": p.dataset.info.id,
                    "revision": p.dataset.info.revision,
                    "source": p.dataset.info.source,
                    "split": p.dataset.info.split,
                    **dict(p.dataset.info.extra),
                },
                "grader": dict(p.task.grader.describe()),
                "params": p.params,
            }
            for p in plan.tasks
        },
    }


def backend_secrets(backend: Backend) -> list[str]:
    """The secrets a backend holds (API keys and the header values made from them)."""
    found: list[str] = []
    for value in getattr(backend, "secrets", lambda: ())():
        found += header_secrets(value)
    return found


def ignored_sampling(config: RunConfig) -> list[str]:
    return [x for x in config.model.ignores if x in ("temperature", "top_p", "max_tokens")]


def scrubber_for(config: RunConfig, backend: Backend) -> Scrubber:
    """Every secret this run was configured with: the backend's keys and URL credentials."""
    found = backend_secrets(backend)
    for value in config.model.options.values():
        found += url_secrets(str(value))
    return Scrubber(found)


def open_store(config: RunConfig, plan: Plan, scrubber: Scrubber) -> tuple[RunStore, bool]:
    """Lock the run directory, then resume it (same protocol only) or create it."""
    out = config.out or default_out(config, [p.task.name for p in plan.tasks])
    store = RunStore(out, scrubber)
    store.prepare()
    resumed = False
    try:
        resumed = store.exists()
        if resumed:
            store.check_resumable(plan.protocol)
        else:
            store.create(new_manifest(config, plan))
            store.write_problems(problem_rows(plan.tasks))
    except BaseException:
        if not resumed:
            store.discard_if_empty()  # only what this call made
        store.close()
        raise
    return store, resumed


async def regrade_ungraded(
    plan: Plan, store: RunStore, light: Mapping[Key, SampleRecord], grading: Grading
) -> int:
    """Completions stored while grading failed are graded now, without asking the model again.

    ``light`` is the journal without texts; only if it shows ungraded records is it read whole.
    Returns how many records were graded (and appended).
    """
    if not any(r.status == "ok" and r.grade is None for r in light.values()):
        return 0  # the common case: no need to hold every completion's text in memory
    by_task = {p.task.name: p for p in plan.tasks}
    graded = 0
    for record in list(store.latest().values()):
        p = by_task.get(record.task)
        if record.status != "ok" or record.grade is not None or not p or not record.completion:
            continue
        problem = next((s for s in p.problems if s.id == record.sample_id), None)
        if problem is None:
            continue
        try:
            (grade,) = await grading.grade(p.task, problem, [record.completion])
        except Exception:  # still failing: keep the record as it is, counted as an error
            continue
        store.append(replace(record, grade=grade, error=None, time=now()))
        graded += 1
    return graded


def record_endpoint(store: RunStore, engine: RetryingBackend, resumed: bool, quiet: bool) -> None:
    """The model facts in the manifest; a resume through another endpoint is kept as history
    and warned about (moving a server to another port stays allowed)."""
    described = mf.scrub(dict(engine.describe()))
    if "base_url" in described:
        described["base_url"] = redact_url(str(described["base_url"]))
    stored = store.read_manifest()
    history = list(stored.get("endpoints", []))
    url = described.get("base_url")
    fields: dict[str, Any] = {"model": described}
    if url is not None:
        previous = history[-1]["base_url"] if history else None
        if previous != url:
            if previous is not None:
                _warn(f"this run was made through {previous}; now continuing through {url}", quiet)
            history.append({"base_url": url, "since": now()})
        fields["endpoints"] = history
    if resumed:
        fields["resumed_at"] = [*stored.get("resumed_at", []), now()]
    store.update_manifest(**fields)


def _engine(config: RunConfig, backend: Backend | None) -> Backend:
    # Before the run dir exists: a bad backend option must not leave a manifest that would then
    # refuse the corrected command as a different protocol.
    return backend or registry.load("backend", config.model.backend)(config.model)


async def run_async(config: RunConfig, backend: Backend | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation and return the results document."""
    started = time.time()
    plan = make_plan(config)
    raw = executors.driver_backend(config, plan, _engine(config, backend))
    scrubber = scrubber_for(config, raw)
    store, resumed = open_store(config, plan, scrubber)
    if ignored := ignored_sampling(config):
        _warn(
            f"{config.model.label} is known to ignore {', '.join(ignored)}; recorded in the "
            "manifest",
            config.quiet,
        )
    engine = RetryingBackend(raw, config.retry, config.seed, Breaker(), scrubber)
    execution = executors.execution(config, engine, store, plan, Grading())
    doc: dict[str, Any] | None = None
    try:
        stored = store.latest(light=True)
        execution.grading = Grading(known_classes(stored))
        regraded = await regrade_ungraded(plan, store, stored, execution.grading)
        done = {key for key, r in stored.items() if r.status == "ok"}
        total = sum(len(u.keep) for u in units(plan.tasks, done, lambda: False))
        # Nothing new stored: the aggregation reuses the journal just read.
        unchanged: Mapping[Key, SampleRecord] | None = None if total or regraded else stored
        del stored  # not held in memory through a long run
        if total:  # nothing left: no backend start, not one request
            await start_engine(engine, store, resumed)
            scrubber.add(backend_secrets(raw))  # keys read from the environment at start
            record_endpoint(store, engine, resumed, config.quiet)
            todo = units(plan.tasks, done, lambda: engine.capabilities.native_n)
            await execution.run(todo, total)
        elif resumed:
            store.update_manifest(resumed_at=[*store.read_manifest().get("resumed_at", []), now()])
        doc = finish(plan, store, started, engine, unchanged)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Interrupted: results.json says what is stored and that the run is incomplete.
        with contextlib.suppress(Exception):
            finish(plan, store, started, engine)
        raise
    finally:
        store.close()
        await engine.aclose()
    if engine.breaker.opened is not None:
        raise CircuitOpen(
            f"{engine.breaker.opened}; stored work is kept in {store.path}: fix the endpoint and "
            "rerun the same command",
            cause=engine.breaker.opened.cause,
        )
    check_error_rate(config, doc, execution.causes, store)
    return doc


async def start_engine(engine: RetryingBackend, store: RunStore, resumed: bool) -> None:
    try:
        await engine.start(store.path)
    except BaseException:
        if not resumed:
            store.discard_if_empty()  # a failed first start leaves no directory behind
        raise


def finish(
    plan: Plan,
    store: RunStore,
    started: float,
    engine: RetryingBackend,
    latest: Mapping[Key, SampleRecord] | None = None,
) -> dict[str, Any]:
    tasks = aggregate(plan.tasks, store, latest)
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
    return doc


def check_error_rate(
    config: RunConfig, doc: Mapping[str, Any], causes: Counter[str], store: RunStore
) -> None:
    tasks = doc["tasks"].values()
    attempts = sum(t["counts"]["attempts"] for t in tasks)
    errors = sum(t["counts"].get("errors", 0) + t["counts"].get("missing", 0) for t in tasks)
    if not attempts or errors / attempts <= config.max_error_rate:
        return
    if not causes:  # failures from an earlier session: read their messages back
        causes = Counter(
            stored_cause(r.error or "")
            for r in store.iter_records(light=True)
            if r.status == "error"
        )
    common = ", ".join(f"{cause} ({count})" for cause, count in causes.most_common(2))
    raise ErrorRateExceeded(
        f"{errors} of {attempts} attempts failed"
        + (f", most often {common}" if common else "")
        + f" (limit {config.max_error_rate:.1%}); results in {store.path}; rerun the same "
        "command to retry only those"
    )


def stored_cause(message: str) -> str:
    """The cause key at the start of a stored error message (``HTTP 401 from ...``)."""
    head = message.split(" from ", 1)[0] if message.startswith("HTTP ") else message
    return head.split(":", 1)[0][:60] or "unknown"


def run(config: RunConfig) -> dict[str, Any]:
    return asyncio.run(run_async(config))
