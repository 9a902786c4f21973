"""Terminal table, progress line and manifest helpers."""

from __future__ import annotations

import io

from evalr.manifest import prompts_sha256, scrub, sha256_json
from evalr.progress import Progress
from evalr.table import results_table
from evalr.task import Prompt
from evalr.types import Message


def _task(test_sets: dict[str, int] | None = None) -> dict:
    task = {
        "metrics": {
            "pass@1": {"value": 0.4567, "stderr": 0.1, "ci95": [0.25, 0.66], "n": 30},
            "cons@4": {"value": 0.5, "stderr": None, "ci95": [None, None], "n": 30},
        },
        "counts": {"errors": 2},
        "truncation_rate": 0.125,
        "no_answer_rate": None,
    }
    if test_sets:
        task["test_sets"] = test_sets
        task["verdicts"] = {"accepted": 3, "wrong_answer": 1}
    return task


def test_table_rows_and_percentages() -> None:
    table = results_table({"model": "fake:x", "protocol": "r1", "tasks": {"aime24": _task()}})
    lines = table.splitlines()
    assert lines[0] == "model fake:x  protocol r1"
    row = next(line for line in lines if "pass@1" in line).split()
    assert row == ["aime24", "pass@1", "45.7", "25.0-66.0", "30", "12.5", "-", "2"]
    cons = next(line for line in lines if "cons@4" in line).split()
    assert cons == ["cons@4", "50.0", "-", "30"]


def test_table_flags_partial_test_sets() -> None:
    doc = {"tasks": {"lcb": _task({"public": 3, "hidden": 1}), "full": _task({"hidden": 4})}}
    table = results_table(doc)
    assert "lcb*" in table and "full*" not in table
    assert "not comparable to published scores" in table
    assert "lcb verdicts: accepted 3, wrong_answer 1" in table


def test_progress_line_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(10, stream=stream)
    progress.advance(4, 400)
    progress.advance(1, 100, errors=1)  # within 10 s of the last line: not printed
    progress.close()
    first, final = stream.getvalue().splitlines()
    assert "4/10" in first and "ETA" in first and "tok/s" in first
    assert "5/10" in final and "elapsed" in final and "errors 1" in final


def test_quiet_progress_prints_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(3, quiet=True, stream=stream)
    progress.advance(3, 10)
    progress.close()
    assert stream.getvalue() == ""


def test_scrub_drops_credentials_at_any_depth() -> None:
    facts = {
        "backend": "openai",
        "api_key": "sk-1",
        "api_key_env": "OPENAI_API_KEY",
        "headers": {"Authorization": "Bearer sk-1", "Accept": "json"},
        "client_secret": "s",
        "password": "p",
    }
    clean = scrub(facts)
    assert clean == {
        "backend": "openai",
        "api_key_env": "OPENAI_API_KEY",
        "headers": {"Accept": "json"},
    }
    assert "sk-1" not in repr(clean)


def test_hashes_are_order_stable_and_content_sensitive() -> None:
    assert sha256_json({"a": 1, "b": [1, 2]}) == sha256_json({"b": [1, 2], "a": 1})
    assert sha256_json({"a": 1}) != sha256_json({"a": 2})
    p = Prompt((Message("user", "x"),))
    q = Prompt((Message("user", "y"),))
    assert prompts_sha256([p, q]) != prompts_sha256([q, p])
    assert prompts_sha256([p]) == prompts_sha256([Prompt((Message("user", "x"),), {"m": 1})])
