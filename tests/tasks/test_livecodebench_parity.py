"""Grading parity with LiveCodeBench: o1-mini's published solutions, graded by LCB itself.

Every R1-window problem LCB graded as passing must pass here on the tests available offline,
unless those tests are known to be broken (``public_tests_validated`` false: a statement the
parser got wrong). Where the offline set holds the hidden test o1-mini failed, it must fail
here too. The agreement table is printed per problem class. Runs in both real sandboxes and
through ``evalr score``'s grading path.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from evalr.sandbox import Limits, Program, availability
from evalr.score import score_rows
from evalr.tasks.livecodebench import livecodebench
from evalr.types import Completion

SUBMISSIONS = "generations/lcb_submissions_o1-mini-2024-09-12_n1_codegeneration_eval_all.json.gz"


def _submissions(root: Path) -> dict[str, dict]:
    with gzip.open(root / SUBMISSIONS, "rt") as fh:
        return {row["question_id"]: row for row in json.load(fh)}


def _validated(root: Path) -> dict[str, bool | None]:
    path = root / "livecodebench/lcb_release_v5_problems_public_tests.jsonl"
    with path.open() as fh:
        rows = [json.loads(line) for line in fh]
    return {r["question_id"]: r["public_tests_validated"] for r in rows}


@pytest.mark.parametrize("sandbox", ["docker", "local"])
def test_o1_mini_r1_window_agrees_with_lcb(mirror_env: Path, sandbox: str) -> None:
    found = availability(sandbox)
    if not found.usable:
        print(f"skipping {sandbox} parity: {found.detail}")
        pytest.skip(found.detail)
    task = livecodebench(sandbox=sandbox)
    samples = task.load(0).problems
    probe = Program("python", "import numpy\nprint('ok')\n")
    has_numpy = asyncio.run(task.grader.sandbox().run(probe, [""], Limits()))
    if has_numpy.runs[0].stdout.strip() != "ok":  # LCB's environment has numpy; some use it
        pytest.fail("the sandbox image lacks numpy: apt-get install python3-numpy, then rebuild")
    subs, validated = _submissions(mirror_env), _validated(mirror_env)

    async def grade_all() -> list:
        gate = asyncio.Semaphore(8)

        async def one(sample):
            completion = Completion(text=subs[sample.id]["output_list"][0])
            async with gate:
                code = task.grader.extract(sample, completion)
                return (await task.grader.grade(sample, [code]))[0]

        return await asyncio.gather(*(one(s) for s in samples))

    grades = asyncio.run(grade_all())
    table: Counter[tuple[str, str]] = Counter()
    misses, broken = [], []
    for sample, grade in zip(samples, grades, strict=True):
        sub = subs[sample.id]
        lcb = bool(sub["graded_list"][0])
        assert (grade.extracted or "") == sub["code_list"][0], sample.id  # same extraction
        table[("lcb pass" if lcb else "lcb fail", grade.verdict or "?")] += 1
        if lcb and not grade.correct:
            why = (sample.id, grade.verdict, grade.details.get("reason"))
            (broken if validated[sample.id] is False else misses).append(why)
        if not lcb and sample.metadata["test_set"] == "public+partial_hidden":
            assert not grade.correct, f"{sample.id}: passes the hidden test LCB saw it fail"
    passed = sum(n for (lcb, _), n in table.items() if lcb == "lcb pass")
    print(f"\n{sandbox}: {dict(sorted(table.items()))}")
    print(f"agreement on LCB-passing problems: {passed - len(misses) - len(broken)}/{passed}")
    print(f"disagreements on known-broken public tests: {broken}")
    assert misses == []
    assert passed >= 140 and len(broken) <= 2, broken


def test_evalr_score_grades_livecodebench_rows(mirror_env: Path) -> None:
    if not (availability("docker").usable or availability("local").usable):
        pytest.skip("no sandbox")
    subs = _submissions(mirror_env)
    harvested = mirror_env / "livecodebench/lcb_v5_hidden_tests_harvested_from_o1_failures.jsonl"
    with harvested.open() as fh:
        failing = [
            row["question_id"]
            for row in map(json.loads, fh)
            if row["in_r1_window_2408_2501"]
            and any("o1-mini" in m for t in row["tests"] for m in t["failed_by"])
        ][:3]
    ids = ["abc365_d", "3517", "abc380_c", *failing]  # LCB: pass, pass, pass, then fails
    rows = [{"id": q, "task": "livecodebench", "response": subs[q]["output_list"][0]} for q in ids]
    rows.append({"id": "abc365_d", "task": "livecodebench", "response": "I cannot solve this."})
    out = list(score_rows(rows, None))
    for row, q in zip(out, ids, strict=False):
        assert row["correct"] is bool(subs[q]["graded_list"][0]), q
        assert row["extracted"] == subs[q]["code_list"][0]
    assert out[-1]["correct"] is False and out[-1]["extracted"] is None
