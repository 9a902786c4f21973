"""Re-grade a stored run from its own records: no model, no requests."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalr import manifest as mf
from evalr.errors import DataError
from evalr.results import results_document
from evalr.runner import Planned, aggregate, build_task
from evalr.store import RunStore, SampleRecord, now


def _replan(stored: dict[str, Any]) -> list[Planned]:
    protocol = stored["protocol"]
    planned = []
    for name, entry in protocol["tasks"].items():
        task = build_task(name, entry.get("options", {}))
        dataset = task.load(protocol["seed"])
        limit = entry.get("limit")
        samples = dataset.samples[:limit] if limit else dataset.samples
        digest = mf.sha256_json([(s.id, s.input, s.target, dict(s.metadata)) for s in samples])
        if digest != entry["dataset_sha256"]:
            raise DataError(
                f"{name}: the dataset differs from the one this run used; cannot re-grade"
            )
        planned.append(Planned(task, dataset, tuple(samples), {}, entry["k"]))
    return planned


async def rescore_async(run_dir: Path) -> dict[str, Any]:
    store = RunStore(run_dir)
    stored = store.read_manifest()
    planned = _replan(stored)
    by_task = {p.task.name: p for p in planned}
    regraded: list[SampleRecord] = []
    for record in store.latest().values():
        plan = by_task.get(record.task)
        if record.status != "ok" or record.completion is None or plan is None:
            regraded.append(record)
            continue
        sample = next((s for s in plan.samples if s.id == record.sample_id), None)
        if sample is None:
            regraded.append(record)
            continue
        grader = plan.task.grader
        extracted = grader.extract(sample, record.completion)
        (grade,) = await grader.grade(sample, [extracted])
        regraded.append(replace(record, grade=grade, error=None))
    store.rewrite(regraded)
    tasks = await aggregate(planned, store)
    doc = results_document(stored, tasks, {"rescored": now()})
    store.write_results(doc)
    return doc


def rescore(run_dir: Path) -> dict[str, Any]:
    return asyncio.run(rescore_async(run_dir))
