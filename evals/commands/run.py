"""``evalr run``: evaluate a model on tasks (a rerun resumes the run directory)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from evalr.commands.gate import gate_against_options

# LiveCodeBench's flags of the first release, kept one more release as aliases of -T options.
_LCB_ALIASES = {
    "lcb_release": "release",
    "lcb_window": "window",
    "lcb_start": "start",
    "lcb_end": "end",
    "lcb_prompt": "style",
}


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import datetime

    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-08-01") from None


def _tasks(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in value.split(",") if t.strip())
    if not names:
        raise click.BadParameter("give at least one task, e.g. --tasks aime24,math500")
    return names


def task_options(pairs: tuple[str, ...], refs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``-T key=value`` (every task that takes it) or ``-T task.key=value`` (one task)."""
    from evalr.plan import ALL_TASKS

    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"{pair!r}: write KEY=VALUE or TASK.KEY=VALUE", param_hint="-T"
            )
        scope, dot, name = key.strip().rpartition(".")
        if dot and scope not in refs:
            raise click.BadParameter(
                f"{pair!r}: {scope!r} is not one of --tasks ({', '.join(refs)})", param_hint="-T"
            )
        out.setdefault(scope if dot else ALL_TASKS, {})[name] = value
    return out


@click.command()
@click.option("--model", required=True, help="Preset name (evalr models) or BACKEND:TARGET?k=v.")
@click.option(
    "--tasks",
    required=True,
    callback=_tasks,
    help="Comma-separated: registered names, task files (*.yaml) or package.module:factory.",
)
@click.option(
    "-T",
    "--task-option",
    "options",
    multiple=True,
    metavar="[TASK.]KEY=VALUE",
    help="A task option (repeatable); `evalr tasks NAME` lists a task's options.",
)
@click.option("--samples", type=click.IntRange(min=1), help="k attempts per problem.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N problems of each task.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Requests in flight.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Run directory (default runs/MODEL/TASKS[_limitN][_kK]).",
)
@click.option("--base-url", help="OpenAI-compatible server for the model.")
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fail the run above this fraction of failed samples.",
)
@click.option(
    "--retries", type=click.IntRange(min=1), default=8, show_default=True, help="Tries per request."
)
@click.option(
    "--retry-base",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="First backoff in seconds.",
)
@click.option(
    "--think-prefix",
    is_flag=True,
    help="Force the answer to start with <think>\\n (R1 model card advice).",
)
@click.option(
    "--serve",
    type=click.Choice(["vllm", "sglang", "llamacpp"]),
    help="Start this engine server for the model, evaluate, then stop it.",
)
@click.option(
    "--sandbox",
    type=click.Choice(["docker", "local"]),
    envvar="EVALR_SANDBOX",
    help="Where model code runs (default: docker when an engine answers) [env EVALR_SANDBOX].",
)
@click.option(
    "--executor",
    type=click.Choice(["in-process", "ray"]),
    default="in-process",
    show_default=True,
    help="Where requests run: this process, or a Ray cluster (pip install 'evalr[ray]').",
)
@click.option(
    "--ray-address",
    metavar="HOST:PORT",
    help="Ray cluster for --executor ray [env RAY_ADDRESS]; neither: a local Ray for the run.",
)
@click.option("--quiet", is_flag=True, help="No progress line (CI).")
@click.option("--lcb-release", hidden=True)
@click.option("--lcb-window", hidden=True)
@click.option("--lcb-start", hidden=True, callback=_date)
@click.option("--lcb-end", hidden=True, callback=_date)
@click.option("--lcb-prompt", hidden=True, type=click.Choice(["r1", "generic"]))
@gate_against_options
def run(**kw: Any) -> int:
    """Evaluate a model on tasks; rerunning the same command resumes its run directory."""
    from dataclasses import replace

    from evalr import specs
    from evalr.errors import ConfigError, DataError
    from evalr.plan import RunConfig
    from evalr.protocol import R1
    from evalr.retry import RetryPolicy
    from evalr.runner import run as run_config
    from evalr.table import results_table

    pairs = list(kw["options"])
    for flag, option in _LCB_ALIASES.items():
        if kw[flag] is not None:
            pairs.append(f"livecodebench.{option}={kw[flag]}")
            dashed = "--" + flag.replace("_", "-")
            print(
                f"warning: {dashed} is deprecated and goes in the next release; use "
                f"-T livecodebench.{option}={kw[flag]}",
                file=sys.stderr,
            )
    if any(p.startswith("livecodebench.") for p in pairs) and "livecodebench" not in kw["tasks"]:
        pairs = [p for p in pairs if not p.startswith("livecodebench.")]
    if kw["ray_address"] and kw["executor"] != "ray":
        raise click.UsageError("--ray-address needs --executor ray")
    spec = specs.resolve(kw["model"], base_url=kw["base_url"], served=kw["serve"] is not None)
    if kw["serve"]:
        from evalr.backends.served import served_spec

        spec = served_spec(spec, kw["serve"])
    protocol = replace(R1, assistant_prefix="<think>\n") if kw["think_prefix"] else R1
    config = RunConfig(
        model=spec,
        tasks=kw["tasks"],
        samples=kw["samples"],
        limit=kw["limit"],
        seed=kw["seed"],
        concurrency=kw["concurrency"],
        out=kw["out"],
        max_error_rate=kw["max_error_rate"],
        retry=RetryPolicy(attempts=kw["retries"], base_s=kw["retry_base"]),
        quiet=kw["quiet"],
        protocol=protocol,
        task_options=task_options(tuple(pairs), kw["tasks"]),
        sandbox=kw["sandbox"],
        executor=kw["executor"],
        ray_address=kw["ray_address"],
    )
    try:
        results = run_config(config)
    except DataError as exc:
        if kw["gate_against"] is None:
            raise
        # Under --gate-against 3 means "inconclusive": a data error is unusable input (2).
        raise ConfigError(str(exc)) from None
    click.echo(results_table(results))
    if kw["gate_against"] is not None:
        from evalr.commands.gate import run_directory, run_gate

        return run_gate(kw["gate_against"], run_directory(kw["out"], config, results), kw)
    return 0
