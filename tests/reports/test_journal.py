"""Reading a run's journal for the report: which attempts keep their texts, the latest record
per attempt, and journals a crash or a bad line left behind; and the parallel path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evalr.reports import render_report
from evalr.reports.journal import read_journal

from .conftest import Runs


def record(sid: str, attempt: int, correct: bool | None, text: str = "") -> str:
    grade: dict[str, object] | None = (
        None
        if correct is None
        else {
            "correct": correct,
            "extracted": "7" if correct else "8",
            "verdict": None,
            "details": {},
            "answer_class": None,
        }
    )
    row = {
        "task": "t",
        "sample_id": sid,
        "attempt": attempt,
        "seed": 1,
        "status": "error" if correct is None else "ok",
        "completion": None
        if correct is None
        else {
            "text": text or f"answer of {attempt}",
            "reasoning": f"thinking {attempt}",
            "finish_reason": "stop",
            "usage": {"completion_tokens": 9, "reasoning_tokens": 5},
        },
        "grade": grade,
        "error": "HTTP 500" if correct is None else None,
    }
    return json.dumps(row) + "\n"


def test_texts_kept_for_attempt_zero_and_first_correct_and_wrong(tmp_path: Path) -> None:
    lines = [record("a", i, ok) for i, ok in enumerate([False, False, True, True, False, True])]
    lines.insert(0, record("a", 3, True))  # out of order, as concurrent attempts arrive
    (tmp_path / "samples.jsonl").write_text("".join(lines))
    problem = read_journal(tmp_path).task("t").problems["a"]
    assert sorted(problem.attempts) == [0, 1, 2, 3, 4, 5]
    assert problem.shown() == [0, 2]  # 0 is the first wrong; 2 the first correct
    assert set(problem.texts) == {0, 2}
    assert problem.texts[2].answer == "answer of 2" and problem.texts[2].reasoning == "thinking 2"
    stats = problem.stats()
    assert stats.graded == 6 and stats.correct.count(True) == 3 and stats.no_answer == 0


def test_latest_record_per_attempt_wins(tmp_path: Path) -> None:
    lines = [record("a", 0, None), record("a", 1, False), record("a", 0, True, "retried")]
    (tmp_path / "samples.jsonl").write_text("".join(lines))
    problem = read_journal(tmp_path).task("t").problems["a"]
    assert problem.attempts[0].correct and problem.attempts[0].status == "ok"
    assert problem.texts[0].answer == "retried"
    assert problem.shown() == [0, 1]


def test_torn_tail_and_unreadable_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = record("a", 0, True)
    (tmp_path / "samples.jsonl").write_text(good + "{not json\n" + good[: len(good) // 2])
    journal = read_journal(tmp_path)
    assert journal.unreadable == 1 and journal.torn_tail
    assert list(journal.task("t").problems["a"].attempts) == [0]
    assert (tmp_path / "samples.jsonl").read_text().endswith(good[: len(good) // 2])  # untouched


def test_attempts_beyond_k_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "samples.jsonl").write_text("".join(record("a", i, True) for i in range(4)))
    assert sorted(read_journal(tmp_path, {"t": 2}).task("t").problems["a"].attempts) == [0, 1]
    assert read_journal(tmp_path, {"other": 4}).tasks == {}


def test_worker_processes_write_the_same_report(runs: Runs, tmp_path: Path) -> None:
    given = [runs["weak"], runs["strong"], runs["greedy"]]
    alone = render_report(given, tmp_path / "alone").parent
    code = (
        "import sys, pathlib, concurrent.futures as cf, evalr.reports.workers as w\n"
        "w.PARALLEL_ABOVE = 0\n"
        "start = cf.ProcessPoolExecutor.__init__\n"
        "def init(self, *a, **k):\n"
        "    print('pool of', a[0]); start(self, *a, **k)\n"
        "cf.ProcessPoolExecutor.__init__ = init\n"
        "from evalr.reports import render_report\n"
        "render_report(sys.argv[2:], pathlib.Path(sys.argv[1]))\n"
    )
    pooled = tmp_path / "pooled"
    argv = [sys.executable, "-c", code, str(pooled), *map(str, given)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300)
    if (os.cpu_count() or 1) > 1:
        assert done.stdout.startswith("pool of "), done.stdout + done.stderr
    files = sorted(p.relative_to(alone) for p in alone.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(pooled) for p in pooled.rglob("*") if p.is_file())
    for rel in files:
        assert (alone / rel).read_bytes() == (pooled / rel).read_bytes(), rel
