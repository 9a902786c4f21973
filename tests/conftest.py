"""Fixtures shared across the suite: the offline data mirror and the project's test server."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from evalr.testing.mirror import mirror_answer_key
from evalr.testing.oracle import AnswerKey, Oracle
from evalr.testing.server import ServerConfig
from evalr.testing.threaded import ServerThread

REPO = Path(__file__).resolve().parents[1]

# A shell that starts the suite in the background (`cmd &` without job control) hands it an
# ignored SIGINT, and ignored signals survive exec: every evalr a test starts would then shrug
# off the Ctrl-C the interruption tests send, as no user's terminal would. Caught signals are
# reset on exec, so catching it here gives every child the default, as in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def mirror_path() -> Path:
    """``$EVALR_DATA_DIR``, else ``../shared/data`` beside the checkout (as in CI)."""
    env = os.environ.get("EVALR_DATA_DIR")
    return Path(env) if env else (REPO / "../shared/data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = mirror_path()
    if not (root / "math500").is_dir():
        pytest.skip(f"no offline data mirror at {root} (set EVALR_DATA_DIR)")
    return root


@cache
def _mirror_key(root: Path) -> AnswerKey:
    return mirror_answer_key(root)


@pytest.fixture
def chat_server(data_dir: Path) -> Iterator[Callable[..., ServerThread]]:
    """Factory: ``chat_server(p_correct=0.5, latency_ms=20, ...)`` starts a loopback server that
    knows the gold answer of every mirrored AIME/MATH-500/GPQA problem. Oracle fields
    (``p_correct``, ``reasoning_style``, ...) and ServerConfig fields are both accepted."""
    started: list[ServerThread] = []
    oracle_fields = set(Oracle.__dataclass_fields__)

    def start(**options: Any) -> ServerThread:
        oracle = {k: options.pop(k) for k in list(options) if k in oracle_fields}
        config = ServerConfig(oracle=Oracle(key=_mirror_key(data_dir), **oracle), **options)
        server = ServerThread(config).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
