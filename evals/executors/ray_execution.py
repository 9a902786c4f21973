"""The driver's side of a Ray run: shards out, records back, stored exactly once.

The runner's units (one request each, seeds derived as always) are grouped into shards of
whole problems (``shards.make_shards``). Each generation worker runs two shards at a time, so
at most ``2 x workers`` shards are in flight (the backpressure); the rest wait on the driver.
A shard's records stream back one request at a time and the driver, the run directory's one
writer, appends each request's records in one flushed write, as in-process.

Failures: a worker that dies (its process killed, its node lost) fails only the shards it was
running; the driver starts a replacement (at most ``MAX_LOST`` per session) and re-queues
those shards with only their attempts not yet stored, at most ``MAX_TRIES`` times each. A
record that arrives for an attempt already stored is dropped and counted. The counts go in the
manifest (``ray.sessions[-1]``) and the run log, with each node's throughput.

Why not Ray's own pools: ``ray.util.ActorPool`` loses the task of an actor that dies and returns
whole results only, and Ray Data's ``map_batches`` retries whole batches (at least once, so
duplicates) into its own sinks; neither gives one writer each request's records as they
complete, exactly once, with only the unfinished part of a lost worker's work re-run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from evalr.errors import CircuitOpen
from evalr.grading import Grading
from evalr.plan import Plan, RunConfig
from evalr.progress import Progress
from evalr.retry import RetryingBackend
from evalr.runner import Unit, all_or_none, known_classes
from evalr.store import RunStore, SampleRecord, now

from .ray_cluster import RayCluster
from .run_log import RunLog
from .shards import Ledger, Shard, make_shards, problems_per_shard

SLOTS = 2  # shards in flight per generation worker
MAX_TRIES = 3  # re-queues of one shard before it is left for a rerun


@dataclass
class NodeRate:
    completions: int = 0
    tokens: int = 0
    first: float = 0.0
    last: float = 0.0

    def add(self, completions: int, tokens: int) -> None:
        t = time.monotonic()
        self.first = self.first or t
        self.last = t
        self.completions += completions
        self.tokens += tokens


@dataclass
class RayExecution:
    backend: RetryingBackend
    store: RunStore
    config: RunConfig
    plan: Plan
    grading: Grading
    progress: Progress = field(default_factory=lambda: Progress(0, quiet=True))
    causes: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.queue: deque[Shard] = deque()
        self.ledger = Ledger({})
        self.counts: Counter[str] = Counter()
        self.rates: dict[str, NodeRate] = {}
        self.log = RunLog(self.store)
        self._locks: list[asyncio.Lock] = []

    @property
    def cluster(self) -> RayCluster:
        inner = self.backend.inner
        assert isinstance(inner, RayCluster), "the Ray execution runs on a RayCluster backend"
        return inner

    async def run(self, todo: Iterator[Unit], total: int) -> None:
        cluster = self.cluster
        self.progress = Progress(total, self.config.quiet)
        units = list(todo)
        slots = SLOTS * len(cluster.generation)
        size = problems_per_shard(len({(u.planned.task.name, u.problem.id) for u in units}), slots)
        self.queue = deque(make_shards(units, size))
        self.counts["shards"] = len(self.queue)
        self.ledger = Ledger(known_classes(self.store.latest(light=True)))
        self._locks = [asyncio.Lock() for _ in cluster.generation]
        self._start_session(cluster, total, size)
        started = time.monotonic()
        running = [self._slot(i) for i in range(len(cluster.generation)) for _ in range(SLOTS)]
        try:
            await all_or_none(running)
        finally:
            self.progress.close()
            self._end_session(time.monotonic() - started)

    async def _slot(self, index: int) -> None:
        while self.queue and self.backend.breaker.opened is None:
            shard = self.queue.popleft()
            await self._shard(index, shard)

    async def _shard(self, index: int, shard: Shard) -> None:
        from ray.exceptions import RayActorError, RayTaskError

        cluster = self.cluster
        handle = cluster.generation[index]
        facts = cluster.facts[index]
        node = f"{facts.get('ip')} {str(facts.get('node_id'))[:12]}"  # two nodes may share an IP
        stream = handle.run_shard.options(num_returns="streaming").remote(
            shard.task, shard.units, self.ledger.reps_for(shard)
        )
        try:
            async for ref in stream:
                kind, value = await ref
                if kind == "records":
                    self._store(value, node)
                else:
                    self._done(value)
        except RayActorError as exc:
            await self._lost(index, handle, shard, exc)
        except RayTaskError as exc:
            raise (exc.cause if isinstance(exc.cause, Exception) else exc) from None

    def _store(self, records: list[SampleRecord], node: str) -> None:
        fresh = self.ledger.accept(records)
        if not fresh:
            return
        self.store.append_many(fresh)
        ok = [r for r in fresh if r.status == "ok" and r.completion is not None]
        tokens = sum(r.completion.usage.completion_tokens for r in ok if r.completion)
        self.progress.advance(len(fresh), tokens, errors=len(fresh) - len(ok))
        self.rates.setdefault(node, NodeRate()).add(len(fresh), tokens)

    def _done(self, facts: dict[str, Any]) -> None:
        self.backend.retries += int(facts.get("retries", 0))
        self.causes.update(facts.get("causes", {}))
        if facts.get("breaker") and self.backend.breaker.opened is None:
            message, cause = facts["breaker"]
            self.backend.breaker.opened = CircuitOpen(message, cause=cause)

    async def _lost(self, index: int, handle: Any, shard: Shard, exc: Exception) -> None:
        """Re-queue what the shard has not stored; replace the worker once, whoever sees it."""
        left = shard.remaining(self.ledger.stored)
        if left is not None and left.tries <= MAX_TRIES:
            self.queue.append(left)
            self.counts["shard_retries"] += 1
            self.log.write(f"{shard.describe()} lost its worker; re-queued {len(left.keys)}")
        elif left is not None:
            self.counts["abandoned_shards"] += 1
            self.log.write(f"{shard.describe()} lost its worker {left.tries} times; left undone")
        async with self._locks[index]:
            if self.cluster.generation[index] is handle:
                first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
                self.log.write(f"generation worker {index} lost ({first}); starting another")
                facts = await self.cluster.replace(index)
                self.counts["lost_workers"] += 1
                self.log.write(
                    f"generation worker {index} replaced on {facts.get('ip')} "
                    f"pid {facts.get('pid')}"
                )

    def _start_session(self, cluster: RayCluster, total: int, size: int) -> None:
        session = {"since": now(), **cluster.session()}
        ray = dict(self.store.read_manifest().get("ray", {}))
        ray["sessions"] = [*ray.get("sessions", []), session]
        self.store.update_manifest(executor="ray", ray=ray)
        for f in cluster.facts:
            self.log.write(
                f"generation worker on {f.get('ip')} node {str(f.get('node_id'))[:12]} "
                f"pid {f.get('pid')}"
            )
        self.log.write(
            f"{len(self.queue)} shards of up to {size} problems for {total} attempts; "
            f"{SLOTS * len(cluster.generation)} in flight at most"
        )

    def _end_session(self, seconds: float) -> None:
        throughput = {}
        for node, rate in sorted(self.rates.items()):
            per_s = rate.completions / seconds if seconds > 0 else 0.0
            throughput[node] = {
                "completions": rate.completions,
                "tokens": rate.tokens,
                "completions_per_s": round(per_s, 3),
            }
            self.log.write(
                f"node {node}: {rate.completions} completions, {rate.tokens} tokens, "
                f"{per_s:.2f} completions/s over {seconds:.1f} s"
            )
        counts = {
            "shards": self.counts["shards"],
            "shard_retries": self.counts["shard_retries"],
            "lost_workers": self.counts["lost_workers"],
            "abandoned_shards": self.counts["abandoned_shards"],
            "duplicates_dropped": self.ledger.duplicates,
            "seconds": round(seconds, 3),
            "throughput": throughput,
        }
        self.log.write(
            "session: "
            + ", ".join(f"{k} {v}" for k, v in counts.items() if k not in ("throughput",))
        )
        ray = dict(self.store.read_manifest().get("ray", {}))
        sessions = list(ray.get("sessions", []))
        if sessions:
            sessions[-1] = {**sessions[-1], **counts}
        ray["sessions"] = sessions
        self.store.update_manifest(ray=ray)
