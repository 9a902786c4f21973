"""The run directory: ``manifest.json`` first, ``samples.jsonl`` appended per record,
``results.json`` at the end. Everything needed to resume, re-score or report, without the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
from evalr.errors import ConfigError, DataError, LockedError, ResumeError, StorageError
from evalr.secrets import Scrubber
from evalr.types import Completion, Grade, Usage

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
PROBLEMS = "problems.jsonl"
LOCK = ".lock"
# 2: per-problem outcomes, completeness and protocol deviations (readers accept 1 and 2).
RESULTS_SCHEMA = 2
# When a resume refuses a different protocol, the difference a user most likely made by
# accident comes first: a quick --limit run, then a different k, then everything else.
_TELLING = (".limit:", ".k:", "sampling.", "model:")


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
                "answer_class": g.answer_class,
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


class _LightUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0


class _LightCompletion(msgspec.Struct):
    finish_reason: str = "stop"
    usage: _LightUsage | None = None
    latency_s: float = 0.0
    model: str | None = None


class _LightGrade(msgspec.Struct):
    correct: bool
    extracted: str | None = None
    verdict: str | None = None
    details: dict[str, Any] | None = None
    answer_class: str | None = None


class _LightRecord(msgspec.Struct):
    """A samples.jsonl line without the texts: unknown and skipped fields are never built."""

    task: str
    sample_id: str | int
    attempt: int
    seed: int
    status: str
    completion: _LightCompletion | None = None
    grade: _LightGrade | None = None
    error: str | None = None
    prompt_meta: dict[str, Any] | None = None
    time: float = 0.0


_LIGHT = msgspec.json.Decoder(_LightRecord)


def _light_record(line: bytes) -> SampleRecord:
    row = _LIGHT.decode(line)
    c, g = row.completion, row.grade
    usage = (
        Usage()
        if c is None or c.usage is None
        else Usage(c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.reasoning_tokens)
    )
    return SampleRecord(
        task=row.task,
        sample_id=str(row.sample_id),
        attempt=row.attempt,
        seed=row.seed,
        status=row.status,  # type: ignore[arg-type]
        completion=None
        if c is None
        else Completion(
            text="",
            finish_reason=c.finish_reason,  # type: ignore[arg-type]
            usage=usage,
            latency_s=c.latency_s,
            model=c.model,
        ),
        grade=None
        if g is None
        else Grade(g.correct, g.extracted, g.verdict, g.details or {}, g.answer_class),
        error=row.error,
        prompt_meta=row.prompt_meta or {},
        time=row.time,
    )


def _full_record(line: bytes) -> SampleRecord:
    return SampleRecord.from_dict(json.loads(line))


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


def write_atomic(path: Path, text: str) -> None:
    """Write beside and rename: a reader sees the old file or the new one, never half of one.

    A failed write (full disk, file-size limit, Ctrl-C) removes its temporary file; an OS
    failure is one StorageError naming the directory. The old file is untouched either way.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(
                f"cannot write {path.name} in {path.parent}: {exc.strerror or exc}; nothing "
                "stored was lost: free space and rerun the same command"
            ) from None
        raise


def _json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _telling_first(diff: str) -> int:
    return next((i for i, mark in enumerate(_TELLING) if mark in diff), len(_TELLING))


def _differences(old: Any, new: Any, where: str = "") -> Iterator[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            yield from _differences(old.get(key), new.get(key), f"{where}.{key}" if where else key)
    elif old != new:
        yield f"{where}: stored {json.dumps(old, default=str)}, now {json.dumps(new, default=str)}"


class RunStore:
    """Append-only journal plus manifest and results; safe against a kill at any point."""

    def __init__(self, path: Path, scrubber: Scrubber | None = None) -> None:
        self.path = path
        # Every line this store writes passes through it: configured secrets never reach disk.
        self.scrubber = scrubber if scrubber is not None else Scrubber()
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
        diffs = sorted(_differences(stored, now_as_json), key=_telling_first)
        if diffs:
            more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
            raise ResumeError(
                f"{self.path} holds a run with a different protocol: {diffs[0]}{more}; "
                "use --out for a new directory"
            )

    def _writable_dir(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"cannot write to {self.path}: {exc.strerror}; pick --out") from None

    def prepare(self) -> None:
        """Make the directory (a fresh run) and take its one-writer lock, before anything is
        read or written in it."""
        self._writable_dir()
        self.lock()

    def create(self, manifest: Mapping[str, Any]) -> None:
        if not self.path.is_dir():
            self._writable_dir()
        self._write_json(self.manifest_path, manifest)

    def _write_json(self, path: Path, data: Mapping[str, Any]) -> None:
        write_atomic(path, self.scrubber.scrub(_json_text(data)))

    def update_manifest(self, **fields: Any) -> None:
        self._write_json(self.manifest_path, {**self.read_manifest(), **fields})

    def write_problems(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """``problems.jsonl``: each planned problem's prompt, gold and metadata, so reports
        show what was asked without the dataset."""
        text = "".join(
            json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
            for row in rows
        )
        write_atomic(self.path / PROBLEMS, self.scrubber.scrub(text))

    def read_problems(self) -> list[dict[str, Any]]:
        path = self.path / PROBLEMS
        if not path.is_file():
            return []  # runs made before problems were stored
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def records(self, light: bool = False) -> list[SampleRecord]:
        return list(self.iter_records(light))

    def iter_records(self, light: bool = False) -> Iterator[SampleRecord]:
        """Stream every stored record; a last line without its newline (torn by a kill, or
        still being written by a live run) is not a record yet and is passed over.

        Reading never changes the journal: only the writer, under the lock, drops a torn tail.
        ``light`` skips the completion's text, reasoning and request, which resuming and
        aggregating never read: they are not even decoded (msgspec), so 100,000 records read
        in a fraction of the time and memory.
        """
        path = self.path / SAMPLES
        if not path.exists():
            return
        decode = _light_record if light else _full_record
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.endswith(b"\n") or not line.strip():
                    continue
                try:
                    yield decode(line)
                except (ValueError, KeyError, TypeError) as exc:
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
        text = self.scrubber.scrub("".join(r.to_json() + "\n" for r in records))
        try:
            if self._fh is None:
                self._fh = open(self.path / SAMPLES, "a", encoding="utf-8")  # noqa: SIM115
            self._fh.write(text)
            self._fh.flush()
        except OSError as exc:
            # Lines written before the failure are kept; a torn last one is dropped on the
            # next read, which is exactly what a kill mid-write leaves.
            self._discard_handle()
            raise StorageError(
                f"cannot store completions in {self.path}: {exc.strerror or exc}; what was "
                "stored is kept: free space and rerun the same command to continue"
            ) from None

    def _discard_handle(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            # A buffer that cannot be flushed held bytes that were never acknowledged.
            with contextlib.suppress(OSError):
                fh.close()

    def rewrite(self, records: list[SampleRecord]) -> None:
        """Replace the journal (re-scoring); atomic, so a kill leaves the old one intact.

        Only under this process's lock: another writer may be appending to the journal.
        """
        if self._lock is None:
            raise RuntimeError("rewrite() needs the run directory's lock")
        text = "".join(record.to_json() + "\n" for record in records)
        write_atomic(self.path / SAMPLES, self.scrubber.scrub(text))

    def write_results(self, results: Mapping[str, Any]) -> None:
        self._write_json(self.path / RESULTS, results)

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
        own = {MANIFEST, PROBLEMS, LOCK}
        if self.path.is_dir() and {p.name for p in self.path.iterdir()} <= own:
            self.close()
            for name in own:
                (self.path / name).unlink(missing_ok=True)
            self.path.rmdir()

    def lock(self) -> None:
        """One writer per run directory: two processes would each send every request."""
        import fcntl

        try:
            self._lock = open(self.path / LOCK, "w")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"cannot write to {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise LockedError(
                f"another evalr process is writing to {self.path}; wait for it to finish "
                "(or stop it) and run this again"
            ) from None
        journal = self.path / SAMPLES
        if journal.exists():
            _drop_torn_tail(journal)  # the sole writer now: appends start on a fresh line

    def close(self) -> None:
        self._discard_handle()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None


def now() -> float:
    return round(time.time(), 3)
