"""The codeforces task: presets from the mirror, samples, prompt, extraction, comparison rules,
the rating metrics on graded attempts, and the ``evalr codeforces`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from evalr.errors import ConfigError, DataError
from evalr.metrics import Attempt, ProblemAttempts
from evalr.tasks.codeforces import codeforces
from evalr.tasks.codeforces.checking import TokenCompare
from evalr.tasks.codeforces.cli import codeforces as command
from evalr.tasks.codeforces.grading import CodeforcesGrader, extract_program, split_program
from evalr.tasks.codeforces.problems import build_presets, preset_ids
from evalr.tasks.codeforces.standings import load_contests
from evalr.tasks.codeforces.statement import facts, html_text
from evalr.types import Completion, Problem

PACKAGE = Path(__file__).resolve().parents[2] / "tasks" / "codeforces"


@pytest.mark.parametrize(
    ("preset", "judged", "interactive", "label"),
    [
        ("codecontests", 162, 3, "Codeforces"),
        ("2024", 391, 17, "Codeforces (sample tests only)"),
        ("2020", 38, 1, "Codeforces (sample tests only)"),
    ],
)
def test_presets_load_offline_and_count_what_they_skip(
    mirror_env: Path, preset: str, judged: int, interactive: int, label: str
) -> None:
    task = codeforces(problems=preset)
    data = task.load(0)
    assert len(data.problems) == judged == data.facts["problems"]
    assert len(data.facts["skipped"]["interactive"]) == interactive
    assert judged + interactive == len(preset_ids()[preset])
    assert data.facts["label"] == label
    assert data.info.source.startswith("mirror:codeforces/")
    assert len(data.info.extra["sha256"]) == 64
    sample = data.problems[0]
    meta = sample.metadata
    assert sample.id == f"{meta['contest_id']}{meta['index']}"
    assert meta["time_limit_s"] > 0 and meta["memory_mb"] >= 32
    assert meta["tests"]["inputs"] and len(meta["tests"]["inputs"]) == len(meta["tests"]["outputs"])
    assert task.majority_vote is False and task.params["language"] == "cpp"
    facts_ = data.facts["problem_facts"][sample.id]
    assert facts_ == [
        meta["contest_id"], meta["index"], meta["rating"], meta["time_limit_s"],
        meta["memory_mb"], meta["test_set"],
    ]  # fmt: skip


def test_sample_metadata_records_the_problem(mirror_env: Path) -> None:
    samples = {s.id: s for s in codeforces(problems="codecontests").load(0).problems}
    cyclic = samples["1575C"].metadata
    assert (cyclic["contest_id"], cyclic["index"], cyclic["rating"]) == (1575, "C", 3000)
    assert cyclic["test_set"] == "codecontests" and cyclic["sample_tests_only"] is False
    assert samples["1599C"].metadata["time_limit_s"] == 0.5  # CodeContests' 0.5 s, not 0
    assert "Time Limit" not in samples["1575A"].input  # the prompt states limits once


def test_contests_select_across_presets(mirror_env: Path) -> None:
    task = codeforces(contests="1350, 1579")
    ids = {s.id for s in task.load(0).problems}
    assert {"1350A", "1350B", "1349A", "1349D", "1579A"} <= ids  # 1350 C-F are 1349 A-D
    assert task.params["problem_set"] == "all" and task.params["contests"] == [1350, 1579]
    with pytest.raises(ConfigError, match="contest"):
        codeforces(contests="999999").load(0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"problems": "2023"}, "unknown codeforces problem set"),
        ({"language": "java"}, "language must be"),
        ({"order": "best"}, "order must be"),
        ({"contests": "15a"}, "contest ids"),
        ({"time_scale": "fast"}, "time_scale"),
        ({"time_scale": "0"}, "positive"),
        ({"distribution": "everyone"}, "unknown rating distribution"),
    ],
)
def test_bad_options_are_one_line_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        codeforces(**options)
    assert "\n" not in str(caught.value)


def test_string_options_from_the_cli_are_accepted() -> None:
    task = codeforces(time_scale="2.5", rating_seed="3", language="python")  # type: ignore[arg-type]
    assert task.params["time_scale"] == 2.5 and task.params["rating_seed"] == 3
    assert task.grader.language == "python"  # type: ignore[attr-defined]


def test_missing_mirror_file_is_a_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "codeforces").mkdir()
    monkeypatch.setenv("EVALR_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="not found"):
        codeforces(problems="2020").load(0)


def test_prompt_asks_for_the_language_and_states_the_limits(mirror_env: Path) -> None:
    sample = codeforces(problems="2020").load(0).problems[0]
    for language, fence, name in (("cpp", "```cpp", "C++17"), ("python", "```python", "Python 3")):
        (message,) = codeforces(problems="2020", language=language).prompt(sample).messages
        assert message.role == "user" and fence in message.content and name in message.content
        assert (
            f"Time limit per test: {sample.metadata['time_limit_s']:g} seconds" in message.content
        )
        assert sample.input in message.content


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("think\n```cpp\nint main(){}\n```\n", "cpp", "int main(){}"),
        ("```c++\nA\n```\nthen\n```python\nprint(1)\n```", "python", "print(1)"),
        ("```\nprint(2)\n```", "cpp", "print(2)"),  # unnamed: the task's language
        ("```java\nclass A {}\n```", "java", "class A {}"),
        ("```Python3 solution.py\nx = 1\n```", "python", "x = 1"),
    ],
)
def test_extraction_takes_the_last_block_and_its_language(
    text: str, language: str, code: str
) -> None:
    extracted = extract_program(text, "cpp")
    assert extracted is not None and split_program(extracted) == (language, code)


def test_no_block_is_no_code() -> None:
    grader = CodeforcesGrader()
    assert grader.extract(None, Completion(text="I would use a segment tree.")) is None  # type: ignore[arg-type]
    assert extract_program("```cpp\n\n```", "cpp") is None


def test_token_comparison_rules() -> None:
    exact = TokenCompare()
    assert exact("1 2\n3\n", "1  2 3") and not exact("1 2", "1 2 3") and not exact("yes", "YES")
    loose = TokenCompare(float_tolerance=1e-6, any_case=True)
    assert loose("yEs 0.3333334", "YES 0.333333333")
    assert loose("1000000.5", "1000000.0")  # relative error 5e-7
    assert not loose("0.333", "0.333333333") and not loose("nan", "nan0")
    assert not TokenCompare(float_tolerance=1e-6)("YES", "yes")


def test_statement_facts_from_real_statements(mirror_env: Path) -> None:
    samples = {s.id: s for s in codeforces(problems="all").load(0).problems}
    assert samples["1579A"].metadata["statement_facts"]["any_case"] is True
    assert samples["1594A"].metadata["statement_facts"]["several_answers"] is True
    tolerant = [s for s in samples.values() if s.metadata["statement_facts"]["float_tolerance"]]
    assert {s.metadata["statement_facts"]["float_tolerance"] for s in tolerant} <= {1e-4, 1e-6}
    assert len(tolerant) >= 3
    assert facts("Print the answer.") == facts("")


def test_html_statements_become_text() -> None:
    text = html_text("<p>Let $$$n$$$ be&nbsp;given.</p><ul><li>one</li><li>two</li></ul>")
    assert text == "Let $n$ be given.\n\n- one\n- two"


def test_shipped_presets_are_derived_from_the_mirror(data_dir: Path) -> None:
    shipped = json.loads((PACKAGE / "presets.json").read_text())
    assert shipped == build_presets(data_dir)
    assert [len(shipped[k]) for k in ("codecontests", "2024", "2020")] == [165, 408, 39]


def _attempts(sample: Problem, flags: list[bool]) -> ProblemAttempts:
    return ProblemAttempts(sample, tuple(Attempt(c, None, i) for i, c in enumerate(flags)))


def test_rating_metrics_on_graded_attempts(mirror_env: Path) -> None:
    """A model that solves every problem rated up to 1600 on its first attempt (2020 set)."""
    task = codeforces(problems="2020")
    samples = task.load(0).problems
    graded = [_attempts(s, [bool((s.metadata["rating"] or 9999) <= 1600)] * 8) for s in samples]
    assert task.metrics is not None
    first = {m.name: m for m in task.metrics(graded)}
    again = {m.name: m for m in task.metrics(graded)}
    assert first == again  # seeded: the same numbers every time
    for metric in first.values():  # results.json takes them as they are
        json.dumps([metric.value, metric.stderr, list(metric.ci95), metric.n, metric.details])
    assert set(first) == {
        "codeforces_rating", "codeforces_percentile", "cf_rating_mle", "cf_percentile_mle"
    }  # fmt: skip
    rating = first["codeforces_rating"]
    placed = [c["id"] for c in rating.details["contests"]]
    assert placed == [1305, 1326, 1342, 1349, 1352] and rating.n == 5
    assert rating.details["not_placed"] == {"1350": load_contests()[1350].unplaceable}
    judged = {s.id for s in samples}
    in_placed = [p for c in placed for p in load_contests()[c].problems if p.problem_id in judged]
    assert rating.details["test_sets"] == {"samples": len(in_placed)}
    assert rating.ci95[0] <= rating.value <= rating.ci95[1]
    assert rating.details["value_given_order"] == pytest.approx(rating.value)  # all first-try
    expected = []
    for contest_id in placed:  # by hand: the score, the place, the performance
        contest = load_contests()[contest_id]
        solved = [p for p in contest.problems if p.problem_id in {s.id for s in samples}
                  and (next(s for s in samples if s.id == p.problem_id).metadata["rating"] or 9999)
                  <= 1600]  # fmt: skip
        points = sum(p.points or 1 for p in solved)
        expected.append(contest.field.performance(contest.place(points, 0)))
    assert rating.value == pytest.approx(sum(expected) / len(expected))
    percentile = first["codeforces_percentile"]
    assert percentile.details["distribution"]["name"] == "cf-active-2024"
    assert percentile.value == pytest.approx(
        task.metrics.table.percentile(rating.value)  # type: ignore[attr-defined]
    )
    mle = first["cf_rating_mle"]
    assert mle.n == len(samples) and mle.details["method"].startswith("P:")
    assert 1300 < mle.value < 2100


def test_contest_with_unjudged_problems_is_not_placed(mirror_env: Path) -> None:
    task = codeforces(problems="2020")
    samples = [s for s in task.load(0).problems if s.id != "1352G"]
    assert task.metrics is not None
    found = {m.name: m for m in task.metrics([_attempts(s, [True]) for s in samples])}
    assert "1352G" in found["codeforces_rating"].details["not_placed"]["1352"]


def test_cli_percentile_and_rate() -> None:
    runner = CliRunner()
    done = runner.invoke(command, ["percentile", "2029"])
    assert (
        done.exit_code == 0 and done.output.startswith("96.4") and "cf-active-2024" in done.output
    )
    done = runner.invoke(
        command, ["rate", "--contest", "1342", "--solved", "A,B", "--attempts", "1,3"]
    )
    assert done.exit_code == 0, done.output
    contest = load_contests()[1342]
    place = contest.place(2, 20)
    assert f"place: {place}" in done.output
    assert f"performance: {contest.field.performance(place)}" in done.output
    listed = runner.invoke(command, ["contests"])
    assert listed.exit_code == 0 and "1350" in listed.output and "not in the data" in listed.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["rate", "--contest", "1305", "--solved", "Z"], ConfigError),
        (["rate", "--contest", "1305", "--solved", "A", "--attempts", "1,2"], ConfigError),
        (["rate", "--contest", "1305", "--solved", "A", "--attempts", "9"], ConfigError),
        (["rate", "--contest", "1350", "--solved", "A"], ConfigError),
        (["rate", "--contest", "7", "--solved", "A"], DataError),
    ],
)
def test_cli_mistakes_are_one_line_errors(args: list[str], error: type) -> None:
    done = CliRunner().invoke(command, args)
    assert isinstance(done.exception, error) and "\n" not in str(done.exception)


def test_loading_never_changes_the_task(mirror_env: Path) -> None:
    task = codeforces(problems="2020")
    before = dict(task.params)
    data = task.load(0)
    assert task.params == before and "label" not in task.params
    assert data.facts["skipped"]["interactive"]


def test_the_cli_lists_the_distributions_percentile_knows() -> None:
    from evalr.tasks.codeforces import cli, percentile

    assert cli.DISTRIBUTIONS == percentile.NAMES
