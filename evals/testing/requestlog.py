"""What the test server saw: requests per (prompt, seed), statuses, parameters, concurrency.

Tests read it (``GET /stats``) to prove a resumed run asked for nothing it had stored, that every
attempt had its own seed, and that the client sent the protocol's sampling settings.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# (prompt sha256, seed as sent by the client)
RequestKey = tuple[str, Any]
_PARAM_NAMES = ("model", "temperature", "top_p", "max_tokens", "n")


@dataclass
class RequestLog:
    received: Counter[RequestKey] = field(default_factory=Counter)
    answered: Counter[RequestKey] = field(default_factory=Counter)
    per_prompt: Counter[str] = field(default_factory=Counter)
    heads: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    params: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    unmatched: set[str] = field(default_factory=set)
    # Prompts the answer key knows (task prompts), apart from a client's own probes.
    known: set[str] = field(default_factory=set)
    choices: int = 0
    known_choices: int = 0
    correct: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # Wall-clock times (time.time()) of the first known request and the last known answer, so a
    # benchmark can split a client's run into start-up, serving, and wind-down.
    first_known_at: float | None = None
    last_known_answer_at: float | None = None

    def arrive(
        self, key: RequestKey, head: str, params: tuple[Any, ...], known: bool
    ) -> tuple[int, int]:
        """Count an arriving request; returns how often its key and its prompt came before."""
        before_key, before_prompt = self.received[key], self.per_prompt[key[0]]
        if known:
            self.known.add(key[0])
            if self.first_known_at is None:
                self.first_known_at = time.time()
        self.received[key] += 1
        self.per_prompt[key[0]] += 1
        self.heads.setdefault(key[0], head)
        if known:  # a client's probes would blur what it sent for real work
            self.params[params] += 1
        return before_key, before_prompt

    def enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1

    def snapshot(self, detail: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "received": sum(self.received.values()),
            "answered": sum(self.answered.values()),
            "statuses": dict(self.statuses),
            "choices": self.choices,
            "known": {
                "received": sum(c for (sha, _), c in self.received.items() if sha in self.known),
                "answered": sum(c for (sha, _), c in self.answered.items() if sha in self.known),
                "choices": self.known_choices,
                "first_request_at": self.first_known_at,
                "last_answer_at": self.last_known_answer_at,
            },
            "correct": self.correct,
            "unmatched_prompts": len(self.unmatched),
            "max_in_flight": self.max_in_flight,
            # (prompt, seed) pairs answered more than once: a client re-asking for stored work.
            "duplicates": sum(1 for c in self.answered.values() if c > 1),
            "params": [
                dict(zip(_PARAM_NAMES, k, strict=True)) | {"count": c}
                for k, c in self.params.items()
            ],
        }
        if detail:
            out["unmatched"] = sorted(self.heads.get(sha, "") for sha in self.unmatched)
            out["requests"] = [
                {
                    "prompt_sha256": sha,
                    "prompt_head": self.heads.get(sha, ""),
                    "seed": seed,
                    "received": count,
                    "answered": self.answered.get((sha, seed), 0),
                }
                for (sha, seed), count in self.received.items()
            ]
        return out
