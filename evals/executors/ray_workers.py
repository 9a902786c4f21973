"""The two kinds of Ray actor a run places on the cluster.

``GenerationWorker`` (one per node for an endpoint, one per GPU group for an engine) holds its
node's backend behind the same ``RetryingBackend`` as an in-process run (retries, circuit
breaker, secret scrubbing) and runs a shard through the runner's own ``Execution``: the same
requests, seeds and record building as in-process. Its records stream back to the driver one
request at a time (a Ray streaming generator); nothing is written on the worker.

``GradingWorker`` (one per node: its math-verify process pool and its sandbox warm pool) grades
one problem's attempts through ``evalr.grading.Grading`` given the problem's representatives,
so the answer classes are the ones an in-process run assigns. It holds no state between calls:
when one dies, its calls go to the next node's (``ShardGrading``).

Both receive the plan once, as pickled bytes in Ray's object store (``ray_cluster.payload``).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import tempfile
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from evalr import registry
from evalr.breaker import Breaker
from evalr.errors import ConfigError
from evalr.grading import Grading, ProblemKey
from evalr.plan import Plan, Planned, RunConfig
from evalr.retry import RetryingBackend
from evalr.runner import Execution, Unit, backend_secrets
from evalr.secrets import Scrubber, header_secrets
from evalr.store import RunStore, SampleRecord
from evalr.task import Task
from evalr.types import Completion, Grade, Problem

from .shards import UnitRef


def _load(payload: bytes) -> tuple[RunConfig, Plan]:
    config, plan = pickle.loads(payload)
    return replace(config, quiet=True), plan


def _node() -> dict[str, Any]:
    import ray

    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "ip": ray.util.get_node_ip_address(),
        "pid": os.getpid(),
    }


class RecordSink:
    """Stands in for the run store on a worker: each request's records go to the driver."""

    def __init__(self, queue: asyncio.Queue[list[SampleRecord] | None]) -> None:
        self.queue = queue

    def append_many(self, records: list[SampleRecord]) -> None:
        if records:
            self.queue.put_nowait(list(records))


class ShardGrading:
    """``Grading`` for one shard, done by the grading workers.

    Per problem, under a lock (as ``Grading`` does): send the problem's representatives with
    its attempts, and add the classes that come back as new representatives, in order.
    """

    def __init__(self, graders: Sequence[Any], reps: Mapping[ProblemKey, Sequence[str]]) -> None:
        self.graders = list(graders)
        self.reps = {k: list(v) for k, v in reps.items()}
        self._locks: dict[ProblemKey, asyncio.Lock] = {}

    async def grade(
        self, task: Task, problem: Problem, completions: Sequence[Completion]
    ) -> list[Grade]:
        key = (task.name, problem.id)
        if not task.majority_vote:
            return await self._remote(key, list(completions), [])
        async with self._locks.setdefault(key, asyncio.Lock()):
            reps = self.reps.setdefault(key, [])
            grades = await self._remote(key, list(completions), list(reps))
            for grade in grades:
                if grade.answer_class is not None and grade.answer_class not in reps:
                    reps.append(grade.answer_class)
        return grades

    async def _remote(
        self, key: ProblemKey, completions: list[Completion], reps: list[str]
    ) -> list[Grade]:
        from ray.exceptions import RayActorError

        # A problem always goes to the same grading worker first (its caches are warm); when
        # that one is gone for good, the next one takes it.
        start = zlib.crc32(f"{key[0]}\0{key[1]}".encode()) % len(self.graders)
        last: Exception | None = None
        for i in range(len(self.graders)):
            grader = self.graders[(start + i) % len(self.graders)]
            try:
                return cast(list[Grade], await grader.grade.remote(*key, completions, reps))
            except RayActorError as exc:
                last = exc
        raise RuntimeError(f"no grading worker left ({last})")


class GenerationWorker:
    """Generates and grades shards against this node's backend."""

    def __init__(self, payload: bytes, graders: Sequence[Any]) -> None:
        self.config, self.plan = _load(payload)
        self.planned: dict[str, Planned] = {p.task.name: p for p in self.plan.tasks}
        self.samples = {(p.task.name, s.id): s for p in self.plan.tasks for s in p.problems}
        self.graders = list(graders)
        self.engine: RetryingBackend | None = None

    async def start(self, secrets: Mapping[str, str]) -> dict[str, Any]:
        """Start this node's backend. ``secrets``: API-key values by variable name, read on the
        driver and handed to the backend as values (never put in this process's environment)."""
        scrubber = Scrubber([s for v in secrets.values() for s in header_secrets(v)])
        raw = registry.load("backend", self.config.model.backend)(self.config.model)
        engine = RetryingBackend(raw, self.config.retry, self.config.seed, Breaker(), scrubber)
        if secrets:
            if not hasattr(raw, "use_keys"):
                raise ConfigError(
                    f"backend {self.config.model.backend} cannot take API keys on Ray workers"
                )
            raw.use_keys(secrets)
        await engine.start(Path(tempfile.mkdtemp(prefix="evalr-ray-")))
        scrubber.add(backend_secrets(raw))
        self.engine = engine
        caps = engine.capabilities
        return {
            **_node(),
            "native_n": caps.native_n,
            "ignores": list(caps.ignores),
            "model": dict(engine.describe()),
        }

    async def run_shard(
        self, task: str, refs: Sequence[UnitRef], reps: Mapping[ProblemKey, Sequence[str]]
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yield ``("records", [...])`` as requests complete (all of one request's records in one
        message, with any others completed meanwhile), then ``("done", facts)``."""
        assert self.engine is not None, "start() first"
        planned = self.planned[task]
        units = [
            Unit(planned, self.samples[(task, sid)], tuple(attempts), frozenset(keep))
            for sid, attempts, keep in refs
        ]
        queue: asyncio.Queue[list[SampleRecord] | None] = asyncio.Queue()
        execution = Execution(
            self.engine,
            cast(RunStore, RecordSink(queue)),
            self.config,
            self.plan,
            cast(Grading, ShardGrading(self.graders, reps)),
        )
        retries = self.engine.retries
        job = asyncio.ensure_future(execution.run(iter(units), sum(len(u.keep) for u in units)))
        job.add_done_callback(lambda _: queue.put_nowait(None))
        finished = False
        while not finished:
            batch = await queue.get()
            if batch is None:
                break
            # Whatever else has completed meanwhile travels in the same message: under load the
            # driver then takes in many requests' records per message (each request's together).
            while not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    finished = True
                    break
                batch += more
            yield ("records", batch)
        job.result()  # a worker bug surfaces on the driver
        opened = self.engine.breaker.opened
        yield (
            "done",
            {
                "retries": self.engine.retries - retries,
                "causes": dict(execution.causes),
                "breaker": None if opened is None else (str(opened), opened.cause),
            },
        )

    def pid(self) -> int:
        return os.getpid()

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.aclose()
            self.engine = None


class GradingWorker:
    """Grades one problem's attempts at a time; stateless between calls."""

    def __init__(self, payload: bytes) -> None:
        _, plan = _load(payload)
        self.tasks = {p.task.name: p.task for p in plan.tasks}
        self.samples = {(p.task.name, s.id): s for p in plan.tasks for s in p.problems}

    def describe(self) -> dict[str, Any]:
        return _node()

    async def grade(
        self, task: str, sample_id: str, completions: Sequence[Completion], reps: Sequence[str]
    ) -> list[Grade]:
        grading = Grading({(task, sample_id): reps})
        return await grading.grade(self.tasks[task], self.samples[(task, sample_id)], completions)
