"""Where a run's requests are executed: in this process (the default) or on a Ray cluster.

The runner asks an executor for two things: the backend the driver starts (in-process: the
model's own backend; Ray: the cluster, whose start places a backend on every worker) and the
execution that consumes the runner's units of work. Everything else (planning, the run
directory, grading classes, results) is the runner's and is the same for both.

This module stays light: Ray is imported only on the Ray path, so ``evalr --help`` and
in-process runs never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalr.backends import Backend
    from evalr.grading import Grading
    from evalr.plan import Plan, RunConfig
    from evalr.retry import RetryingBackend
    from evalr.store import RunStore

IN_PROCESS = "in-process"
RAY = "ray"
EXECUTORS = (IN_PROCESS, RAY)


def driver_backend(config: RunConfig, plan: Plan, backend: Backend) -> Any:
    """What the driver starts: the model's backend, or the Ray cluster standing in for it."""
    if config.executor == IN_PROCESS:
        return backend
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        from evalr.errors import ConfigError

        raise ConfigError("--executor ray needs Ray: pip install 'evalr[ray]'")
    from evalr.executors.ray_cluster import RayCluster

    return RayCluster(config, plan, backend)


def execution(
    config: RunConfig, engine: RetryingBackend, store: RunStore, plan: Plan, grading: Grading
) -> Any:
    """The execution for this run's executor (``run(todo, total)``, ``causes``, ``grading``)."""
    if config.executor == IN_PROCESS:
        from evalr.runner import Execution

        if store.read_manifest().get("executor", IN_PROCESS) != IN_PROCESS:
            store.update_manifest(executor=IN_PROCESS)  # a Ray run resumed in this process
        return Execution(engine, store, config, plan, grading)
    from evalr.executors.ray_execution import RayExecution

    return RayExecution(engine, store, config, plan, grading)
