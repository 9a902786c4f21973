"""What a site was built from: content hashes of every run's files, kept in the site itself.

``SITE_DIR/leaderboard-inputs.json`` records, per run (by its path under the runs root), the
sha256 of its files (manifest.json, results.json, problems.jsonl, samples.jsonl) and the site
files rendered from it, plus the renderer's own fingerprint (evalr's version and the hash of
the code and templates that render pages and reports) and the paired tests already computed.
The next build renders again only the runs whose hash changed; the others' pages and reports
are carried over. A file whose size and modification time are unchanged keeps its recorded
hash (as make and rsync decide), so an unchanged 1 GB journal is not read again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from evalr.store import MANIFEST, PROBLEMS, RESULTS, SAMPLES

RECORD = "leaderboard-inputs.json"
FORMAT = 1
RUN_FILES = (MANIFEST, RESULTS, PROBLEMS, SAMPLES)
_CHUNK = 1 << 20
_SOURCES = {".py", ".html", ".js", ".css", ".json", ".txt"}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def renderer_fingerprint(extra: Mapping[str, Any]) -> str:
    """evalr's version, the source and templates of ``evalr.reports`` (this site and the
    run reports it links), and the build options that change what pages show."""
    import evalr.reports

    digest = hashlib.sha256()
    try:
        digest.update(version("evalr").encode())
    except PackageNotFoundError:
        digest.update(b"unversioned")
    root = Path(evalr.reports.__file__).parent
    sources = [p for p in sorted(root.rglob("*")) if p.suffix in _SOURCES and p.is_file()]
    paired = find_spec("evalr.paired")  # the tests behind tie groups
    if paired is not None and paired.origin:
        sources.append(Path(paired.origin))
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(dict(extra), sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class RunInputs:
    sha256: str
    files: dict[str, list[Any]]  # name -> [size, mtime_ns, sha256]
    outputs: list[str] = field(default_factory=list)  # site paths rendered from this run
    report: str = ""  # the run's report index, relative to the site ("" when none)
    report_note: str = ""  # why there is none


@dataclass
class InputRecord:
    renderer: str = ""
    runs: dict[str, RunInputs] = field(default_factory=dict)
    pairs: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, site: Path) -> InputRecord:
        """The record of the site at ``site``; empty when there is none or it is unreadable
        (then every run is rendered again, which is always safe)."""
        try:
            data = json.loads((site / RECORD).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return cls()
            runs = {
                rel: RunInputs(
                    entry["sha256"],
                    dict(entry["files"]),
                    list(entry["outputs"]),
                    str(entry.get("report", "")),
                    str(entry.get("report_note", "")),
                )
                for rel, entry in data["runs"].items()
            }
            return cls(str(data["renderer"]), runs, dict(data.get("pairs", {})))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def text(self) -> str:
        data = {
            "format": FORMAT,
            "renderer": self.renderer,
            "runs": {
                rel: {
                    "sha256": r.sha256,
                    "files": r.files,
                    "outputs": r.outputs,
                    "report": r.report,
                    "report_note": r.report_note,
                }
                for rel, r in sorted(self.runs.items())
            },
            "pairs": dict(sorted(self.pairs.items())),
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def hash_run(path: Path, before: RunInputs | None) -> RunInputs:
    """Content hash of a run directory's files, reusing ``before``'s per-file hashes for
    files whose size and modification time did not change."""
    files: dict[str, list[Any]] = {}
    for name in RUN_FILES:
        try:
            stat = (path / name).stat()
        except FileNotFoundError:
            continue
        known = before.files.get(name) if before is not None else None
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            files[name] = list(known)
        else:
            files[name] = [stat.st_size, stat.st_mtime_ns, file_sha256(path / name)]
    digest = hashlib.sha256()
    for name, (_, _, sha) in sorted(files.items()):
        digest.update(f"{name}\0{sha}\0".encode())
    return RunInputs(digest.hexdigest(), files)
