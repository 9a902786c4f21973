"""All 500 MATH-500 gold answers against themselves and against their reference solutions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evalr.extract import last_boxed
from evalr.gradepool import shared_pool
from evalr.graders import MathGrader
from evalr.tasks.math500 import math500


def test_every_gold_equals_itself_through_math_verify(mirror_env: Path) -> None:
    samples = math500().load(0).problems
    # Straight to the pool: the fast path would settle identical strings without math-verify.
    verdicts = shared_pool().verify([(s.target, s.target) for s in samples])
    assert [s.id for s, v in zip(samples, verdicts, strict=True) if not v.equal] == []


def test_every_gold_equals_the_last_box_of_its_solution(mirror_env: Path) -> None:
    samples = math500().load(0).problems
    boxed = [last_boxed(s.metadata["solution"]) for s in samples]
    assert all(boxed)
    pairs = [(s.target, b or "") for s, b in zip(samples, boxed, strict=True)]
    results = asyncio.run(MathGrader().equal(pairs))
    assert [s.id for s, (eq, _) in zip(samples, results, strict=True) if not eq] == []
