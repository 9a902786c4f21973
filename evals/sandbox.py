"""The sandbox seam: run untrusted programs on tests. Implementations live in evalr.sandboxes.

The engine never imports ``evalr.sandboxes``; it finds implementations by name through the
registry (``open_sandbox``). Expected outputs never enter a sandbox: it returns what the program
printed, and the host compares.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from evalr import registry
from evalr.errors import SandboxError

Verdict = Literal[
    "accepted",
    "wrong_answer",
    "time_limit",
    "memory_limit",
    "runtime_error",
    "compile_error",
    "no_code",
]
Status = Literal[
    "ok", "time_limit", "memory_limit", "runtime_error", "output_limit", "sandbox_error"
]
# "script": run as __main__ with the input on stdin. "lcb_stdin" / "lcb_call": LiveCodeBench's
# own harness (wrapped function with patched stdin; or a Solution method called with JSON args).
# "checker": a checker program; each input is JSON {input, expected, output}, written to
# input.txt, correct_output.txt, solution_output.txt and passed as argv[1:4].
Harness = Literal["script", "lcb_stdin", "lcb_call", "checker"]

log = logging.getLogger("evalr.sandbox")


@dataclass(frozen=True)
class Limits:
    """Per-test limits; the sandbox adds its own headroom for the whole submission."""

    cpu_s: float = 6.0
    wall_s: float = 10.0
    memory_mb: int = 1024
    output_bytes: int = 16 * 1024 * 1024
    processes: int = 64  # threads count too
    disk_mb: int = 64  # largest file a test may write (its scratch space is a tmpfs)


@dataclass(frozen=True)
class TestRun:
    """One program run on one input; expected outputs stay on the host."""

    __test__ = False  # not a pytest class

    stdout: str
    stderr: str
    exit_code: int | None
    status: Status
    wall_s: float = 0.0
    cpu_s: float = 0.0


@dataclass(frozen=True)
class Program:
    # "cpp": compiled once per submission with g++ inside the sandbox; harness must be "script".
    language: Literal["python", "cpp"]
    source: str
    harness: Harness = "script"
    fn_name: str | None = None  # lcb_call: the Solution method to call


@dataclass(frozen=True)
class Execution:
    """What one submission did: a compile error, or one TestRun per test that ran.

    Fewer runs than inputs means the submission stopped early (a failing test with
    ``stop_on_failure``, or the host asked it to stop). ``sandbox_error`` is set when the sandbox
    itself misbehaved (runner died, watchdog fired); the submission then counts as failed.
    """

    runs: tuple[TestRun, ...]
    compile_error: str | None = None
    sandbox_error: str | None = None


@runtime_checkable
class Sandbox(Protocol):
    isolation: str  # "docker", "bubblewrap": reported in manifests and checks

    async def run(
        self,
        program: Program,
        inputs: Sequence[str],
        limits: Limits,
        *,
        stop_on_failure: bool = True,
        should_stop: Any = None,
    ) -> Execution:
        """Run the program once per input inside one fresh process tree; no state survives.

        ``should_stop(index, run) -> bool`` is called on the host as each test finishes; True
        asks the sandbox to skip the remaining tests (the host saw a wrong answer).
        """
        ...

    def describe(self) -> Mapping[str, Any]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Availability:
    name: str
    usable: bool
    detail: str  # why not, or what it will use
    strength: Literal["strong", "weaker"] = "strong"
    extra: Mapping[str, Any] = field(default_factory=dict)


def availability(name: str) -> Availability:
    """Whether the named sandbox can run here (each implementation has a ``probe()``)."""
    return registry.load("sandbox", name).probe()


def open_sandbox(name: str | None = None, **options: Any) -> Sandbox:
    """The named sandbox, or the default: docker if an engine answers, else local (weaker).

    A fallback to the weaker local sandbox is logged as a warning and recorded in
    ``describe()``; it is never taken while a Docker engine answers.
    """
    if name is not None:
        found = availability(name)
        if not found.usable:
            raise SandboxError(f"sandbox {name!r} is not usable here: {found.detail}")
        if found.strength == "weaker" and availability("docker").usable:
            log.warning("sandbox %r chosen while a Docker engine answers: weaker isolation", name)
        return registry.load("sandbox", name)(**options)
    docker = availability("docker")
    if docker.usable:
        return registry.load("sandbox", "docker")(**options)
    local = availability("local")
    if not local.usable:
        raise SandboxError(
            f"no sandbox available: docker: {docker.detail}; local: {local.detail} "
            "(start a Docker engine, or install bubblewrap)"
        )
    log.warning(
        "no Docker engine (%s); running untrusted code in the local bubblewrap sandbox, "
        "which isolates less than a container",
        docker.detail,
    )
    return registry.load("sandbox", "local")(fallback_reason=docker.detail, **options)
