"""Equivalence groups for cons@k: votes count answers, not strings."""

from __future__ import annotations

import asyncio

from evalr.graders import ChoiceGrader, IntegerGrader, MathGrader
from evalr.types import Problem


def _groups(labels: list[int]) -> list[set[int]]:
    found: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        found.setdefault(label, set()).add(i)
    return sorted(found.values(), key=min)


def test_math_answers_group_by_value() -> None:
    answers = ["\\frac12", "0.5", "2", "1/2", "\\dfrac{1}{2}", "\\sqrt{4}", "x", "3"]
    labels = asyncio.run(MathGrader().classes(Problem("q", "", "1/2"), answers))
    assert _groups(labels) == [{0, 1, 3, 4}, {2, 5}, {6}, {7}]


def test_math_groups_sets_and_intervals() -> None:
    answers = ["\\{1,2\\}", "\\{2, 1\\}", "(1,2)", "[1,2]", "(1, 2)"]
    labels = asyncio.run(MathGrader().classes(Problem("q", "", "(1,2)"), answers))
    assert _groups(labels) == [{0, 1}, {2, 4}, {3}]


def test_aime_integers_group_by_value() -> None:
    answers = ["025", "25", "25.0", "24"]
    labels = asyncio.run(IntegerGrader().classes(Problem("q", "", "25"), answers))
    assert _groups(labels) == [{0, 1, 2}, {3}]


def test_choice_letters_group_by_letter() -> None:
    labels = asyncio.run(ChoiceGrader().classes(Problem("q", "", "B"), ["B", "c", "C", "b", "A"]))
    assert _groups(labels) == [{0, 3}, {1, 2}, {4}]


def test_describe_names_grader_and_packages() -> None:
    info = MathGrader().describe()
    assert info["grader"] == "math" and info["version"]
    assert set(info["packages"]) >= {"math-verify", "latex2sympy2_extended", "sympy"}
    assert all(v != "missing" for v in info["packages"].values())
