"""A deterministic in-process backend for tests and dry runs (no network, no model).

Spec: ``fake:MODE?answer=42&fail_rate=0.1&latency_s=0``. Modes: ``constant`` always answers
``answer``; ``seeded`` answers an integer 0-999 derived from the prompt and seed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.errors import ConfigError, TransientBackendError
from evalr.specs import ModelSpec
from evalr.types import Completion, GenerationRequest, Usage


def _unit(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


class FakeBackend:
    def __init__(self, spec: ModelSpec) -> None:
        if spec.target not in ("constant", "seeded"):
            raise ConfigError(f"fake backend: mode must be constant or seeded, not {spec.target!r}")
        self.mode = spec.target
        unknown = sorted(set(spec.options) - {"answer", "fail_rate", "latency_s"})
        if unknown:
            raise ConfigError(f"fake backend: unknown option {unknown[0]!r}")
        try:
            self.answer = spec.options.get("answer", "42")
            self.fail_rate = float(spec.options.get("fail_rate", "0"))
            self.latency_s = float(spec.options.get("latency_s", "0"))
        except ValueError:
            raise ConfigError("fake backend: fail_rate and latency_s must be numbers") from None
        self.calls = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=True, seeds=True)

    async def start(self, run_dir: Path) -> None:
        return None

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        self.calls += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        prompt = request.messages[-1].content
        out = []
        for seed in request.seeds:
            if self.fail_rate and _unit(prompt, seed, "fail") % 10_000 < self.fail_rate * 10_000:
                raise TransientBackendError("injected failure")
            answer = self.answer if self.mode == "constant" else str(_unit(prompt, seed) % 1000)
            out.append(
                Completion(
                    text=f"The answer is $\\boxed{{{answer}}}$.",
                    reasoning=f"Thinking about seed {seed}.",
                    usage=Usage(len(prompt.split()), 12, 4),
                    request={"seed": seed, **request.sampling.as_dict()},
                    model=f"fake-{self.mode}",
                )
            )
        return out

    def describe(self) -> Mapping[str, Any]:
        return {"backend": "fake", "mode": self.mode}

    async def aclose(self) -> None:
        return None
