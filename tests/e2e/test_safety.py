"""Nothing lost, nothing leaked, nothing mislabelled: the data-safety defects found by trying
evalr as a careful new user and as an adversary would, each reproduced through the real CLI
against the project's test server."""

from __future__ import annotations

import base64
import json
import resource
import signal
import subprocess
import time
from pathlib import Path

from evalr.store import RunStore

from .driver import API_KEY, KEY_ENV, evalr_argv, model_spec, one_line_error, records, run_args

TASK = "aime24"


def wait_for_records(out: Path, count: int, timeout_s: float = 60) -> None:
    """Until a live run has stored ``count`` complete records (or the timeout passes)."""
    journal = out / "samples.jsonl"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.01)


def _all_text(root: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.stat().st_size
    )


# --- data loss --------------------------------------------------------------------------------


def test_score_refuses_a_run_that_is_still_being_written(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, latency_ms=30)
    out = tmp_path / "run"
    proc = evalr.popen(*run_args(server, out, TASK, 6, 8, ("--concurrency", "2")))
    wait_for_records(out, 1)
    scored = evalr("score", str(out))
    assert scored.returncode == 2
    assert "another evalr process is writing" in one_line_error(scored)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    # Every completion the server served is in the store, exactly once.
    assert len(records(out)) == 48 == server.stats()["known"]["choices"]
    assert json.loads((out / "results.json").read_text())["complete"] is True


def test_score_output_never_destroys_the_input_or_a_previous_output(evalr, tmp_path: Path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"task": TASK, "id": "60", "response": "\\boxed{204}"}) + "\n")
    before = rows.read_text()
    same = evalr("score", "--responses", str(rows), "--out", str(rows))
    assert "is the input file" in one_line_error(same)
    link = tmp_path / "link.jsonl"
    link.symlink_to(rows)
    through_link = evalr("score", "--responses", str(rows), "--out", str(link))
    assert "is the input file" in one_line_error(through_link)
    assert rows.read_text() == before

    graded = tmp_path / "graded.jsonl"
    assert evalr("score", "--responses", str(rows), "--out", str(graded)).returncode == 0
    previous = graded.read_text()
    assert json.loads(previous)["correct"] is True
    bad = tmp_path / "bad.jsonl"
    bad.write_text(before + '{"task": "aime24", "id": "61"}\n')  # no response
    failed = evalr("score", "--responses", str(bad), "--out", str(graded))
    assert "row 2" in one_line_error(failed)
    assert graded.read_text() == previous  # the earlier output is untouched
    assert not list(tmp_path.glob(".*.tmp"))
    missing_dir = evalr("score", "--responses", str(rows), "--out", str(tmp_path / "no" / "x"))
    assert "does not exist" in one_line_error(missing_dir)


def test_full_disk_is_one_line_and_keeps_what_was_stored(chat_server, evalr, tmp_path: Path):
    """A file-size limit stands in for a full disk: writes past it fail with EFBIG."""
    server = chat_server(supports_n=False, reasoning_words=400)
    out = tmp_path / "run"
    args = run_args(server, out, TASK, 10, 8)
    limit = 48 * 1024

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [*evalr_argv(), *args],
        cwd=tmp_path,
        env=evalr.env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_disk,
    )
    line = one_line_error(proc)
    assert str(out) in line and ("File too large" in line or "No space" in line), line
    assert proc.returncode == 8
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    stored = RunStore(out).records()  # every complete line reads; a torn tail is dropped
    assert 0 < len(stored) < 80
    # The same command without the limit finishes the run, asking only for what is missing.
    before = server.stats()["known"]["choices"]
    again = evalr(*args)
    assert again.returncode == 0, again.stderr
    assert len(records(out)) == 80
    assert server.stats()["known"]["choices"] - before == 80 - len(stored)


# --- secrets ----------------------------------------------------------------------------------


def test_a_server_echoing_the_key_never_puts_it_on_disk(chat_server, evalr, tmp_path: Path):
    server = chat_server(
        api_key=API_KEY, echo_headers=True, fail_rate=1.0, fail_modes=("500",), supports_n=False
    )
    out = tmp_path / "run"
    proc = evalr(*run_args(server, out, TASK, 2, 2, ("--retries", "1")))
    assert proc.returncode != 0
    assert API_KEY not in proc.stderr + proc.stdout
    stored = _all_text(out)
    assert API_KEY not in stored and "[secret]" in stored  # the echoed header was stored masked
    assert all(len(r["error"]) <= 500 for r in records(out))


def test_credentials_in_the_base_url_are_never_stored(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    url = server.base_url.replace("http://", "http://alice:s3cr3t-pa55@")
    out = tmp_path / "run"
    spec = f"openai:evalr-test?base_url={url}"
    proc = evalr(
        "run", "--model", spec, "--tasks", TASK, "--limit", "1", "--samples", "1",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    basic = base64.b64encode(b"alice:s3cr3t-pa55").decode()
    text = _all_text(out) + proc.stdout + proc.stderr
    assert "s3cr3t-pa55" not in text and basic not in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["base_url"] == server.base_url
    assert "alice" not in manifest["model_spec"]


# --- failing servers --------------------------------------------------------------------------


def test_a_server_that_always_fails_stops_the_run_early(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False)
    out = tmp_path / "run"
    args = run_args(server, out, TASK, 2, 2)
    assert evalr(*args).returncode == 0  # some work stored first
    stored = len(records(out))
    server.reconfigure(fail_rate=1.0, fail_modes=("500",))
    more = run_args(server, out.with_name("more"), TASK, 30, 64, ("--retries", "8"))
    started = time.monotonic()
    proc = evalr(*more, "--retry-base", "0.05")
    wall = time.monotonic() - started
    line = one_line_error(proc)
    assert "HTTP 500" in line and "stopped early" in line and "injected failure" in line
    assert proc.returncode == 5 and wall < 30
    # Far fewer requests than 1,920 attempts x 8 tries.
    assert server.stats()["statuses"]["500"] < 100
    assert len(records(out)) == stored  # the earlier run's work is untouched


def test_a_web_page_is_refused_at_start(chat_server, evalr, tmp_path: Path):
    server = chat_server(web_page=True)
    proc = evalr(*run_args(server, tmp_path / "run", TASK, 2, 2))
    line = one_line_error(proc)
    assert "not answer like an OpenAI-compatible API" in line and "text/html" in line
    assert not (tmp_path / "run").exists()


def test_garbage_replies_trip_the_breaker_with_their_cause(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, fail_rate=1.0, fail_modes=("html",))
    proc = evalr(*run_args(server, tmp_path / "run", TASK, 30, 8), "--retry-base", "0.01")
    assert "reply not JSON" in one_line_error(proc)


def test_rate_limiting_that_recovers_never_trips_the_breaker(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, fail_rate=0.6, fail_modes=("429",), retry_after_s=0.0)
    out = tmp_path / "run"
    proc = evalr(*run_args(server, out, TASK, 4, 4, ("--retries", "30", "--retry-base", "0.01")))
    assert proc.returncode == 0, proc.stderr
    assert server.stats()["statuses"]["429"] > 8  # more than the breaker's first window
    assert len(records(out)) == 16


def test_the_final_error_names_the_most_frequent_cause(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, fail_match=("Find",), fail_match_status=404)
    proc = evalr(*run_args(server, tmp_path / "run", TASK, 30, 1, ("--retries", "1")))
    line = one_line_error(proc)
    assert "HTTP 404" in line


# --- honest labels ----------------------------------------------------------------------------


def test_a_run_off_protocol_is_labelled_modified(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    out = tmp_path / "run"
    proc = evalr(*run_args(server, out, TASK, 3, 1))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["modified"] is True
    assert "aime24: first 3 of 30 problems" in results["deviations"]
    assert "aime24: k=1 (r1: 64)" in results["deviations"]
    assert "r1 (modified)" in proc.stdout and "first 3 of 30" in proc.stdout
    import evalr as api

    frame = api.load_runs(str(out))  # one string is one path
    assert frame["modified"].all() and "k=1" in frame["deviations"].iloc[0]


def test_an_interrupted_run_says_it_is_incomplete(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False, latency_ms=150)
    out = tmp_path / "run"
    proc = evalr.popen(*run_args(server, out, TASK, 12, 4, ("--concurrency", "2")))
    wait_for_records(out, 4)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False and results["missing_attempts"] > 0
    shown = evalr("show", str(out))
    assert "INCOMPLETE" in shown.stdout
    scored = evalr("score", str(out))
    assert scored.returncode == 0 and "INCOMPLETE" in scored.stdout
    rescored = json.loads((out / "results.json").read_text())
    assert rescored["timing"]["duration_s"] == results["timing"]["duration_s"]
    assert "retries" in rescored["timing"]


def test_a_resume_through_another_endpoint_is_kept_and_warned(chat_server, evalr, tmp_path: Path):
    first, second = chat_server(), chat_server()
    out = tmp_path / "run"
    assert evalr(*run_args(first, out, TASK, 2, 2)).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest_seen = [e["base_url"] for e in manifest["endpoints"]]
    assert manifest_seen == [first.base_url]
    # A resume with work left, through the second server.
    args = run_args(second, out, TASK, 2, 2)
    lines = out / "samples.jsonl"
    lines.write_text("".join(lines.read_text().splitlines(keepends=True)[:2]))
    proc = evalr(*[a for a in args if a != "--quiet"])
    assert proc.returncode == 0, proc.stderr
    assert first.base_url in proc.stderr and second.base_url in proc.stderr
    endpoints = json.loads((out / "manifest.json").read_text())["endpoints"]
    assert [e["base_url"] for e in endpoints] == [first.base_url, second.base_url]


def test_quick_and_full_runs_never_share_a_default_directory(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    spec = model_spec(server)
    quick = evalr("run", "--model", spec, "--tasks", TASK, "--limit", "2", "--samples", "1",
                  "--quiet")  # fmt: skip
    assert quick.returncode == 0, quick.stderr
    assert (tmp_path / "runs" / "evalr-test" / "aime24_limit2_k1" / "results.json").is_file()
    # Resuming that directory with another limit names the limit first.
    other = evalr("run", "--model", spec, "--tasks", TASK, "--limit", "3", "--samples", "2",
                  "--out", "runs/evalr-test/aime24_limit2_k1", "--quiet")  # fmt: skip
    line = one_line_error(other)
    assert "aime24.limit: stored 2, now 3" in line  # the limit, not k or a hash, comes first


# --- one-line errors --------------------------------------------------------------------------


def test_mistakes_are_one_line_each(evalr, tmp_path: Path):
    a_file = tmp_path / "results.json"
    a_file.write_text("{}")
    assert "is a file, not a run directory" in one_line_error(evalr("show", str(a_file)))
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes('{"task": "aime24", "id": "60", "response": "caf\xe9"}\n'.encode("latin-1"))
    assert "not UTF-8" in one_line_error(evalr("score", "--responses", str(latin)))
    both = evalr("score", str(tmp_path), "--responses", str(latin))
    assert both.returncode == 2 and "not both" in one_line_error(both)
    env = {KEY_ENV: API_KEY}
    torchless = evalr("run", "--model", "lm-eval:hf?pretrained=x", "--tasks", TASK, env=env)
    if "lm-eval is not installed" not in torchless.stderr:
        assert "needs torch" in one_line_error(torchless)


def test_python_api_validates_like_the_cli(tmp_path: Path):
    import evalr as api
    import pytest
    from evalr.errors import ConfigError

    for bad in ({"limit": -1}, {"samples": 0}, {"concurrency": 0}, {"max_error_rate": 2.0}):
        with pytest.raises(ConfigError):
            api.run("fake:constant", TASK, out=tmp_path / "x", **bad)  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()
