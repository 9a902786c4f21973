"""Reports rendered from run directories alone (no model, no network).

``render_report(run_dirs, out, *, published_as=None, fmt="html") -> Path``

- ``run_dirs``: run directories, or directories holding runs (searched for ``manifest.json``).
  A path that does not exist is a ``DataError``; an empty directory, a run that never finished
  (no results.json: per-problem outcomes rebuilt from its journal) and runs of different
  protocols render with a note saying so.
- ``out``: for ``fmt="html"``, the report directory: ``out/index.html`` with the paper table,
  charts, runs, comparisons and the paper's published figures; ``out/runs/RUN/TASK/`` task and
  drill-down pages; ``out/compare/`` comparisons; ``out/assets/`` PNG copies of the charts. It is
  built beside ``out`` and then replaces it (an earlier report), so a failure leaves the previous
  report intact; a non-empty ``out`` that is not an evalr report is refused. For ``md``, ``csv``
  or ``latex``, ``out`` is the file the paper table is written to (atomically).
- ``published_as``: the published model to compare with (``"DeepSeek-R1"``, or a preset name such
  as ``"r1-distill-qwen-7b"``), for every run; or ``"RUN=NAME,RUN=NAME"`` per run (a run's label,
  run id or directory name). Without it a run is matched by its preset or model name.
- Returns the written ``index.html`` (html) or file.

``paper_table(run_dirs, published_as=None, fmt="md") -> str`` returns the table as text instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalr.reports.runset import RunSet
    from evalr.reports.table import PaperTable

__all__ = ["FORMATS", "paper_table", "render_report"]

FORMATS = ("html", "md", "csv", "latex")


def _table(run_dirs: Sequence[str | Path], published_as: str | None) -> tuple[RunSet, PaperTable]:
    from evalr.reports.paper import parse_published_as
    from evalr.reports.runset import load_runset
    from evalr.reports.table import build_table

    every, by_run = parse_published_as(published_as)
    runset = load_runset(run_dirs)
    return runset, build_table(runset, every, by_run)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        from evalr.errors import ConfigError

        raise ConfigError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _paper_table(
    run_dirs: Sequence[str | Path], published_as: str | None, fmt: str
) -> tuple[str, list[str]]:
    from evalr.reports.exports import export

    _check_format(fmt)
    if fmt == "html":
        from evalr.errors import ConfigError

        raise ConfigError("paper_table gives md, csv or latex; render_report writes html")
    runset, table = _table(run_dirs, published_as)
    return export(table, fmt), runset.notes


def paper_table(
    run_dirs: Sequence[str | Path], published_as: str | None = None, fmt: str = "md"
) -> str:
    """The paper table as Markdown, CSV or LaTeX text."""
    return _paper_table(run_dirs, published_as, fmt)[0]


def _render(
    run_dirs: Sequence[str | Path], out: Path, published_as: str | None, fmt: str
) -> tuple[Path, list[str]]:
    """``render_report``, with the notes on the inputs (an empty directory, a run left out)."""
    _check_format(fmt)
    out = Path(out)
    if fmt != "html":
        from evalr.store import write_atomic

        text, notes = _paper_table(run_dirs, published_as, fmt)
        if out.is_dir():
            from evalr.errors import ConfigError

            raise ConfigError(f"{out} is a directory; give --out a file for --format {fmt}")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, text)
        return out, notes
    from evalr.reports.render import render_html

    runset, table = _table(run_dirs, published_as)
    return render_html(runset, table, out), runset.notes


def render_report(
    run_dirs: Sequence[str | Path],
    out: Path,
    *,
    published_as: str | None = None,
    fmt: str = "html",
) -> Path:
    """Write the report of ``run_dirs`` to ``out``; returns the index (html) or the file."""
    return _render(run_dirs, out, published_as, fmt)[0]
