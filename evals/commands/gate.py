"""``evalr gate BASELINE_RUN CANDIDATE_RUN``, and the options ``evalr run --gate-against`` shares.

Exit codes: 0 pass, 1 regression, 2 unusable input, 3 inconclusive (see ``evalr.gate``).
Imports stay light here (click only): ``evalr --help`` loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
OUTPUTS = ("markdown", "junit", "json")


def _metrics(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(m.strip() for item in value for m in item.split(",") if m.strip())
    return names or ("pass@1",)


def gate_options(command: F) -> F:
    """The gate's options, on ``evalr gate`` and on ``evalr run`` (with --gate-against)."""
    options = [
        click.option(
            "--max-drop",
            type=click.FloatRange(0, 100, max_open=True),
            default=3.0,
            show_default=True,
            metavar="POINTS",
            help="Largest tolerated drop, in points (a fail needs a larger, significant one).",
        ),
        click.option(
            "--alpha",
            type=click.FloatRange(0, 0.5, min_open=True, max_open=True),
            default=0.05,
            show_default=True,
            help="Significance level of the one-sided test for a drop.",
        ),
        click.option(
            "--power",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=0.8,
            show_default=True,
            help="Power at which the detectable drop is computed.",
        ),
        click.option(
            "--metric",
            "metrics",
            multiple=True,
            callback=_metrics,
            help="pass@1 (default), pass@k, cons@k or pass@N; repeat or comma-separate.",
        ),
        click.option(
            "--suspicious-gain",
            type=click.FloatRange(0, 100),
            default=10.0,
            show_default=True,
            metavar="POINTS",
            help="Flag (never fail) a significant rise this large: grader change? contamination?",
        ),
        click.option(
            "--markdown",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write a pull-request comment (Markdown) here.",
        ),
        click.option(
            "--junit",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write JUnit XML here (a test case per task and metric).",
        ),
        click.option(
            "--json",
            "json_out",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write the full comparison as JSON here.",
        ),
        click.option(
            "--allow-protocol-mismatch",
            is_flag=True,
            help="Gate runs whose protocols differ (the differences are noted).",
        ),
        click.option(
            "--allow-inconclusive",
            is_flag=True,
            help="Exit 0 when the gate is too weak for --max-drop (still reported).",
        ),
        click.option(
            "--allow-incomplete",
            is_flag=True,
            help="Gate tasks with missing or failed attempts over what was graded.",
        ),
        click.option(
            "--resamples",
            type=click.IntRange(min=0),
            default=10_000,
            show_default=True,
            help="Sign flips and bootstrap draws under 100 problems (0: paired t only).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _check_baseline(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Fail before the run, not after it, when the baseline cannot be gated against."""
    if value is not None:
        from evalr.gate_inputs import open_finished

        open_finished(value, "baseline")
    return value


def gate_against_options(command: F) -> F:
    """``--gate-against BASELINE_RUN`` plus the gate's options, for ``evalr run``."""
    command = gate_options(command)
    return click.option(
        "--gate-against",
        type=click.Path(path_type=Path),
        callback=_check_baseline,
        metavar="BASELINE_RUN",
        help="After the run, gate it against this run directory; exit with the gate's code.",
    )(command)


def _write(path: Path, text: str) -> None:
    from evalr.store import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def run_gate(baseline: Path, candidate: Path, kw: Mapping[str, Any]) -> int:
    """Gate, print the table, write the requested files; returns the exit code."""
    from evalr import gate_report as out
    from evalr.gate import GateSettings, gate
    from evalr.gate_inputs import UnusableInput

    files = {name: kw.get("json_out" if name == "json" else name) for name in OUTPUTS}
    settings = None
    try:
        settings = GateSettings(
            max_drop=kw["max_drop"] / 100,
            alpha=kw["alpha"],
            power=kw["power"],
            metrics=tuple(kw["metrics"]) or ("pass@1",),
            suspicious_gain=kw["suspicious_gain"] / 100,
            allow_protocol_mismatch=kw["allow_protocol_mismatch"],
            allow_inconclusive=kw["allow_inconclusive"],
            allow_incomplete=kw["allow_incomplete"],
            resamples=kw["resamples"],
        )
        report = gate(baseline, candidate, settings)
    except UnusableInput as exc:
        # CI steps that post or parse an output still find one that says why.
        texts = {
            "markdown": out.error_markdown(str(exc)),
            "junit": out.error_junit(str(exc)),
            "json": out.error_json(str(exc), settings),
        }
        for name, path in files.items():
            if path is not None:
                _write(path, texts[name])
        raise
    click.echo(out.text_table(report))
    texts = {
        "markdown": out.markdown(report),
        "junit": out.junit_xml(report),
        "json": out.json_document(report),
    }
    for name, path in files.items():
        if path is not None:
            _write(path, texts[name])
    return report.exit_code


def run_directory(out: Path | None, config: Any, results: Mapping[str, Any]) -> Path:
    """Where ``evalr run`` wrote ``results`` (its --out, else the default directory)."""
    if out is not None:
        return Path(out)
    from evalr.plan import default_out

    return default_out(config, list(results["tasks"]))


@click.command("gate")
@click.argument("baseline", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@gate_options
def gate(baseline: Path, candidate: Path, **kw: Any) -> int:
    """Fail CI when CANDIDATE_RUN is worse than BASELINE_RUN: a paired test over the problems
    both runs hold, per task and metric, with the smallest drop it could detect.

    Exit codes: 0 pass; 1 regression (a drop above --max-drop, significant at --alpha);
    2 unusable input (not a finished run, no shared task, incomplete, protocols differ);
    3 inconclusive (the detectable drop is above --max-drop) unless --allow-inconclusive.
    """
    return run_gate(baseline, candidate, kw)
