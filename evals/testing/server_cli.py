"""``python -m evalr.testing.server``: the test server as a process, configured by flags.

Run it: ``python -m evalr.testing.server --port 0 --latency-ms 500 --fail-rate 0.2 --no-n``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from evalr.testing.mirror import mirror_answer_key
from evalr.testing.oracle import AnswerKey, Oracle
from evalr.testing.server import FAIL_MODES, ChatCompletionsServer, ServerConfig


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m evalr.testing.server",
        description="An OpenAI-compatible chat server on loopback for testing pipelines.",
    )
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--model", default="evalr-test", help="model id reported by /v1/models")
    p.add_argument(
        "--answers", type=Path, help="answer key: JSONL/JSON rows {match|sha256, answer, p?}"
    )
    p.add_argument(
        "--answers-mirror", type=Path, help="also take gold answers from this data mirror"
    )
    p.add_argument(
        "--p-correct", type=float, default=0.6, help="chance an attempt is right (default 0.6)"
    )
    p.add_argument(
        "--reasoning",
        choices=("field", "think", "none"),
        default="field",
        help="thinking in reasoning_content, inline in <think> tags, or absent",
    )
    p.add_argument("--reasoning-words", type=int, default=40, help="thinking length in tokens")
    p.add_argument(
        "--wrong-answers", type=int, default=3, help="distinct wrong answers per problem"
    )
    p.add_argument("--choice-style", choices=("answer", "boxed", "paren"), default="answer")
    p.add_argument("--no-n", action="store_true", help="ignore n: always one choice")
    p.add_argument("--ignore-seed", action="store_true", help="vary replies per call, not per seed")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument(
        "--token-latency-ms", type=float, default=0.0, help="extra latency per generated token"
    )
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument(
        "--fail-modes", default="429,500,drop", help=f"comma list of {','.join(FAIL_MODES)}"
    )
    p.add_argument("--fail-seed", type=int, default=0)
    p.add_argument("--retry-after", type=float, default=0.0, help="seconds, sent with 429")
    p.add_argument(
        "--fail-match", action="append", default=[], help="prompt substring that always fails"
    )
    p.add_argument("--hang-s", type=float, default=30.0, help="how long the hang fault stalls")
    p.add_argument(
        "--max-concurrency", type=int, help="serve at most this many at once (queue the rest)"
    )
    p.add_argument("--api-key-env", help="require the key held in this environment variable")
    p.add_argument("--strict-model", action="store_true", help="404 for any other model name")
    p.add_argument(
        "--echo-headers", action="store_true", help="repeat the Authorization header in errors"
    )
    p.add_argument("--web-page", action="store_true", help="answer every path with an HTML page")
    args = p.parse_args(argv)
    modes = tuple(m for m in args.fail_modes.split(",") if m)
    if unknown := set(modes) - set(FAIL_MODES):
        p.error(f"unknown fail modes: {', '.join(sorted(unknown))}")
    args.fail_modes = modes
    return args


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    entries = AnswerKey.load(args.answers).entries if args.answers else ()
    if args.answers_mirror:
        entries += mirror_answer_key(args.answers_mirror).entries
    key = AnswerKey(entries)
    oracle = Oracle(
        key=key,
        p_correct=args.p_correct,
        reasoning_style=args.reasoning,
        reasoning_words=args.reasoning_words,
        wrong_answers=args.wrong_answers,
        choice_style=args.choice_style,
    )
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        raise SystemExit(f"error: environment variable {args.api_key_env} is not set")
    return ServerConfig(
        oracle=oracle,
        model=args.model,
        supports_n=not args.no_n,
        honors_seed=not args.ignore_seed,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        token_latency_ms=args.token_latency_ms,
        fail_rate=args.fail_rate,
        fail_modes=args.fail_modes,
        fail_seed=args.fail_seed,
        retry_after_s=args.retry_after,
        fail_match=tuple(args.fail_match),
        hang_s=args.hang_s,
        max_concurrency=args.max_concurrency,
        api_key=api_key,
        strict_model=args.strict_model,
        echo_headers=args.echo_headers,
        web_page=args.web_page,
    )


async def _serve_forever(config: ServerConfig, port: int) -> None:
    server = ChatCompletionsServer(config)
    await server.start(port)
    print(f"listening on {server.url}", flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    config = config_from_args(args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(config, args.port))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
