"""The run directory: ``manifest.json`` first, ``samples.jsonl`` appended per record,
``results.json`` at the end. Everything needed to resume, re-score or report, without the model.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalr.errors import ConfigError, DataError, ResumeError
from evalr.types import Completion, Grade, Usage

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
RESULTS_SCHEMA = 1


@dataclass(frozen=True)
class SampleRecord:
    """One line of samples.jsonl. The resume key is (task, sample_id, attempt)."""

    task: str
    sample_id: str
    attempt: int
    seed: int
    status: Literal["ok", "error"]
    completion: Completion | None = None
    grade: Grade | None = None
    error: str | None = None
    prompt_meta: Mapping[str, Any] = field(default_factory=dict)
    time: float = 0.0

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.task, self.sample_id, self.attempt)

    def to_json(self) -> str:
        # Hand-built dict: dataclasses.asdict deep-copies every field and dominated write time.
        c, g = self.completion, self.grade
        row = {
            "task": self.task,
            "sample_id": self.sample_id,
            "attempt": self.attempt,
            "seed": self.seed,
            "status": self.status,
            "completion": None
            if c is None
            else {
                "text": c.text,
                "reasoning": c.reasoning,
                "finish_reason": c.finish_reason,
                "usage": {
                    "prompt_tokens": c.usage.prompt_tokens,
                    "completion_tokens": c.usage.completion_tokens,
                    "reasoning_tokens": c.usage.reasoning_tokens,
                },
                "latency_s": round(c.latency_s, 4),
                "request": dict(c.request),
                "model": c.model,
            },
            "grade": None
            if g is None
            else {
                "correct": g.correct,
                "extracted": g.extracted,
                "verdict": g.verdict,
                "details": dict(g.details),
            },
            "error": self.error,
            "prompt_meta": dict(self.prompt_meta),
            "time": self.time,
        }
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> SampleRecord:
        comp = row.get("completion")
        grade = row.get("grade")
        return cls(
            task=row["task"],
            sample_id=str(row["sample_id"]),
            attempt=int(row["attempt"]),
            seed=int(row["seed"]),
            status=row["status"],
            completion=None
            if comp is None
            else Completion(**{**comp, "usage": Usage(**comp.get("usage", {}))}),
            grade=None if grade is None else Grade(**grade),
            error=row.get("error"),
            prompt_meta=row.get("prompt_meta") or {},
            time=float(row.get("time", 0.0)),
        )


def _drop_torn_tail(path: Path) -> None:
    """Truncate after the last newline: a torn last line was never acknowledged."""
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        pos = size
        while pos > 0:
            step = min(4096, pos)
            fh.seek(pos - step)
            block = fh.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                pos = pos - step + nl + 1
                break
            pos -= step
        if pos < size:
            fh.truncate(pos)


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _differences(old: Any, new: Any, where: str = "") -> Iterator[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            yield from _differences(old.get(key), new.get(key), f"{where}.{key}" if where else key)
    elif old != new:
        yield f"{where}: stored {json.dumps(old, default=str)}, now {json.dumps(new, default=str)}"


class RunStore:
    """Append-only journal plus manifest and results; safe against a kill at any point."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None
        self._lock: Any = None

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.path} is not a run directory (no {MANIFEST})") from None
        except json.JSONDecodeError:
            raise DataError(
                f"{self.manifest_path} is corrupt; move it aside to start over"
            ) from None

    def check_resumable(self, protocol: Mapping[str, Any]) -> None:
        """Refuse to mix two protocols in one directory, naming what differs."""
        stored = self.read_manifest().get("protocol", {})
        # Compare as stored: JSON turns tuples into lists, which must not count as a change.
        now_as_json = json.loads(json.dumps(protocol, ensure_ascii=False, default=str))
        diffs = list(_differences(stored, now_as_json))
        if diffs:
            more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
            raise ResumeError(
                f"{self.path} holds a run with a different protocol: {diffs[0]}{more}; "
                "use --out for a new directory"
            )

    def create(self, manifest: Mapping[str, Any]) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"cannot write to {self.path}: {exc.strerror}; pick --out") from None
        _write_atomic(self.manifest_path, manifest)

    def update_manifest(self, **fields: Any) -> None:
        _write_atomic(self.manifest_path, {**self.read_manifest(), **fields})

    def records(self, light: bool = False) -> list[SampleRecord]:
        return list(self.iter_records(light))

    def iter_records(self, light: bool = False) -> Iterator[SampleRecord]:
        """Stream every stored record, first dropping a line torn by a kill mid-write.

        ``light`` blanks the completion's text, reasoning and request, which resuming and
        aggregating never read: 100,000 records then fit in a fraction of the memory.
        """
        path = self.path / SAMPLES
        if not path.exists():
            return
        _drop_torn_tail(path)
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    comp = row.get("completion")
                    if light and comp:
                        comp["text"], comp["reasoning"], comp["request"] = "", None, {}
                    yield SampleRecord.from_dict(row)
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise DataError(f"{path}:{lineno}: unreadable record ({exc})") from None

    def latest(self, light: bool = False) -> dict[tuple[str, str, int], SampleRecord]:
        """The last record per key: a later success supersedes earlier errors."""
        return {r.key: r for r in self.iter_records(light)}

    def append(self, record: SampleRecord) -> None:
        self.append_many([record])

    def append_many(self, records: list[SampleRecord]) -> None:
        """Append records in one write; flushed, so they survive a SIGKILL of this process."""
        if not records:
            return
        if self._fh is None:
            self._fh = open(self.path / SAMPLES, "a", encoding="utf-8")  # noqa: SIM115
        self._fh.write("".join(r.to_json() + "\n" for r in records))
        self._fh.flush()

    def rewrite(self, records: list[SampleRecord]) -> None:
        """Replace the journal (re-scoring); atomic, so a kill leaves the old one intact."""
        tmp = self.path / f".{SAMPLES}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(record.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / SAMPLES)

    def write_results(self, results: Mapping[str, Any]) -> None:
        _write_atomic(self.path / RESULTS, results)

    def read_results(self) -> dict[str, Any]:
        path = self.path / RESULTS
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if not self.exists():
                raise DataError(f"{self.path} is not a run directory (no {MANIFEST})") from None
            raise DataError(f"{self.path} has no {RESULTS} yet: the run has not finished") from None
        except json.JSONDecodeError:
            raise DataError(f"{path} is corrupt; `evalr score {self.path}` rebuilds it") from None

    def discard_if_empty(self) -> None:
        """Remove a run directory that holds nothing but evalr's own bookkeeping."""
        own = {MANIFEST, ".lock"}
        if self.path.is_dir() and {p.name for p in self.path.iterdir()} <= own:
            self.close()
            for name in own:
                (self.path / name).unlink(missing_ok=True)
            self.path.rmdir()

    def lock(self) -> None:
        """One writer per run directory: two processes would each send every request."""
        import fcntl

        self._lock = open(self.path / ".lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise ConfigError(
                f"another evalr process is running in {self.path}; wait for it or use --out"
            ) from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None


def now() -> float:
    return round(time.time(), 3)
