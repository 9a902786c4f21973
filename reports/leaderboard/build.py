"""One leaderboard build: list the runs, hash them, rank them, render what changed, swap in.

Per run, the run page and its report (``evalr.reports.render_report``) are rendered only when
the run's content hash, or the renderer, changed since the last build; otherwise they are
carried over from the previous site by hard links. The index and the model pages depend on
every run and are rendered each time (they are small). Paired tests are cached by the two
runs' content hashes, so adding one run computes only its own pairs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.errors import DataError, EvalrError
from evalr.store import write_atomic

from . import pages
from .catalog import UNREADABLE, ListedRun, list_runs, slug
from .inputs import RECORD, InputRecord, RunInputs, hash_run, renderer_fingerprint
from .ranking import build_board
from .sitedir import building, carry, check_target


@dataclass
class BuildSummary:
    site: Path
    runs: int = 0
    rendered: list[str] = field(default_factory=list)  # runs whose pages were rendered
    carried: list[str] = field(default_factory=list)  # runs carried over unchanged
    rankings: int = 0
    pairs_computed: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"leaderboard: {self.runs} runs ({len(self.rendered)} rendered, "
            f"{len(self.carried)} unchanged), {self.rankings} rankings, "
            f"{self.pairs_computed} paired tests computed, {self.seconds:.2f} s "
            f"-> {self.site / 'index.html'}"
        )


class _UsedCache(dict[str, Mapping[str, Any]]):
    """The previous build's paired tests; remembers which ones this build used or added."""

    def __init__(self, known: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(known)
        self.used: set[str] = set()
        self.added = 0

    def __contains__(self, key: object) -> bool:
        found = super().__contains__(key)
        if found:
            self.used.add(str(key))
        return found

    def __setitem__(self, key: str, value: Mapping[str, Any]) -> None:
        self.used.add(key)
        self.added += 1
        super().__setitem__(key, value)

    def kept(self) -> dict[str, Mapping[str, Any]]:
        return {k: v for k, v in self.items() if k in self.used}


def _render_report(run: ListedRun, fresh: Path) -> tuple[str, str]:
    """(report index relative to the site, note); ("", why) when there is no report."""
    if run.state == UNREADABLE:
        return "", "no report: the run directory cannot be read"
    import evalr.reports

    render_report = getattr(evalr.reports, "render_report", None)
    if render_report is None:
        return "", "no report: this evalr has no report renderer"
    target = fresh / "reports" / run.slug
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        index = Path(render_report([run.path], target))
    except EvalrError as exc:
        return "", f"no report: {exc}"
    except Exception as exc:  # a report bug must not take the leaderboard down
        print(f"evalr: warning: report of {run.rel} failed: {exc!r}", file=sys.stderr)
        return "", f"no report: rendering failed ({type(exc).__name__})"
    return index.resolve().relative_to(fresh.resolve()).as_posix(), ""


def _skip(site: Path) -> Callable[[Path], bool]:
    resolved = site.resolve()
    prefix = f".{site.name}."

    def skip(path: Path) -> bool:
        return path.resolve().is_relative_to(resolved) or any(
            part.startswith(prefix) for part in path.parts
        )

    return skip


def build_site(
    runs_root: Path,
    site: Path,
    *,
    title: str = "evalr leaderboard",
    alpha: float = 0.05,
    reports: bool = True,
    rebuild: bool = False,
) -> BuildSummary:
    """Build (or update) the site at ``site`` from every run under ``runs_root``."""
    started = time.perf_counter()
    if not runs_root.is_dir():
        raise DataError(f"runs root {runs_root}: no such directory")
    check_target(site, runs_root)
    summary = BuildSummary(site)
    with building(site) as fresh:
        before = InputRecord.read(site) if site.is_dir() else InputRecord()
        record = InputRecord(renderer_fingerprint({"reports": reports, "title": title}))
        reuse = not rebuild and before.renderer == record.renderer
        listed = list_runs(runs_root, _skip(site))
        for run in listed:
            record.runs[run.rel] = hash_run(run.path, before.runs.get(run.rel))
        cache = _UsedCache(before.pairs if reuse else {})
        hashes = {rel: entry.sha256 for rel, entry in record.runs.items()}
        board = build_board(listed, hashes, cache, alpha)
        for run in listed:
            entry, old = record.runs[run.rel], before.runs.get(run.rel)
            unchanged = reuse and old is not None and old.sha256 == entry.sha256
            if unchanged and old and old.outputs and all((site / o).exists() for o in old.outputs):
                for output in old.outputs:
                    carry(site, fresh, output)
                entry.outputs, entry.report = old.outputs, old.report
                entry.report_note = old.report_note
                summary.carried.append(run.rel)
                continue
            _render_run(run, entry, fresh, title, reports)
            summary.rendered.append(run.rel)
        links = {rel: entry.report for rel, entry in record.runs.items()}
        (fresh / "models").mkdir(exist_ok=True)
        for model in sorted({r.model for r in listed if r.model}):
            page = pages.render_model(title, model, board, listed, links, alpha)
            write_atomic(fresh / "models" / f"{slug(model)}.html", page)
        write_atomic(fresh / "index.html", pages.render_index(title, board, listed, links, alpha))
        write_atomic(fresh / ".nojekyll", "")  # GitHub Pages: serve the files as they are
        record.pairs = cache.kept()
        write_atomic(fresh / RECORD, record.text())
        summary.runs, summary.rankings = len(listed), len(board.rankings)
        summary.pairs_computed = cache.added
        summary.notes = [f"{r.rel}: {r.note}" for r in listed if r.note]
    summary.seconds = time.perf_counter() - started
    return summary


def _render_run(run: ListedRun, entry: RunInputs, fresh: Path, title: str, reports: bool) -> None:
    entry.outputs = [f"runs/{run.slug}.html"]
    if reports:
        entry.report, entry.report_note = _render_report(run, fresh)
        if entry.report:
            entry.outputs.append(f"reports/{run.slug}")
    else:
        entry.report, entry.report_note = "", "no report: the site was built with --no-reports"
    (fresh / "runs").mkdir(exist_ok=True)
    page = pages.render_run(title, run, entry.report, entry.report_note)
    write_atomic(fresh / "runs" / f"{run.slug}.html", page)
