"""Samples that keep failing, and bad input: one-line errors, non-zero exits, no tracebacks."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from .driver import KEY_ENV, model_spec, one_line_error, records, run_args

# The first AIME 2024 problem of the mirror; the server fails every request for it.
DOOMED = "Every morning Aya goes for a"
GIVE_UP_FAST = ("--retries", "2", "--retry-base", "0.01")


def test_sample_failing_after_retries_is_an_error_and_resume_retries_only_it(
    chat_server, evalr, tmp_path: Path
):
    server = chat_server(supports_n=False, fail_match=(DOOMED,), fail_match_status=503)
    out = tmp_path / "run"
    args = run_args(server, out, "aime24", 3, 2, GIVE_UP_FAST)

    line = one_line_error(evalr(*args))
    assert "2 of 6 attempts failed" in line, line
    failed = [r for r in records(out) if r["status"] == "error"]
    assert len(failed) == 2 and len({r["sample_id"] for r in failed}) == 1
    assert "503" in failed[0]["error"]
    task = json.loads((out / "results.json").read_text())["tasks"]["aime24"]
    assert task["counts"]["errors"] == 2
    assert all(m["n"] == 2 for m in task["metrics"].values())  # excluded from metrics

    server.reconfigure(fail_match=())
    server.reset_stats()
    proc = evalr(*args)
    assert proc.returncode == 0, proc.stderr
    asked = [r for r in server.stats()["requests"] if r["prompt_head"].startswith(DOOMED)]
    assert server.stats()["known"]["received"] == 2 == sum(r["received"] for r in asked)
    task = json.loads((out / "results.json").read_text())["tasks"]["aime24"]
    assert task["counts"].get("errors", 0) == 0
    assert all(m["n"] == 3 for m in task["metrics"].values())


def test_errors_within_max_error_rate_pass_and_are_counted(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, fail_match=(DOOMED,))
    out = tmp_path / "run"
    proc = evalr(*run_args(server, out, "aime24", 4, 2, (*GIVE_UP_FAST, "--max-error-rate", "0.3")))
    assert proc.returncode == 0, proc.stderr
    task = json.loads((out / "results.json").read_text())["tasks"]["aime24"]
    assert task["counts"]["errors"] == 2 and task["error_rate"] == 0.25


def test_unknown_task_suggests_the_right_one(chat_server, evalr, tmp_path: Path):
    line = one_line_error(evalr(*run_args(chat_server(), tmp_path / "r", "aime2", 1, 1)))
    assert "aime2" in line and "aime24" in line and "did you mean" in line


def test_unknown_model_preset_suggests_the_right_one(evalr, tmp_path: Path):
    proc = evalr("run", "--model", "r-1", "--tasks", "aime24", "--out", str(tmp_path / "r"))
    line = one_line_error(proc)
    assert "r-1" in line and "r1" in line and "did you mean" in line


def test_missing_api_key_names_the_variable(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    spec = model_spec(server, key_env="EVALR_E2E_UNSET_KEY")
    proc = evalr(
        "run", "--model", spec, "--tasks", "aime24", "--limit", "1", "--out", str(tmp_path / "r")
    )
    assert "EVALR_E2E_UNSET_KEY" in one_line_error(proc)
    assert server.stats()["received"] == 0


def test_unreachable_endpoint(evalr, tmp_path: Path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = f"openai:m?base_url=http://127.0.0.1:{port}/v1&api_key_env={KEY_ENV}"
    proc = evalr(
        "run",
        "--model",
        spec,
        "--tasks",
        "aime24",
        "--limit",
        "1",
        "--out",
        str(tmp_path / "r"),
        timeout=120,
    )
    line = one_line_error(proc)
    assert f"127.0.0.1:{port}" in line and "reach" in line


def test_malformed_data_row_names_file_and_line(chat_server, evalr, data_dir, tmp_path: Path):
    mirror = tmp_path / "data"
    shutil.copytree(data_dir / "aime24", mirror / "aime24")
    broken = mirror / "aime24" / "aime24_qwen25math.jsonl"
    lines = broken.read_text().splitlines()
    lines[4] = lines[4][: len(lines[4]) // 2]  # a row cut in half
    broken.write_text("\n".join(lines) + "\n")
    proc = evalr(
        *run_args(chat_server(), tmp_path / "r", "aime24", 2, 1),
        env={"EVALR_DATA_DIR": str(mirror)},
    )
    line = one_line_error(proc)
    assert "aime24_qwen25math.jsonl" in line and ":5" in line, line


def test_unwritable_output_directory(chat_server, evalr, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    server = chat_server()
    line = one_line_error(evalr(*run_args(server, blocker / "run", "aime24", 1, 1)))
    assert str(blocker) in line
    assert server.stats()["received"] == 0
