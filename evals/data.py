"""Dataset rows from the Hugging Face Hub at a pinned revision, or from an offline mirror.

``EVALR_DATA_DIR`` points at a directory laid out like the mirror (one folder per task); when it
is set, nothing is fetched. Without it, rows come from the Hub through ``datasets``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.errors import DataError

DATA_DIR_ENV = "EVALR_DATA_DIR"


@dataclass(frozen=True)
class HubRef:
    repo: str
    revision: str  # a commit sha: tags and branches move
    split: str = "test"
    config: str | None = None


@dataclass(frozen=True)
class Rows:
    rows: tuple[Mapping[str, Any], ...]
    source: str  # "hub" or "mirror:<path>"
    sha256: str  # of the raw file (mirror) or of the canonical JSON rows (hub)


def data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_rows(path: str | Path) -> list[Mapping[str, Any]]:
    """Rows of a local file: JSONL, JSON (a list, or an object of rows), CSV or Parquet.

    ``.gz`` is read transparently (not for Parquet, which compresses itself).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return list(_parse(path))


def _parse(path: Path) -> Iterator[Mapping[str, Any]]:
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(f"{path}: reading Parquet needs pyarrow; pip install pyarrow") from None
        try:
            yield from pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises its own error types for corrupt files
            raise DataError(f"{path}: unreadable Parquet ({str(exc)[:120]})") from None
        return
    with _open_text(path) as fh:
        if name.endswith(".jsonl"):
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: malformed JSON row ({exc.msg})") from None
        elif name.endswith(".json"):
            data = json.load(fh)
            yield from data if isinstance(data, list) else data.values()
        elif name.endswith(".csv"):
            yield from csv.DictReader(fh)
        else:
            raise DataError(f"{path}: unsupported data file type")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rows_sha256(rows: tuple[Mapping[str, Any], ...]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def load_rows(task: str, hub: HubRef, mirror: str) -> Rows:
    """Rows of one dataset: from ``$EVALR_DATA_DIR/<mirror>`` if set, else from the Hub."""
    root = data_dir()
    if root is not None:
        path = root / mirror
        if not path.is_file():
            raise DataError(
                f"{task}: {path} not found; put the file there, or unset {DATA_DIR_ENV} to "
                f"download {hub.repo}@{hub.revision[:12]} from the Hugging Face Hub"
            )
        return Rows(tuple(_parse(path)), f"mirror:{mirror}", file_sha256(path))
    return _load_hub(task, hub, mirror)


def mirror_rows(relative: str) -> Rows:
    """Rows of ``$EVALR_DATA_DIR/<relative>``, the offline mirror (an error when it is unset)."""
    root = data_dir()
    if root is None:
        raise DataError(f"{DATA_DIR_ENV} is not set: point it at the offline mirror")
    path = root / relative
    if not path.is_file():
        raise DataError(f"{path} not found in the offline mirror")
    return Rows(tuple(_parse(path)), f"mirror:{relative}", file_sha256(path))


def hub_rows(hub: HubRef) -> Rows:
    """Rows of a Hub dataset at a pinned revision, through Hugging Face ``datasets``."""
    return _load_hub(hub.repo, hub, None)


def _load_hub(task: str, hub: HubRef, mirror: str | None) -> Rows:
    try:
        import datasets  # heavy: imported only when the Hub is actually used
    except ImportError:
        hint = f", or set {DATA_DIR_ENV} to an offline mirror holding {mirror}" if mirror else ""
        raise DataError(
            f"{task}: the 'datasets' package is missing; pip install datasets{hint}"
        ) from None
    # The Hub client logs every retry as a warning; evalr reports one line if all of them fail.
    datasets.logging.set_verbosity_error()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        ds = datasets.load_dataset(hub.repo, hub.config, split=hub.split, revision=hub.revision)
    except Exception as exc:  # network, auth (GPQA is gated), missing revision
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = f"; set {DATA_DIR_ENV} to an offline mirror holding {mirror}" if mirror else ""
        raise DataError(
            f"{task}: could not load {hub.repo}@{hub.revision[:12]} from the Hub ({first[:200]})"
            + hint
        ) from None
    rows = tuple(dict(r) for r in ds)
    return Rows(rows, "hub", rows_sha256(rows))
