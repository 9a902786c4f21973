"""The host side of the runner protocol fails closed on anything but a complete event stream."""

from __future__ import annotations

import json
import time

from evalr.sandbox import Limits, TestRun
from evalr.sandboxes.wire import drive

LIMITS = Limits()


def _event(i: int, stdout: str = "1\n", status: str = "ok") -> dict:
    return {
        "i": i,
        "status": status,
        "exit": 0,
        "stdout": stdout,
        "stderr": "",
        "cpu": 0,
        "wall": 0,
    }


def _stream(*events: object) -> bytes:
    return b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events)


def _reader(data: bytes, chunk: int = 7):
    """Feeds ``data`` in small pieces, then EOF, as a socket would."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]

    def read(timeout: float) -> bytes | None:
        return pieces.pop(0) if pieces else b""

    return read


def test_complete_stream_gives_every_run() -> None:
    data = _stream({"compile": None}, _event(0), _event(1, "2\n"), {"done": True, "clean": True})
    outcome = drive(_reader(data), lambda: None, 2, LIMITS, None)
    assert [r.stdout for r in outcome.execution.runs] == ["1\n", "2\n"]
    assert outcome.healthy and outcome.execution.sandbox_error is None


def test_runner_dying_midway_is_a_sandbox_error() -> None:
    data = _stream({"compile": None}, _event(0))
    outcome = drive(_reader(data), lambda: None, 3, LIMITS, None)
    assert outcome.execution.sandbox_error and not outcome.healthy
    assert outcome.execution.runs[-1].status == "sandbox_error"


def test_garbage_and_forged_indices_are_rejected() -> None:
    for bad in (b"not json", json.dumps(_event(5)).encode(), json.dumps({"x": 1}).encode()):
        data = _stream({"compile": None}, bad, {"done": True, "clean": True})
        outcome = drive(_reader(data), lambda: None, 1, LIMITS, None)
        assert outcome.execution.sandbox_error, bad


def test_dirty_sweep_or_violation_recycles() -> None:
    dirty = _stream({"compile": None}, _event(0), {"done": True, "clean": False})
    assert not drive(_reader(dirty), lambda: None, 1, LIMITS, None).healthy
    tle = _stream({"compile": None}, _event(0, "", "time_limit"), {"done": True, "clean": True})
    outcome = drive(_reader(tle), lambda: None, 1, LIMITS, None)
    assert outcome.execution.runs[0].status == "time_limit" and not outcome.healthy


def test_host_asks_to_stop_after_the_first_failure() -> None:
    sent: list[int] = []
    data = _stream({"compile": None}, _event(0, "bad"), {"done": True, "clean": True})

    def should_stop(index: int, run: TestRun) -> bool:
        return run.stdout == "bad"

    drive(_reader(data), lambda: sent.append(1), 3, LIMITS, should_stop)
    assert sent == [1]


def test_watchdog_fires_when_the_runner_hangs() -> None:
    def silent(timeout: float) -> bytes | None:
        time.sleep(min(timeout, 0.05))
        return None

    start = time.monotonic()
    outcome = drive(silent, lambda: None, 1, LIMITS, None, budget=0.3)
    assert time.monotonic() - start < 2
    assert outcome.execution.runs[-1].status == "time_limit" and not outcome.healthy
