"""Golden cases over the answer forms of MATH-500 and AIME, graded end to end.

Each case is a full model response, its gold answer and the right verdict. ``MathGrader`` must be
right on every one. ``raw_math_verify_wrong`` records where math-verify used as peers use it
(gold as ``\\boxed{gold}``, the whole response parsed with default settings) gets the verdict
wrong; the test re-measures that, so the record stays true and each fix stays needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest
from evalr.graders import IntegerGrader, MathGrader
from evalr.mathgrade import raw_math_verify
from evalr.types import Completion, Problem

from .cases import golden

CASES = golden("golden_math.jsonl")


def _grade(grader: MathGrader | IntegerGrader, gold: str, responses: list[str]) -> list[bool]:
    sample = Problem("case", "", gold)
    extracted = [grader.extract(sample, Completion(r)) for r in responses]
    return [g.correct for g in asyncio.run(grader.grade(sample, extracted))]


def test_golden_cases_cover_the_answer_forms() -> None:
    forms = Counter(c["form"] for c in CASES)
    for form in (
        "integer", "fraction", "decimal", "repeating", "radical", "pi", "interval", "union",
        "set", "tuple", "matrix", "complex", "text", "choice", "units", "degrees", "base",
        "equation", "thousands", "punctuation", "several_boxed", "reasoning",
    ):  # fmt: skip
        assert forms[form] >= 2, form
    assert sum(not c["correct"] for c in CASES) >= 40  # wrong answers must be rejected too


def test_our_grader_is_right_on_every_golden_case() -> None:
    grader = MathGrader()
    by_gold: dict[str, list[dict]] = {}
    for case in CASES:
        by_gold.setdefault(case["gold"], []).append(case)
    wrong = []
    for gold, cases in by_gold.items():
        verdicts = _grade(grader, gold, [c["response"] for c in cases])
        wrong += [c["id"] for c, v in zip(cases, verdicts, strict=True) if v != c["correct"]]
    assert wrong == []


def test_raw_math_verify_is_wrong_exactly_where_recorded() -> None:
    logging.disable(logging.WARNING)
    try:
        measured = {
            c["id"] for c in CASES if raw_math_verify(c["gold"], c["response"]) != c["correct"]
        }
    finally:
        logging.disable(logging.NOTSET)
    recorded = {c["id"] for c in CASES if c["raw_math_verify_wrong"]}
    assert measured == recorded
    assert len(recorded) >= 20


@pytest.mark.parametrize(
    ("gold", "answer", "correct"),
    [
        ("25", "025", True),
        ("025", "25", True),
        ("25", "25.0", True),
        ("25", "25.00", True),
        ("25", "25.5", False),
        ("25", "\\frac{50}{2}", True),
        ("204", "204 \\text{ minutes}", True),
        ("204", "240", False),
        ("0", "000", True),
        ("73", "7.3", False),
        ("73", "73^\\circ", True),
    ],
)
def test_aime_integers(gold: str, answer: str, correct: bool) -> None:
    assert _grade(IntegerGrader(), gold, [f"\\boxed{{{answer}}}"]) == [correct]
