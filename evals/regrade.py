"""Re-grade a stored run from its own records: no model, no requests (``evalr.rescore``).

Takes the run directory's one-writer lock (a run still writing is refused), rebuilds each task
the way the manifest says it was made (registered name, task file, factory), checks the rows
are the ones the run used, grades every stored completion again through the one grading path,
and replaces samples.jsonl and results.json atomically, keeping the run's timing facts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalr import taskref
from evalr.errors import ConfigError, DataError
from evalr.grading import Grading
from evalr.plan import Planned, dataset_sha256
from evalr.results import results_document
from evalr.runner import aggregate
from evalr.store import RunStore, SampleRecord, now
from evalr.task import Task


def _source_ref(name: str, entry: Mapping[str, Any], manifest: Mapping[str, Any]) -> Any:
    source = manifest.get("tasks", {}).get(name, {}).get("source") or {
        "kind": "registered",
        "ref": name,
    }
    kind, ref = source.get("kind"), source.get("ref", name)
    if kind == "object":
        raise ConfigError(
            f"task {name} was given as a Python object; re-grade from Python with "
            "evalr.rescore(RUN_DIR, tasks=[...])"
        )
    if kind == "file":
        stored = entry.get("source", {}).get("sha256")
        resolved = taskref.resolve(ref)
        if stored and resolved.source.sha256 != stored:
            raise DataError(f"task file {ref} changed since this run; cannot re-grade with it")
    return ref


def replan(
    manifest: Mapping[str, Any], given: Sequence[Task] = (), sandbox: str | None = None
) -> list[Planned]:
    """The run's tasks and problems, rebuilt and checked against the stored dataset hash."""
    protocol = manifest["protocol"]
    by_name = {t.name: t for t in given}
    planned = []
    for name, entry in protocol["tasks"].items():
        if name in by_name:
            task = by_name[name]
        else:
            ref = _source_ref(name, entry, manifest)
            task = taskref.resolve(ref, entry.get("options", {}), sandbox).task
        dataset = task.load(protocol["seed"])
        limit = entry.get("limit")
        problems = dataset.problems[:limit] if limit else dataset.problems
        if dataset_sha256(problems) != entry["dataset_sha256"]:
            raise DataError(
                f"{name}: the dataset differs from the one this run used; cannot re-grade"
            )
        planned.append(Planned(task, dataset, tuple(problems), {}, entry["k"]))
    return planned


async def regrade(planned: Sequence[Planned], records: list[SampleRecord]) -> list[SampleRecord]:
    """Every stored completion graded again, each problem's attempts together (fresh classes)."""
    by_task = {p.task.name: p for p in planned}
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.status == "ok" and record.completion is not None and record.task in by_task:
            groups[(record.task, record.sample_id)].append(i)
    grading = Grading()
    out = list(records)

    async def one(task_name: str, sample_id: str, indices: list[int]) -> None:
        p = by_task[task_name]
        problem = next((s for s in p.problems if s.id == sample_id), None)
        if problem is None:
            return
        ordered = sorted(indices, key=lambda i: records[i].attempt)
        completions = [records[i].completion for i in ordered]
        grades = await grading.grade(p.task, problem, completions)  # type: ignore[arg-type]
        for i, grade in zip(ordered, grades, strict=True):
            out[i] = replace(records[i], grade=grade, error=None)

    await asyncio.gather(*(one(t, s, idx) for (t, s), idx in groups.items()))
    return out


async def rescore_async(
    run_dir: Path, tasks: Sequence[Task] = (), sandbox: str | None = None
) -> dict[str, Any]:
    store = RunStore(run_dir)
    manifest = store.read_manifest()  # "not a run directory" before anything else
    store.lock()
    try:
        planned = replan(store.read_manifest(), tasks, sandbox)
        regraded = await regrade(planned, list(store.latest().values()))
        store.rewrite(regraded)
        timing = _previous_timing(store)
        doc = results_document(manifest, aggregate(planned, store), {**timing, "rescored": now()})
        store.write_results(doc)
    finally:
        store.close()
    return doc


def _previous_timing(store: RunStore) -> dict[str, Any]:
    try:
        return dict(store.read_results().get("timing", {}))
    except DataError:
        return {}


def rescore(
    run_dir: Path, tasks: Sequence[Task] = (), sandbox: str | None = None
) -> dict[str, Any]:
    return asyncio.run(rescore_async(run_dir, tasks, sandbox))
