"""Crash safety: SIGKILL at several points, resume, and compare with an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .driver import one_line_error, record_counts, records, run_args

TASKS = "aime24,math500"
LIMIT, SAMPLES = 8, 8
TOTAL = 2 * LIMIT * SAMPLES
# Slow enough that a poll every few milliseconds lands between records.
SERVER = {"supports_n": False, "latency_ms": 40, "p_correct": 0.5}
EXTRA = ("--concurrency", "4")


def complete_lines(path: Path) -> int:
    """Records a kill left intact: a torn last line does not count."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    return data.count(b"\n")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_after(evalr, args: list[str], out: Path, at: int) -> tuple[int, list[int]]:
    proc = evalr.popen(*args)
    journal = out / "samples.jsonl"
    deadline = time.monotonic() + 120
    while complete_lines(journal) < at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    kids = children(proc.pid)
    proc.kill()
    proc.communicate()
    return complete_lines(journal), kids


_REFERENCE: dict[str, Any] = {}


@pytest.fixture
def reference(chat_server, evalr, tmp_path_factory) -> dict[str, Any]:
    """An uninterrupted run's per-task results (they do not depend on the server's port);
    computed once for all kill points."""
    if not _REFERENCE:
        out = tmp_path_factory.mktemp("reference") / "run"
        proc = evalr(*run_args(chat_server(**SERVER), out, TASKS, LIMIT, SAMPLES, EXTRA))
        assert proc.returncode == 0, proc.stderr
        _REFERENCE.update(json.loads((out / "results.json").read_text())["tasks"])
    return _REFERENCE


@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.8])
def test_killed_run_resumes_to_the_same_results(
    chat_server, evalr, tmp_path: Path, fraction: float, reference
):
    server = chat_server(**SERVER)
    out = tmp_path / "run"
    args = run_args(server, out, TASKS, LIMIT, SAMPLES, EXTRA)
    kept, kids = kill_after(evalr, args, out, int(TOTAL * fraction))
    assert 0 < kept < TOTAL, f"the kill should land mid-run (kept {kept} of {TOTAL})"

    before = server.stats(detail=False)["known"]["received"]
    proc = evalr(*args)
    assert proc.returncode == 0, proc.stderr
    counts = record_counts(out)
    assert len(counts) == TOTAL and set(counts.values()) == {1}
    # The resume asked only for what the killed run had not stored.
    assert server.stats(detail=False)["known"]["received"] - before == TOTAL - kept
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"] == reference
    assert json.loads((out / "manifest.json").read_text())["resumed_at"]

    # Worker processes of the killed run must not outlive it.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in kids if alive(pid)], "orphaned worker processes"
    assert os.path.exists(out / "manifest.json")


def test_kill_inside_a_native_n_problem_resumes_to_the_same_results(
    chat_server, evalr, tmp_path: Path
):
    """With a server that honours n, one request carries all k attempts of a problem and the
    runner appends their k records one by one. A kill between two of those appends leaves the
    problem half stored; the resume must still end with the uninterrupted run's results.

    Simulated exactly: drop the journal's last record (what a SIGKILL one append earlier leaves).
    """
    server = chat_server(supports_n=True, p_correct=0.5)
    full = tmp_path / "full"
    args = run_args(server, full, "aime24", 3, 4, native_n="true")
    assert evalr(*args).returncode == 0
    reference = json.loads((full / "results.json").read_text())["tasks"]

    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "manifest.json").write_bytes((full / "manifest.json").read_bytes())
    lines = (full / "samples.jsonl").read_bytes().splitlines(keepends=True)
    (cut / "samples.jsonl").write_bytes(b"".join(lines[:-1]))
    proc = evalr(*run_args(server, cut, "aime24", 3, 4, native_n="true"))
    assert proc.returncode == 0, proc.stderr
    assert set(record_counts(cut).values()) == {1}
    # The re-asked attempt is the same sample the uninterrupted run drew, not a new one.
    dropped = json.loads(lines[-1])
    redone = [
        r
        for r in records(cut)
        if r["sample_id"] == dropped["sample_id"] and r["attempt"] == dropped["attempt"]
    ]
    assert redone[0]["completion"]["reasoning"] == dropped["completion"]["reasoning"]
    assert json.loads((cut / "results.json").read_text())["tasks"] == reference


def test_second_writer_on_a_live_run_directory_is_refused(chat_server, evalr, tmp_path: Path):
    """Two processes appending to one journal would interleave records; the second must refuse
    while the first runs, and the first must finish unharmed."""
    server = chat_server(**SERVER)
    out = tmp_path / "run"
    args = run_args(server, out, TASKS, LIMIT, SAMPLES, EXTRA)
    first = evalr.popen(*args)
    deadline = time.monotonic() + 60
    while complete_lines(out / "samples.jsonl") < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    line = one_line_error(evalr(*args))
    assert "another evalr process" in line and str(out) in line, line
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    counts = record_counts(out)
    assert len(counts) == TOTAL and set(counts.values()) == {1}


def test_ctrl_c_keeps_stored_work_and_the_rerun_finishes_it(
    chat_server, evalr, tmp_path: Path, reference
):
    server = chat_server(**SERVER)
    out = tmp_path / "run"
    args = run_args(server, out, TASKS, LIMIT, SAMPLES, EXTRA)
    proc = evalr.popen(*args)
    deadline = time.monotonic() + 60
    while complete_lines(out / "samples.jsonl") < TOTAL // 3 and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err
    kept = complete_lines(out / "samples.jsonl")
    assert 0 < kept < TOTAL

    before = server.stats(detail=False)["known"]["received"]
    assert evalr(*args).returncode == 0
    assert server.stats(detail=False)["known"]["received"] - before == TOTAL - kept
    assert set(record_counts(out).values()) == {1}
    assert json.loads((out / "results.json").read_text())["tasks"] == reference
