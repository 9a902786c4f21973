"""``evalr leaderboard RUNS_ROOT --out SITE_DIR``: the click command (registered through the
``evalr.commands`` entry point). Imports nothing heavy until it runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("runs_root", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "site",
    required=True,
    type=click.Path(path_type=Path),
    help="Site directory: created, or updated when it holds a site built before.",
)
@click.option("--title", default="evalr leaderboard", show_default=True, help="Site title.")
@click.option(
    "--alpha",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of the Holm-corrected paired tests behind tie groups.",
)
@click.option(
    "--reports/--no-reports",
    default=True,
    show_default=True,
    help="Render each run's full report (evalr report) into the site and link it.",
)
@click.option("--rebuild", is_flag=True, help="Render every run again, even unchanged ones.")
def leaderboard(
    runs_root: Path, site: Path, title: str, alpha: float, reports: bool, rebuild: bool
) -> int:
    """Build a static leaderboard site from every run directory under RUNS_ROOT.

    The site ranks models per task, metric and protocol, with tie groups from paired tests
    over shared problems, and links a page per model, per run and each run's report. It opens
    from disk and on any static host (GitHub Pages) as it is. Rebuilding renders only runs
    whose files changed; the new site replaces the old one only once it is complete.
    """
    from .build import build_site

    summary = build_site(
        runs_root, site, title=title, alpha=alpha, reports=reports, rebuild=rebuild
    )
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(summary.line())
    return 0
