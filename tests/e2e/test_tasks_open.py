"""Tasks without a package (a YAML file, a ``module:factory``), one grading path, no request on
a finished resume, and streaming that stores the same records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evalr.testing.oracle import AnswerKey, KeyEntry, Oracle
from evalr.testing.server import ServerConfig
from evalr.testing.threaded import ServerThread

from .driver import model_spec, one_line_error, records, run_args

QUESTIONS = [(f"q{i}", f"What is {10 + i} plus {20 + i}?", str(30 + 2 * i)) for i in range(10)]
RIGHT = 6  # the server answers the first six correctly every time, the rest never

TASK_YAML = """\
name: arith
description: Two-digit sums
dataset:
  path: arith.jsonl
id: qid
prompt: "{{ question }}\\nPlease reason step by step, and put your final answer within \\\\boxed{}."
target: answer
grader: math
samples: 2
"""

FACTORY = """\
from pathlib import Path

import evalr


def arith() -> evalr.Task:
    rows = evalr.read_rows(Path(__file__).with_name("arith.jsonl"))
    problems = tuple(evalr.Problem(r["qid"], r["question"], r["answer"]) for r in rows)
    info = evalr.DatasetInfo("arith.jsonl", "local", "file")
    return evalr.Task(
        name="arith_py",
        version="1",
        description="Two-digit sums, from Python",
        load=lambda seed: evalr.Dataset(problems, info),
        prompt=evalr.math_prompt,
        grader=evalr.MathGrader(),
        default_samples=2,
    )
"""


@pytest.fixture
def arith(tmp_path: Path) -> Path:
    folder = tmp_path / "tasks"
    folder.mkdir()
    rows = [{"qid": q, "question": text, "answer": gold} for q, text, gold in QUESTIONS]
    (folder / "arith.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "arith.yaml").write_text(TASK_YAML)
    (folder / "my_tasks.py").write_text(FACTORY)
    return folder


@pytest.fixture
def arith_server() -> Any:
    entries = tuple(
        KeyEntry(answer=gold, match=text, p=1.0 if n < RIGHT else 0.0)
        for n, (_, text, gold) in enumerate(QUESTIONS)
    )
    config = ServerConfig(oracle=Oracle(key=AnswerKey(entries)), supports_n=False)
    with ServerThread(config) as server:
        yield server


def test_a_yaml_task_runs_end_to_end_with_an_exact_score(arith, arith_server, evalr, tmp_path):
    out = tmp_path / "run"
    proc = evalr(*run_args(arith_server, out, str(arith / "arith.yaml"), 10, 2))
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    task = results["tasks"]["arith"]
    assert task["metrics"]["pass@1"]["value"] == RIGHT / len(QUESTIONS)
    assert task["metrics"]["cons@2"]["value"] == RIGHT / len(QUESTIONS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tasks"]["arith"]["source"]["kind"] == "file"
    assert len(manifest["protocol"]["tasks"]["arith"]["source"]["sha256"]) == 64
    problems = [json.loads(x) for x in (out / "problems.jsonl").read_text().splitlines()]
    assert problems[0]["messages"][0]["content"].startswith("What is 10 plus 20?\nPlease reason")

    # An edited task file is a different task: the resume is refused, naming the change.
    (arith / "arith.yaml").write_text(TASK_YAML.replace("Two-digit", "Two digit"))
    again = evalr(*run_args(arith_server, out, str(arith / "arith.yaml"), 10, 2))
    assert "source.sha256" in one_line_error(again)


def test_a_module_factory_task_runs_end_to_end(arith, arith_server, evalr, tmp_path):
    out = tmp_path / "run"
    proc = evalr(
        *run_args(arith_server, out, "my_tasks:arith", 10, 2), env={"PYTHONPATH": str(arith)}
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"]["arith_py"]["metrics"]["pass@1"]["value"] == RIGHT / len(QUESTIONS)
    # Re-grading finds the factory again through the manifest.
    scored = evalr("score", str(out), env={"PYTHONPATH": str(arith)})
    assert scored.returncode == 0, scored.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("grader: math", "grader: maths"), "grader: unknown grader 'maths'"),
        (lambda t: t.replace("target: answer\n", ""), "target: missing"),
        (lambda t: t.replace("{{ question }}", "{{ questoin }}"), "'questoin' is undefined"),
        (lambda t: t.replace("path: arith.jsonl", "path: nope.jsonl"), "dataset.path"),
        (lambda t: t.replace("id: qid", "id: qid\ncolour: red"), "colour: unknown key"),
        (lambda t: t.replace("samples: 2", "samples: two"), "samples:"),
        (
            lambda t: t.replace("dataset:\n  path: arith.jsonl", "dataset:\n  hub: org/x"),
            "dataset.revision",
        ),
        (lambda t: t.replace("samples: 2", "samples: [2"), "line "),
        (lambda t: t.replace("{{ question }}", "{{ question "), "prompt: template error"),
    ],
    ids=["grader", "target", "field", "path", "key", "samples", "revision", "yaml", "syntax"],
)
def test_a_broken_task_file_is_one_line_naming_the_file_and_key(
    arith, evalr, edit, message, tmp_path
):
    broken = arith / "broken.yaml"
    broken.write_text(edit(TASK_YAML))
    proc = evalr("run", "--model", "fake:constant", "--tasks", str(broken), "--out",
                 str(tmp_path / "run"), "--quiet")  # fmt: skip
    line = one_line_error(proc)
    assert str(broken) in line and message in line, line
    assert proc.returncode == 2
    assert not (tmp_path / "run").exists()


def test_four_grading_entry_points_agree(chat_server, evalr, tmp_path: Path):
    """The run, the resume's re-grade, ``score RUN_DIR`` and ``score --responses`` give the
    same grades (correct, extracted answer, answer class) for the same completions."""
    server = chat_server(supports_n=False, reasoning_style="think", wrong_answers=2)
    out = tmp_path / "run"
    assert evalr(*run_args(server, out, "math500", 12, 4)).returncode == 0
    key = ("task", "sample_id", "attempt")

    def grades(rows: list[dict[str, Any]]) -> dict[tuple, tuple]:
        latest = {tuple(r[k] for k in key): r for r in rows}  # the journal's last word per key
        return {
            k: (r["grade"]["correct"], r["grade"]["extracted"], r["grade"]["answer_class"])
            for k, r in latest.items()
        }

    ran = grades(records(out))
    assert len({c for _, _, c in ran.values()}) > 12  # several classes: a real comparison

    # The resume: the same completions stored without grades are graded on the next run.
    ungraded = [{**r, "grade": None} for r in records(out)]
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ungraded))
    before = server.stats()["received"]
    assert evalr(*run_args(server, out, "math500", 12, 4)).returncode == 0
    assert server.stats()["received"] == before
    assert grades(records(out)) == ran

    assert evalr("score", str(out)).returncode == 0
    assert grades(records(out)) == ran

    rows = tmp_path / "responses.jsonl"
    with rows.open("w") as fh:
        for r in sorted(records(out), key=lambda r: r["attempt"]):
            text = f"<think>{r['completion']['reasoning']}</think>{r['completion']['text']}"
            fh.write(json.dumps({"task": r["task"], "id": r["sample_id"], "attempt": r["attempt"],
                                 "response": text}) + "\n")  # fmt: skip
    graded = tmp_path / "graded.jsonl"
    assert evalr("score", "--responses", str(rows), "--out", str(graded)).returncode == 0
    scored = {
        (g["task"], g["id"], g["attempt"]): (g["correct"], g["extracted"], g.get("answer_class"))
        for g in map(json.loads, graded.read_text().splitlines())
    }
    assert scored == ran


def test_a_finished_run_resumed_sends_nothing_at_all(chat_server, evalr, tmp_path: Path):
    server = chat_server()
    out = tmp_path / "run"
    args = run_args(server, out, "aime24", 3, 2)
    assert evalr(*args).returncode == 0
    before = server.stats()
    again = evalr(*args)
    assert again.returncode == 0, again.stderr
    after = server.stats()
    assert after["received"] == before["received"]  # not even the start-up n probe
    assert after["statuses"] == before["statuses"]


def test_streamed_and_plain_runs_store_the_same_records(chat_server, evalr, tmp_path: Path):
    server = chat_server(supports_n=True)
    plain, streamed = tmp_path / "plain", tmp_path / "streamed"
    assert evalr(*run_args(server, plain, "aime24,gpqa_diamond", 3, 3)).returncode == 0
    proc = evalr(*run_args(server, streamed, "aime24,gpqa_diamond", 3, 3, stream="true"))
    assert proc.returncode == 0, proc.stderr

    def comparable(out: Path) -> list[dict[str, Any]]:
        rows = []
        for r in records(out):
            r = {**r, "time": None}
            r["completion"] = {**r["completion"], "latency_s": None}
            rows.append(r)
        return sorted(rows, key=lambda r: (r["task"], r["sample_id"], r["attempt"]))

    assert comparable(plain) == comparable(streamed)
    assert json.loads((streamed / "manifest.json").read_text())["model"]["stream"] is True


def test_the_yaml_task_lists_under_tasks_name(arith, evalr):
    shown = evalr("tasks", str(arith / "arith.yaml"))
    assert shown.returncode == 0 and "Two-digit sums" in shown.stdout
    listed = evalr("tasks", "livecodebench")
    assert "window" in listed.stdout and "release" in listed.stdout


def test_model_spec_helper_is_used(chat_server):  # keep the driver import honest
    assert model_spec(chat_server()).startswith("openai:")
