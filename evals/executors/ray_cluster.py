"""The Ray cluster, seen by the runner as the backend it starts and closes.

``start`` connects to the cluster that ``RAY_ADDRESS`` (or ``--ray-address``) names, or starts a
local Ray for this run, bound to loopback, with usage reporting off; puts the plan in the object
store once; places one grading worker per node and the generation workers (one per node for an
endpoint, one per GPU group for an engine: see ``placements``); and starts a backend on each.
``capabilities`` and ``describe`` then answer for those backends, so the runner records the
model facts and plans its requests exactly as in-process. ``aclose`` stops the workers and, when
evalr started Ray, Ray itself.

What Ray sees: the plan (prompts, gold answers, task configuration), the completions and grades
travelling back, and the API-key values that ``start`` passes to each generation worker as an
argument of one call (inlined in that call's task spec in memory; Ray writes neither to disk
nor to its logs unless the cluster is configured to persist its GCS).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Backend, Capabilities
from evalr.errors import BackendError, ConfigError, EvalrError
from evalr.plan import Plan, RunConfig
from evalr.secrets import redact_url

ADDRESS_ENV = "RAY_ADDRESS"
WORKERS_ENV = "EVALR_RAY_WORKERS"  # override: generation workers to place
# Backends that run the model inside the worker process: they want accelerators, not a node each.
ENGINES = {"llamacpp", "vllm", "lm-eval", "vllm-server", "sglang-server", "llamacpp-server"}
MAX_LOST = 8  # generation workers replaced in one session before the run stops


_LOCKS = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def payload(config: RunConfig, plan: Plan) -> bytes:
    """The run's config and plan as bytes for the workers, made before the driver grades.

    cloudpickle (Ray's own serializer), plus what it lacks: a grader's lock becomes a fresh lock
    on the worker (a lock cannot be pickled, and none is held while the plan is made).
    """
    from ray import cloudpickle

    class PlanPickler(cloudpickle.CloudPickler):
        def reducer_override(self, obj: Any) -> Any:
            fresh = _LOCKS.get(type(obj))
            return (fresh, ()) if fresh else super().reducer_override(obj)

    buffer = io.BytesIO()
    try:
        PlanPickler(buffer, protocol=5).dump((config, plan))
    except Exception as exc:
        raise ConfigError(
            f"the tasks cannot be sent to Ray workers ({type(exc).__name__}: {exc}); "
            "run them with --executor in-process"
        ) from None
    return buffer.getvalue()


def key_variables(backend: Backend, config: RunConfig) -> dict[str, str]:
    """The API-key variables the backend reads at start, with their values from this process."""
    names = {v for k, v in config.model.options.items() if k.endswith("_env") and v}
    named = getattr(getattr(backend, "options", None), "api_key_env", None)
    if named:
        names.add(str(named))
    return {n: os.environ[n] for n in sorted(names) if os.environ.get(n)}


@dataclass(frozen=True)
class Node:
    id: str
    ip: str
    cpus: float
    gpus: float

    def as_dict(self) -> dict[str, Any]:
        return {"node_id": self.id, "ip": self.ip, "cpus": self.cpus, "gpus": self.gpus}


def alive_nodes() -> list[Node]:
    import ray

    return [
        Node(
            n["NodeID"],
            n["NodeManagerAddress"],
            float(n["Resources"].get("CPU", 0)),
            float(n["Resources"].get("GPU", 0)),
        )
        for n in ray.nodes()
        if n.get("Alive")
    ]


def placements(config: RunConfig, nodes: list[Node]) -> list[dict[str, Any]]:
    """Actor options for the generation workers.

    An endpoint (API or a served model somewhere) gets one worker per node, each with its own
    connection pool and ``--concurrency`` requests in flight. An engine gets one worker per
    ``tensor_parallel_size`` GPUs (Ray places them), or one per node when the cluster has no
    GPU. ``EVALR_RAY_WORKERS`` overrides the count (spread over the nodes in turn).
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    def on(node: Node, **options: Any) -> dict[str, Any]:
        # Pinned: one per node (a soft affinity was seen to put two on one node). A replacement
        # may go anywhere (``RayCluster.replace``): its node may be the one that was lost.
        strategy = NodeAffinitySchedulingStrategy(node.id, soft=False)
        return {"scheduling_strategy": strategy, **options}

    gpus = sum(n.gpus for n in nodes)
    override = os.environ.get(WORKERS_ENV)
    if config.model.backend in ENGINES and gpus:
        per = max(1, int(config.model.options.get("tensor_parallel_size", "1")))
        count = int(override) if override else max(1, int(gpus) // per)
        return [{"num_gpus": per, "num_cpus": 1} for _ in range(count)]
    cpus = 1 if config.model.backend in ENGINES else 0
    count = int(override) if override else len(nodes)
    return [on(nodes[i % len(nodes)], num_cpus=cpus) for i in range(count)]


class RayCluster:
    """The cluster as the run's backend: one start, one close, workers in between."""

    def __init__(self, config: RunConfig, plan: Plan, backend: Backend) -> None:
        self.config = config
        self.inner = backend  # built on the driver (options checked there); never started
        self.address = config.ray_address or os.environ.get(ADDRESS_ENV) or None
        if not self.address:
            # A Ray for this run only: bound to loopback, no usage report. Ray reads both when
            # it is first imported, which payload() does.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.payload = payload(config, plan)
        self.started_ray = False
        self.nodes: list[Node] = []
        self.graders: list[Any] = []
        self.generation: list[Any] = []
        self.facts: list[dict[str, Any]] = []
        self.lost = 0
        self._keys: dict[str, str] = {}
        self._options: list[dict[str, Any]] = []
        self._ref: Any = None

    @property
    def capabilities(self) -> Capabilities:
        inner = self.inner.capabilities
        if not self.facts:
            return inner
        # n is used only when every node's backend honours it (the requests are then the same
        # on every node, whichever runs a shard).
        native_n = all(f["native_n"] for f in self.facts)
        return Capabilities(native_n=native_n, seeds=inner.seeds, ignores=inner.ignores)

    def secrets(self) -> list[str]:
        found = list(getattr(self.inner, "secrets", lambda: ())())
        return found + list(self._keys.values())

    async def start(self, run_dir: Path) -> None:
        import ray

        self._connect(ray)
        self._keys = key_variables(self.inner, self.config)
        self._ref = ray.put(self.payload)
        self.nodes = alive_nodes()
        if not self.nodes:
            raise ConfigError("the Ray cluster has no live node; check `ray status`")
        from evalr.executors.ray_workers import GradingWorker
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # Stateless: a grading call whose worker died goes to the next node's (ShardGrading).
        grading = ray.remote(GradingWorker)
        self.graders = [
            grading.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(n.id, soft=False),
            ).remote(self._ref)
            for n in self.nodes
        ]
        self._options = placements(self.config, self.nodes)
        self.generation = [None] * len(self._options)
        self.facts = [{}] * len(self._options)
        for i in range(len(self._options)):
            await self.spawn(i)

    def _connect(self, ray: Any) -> None:
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(address="local", include_dashboard=False, **quiet)
                self.started_ray = True
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {redact_url(self.address)}" if self.address else "Ray"
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ConfigError(
                f"cannot start or reach {where} ({type(exc).__name__}: {first}); check "
                f"{ADDRESS_ENV} / --ray-address and `ray status`"
            ) from None

    async def spawn(self, index: int) -> dict[str, Any]:
        """(Re)place generation worker ``index`` and start its backend."""
        import ray
        from evalr.executors.ray_workers import GenerationWorker
        from ray.exceptions import RayActorError, RayTaskError

        actor: Any = ray.remote(GenerationWorker).options(**self._options[index])
        handle: Any = actor.remote(self._ref, self.graders)
        try:
            facts = dict(await handle.start.remote(self._keys))
        except RayTaskError as exc:
            ray.kill(handle)
            cause = exc.cause if isinstance(exc.cause, EvalrError) else None
            if cause is not None:
                raise cause from None
            raise BackendError(f"a Ray worker failed to start: {exc.cause!r}"[:400]) from None
        except RayActorError as exc:
            raise BackendError(f"a Ray worker died while starting ({exc})"[:400]) from None
        self.generation[index] = handle
        self.facts[index] = facts
        return facts

    async def replace(self, index: int) -> dict[str, Any]:
        """A new worker for one that died, up to MAX_LOST per session."""
        self.lost += 1
        if self.lost > MAX_LOST:
            raise BackendError(
                f"the Ray cluster lost {self.lost} workers in this run; what was stored is "
                "kept: check the cluster (`ray status`) and rerun the same command",
                cause="ray workers lost",
            )
        strategy = self._options[index].get("scheduling_strategy")
        if strategy is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            soft = NodeAffinitySchedulingStrategy(strategy.node_id, soft=True)
            self._options[index] = {**self._options[index], "scheduling_strategy": soft}
        return await self.spawn(index)

    def describe(self) -> Mapping[str, Any]:
        first = next((f for f in self.facts if f), None)
        return dict(first["model"]) if first else dict(self.inner.describe())

    def session(self) -> dict[str, Any]:
        """What the manifest records about this session's cluster."""
        import ray

        return {
            "address": redact_url(self.address) if self.address else "local",
            "ray_version": ray.__version__,
            "nodes": [n.as_dict() for n in self.nodes],
            "generation_workers": [
                {"node_id": f.get("node_id"), "ip": f.get("ip"), "pid": f.get("pid")}
                for f in self.facts
            ],
            "grading_workers": len(self.graders),
        }

    async def aclose(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        for handle in self.generation:
            if handle is not None:
                with contextlib.suppress(Exception):  # a dead worker has nothing to close
                    await handle.stop.remote()
                ray.kill(handle)
        for handle in self.graders:
            ray.kill(handle)
        self.generation, self.graders = [], []
        ray.shutdown()  # disconnects; stops the Ray that evalr started
