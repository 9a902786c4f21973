"""``evalr run`` end to end through the real HTTP client: run directory, results, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .driver import (
    API_KEY,
    KEY_ENV,
    comparable,
    model_spec,
    one_line_error,
    record_counts,
    records,
    run_args,
)

TASKS = "aime24,math500,gpqa_diamond"
LIMIT, SAMPLES = 4, 3


def test_run_writes_manifest_first_records_and_results(chat_server, evalr, tmp_path: Path):
    server = chat_server(p_correct=0.5, latency_ms=50)
    out = tmp_path / "run"
    seen: list[bool] = []
    server.server.observers.append(lambda body: seen.append((out / "manifest.json").is_file()))

    proc = evalr(*run_args(server, out, TASKS, LIMIT, SAMPLES)[:-1])  # without --quiet
    assert proc.returncode == 0, proc.stderr
    assert seen and all(seen), "manifest.json must exist before the first request"

    counts = record_counts(out)
    assert len(counts) == 3 * LIMIT * SAMPLES and set(counts.values()) == {1}

    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == set(TASKS.split(","))
    graded_correct = 0
    for name, task in results["tasks"].items():
        metrics = task["metrics"]
        assert {"pass@1", f"pass@{SAMPLES}", f"cons@{SAMPLES}"} <= set(metrics), name
        for metric in metrics.values():
            assert 0 <= metric["value"] <= 1
            low, high = metric["ci95"]
            assert 0 <= low <= metric["value"] <= high <= 1
            assert metric["stderr"] >= 0 and metric["n"] == LIMIT
        graded_correct += round(metrics["pass@1"]["value"] * LIMIT * SAMPLES)
    # Each completion was asked for once, and the grader agrees with the server on every
    # attempt it served as correct or wrong.
    stats = server.stats()
    assert stats["known"]["choices"] == len(counts)
    assert graded_correct == stats["correct"]

    # Each record stores the seed that was sent: one per n-sample request (a problem's k
    # attempts), distinct across problems; and the protocol's sampling settings were sent.
    rows = records(out)
    assert all(r["seed"] == r["completion"]["request"]["seed"] for r in rows)
    per_problem = {(r["task"], r["sample_id"]): set() for r in rows}
    for r in rows:
        per_problem[(r["task"], r["sample_id"])].add(r["seed"])
    assert all(len(seeds) == 1 for seeds in per_problem.values())
    assert len({next(iter(s)) for s in per_problem.values()}) == len(per_problem)
    assert {p["temperature"] for p in stats["params"]} == {0.6}
    assert {p["top_p"] for p in stats["params"]} == {0.95}
    assert {p["max_tokens"] for p in stats["params"]} == {32768}

    table = proc.stdout
    for name in TASKS.split(","):
        assert name in table
    assert "pass@1" in table and f"cons@{SAMPLES}" in table
    assert "compl/s" in proc.stderr  # the progress bar, absent under --quiet


def test_rerun_sends_no_request_for_stored_work(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=False)
    out = tmp_path / "run"
    args = run_args(server, out, TASKS, LIMIT, SAMPLES)
    first = evalr(*args)
    assert first.returncode == 0, first.stderr
    before = server.stats(detail=False)["known"]["received"]
    assert before == 3 * LIMIT * SAMPLES  # one request per attempt: the server ignores n
    results = json.loads((out / "results.json").read_text())

    again = evalr(*args)
    assert again.returncode == 0, again.stderr
    assert server.stats(detail=False)["known"]["received"] == before
    assert comparable(json.loads((out / "results.json").read_text())) == comparable(results)
    assert set(record_counts(out).values()) == {1}
    assert again.stdout == first.stdout  # same table


def test_changed_protocol_refuses_to_resume_naming_the_difference(chat_server, evalr, tmp_path):
    server = chat_server()
    out = tmp_path / "run"
    assert evalr(*run_args(server, out, "aime24", 2, 2)).returncode == 0
    stored = (out / "samples.jsonl").read_bytes()
    before = server.stats(detail=False)["known"]["received"]

    line = one_line_error(evalr(*run_args(server, out, "aime24", 2, 3)))
    assert "protocol" in line and ".k" in line and "stored 2, now 3" in line, line
    assert server.stats(detail=False)["known"]["received"] == before
    assert (out / "samples.jsonl").read_bytes() == stored


def test_api_key_never_reaches_disk_or_output(chat_server, evalr, tmp_path: Path):
    server = chat_server(api_key=API_KEY, fail_rate=0.3, fail_modes=("500",))
    out = tmp_path / "run"
    proc = evalr(*run_args(server, out, "aime24,gpqa_diamond", 2, 2, ("--retry-base", "0.01")))
    assert proc.returncode == 0, proc.stderr
    assert server.stats()["statuses"].get("401") is None
    assert API_KEY not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["api_key_env"] == KEY_ENV  # the variable's name, not its value


def test_wrong_key_is_a_one_line_error(chat_server, evalr, tmp_path: Path):
    server = chat_server(api_key="sk-the-right-one")
    line = one_line_error(evalr(*run_args(server, tmp_path / "run", "aime24", 1, 1)))
    assert KEY_ENV in line


def test_quiet_prints_only_the_table(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    proc = evalr(*run_args(server, tmp_path / "run", "math500", 2, 2))
    assert proc.returncode == 0
    assert proc.stderr.strip() == ""
    assert "math500" in proc.stdout and "pass@1" in proc.stdout


def test_reasoning_inline_in_think_tags_grades_the_same(chat_server, evalr, tmp_path: Path):
    """A server that inlines <think>...</think> (vLLM without a reasoning parser) scores the same
    as one that returns a separate reasoning field."""
    scores = []
    for style in ("field", "think"):
        server = chat_server(reasoning_style=style, p_correct=0.5)
        out = tmp_path / style
        assert evalr(*run_args(server, out, "aime24,gpqa_diamond", 3, 2)).returncode == 0
        tasks = json.loads((out / "results.json").read_text())["tasks"]
        scores.append({name: task["metrics"] for name, task in tasks.items()})
        row = json.loads((out / "samples.jsonl").read_text().splitlines()[0])
        assert row["completion"]["reasoning"] and "<think>" not in row["completion"]["text"]
    assert scores[0] == scores[1]


def test_model_spec_in_manifest_and_results(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    out = tmp_path / "run"
    assert evalr(*run_args(server, out, "aime24", 1, 1)).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert manifest["protocol"]["model"] == results["model"]
    assert server.base_url in results["model_spec"] and "evalr-test" in model_spec(server)


def test_user_preset_with_base_url_and_a_token_cap_counts_truncation(
    chat_server, evalr, tmp_path: Path
):
    """A user preset (EVALR_MODELS) served through --base-url, with a token cap below the
    replies' length: every reply is cut off, so nothing is answered and all are truncated."""
    presets = tmp_path / "models.toml"
    presets.write_text(
        "[tiny-cap]\n"
        f'spec = "openai:evalr-test?api_key_env={KEY_ENV}"\n'
        "needs_base_url = true\n"
        "native_n = false\n"
        "sampling = { max_tokens = 30 }\n"
    )
    server = chat_server(p_correct=1.0, reasoning_words=40)
    out = tmp_path / "run"
    proc = evalr(
        "run",
        "--model",
        "tiny-cap",
        "--base-url",
        server.base_url,
        "--tasks",
        "aime24",
        "--limit",
        "2",
        "--samples",
        "2",
        "--out",
        str(out),
        "--quiet",
        env={"EVALR_MODELS": str(presets)},
    )
    assert proc.returncode == 0, proc.stderr
    assert {p["max_tokens"] for p in server.stats()["params"]} == {30}
    task = json.loads((out / "results.json").read_text())["tasks"]["aime24"]
    assert task["truncation_rate"] == 1.0 and task["no_answer_rate"] == 1.0
    assert task["metrics"]["pass@1"]["value"] == 0.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["protocol"]["sampling"]["max_tokens"] == 30


def test_show_and_rescore_need_no_model(chat_server, evalr, tmp_path: Path):
    """A finished run re-renders and re-grades from its directory alone: the server is gone."""
    server = chat_server(p_correct=0.5)
    out = tmp_path / "run"
    run = evalr(*run_args(server, out, "aime24,math500,gpqa_diamond", 3, 2))
    assert run.returncode == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    server.close()

    show = evalr("show", str(out))
    assert show.returncode == 0, show.stderr
    assert show.stdout == run.stdout
    # Corrupt one stored verdict: re-scoring must grade again, not copy what is stored.
    journal = out / "samples.jsonl"
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    rows[0]["grade"]["correct"] = not rows[0]["grade"]["correct"]
    journal.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rescore = evalr("score", str(out))
    assert rescore.returncode == 0, rescore.stderr
    assert rescore.stdout == run.stdout
    key = ("task", "sample_id", "attempt")
    tampered = tuple(rows[0][k] for k in key)
    again = [r for r in records(out) if tuple(r[k] for k in key) == tampered]
    assert again[0]["grade"]["correct"] != rows[0]["grade"]["correct"]
    rescored = json.loads((out / "results.json").read_text())
    assert {t: v["metrics"] for t, v in rescored["tasks"].items()} == {
        t: v["metrics"] for t, v in results["tasks"].items()
    }
