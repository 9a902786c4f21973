"""The vocabulary every stage shares: small frozen values, nothing mutated in flight."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "error", "unknown"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: content only, no run configuration."""

    id: str
    input: str
    target: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


# The first release called a problem a Sample; kept so plugins written then still import.
Sample = Problem


@dataclass(frozen=True)
class Sampling:
    """Sampling settings as resolved for a run (protocol, then preset, then CLI)."""

    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class GenerationRequest:
    """What the runner asks a backend for: ``len(seeds)`` attempts of one prompt.

    Each attempt has its own seed, derived from (run seed, task, sample id, attempt), so a
    seed-honouring server never returns k identical samples.
    """

    messages: tuple[Message, ...]
    sampling: Sampling
    seeds: tuple[int, ...]
    # Text the assistant turn is forced to start with (R1's "<think>\n" recommendation).
    assistant_prefix: str = ""

    @property
    def n(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Tokens spent thinking; reported by the API or estimated from the reasoning text.
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """One attempt's output, with reasoning split from the final answer."""

    text: str
    reasoning: str | None = None
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    # The exact parameters the backend sent for this attempt (never credentials).
    request: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None
    # Code tasks: accepted, wrong_answer, time_limit, ...; None for answer-matching tasks.
    verdict: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    # The representative answer of this answer's equivalence class among the problem's attempts
    # (evalr.grading): equal strings vote together in cons@k. None: no answer, or no voting.
    answer_class: str | None = None


@dataclass(frozen=True)
class MetricValue:
    """One aggregate number; display names like ``pass@8`` are derived, never parsed."""

    name: str
    value: float
    stderr: float
    ci95: tuple[float, float]
    n: int
    k: int | None = None
    # Facts a reader needs to interpret the number (a rating's method, distribution, contests).
    details: Mapping[str, Any] = field(default_factory=dict)
    # How ci95 was made: "t" (Student t over problems), "bootstrap-t" (problem-level
    # studentized bootstrap, under 100 problems), "wilson" (every problem scored the same).
    ci_method: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}@{self.k}" if self.k is not None else self.name
