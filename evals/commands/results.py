"""``evalr show`` and ``evalr score``: read and re-grade what is stored, with no model."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def show(run_dir: Path) -> int:
    """Print a run's results table."""
    from evalr.runs import open_run
    from evalr.table import results_table

    click.echo(results_table(open_run(run_dir).require_results()))
    return 0


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path), required=False)
@click.option(
    "--responses",
    type=click.Path(path_type=Path),
    help="JSONL rows with id, response[, task, gold, seed] to grade.",
)
@click.option("--task", help="Task for rows without a 'task' field (a name or a task file).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write graded rows here (default stdout); replaced only when every row graded.",
)
@click.option(
    "--sandbox",
    type=click.Choice(["docker", "local"]),
    envvar="EVALR_SANDBOX",
    help="Where model code runs for code tasks [env EVALR_SANDBOX].",
)
def score(
    run_dir: Path | None,
    responses: Path | None,
    task: str | None,
    out: Path | None,
    sandbox: str | None,
) -> int:
    """Re-grade a stored run (RUN_DIR) or existing generations (--responses), no model."""
    if run_dir is not None:
        if responses is not None or out is not None or task is not None:
            raise click.UsageError("give RUN_DIR or --responses FILE, not both")
        from evalr.regrade import rescore
        from evalr.table import results_table

        click.echo(results_table(rescore(run_dir, sandbox=sandbox)))
        return 0
    if responses is None:
        raise click.UsageError("give a RUN_DIR to re-grade or --responses FILE.jsonl")
    return _score_responses(responses, task, out, sandbox)


def _score_responses(
    responses: Path, task: str | None, out: Path | None, sandbox: str | None
) -> int:
    import sys

    from evalr.score import score_rows, summarize
    from evalr.store import write_atomic

    if out is not None:
        _check_out(responses, out)
    rows = list(_read_jsonl(responses))  # every row read and checked before any output
    graded = list(score_rows(rows, task, sandbox))
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in graded)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
    click.echo(summarize(graded, task), err=True)
    return 0


def _check_out(responses: Path, out: Path) -> None:
    from evalr.errors import ConfigError

    if out.exists() and responses.exists():
        try:
            same = os.path.samefile(out, responses)
        except OSError:
            same = False
        if same:
            raise ConfigError(f"--out {out} is the input file; write the graded rows elsewhere")
    elif out.resolve() == responses.resolve():
        raise ConfigError(f"--out {out} is the input file; write the graded rows elsewhere")
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a file path")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {out.parent} does not exist; create it first")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    from evalr.errors import DataError

    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object")
                yield row
        except UnicodeDecodeError:
            raise DataError(
                f"{path}:{lineno + 1}: not UTF-8 text; save the file as UTF-8"
            ) from None
