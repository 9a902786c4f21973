"""AIME 2024 and AIME 2025: 30 problems each, integer answers 0-999.

- aime24: Hub ``HuggingFaceH4/aime_2024`` (split ``train``) at revision
  ``2fe88a2f1091d5048c0f36abc874fb997b3dd99a``; offline ``aime24/aime24_qwen25math.jsonl``. Problem
  ids are the dataset's own problem ids, ``"60"`` .. ``"89"`` (2024 I/II in the AoPS url order
  both files share).
- aime25: Hub ``yentinglin/aime_2025`` (split ``train``) at revision
  ``6f71d77b0b89b9dabe07ab466c51df33f514df7f``; offline ``aime25/aime25_evalchemy.jsonl``. Problem
  ids are ``"I-1"`` .. ``"II-15"`` (exam and problem number), read from the row's id, else from
  its AoPS url, else from its position (both sources list I-1 .. II-15 in order).
- Prompt: the problem, a newline, "Please reason step by step, and put your final answer within
  \\boxed{}." as the only (user) message.
- k = 64 samples per problem (R1 protocol; cons@64 is reported).
- Grading: last ``\\boxed{}`` after the reasoning; integers compare by value (``025`` = ``25`` =
  ``25.0``); other forms fall back to mathematical equivalence (``evalr.graders.IntegerGrader``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from evalr.data import HubRef
from evalr.errors import DataError
from evalr.graders import IntegerGrader
from evalr.task import Dataset, Task
from evalr.tasks.prompts import math_prompt
from evalr.tasks.rows import field, load
from evalr.types import Problem

AIME24_HUB = HubRef("HuggingFaceH4/aime_2024", "2fe88a2f1091d5048c0f36abc874fb997b3dd99a", "train")
AIME24_MIRROR = "aime24/aime24_qwen25math.jsonl"
AIME25_HUB = HubRef("yentinglin/aime_2025", "6f71d77b0b89b9dabe07ab466c51df33f514df7f", "train")
AIME25_MIRROR = "aime25/aime25_evalchemy.jsonl"

_EXAM_ID = re.compile(r"^(I|II)-(\d{1,2})$")
_URL_ID = re.compile(r"AIME_(I|II)_Problems/Problem_(\d{1,2})")


def _integer(task: str, number: int, value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,3}", text):
        raise DataError(f"{task}: row {number} answer {text[:40]!r} is not an integer 0-999")
    return str(int(text))


def _aime24_sample(number: int, row: Mapping[str, Any]) -> Problem:
    task = "aime24"
    raw_id = field(task, number, row, "id")
    if not re.fullmatch(r"\d+", str(raw_id).strip()):
        raise DataError(f"{task}: row {number} id {raw_id!r} is not a problem number")
    return Problem(
        id=str(int(str(raw_id).strip())),
        input=str(field(task, number, row, "problem", "question")),
        target=_integer(task, number, field(task, number, row, "answer")),
        metadata={"url": row.get("url") or ""},
    )


def _aime25_id(number: int, row: Mapping[str, Any]) -> str:
    raw_id, url = str(row.get("id", "")).strip(), str(row.get("url", ""))
    match = _EXAM_ID.match(raw_id) or _URL_ID.search(url)
    if match:
        return f"{match.group(1)}-{int(match.group(2))}"
    if not 1 <= number <= 30:
        raise DataError(f"aime25: row {number} has no exam/problem id and is past row 30")
    return f"I-{number}" if number <= 15 else f"II-{number - 15}"


def _aime25_sample(number: int, row: Mapping[str, Any]) -> Problem:
    task = "aime25"
    return Problem(
        id=_aime25_id(number, row),
        input=str(field(task, number, row, "problem", "question")),
        target=_integer(task, number, field(task, number, row, "answer")),
    )


def _loader(task: str, hub: HubRef, mirror: str, adapt: Any) -> Any:
    def load_task(seed: int) -> Dataset:
        rows, info = load(task, hub, mirror)
        samples = tuple(adapt(n, row) for n, row in enumerate(rows.rows, 1))
        ids = [s.id for s in samples]
        if len(set(ids)) != len(ids):
            raise DataError(f"{task}: duplicate problem ids in {info.source}")
        return Dataset(samples, info)

    return load_task


def _aime(
    name: str,
    year: int,
    hub: HubRef,
    mirror: str,
    to_sample: Callable[[int, Mapping[str, Any]], Problem],
) -> Task:
    return Task(
        name=name,
        version="1",
        description=f"AIME {year} I+II (30 integer-answer problems)",
        load=_loader(name, hub, mirror, to_sample),
        prompt=math_prompt,
        grader=IntegerGrader(),
        default_samples=64,
    )


def aime24() -> Task:
    return _aime("aime24", 2024, AIME24_HUB, AIME24_MIRROR, _aime24_sample)


def aime25() -> Task:
    return _aime("aime25", 2025, AIME25_HUB, AIME25_MIRROR, _aime25_sample)
