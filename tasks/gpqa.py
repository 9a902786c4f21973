"""GPQA Diamond: 198 four-option graduate-level science questions.

- Data: Hub ``Idavidrein/gpqa`` config ``gpqa_diamond`` (split ``train``; gated: accept its terms
  and log in) at revision ``633f5ee89ab8ad4522a9f850766b73f62147ffdd``; offline
  ``gpqa_diamond/gpqa_diamond_raw.jsonl.gz`` (the official CSV's rows, options unshuffled). Problem
  ids are the dataset's ``Record ID``.
- Prompt: openai/simple-evals' multiple-choice template ("Answer the following multiple choice
  question. The last line of your response should be of the following format: 'Answer: $LETTER'
  ..."), the only (user) message. The correct answer and the three distractors are shown in a
  per-question order derived from (run seed, Record ID) with SHA-256; the order is kept in the
  sample's metadata and each record (``permutation``: option indices, 0 = correct, in display
  order). Option text is stripped of surrounding whitespace.
- k = 8 samples per question (R1 protocol).
- Grading: the letter of the answer part: the last ``Answer: X`` (also ``**Answer:** X``,
  ``Final Answer: (X)``), else ``the answer is X``, else the last ``\\boxed{X}``, else the last
  ``(X)``; correct when it is the correct option's letter (``evalr.graders.ChoiceGrader``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalr.data import HubRef
from evalr.errors import DataError
from evalr.graders import ChoiceGrader
from evalr.task import Dataset, Prompt, Task
from evalr.tasks.prompts import LETTERS, choice_prompt, permutation
from evalr.tasks.rows import field, load
from evalr.types import Message, Problem

HUB = HubRef("Idavidrein/gpqa", "633f5ee89ab8ad4522a9f850766b73f62147ffdd", "train", "gpqa_diamond")
MIRROR = "gpqa_diamond/gpqa_diamond_raw.jsonl.gz"
OPTION_FIELDS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def _sample(seed: int, number: int, row: Mapping[str, Any]) -> Problem:
    task = "gpqa_diamond"
    record = str(field(task, number, row, "Record ID")).strip()
    options = tuple(str(field(task, number, row, name)).strip() for name in OPTION_FIELDS)
    order = permutation(seed, record)
    return Problem(
        id=record,
        input=str(field(task, number, row, "Question")).strip(),
        target=LETTERS[order.index(0)],
        metadata={
            "options": options,
            "permutation": list(order),
            "domain": row.get("High-level domain"),
            "subdomain": row.get("Subdomain"),
        },
    )


def _load(seed: int) -> Dataset:
    rows, info = load("gpqa_diamond", HUB, MIRROR)
    samples = tuple(_sample(seed, n, row) for n, row in enumerate(rows.rows, 1))
    if len({s.id for s in samples}) != len(samples):
        raise DataError(f"gpqa_diamond: duplicate Record ID in {info.source}")
    return Dataset(samples, info)


def _prompt(problem: Problem) -> Prompt:
    order = problem.metadata["permutation"]
    text = choice_prompt(problem.input, problem.metadata["options"], order)
    return Prompt((Message("user", text),), meta={"permutation": list(order)})


def gpqa_diamond() -> Task:
    return Task(
        name="gpqa_diamond",
        version="1",
        description="GPQA Diamond (198 four-option science questions)",
        load=_load,
        prompt=_prompt,
        grader=ChoiceGrader(),
        default_samples=8,
    )
