"""The ``evalr`` command. Imports stay inside handlers so ``evalr --help`` is instant."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn


def _tasks_arg(text: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one task, e.g. --tasks aime24,math500")
    return names


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be a fraction between 0 and 1")
    return value


def _date(text: str) -> str:
    import datetime

    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-08-01") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that points at --help, not the usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="evalr",
        description="Reproducible evaluation of reasoning LLMs (DeepSeek-R1 protocol).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    run = sub.add_parser("run", help="evaluate a model on tasks (resumes an existing run dir)")
    run.add_argument(
        "--model", required=True, help="preset name (evalr models) or BACKEND:TARGET?k=v"
    )
    run.add_argument("--tasks", required=True, type=_tasks_arg, help="comma-separated task names")
    run.add_argument("--samples", type=_positive, help="k attempts per problem (default: protocol)")
    run.add_argument("--limit", type=_positive, help="only the first N problems of each task")
    run.add_argument(
        "--seed", type=int, default=0, help="run seed (per-attempt seeds derive from it)"
    )
    run.add_argument("--concurrency", type=_positive, default=16, help="requests in flight")
    run.add_argument("--out", type=Path, help="run directory (default runs/MODEL/TASKS)")
    run.add_argument("--base-url", help="OpenAI-compatible server for the model")
    run.add_argument(
        "--max-error-rate",
        type=_rate,
        default=0.0,
        help="fail the run above this fraction of failed samples (default 0)",
    )
    run.add_argument("--retries", type=_positive, default=8, help="tries per request")
    run.add_argument("--retry-base", type=float, default=1.0, help="first backoff in seconds")
    run.add_argument(
        "--think-prefix",
        action="store_true",
        help="force the answer to start with <think>\\n (R1 model card advice)",
    )
    run.add_argument("--serve", choices=("vllm", "sglang", "llamacpp"),
                     help="start this engine server for the model, evaluate, then stop it")
    run.add_argument("--quiet", action="store_true", help="no progress bar (CI)")
    lcb = run.add_argument_group("livecodebench")
    lcb.add_argument("--lcb-release", help="release_v1 ... release_v6 (default release_v5)")
    lcb.add_argument("--lcb-window", help="r1 (2024-08-01..2025-01-31, default) or none")
    lcb.add_argument("--lcb-start", type=_date, metavar="YYYY-MM-DD",
                     help="first contest date (inclusive)")
    lcb.add_argument("--lcb-end", type=_date, metavar="YYYY-MM-DD",
                     help="last contest date (inclusive)")
    lcb.add_argument("--lcb-prompt", choices=("r1", "generic"), help="prompt format")
    run.add_argument("--sandbox", choices=("docker", "local"),
                     help="where model code runs (default docker when an engine answers; "
                     "same as EVALR_SANDBOX)")

    from evalr import sandbox_cli

    sandbox_cli.add_parser(sub)
    sub.add_parser("tasks", help="list tasks")
    sub.add_parser("models", help="list model presets")
    show = sub.add_parser("show", help="print a run's results table")
    show.add_argument("run_dir", type=Path)
    score = sub.add_parser("score", help="re-grade responses (JSONL) or a stored run, no model")
    score.add_argument("run_dir", type=Path, nargs="?", help="a run directory to re-grade")
    score.add_argument("--responses", type=Path, help="JSONL rows with id, response[, task, gold]")
    score.add_argument("--task", help="task for rows without a 'task' field")
    score.add_argument("--out", type=Path, help="write graded rows here (default stdout)")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from evalr import specs
    from evalr.protocol import R1
    from evalr.retry import RetryPolicy
    from evalr.runner import RunConfig, run
    from evalr.table import results_table

    spec = specs.resolve(args.model, base_url=args.base_url, serve=args.serve)
    if args.sandbox:
        # Isolation, not grading: kept out of the protocol, so a resume may switch sandboxes.
        os.environ["EVALR_SANDBOX"] = args.sandbox
    lcb = {
        key: value
        for key, value in (
            ("release", args.lcb_release), ("start", args.lcb_start), ("end", args.lcb_end),
            ("style", args.lcb_prompt),
            ("window", None if args.lcb_window == "none" else args.lcb_window),
        )
        if value is not None or (key == "window" and args.lcb_window == "none")
    }
    protocol = R1
    if args.think_prefix:
        from dataclasses import replace

        protocol = replace(R1, assistant_prefix="<think>\n")
    config = RunConfig(
        model=spec,
        tasks=args.tasks,
        samples=args.samples,
        limit=args.limit,
        seed=args.seed,
        concurrency=args.concurrency,
        out=args.out,
        max_error_rate=args.max_error_rate,
        retry=RetryPolicy(attempts=args.retries, base_s=args.retry_base),
        quiet=args.quiet,
        protocol=protocol,
        task_options={"livecodebench": lcb} if lcb and "livecodebench" in args.tasks else {},
    )
    results = run(config)
    print(results_table(results))
    return 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    from evalr import registry
    from evalr.runner import build_task

    for name in registry.names("task"):
        try:
            task = build_task(name, {})
            line = task.description.strip().splitlines()[0] if task.description else ""
            print(f"{name:16} k={task.default_samples:<3} {line}")
        except Exception as exc:  # a broken plugin must not hide the others
            print(f"{name:16} (unavailable: {exc})")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from evalr import specs

    for name, spec in specs.presets().items():
        print(f"{name:22} {spec.text}\n{'':22} {spec.description}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from evalr.store import RunStore
    from evalr.table import results_table

    print(results_table(RunStore(args.run_dir).read_results()))
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    if args.run_dir is not None:
        from evalr.rescore import rescore
        from evalr.table import results_table

        print(results_table(rescore(args.run_dir)))
        return 0
    if args.responses is None:
        raise SystemExit("evalr score: give a RUN_DIR or --responses FILE.jsonl")
    from evalr.score import score_rows, summarize

    outputs: list[dict[str, Any]] = []
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        for row in score_rows(_read_jsonl(args.responses), args.task):
            outputs.append(row)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if args.out:
            out.close()
    print(summarize(outputs, args.task), file=sys.stderr)
    return 0


def _read_jsonl(path: Path) -> Any:
    from evalr.errors import DataError

    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
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


_COMMANDS = {
    "run": _cmd_run,
    "tasks": _cmd_tasks,
    "models": _cmd_models,
    "show": _cmd_show,
    "score": _cmd_score,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from evalr.errors import EvalrError

    try:
        handler = getattr(args, "handler", None) or _COMMANDS[args.command]
        return int(handler(args))
    except EvalrError as exc:
        print(f"evalr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "evalr: interrupted; stored work is kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
