"""``evalr report``: the HTML report, or the paper table as Markdown, CSV or LaTeX.

Imports only click at module level; the report's own modules load when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="HTML: the report directory (default ./report). Other formats: the file (default stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "csv", "latex"]),
    default="html",
    show_default=True,
    help="A self-contained HTML report, or the paper table as text.",
)
@click.option(
    "--published-as",
    metavar="NAME|RUN=NAME,...",
    help="Published model to compare with (e.g. DeepSeek-R1 or r1-distill-qwen-7b); default: "
    "matched by each run's preset or model name.",
)
def report(run_dirs: tuple[Path, ...], out: Path | None, fmt: str, published_as: str | None) -> int:
    """Report on run directories (or directories of runs): the DeepSeek-R1 paper's table and
    charts beside its published figures, per-task pages, per-sample drill-down, comparisons."""
    from evalr.reports import _paper_table, _render

    if fmt != "html" and out is None:
        text, notes = _paper_table(run_dirs, published_as, fmt)
        click.echo(text, nl=False)
    else:
        written, notes = _render(run_dirs, out or Path("report"), published_as, fmt)
        click.echo(f"report: {written}", err=True)
    for note in notes:  # the same notes head the HTML report
        click.echo(f"report: note: {note}", err=True)
    return 0
