"""``score_rows`` / ``summarize``: re-grading stored responses by dataset id, no model."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalr.errors import ConfigError, DataError, EvalrError
from evalr.score import score_rows, summarize
from evalr.tasks.gpqa import gpqa_diamond
from evalr.tasks.prompts import LETTERS

POLAR = "test/precalculus/807.json"  # gold \left( 3, \frac{\pi}{2} \right)


def test_rows_keep_their_fields_and_gain_a_verdict(mirror_env: Path) -> None:
    rows = [
        {"id": POLAR, "response": "<think>\\boxed{(0,3)}</think>\n\\boxed{(3, \\pi/2)}", "m": 1},
        {"id": POLAR, "response": "\\boxed{(3, \\pi)}", "task": "math500"},
        {"id": POLAR, "response": "<think>\\boxed{(3, \\frac{\\pi}{2})} and then I ran out"},
        {"id": "60", "response": "so \\boxed{204}", "task": "aime24"},
        {"id": 60, "response": "so \\boxed{0204}", "task": "aime24"},
    ]
    out = list(score_rows(rows, "math500"))
    assert [r["correct"] for r in out] == [True, False, False, True, True]
    assert [r["extracted"] for r in out] == ["(3, \\pi/2)", "(3, \\pi)", None, "204", "0204"]
    assert out[0]["m"] == 1 and "task" not in out[0] and out[1]["task"] == "math500"
    assert summarize(out, "math500") == "aime24: n=2 accuracy 100.0%; math500: n=3 accuracy 33.3%"


def test_gold_overrides_the_dataset_answer(mirror_env: Path) -> None:
    rows = [
        {"id": "60", "response": "\\boxed{7}", "gold": 7},
        {"id": "60", "response": "\\boxed{7}"},
    ]
    assert [r["correct"] for r in score_rows(rows, "aime24")] == [True, False]


def test_gpqa_rows_are_graded_against_their_seeds_option_order(mirror_env: Path) -> None:
    sample = gpqa_diamond().load(3).problems[0]
    letter = LETTERS[list(sample.metadata["permutation"]).index(0)]
    rows = [{"id": sample.id, "response": f"Answer: {letter}", "seed": 3}]
    assert next(score_rows(rows, "gpqa_diamond"))["correct"] is True


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        ([{"id": POLAR, "response": "x"}, {"id": "nope", "response": "x"}], DataError,
         "row 2: math500 has no problem with id 'nope'"),
        ([{"id": POLAR, "response": "x", "task": "math5000"}], ConfigError, "row 1: unknown task"),
        ([{"id": POLAR}], DataError, "row 1: 'response' must be a string"),
        ([{"response": "x"}], DataError, "row 1: missing or invalid 'id'"),
        ([["not", "an", "object"]], DataError, "row 1: not a JSON object"),
        ([{"id": POLAR, "response": "x", "seed": "1"}], DataError, "row 1: 'seed'"),
    ],
)  # fmt: skip
def test_bad_rows_fail_with_one_line_naming_the_row(
    mirror_env: Path, rows: list, error: type[EvalrError], message: str
) -> None:
    with pytest.raises(error) as info:
        list(score_rows(rows, "math500"))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_rows_without_a_task_need_a_default(mirror_env: Path) -> None:
    with pytest.raises(DataError, match="row 1: no 'task' field and no --task given"):
        list(score_rows([{"id": POLAR, "response": "x"}], None))
