"""Reading run directories back: what reports, leaderboards and gates build on.

A run directory is the one source of truth (manifest.json, problems.jsonl, samples.jsonl,
results.json). :func:`open_run` reads the small files; per-problem outcomes come from
results.json's ``per_problem`` columns without touching a completion's text, and, for a run
that never finished (no results.json), are rebuilt from the journal read without texts.
Nothing here writes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.errors import DataError
from evalr.metrics import Attempt, majority_correct
from evalr.store import MANIFEST, RESULTS, RunStore, SampleRecord


@dataclass(frozen=True)
class ProblemOutcomes:
    """One task of one run, per problem, in dataset order (columns of equal length)."""

    task: str
    k: int
    ids: tuple[str, ...]
    attempts: tuple[int, ...]  # graded attempts (errors and missing ones excluded)
    correct: tuple[int, ...]
    cons: tuple[bool | None, ...]  # majority vote right; None: no vote (no answers, or code)

    def pass1(self) -> list[float | None]:
        return [c / a if a else None for a, c in zip(self.attempts, self.correct, strict=True)]


@dataclass(frozen=True)
class RunDir:
    path: Path
    manifest: Mapping[str, Any]
    results: Mapping[str, Any] | None
    _store: RunStore = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id") or self.path.name)

    @property
    def model(self) -> str:
        return str(self.manifest.get("protocol", {}).get("model", ""))

    @property
    def model_label(self) -> str:
        """The preset name or the model's last path part, as run directories are named."""
        run_id = self.run_id
        created = run_id.rsplit("-", 1)
        return created[0] if len(created) == 2 and created[1][:8].isdigit() else run_id

    @property
    def protocol_name(self) -> str:
        return str(self.manifest.get("protocol", {}).get("name", ""))

    @property
    def deviations(self) -> list[str]:
        return list(self.manifest.get("deviations", []))

    @property
    def finished(self) -> bool:
        return self.results is not None

    @property
    def complete(self) -> bool:
        return bool(self.results and self.results.get("complete", True))

    def task_names(self) -> list[str]:
        return list(self.manifest.get("protocol", {}).get("tasks", {}))

    def require_results(self) -> Mapping[str, Any]:
        if self.results is None:
            raise DataError(
                f"{self.path} has no {RESULTS}: the run has not finished (or was stopped); "
                f"rerun it to finish, or `evalr score {self.path}` to grade what is stored"
            )
        return self.results

    def outcomes(self, task: str) -> ProblemOutcomes:
        """Per-problem outcomes of one task, without reading any completion text."""
        entry = (self.results or {}).get("tasks", {}).get(task, {})
        columns = entry.get("per_problem")
        if columns:
            return ProblemOutcomes(
                task,
                int(entry.get("k", 0)),
                tuple(map(str, columns["ids"])),
                tuple(columns["attempts"]),
                tuple(columns["correct"]),
                tuple(columns["cons"]),
            )
        return self._outcomes_from_journal(task)

    def _outcomes_from_journal(self, task: str) -> ProblemOutcomes:
        protocol = self.manifest.get("protocol", {}).get("tasks", {}).get(task)
        if protocol is None:
            raise DataError(f"{self.path} has no task {task!r}")
        k = int(protocol.get("k", 0))
        by_problem: dict[str, dict[int, SampleRecord]] = defaultdict(dict)
        for record in self._store.iter_records(light=True):
            if record.task == task and record.attempt < k:
                by_problem[record.sample_id][record.attempt] = record
        ids = [p["id"] for p in self.problems() if p.get("task") == task] or sorted(by_problem)
        attempts, correct, cons = [], [], []
        for pid in ids:
            ok = [
                r
                for r in by_problem.get(pid, {}).values()
                if r.status == "ok" and r.grade is not None
            ]
            attempts.append(len(ok))
            correct.append(sum(bool(r.grade and r.grade.correct) for r in ok))
            votes: dict[str, int] = {}
            tries = []
            for r in ok:
                assert r.grade is not None
                key = r.grade.answer_class or r.grade.extracted
                vote = None if key is None else votes.setdefault(key, len(votes))
                tries.append(Attempt(r.grade.correct, vote, r.attempt))
            cons.append(majority_correct(tries) if tries and votes else None)
        return ProblemOutcomes(task, k, tuple(ids), tuple(attempts), tuple(correct), tuple(cons))

    def problems(self) -> list[dict[str, Any]]:
        """problems.jsonl: each problem's prompt messages, gold and light metadata."""
        return self._store.read_problems()

    def records(self, task: str | None = None, light: bool = False) -> Iterator[SampleRecord]:
        """Stored records (the latest per attempt), optionally of one task."""
        for record in self._store.latest(light=light).values():
            if task is None or record.task == task:
                yield record

    def problem_frame(self) -> Any:
        """The per-problem table as a DataFrame (see ``evalr.load_problems``)."""
        import pandas as pd

        meta = {(p.get("task"), p.get("id")): p.get("metadata") or {} for p in self.problems()}
        rows = []
        for task in self.task_names():
            out = self.outcomes(task)
            for pid, n, c, v in zip(out.ids, out.attempts, out.correct, out.cons, strict=True):
                row: dict[str, Any] = {
                    "run": str(self.path),
                    "run_id": self.run_id,
                    "model": self.model,
                    "task": task,
                    "problem": pid,
                    "k": out.k,
                    "attempts": n,
                    "correct": c,
                    "pass1": c / n if n else None,
                    "cons": v,
                }
                for key, value in meta.get((task, pid), {}).items():
                    if isinstance(value, (str, int, float, bool)) or value is None:
                        row[f"meta_{key}"] = value
                rows.append(row)
        return pd.DataFrame(rows)


def open_run(path: str | Path) -> RunDir:
    """A run directory, read (manifest and results only); a one-line DataError otherwise."""
    path = Path(path)
    if path.is_file():
        raise DataError(f"{path} is a file, not a run directory; give the directory holding it")
    if not path.is_dir():
        raise DataError(f"{path} is not a run directory (no such directory)")
    store = RunStore(path)
    manifest = store.read_manifest()
    results: dict[str, Any] | None
    try:
        results = json.loads((path / RESULTS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        results = None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{path / RESULTS} is corrupt; `evalr score {path}` rebuilds it") from None
    return RunDir(path, manifest, results, store)


def find_runs(root: str | Path) -> list[Path]:
    """Every run directory under ``root`` (itself included), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    return sorted(p.parent for p in root.rglob(MANIFEST) if p.is_file())
