"""MATH-500: the 500-problem test subset of MATH from "Let's Verify Step by Step".

- Data: Hub ``HuggingFaceH4/MATH-500`` (split ``test``) at revision
  ``6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be``; offline ``math500/test.jsonl`` (the same rows as
  openai/prm800k's ``math_splits/test.jsonl``). Problem ids are the dataset's ``unique_id``
  (e.g. ``test/precalculus/807.json``).
- Prompt: the problem, a newline, "Please reason step by step, and put your final answer within
  \\boxed{}." as the only (user) message.
- k = 4 samples per problem (R1 protocol).
- Grading: last ``\\boxed{}`` after the reasoning, compared with the ``answer`` field by
  mathematical equivalence (math-verify in worker processes, behind our own fast paths and fixes:
  ``evalr.mathgrade``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalr.data import HubRef
from evalr.errors import DataError
from evalr.graders import MathGrader
from evalr.task import Dataset, Task
from evalr.tasks.prompts import math_prompt
from evalr.tasks.rows import field, load
from evalr.types import Problem

HUB = HubRef("HuggingFaceH4/MATH-500", "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be", "test")
MIRROR = "math500/test.jsonl"


def _sample(number: int, row: Mapping[str, Any]) -> Problem:
    task = "math500"
    return Problem(
        id=str(field(task, number, row, "unique_id")),
        input=str(field(task, number, row, "problem")),
        target=str(field(task, number, row, "answer")),
        metadata={
            "subject": row.get("subject"),
            "level": row.get("level"),
            "solution": row.get("solution") or "",
        },
    )


def _load(seed: int) -> Dataset:
    rows, info = load("math500", HUB, MIRROR)
    samples = tuple(_sample(n, row) for n, row in enumerate(rows.rows, 1))
    if len({s.id for s in samples}) != len(samples):
        raise DataError(f"math500: duplicate unique_id in {info.source}")
    return Dataset(samples, info)


def math500() -> Task:
    return Task(
        name="math500",
        version="2",  # 2: multiple-choice letters inside any formatting command
        description="MATH-500 (500 competition problems, free-form answers)",
        load=_load,
        prompt=math_prompt,
        grader=MathGrader(),
        default_samples=4,
    )
