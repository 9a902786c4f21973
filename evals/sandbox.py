"""The sandbox seam: run untrusted programs on tests. Implementations live in evalr.sandboxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Verdict = Literal[
    "accepted",
    "wrong_answer",
    "time_limit",
    "memory_limit",
    "runtime_error",
    "compile_error",
    "no_code",
]


@dataclass(frozen=True)
class Limits:
    cpu_s: float = 6.0
    wall_s: float = 10.0
    memory_mb: int = 512
    output_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class TestRun:
    """One program run on one input; expected outputs stay on the host."""

    stdout: str
    stderr: str
    exit_code: int | None
    status: Literal["ok", "time_limit", "memory_limit", "runtime_error", "output_limit"]
    wall_s: float = 0.0
    cpu_s: float = 0.0


@dataclass(frozen=True)
class Program:
    language: Literal["python", "cpp"]
    source: str
    # Functional (LeetCode-style) problems call a method instead of reading stdin.
    entry: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Sandbox(Protocol):
    isolation: str  # "docker", "bubblewrap", "unshare": reported in manifests and checks

    async def run(self, program: Program, inputs: Sequence[str], limits: Limits) -> list[TestRun]:
        """Run the program once per input inside one fresh process tree; no state survives."""
        ...

    def describe(self) -> Mapping[str, Any]: ...

    async def aclose(self) -> None: ...
