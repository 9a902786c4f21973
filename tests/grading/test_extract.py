"""Answer extraction: the last complete box of the answer part; GPQA letters."""

from __future__ import annotations

import pytest
from evalr.extract import answer_part, boxed_all, extract_boxed, extract_choice, last_boxed

from .cases import golden


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
        ("\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}", "\\left(3, \\frac{\\pi}{2}\\right)"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces do not close the box
        ("\\boxed {7}", "7"),
        ("\\fbox{12}", "12"),
        ("thus \\boxed 8 is it", "8"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{1} then \\boxed{\\frac{2}{", "1"),  # a cut-off last box is skipped
        ("no box here", None),
        ("\\boxed{}", None),
        ("\\boxedx{3}", None),
    ],
)
def test_last_box(text: str, expected: str | None) -> None:
    assert extract_boxed(text) == expected


def test_all_boxes_in_order() -> None:
    assert boxed_all("\\boxed{a} x \\fbox{b} \\boxed{c{d}e}") == ["a", "b", "c{d}e"]
    assert last_boxed("") is None


def test_answer_part_follows_the_last_think_close() -> None:
    assert answer_part("<think>a</think>b</think>c") == "c"
    assert answer_part("<think>still thinking \\boxed{3}") == ""
    assert answer_part("plain \\boxed{3}") == "plain \\boxed{3}"
    assert extract_boxed("<think>\\boxed{1}</think>\n\\boxed{2}") == "2"
    assert extract_boxed("<think>\\boxed{1}") is None


@pytest.mark.parametrize("case", golden("golden_choice.jsonl"), ids=lambda c: c["id"])
def test_choice_letter(case: dict) -> None:
    assert extract_choice(case["response"]) == case["letter"]
