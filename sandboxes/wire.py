"""Host side of the runner protocol: encode a request, read the runner's events, fail closed.

Both sandboxes speak it: Docker over an exec socket, the local sandbox over pipes. Anything
other than a well-formed, complete event stream (runner killed, truncated output, garbage, the
watchdog firing) becomes a ``sandbox_error`` or a time limit, never an accepted test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalr.sandbox import Execution, Limits, Program, TestRun

RUNNER = Path(__file__).with_name("runner.py")
RUNNER_PATH = "/opt/evalr/runner.py"  # where images and the local sandbox put it
PYTHON = "/usr/bin/python3"
COMMAND = (PYTHON, "-I", "-B", RUNNER_PATH)
STOP = b"s"
_STATUSES = {"ok", "time_limit", "memory_limit", "runtime_error", "output_limit"}


def encode_request(
    program: Program, inputs: Sequence[str], limits: Limits, stop_on_failure: bool
) -> bytes:
    body = json.dumps(
        {
            "source": program.source,
            "language": program.language,
            "harness": program.harness,
            "fn_name": program.fn_name,
            "inputs": list(inputs),
            "limits": {
                "cpu_s": limits.cpu_s,
                "wall_s": limits.wall_s,
                "memory_mb": limits.memory_mb,
                "output_bytes": limits.output_bytes,
                "processes": limits.processes,
                "disk_mb": limits.disk_mb,
            },
            "stop_on_failure": stop_on_failure,
            "sweep": True,
        }
    ).encode()
    return str(len(body)).encode() + b"\n" + body


def budget_s(n_inputs: int, limits: Limits) -> float:
    """Host watchdog for one submission's tests: each at its wall limit, plus start-up slack."""
    return n_inputs * (limits.wall_s + 0.5) + 15.0


# Until the runner reports its compile step: the runner's own compile limit (45 s) plus slack.
# The tests' budget starts when that report arrives, so compile time is never run time.
COMPILE_BUDGET_S = 60.0


@dataclass
class Outcome:
    execution: Execution
    healthy: bool  # False: recycle the container (violation, runner died, dirty state)


def drive(
    read: Callable[[float], bytes | None],
    send_stop: Callable[[], None],
    n_inputs: int,
    limits: Limits,
    should_stop: Callable[[int, TestRun], bool] | None,
    budget: float | None = None,
) -> Outcome:
    """Consume the runner's events until ``done``; ``read(timeout)`` gives b"" at EOF and None
    on timeout. The watchdog: ``COMPILE_BUDGET_S`` until the compile report, then ``budget``
    seconds (default ``budget_s``) for the tests; an explicit ``budget`` covers both."""
    tests_budget = budget if budget is not None else budget_s(n_inputs, limits)
    deadline = time.monotonic() + (budget if budget is not None else COMPILE_BUDGET_S)
    buffer = b""
    runs: list[TestRun] = []
    compile_error: str | None = None
    seen_compile = done = False
    stop_sent = False
    clean = True
    while not done:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _failed(runs, "watchdog: submission exceeded its wall budget", "time_limit")
        chunk = read(remaining)
        if chunk is None:
            continue
        if not chunk:
            return _failed(runs, "runner ended without reporting (killed?)", "sandbox_error")
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                event = json.loads(line)
            except ValueError:
                return _failed(runs, "malformed runner output", "sandbox_error")
            if not seen_compile:
                if not isinstance(event, dict) or "compile" not in event:
                    return _failed(runs, "runner protocol violated", "sandbox_error")
                seen_compile, compile_error = True, event["compile"]
                if budget is None:
                    deadline = time.monotonic() + tests_budget
            elif event.get("done"):
                done, clean = True, bool(event.get("clean"))
                break
            else:
                run = _to_run(event, len(runs))
                if run is None:
                    return _failed(runs, "runner protocol violated", "sandbox_error")
                runs.append(run)
                clean = clean and event.get("scratch_clean", True) is not False
                if not stop_sent and should_stop is not None and should_stop(len(runs) - 1, run):
                    send_stop()
                    stop_sent = True
    if len(runs) > n_inputs:
        return _failed([], "runner reported more tests than it was given", "sandbox_error")
    violated = any(r.status not in ("ok", "runtime_error") for r in runs)
    return Outcome(Execution(tuple(runs), compile_error), healthy=clean and not violated)


def _to_run(event: dict, index: int) -> TestRun | None:
    try:
        if event["i"] != index or event["status"] not in _STATUSES:
            return None
        return TestRun(
            stdout=str(event["stdout"]),
            stderr=str(event["stderr"]),
            exit_code=int(event["exit"]),
            status=event["status"],
            wall_s=float(event["wall"]),
            cpu_s=float(event["cpu"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _failed(runs: list[TestRun], why: str, status: str) -> Outcome:
    tail = TestRun(stdout="", stderr=why, exit_code=None, status=status)  # type: ignore[arg-type]
    return Outcome(Execution((*runs, tail), sandbox_error=why), healthy=False)
