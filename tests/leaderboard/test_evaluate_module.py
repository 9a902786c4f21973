"""The Hugging Face ``evaluate`` module gives exactly evalr's numbers.

It is loaded as a user loads it, ``evaluate.load(PATH)``, in a fresh interpreter with the Hub
switched off (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE) and its module cache in a scratch directory.
The responses are those of runs made through the project's test server; the module must
reproduce every metric of those runs' results.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from evalr.runs import open_run

from .conftest import Runs

pytest.importorskip("evaluate")

MODULE = Path(__file__).resolve().parents[2] / "reports" / "evaluate" / "evalr_pass_at_k"

SCRIPT = """
import json, sys
import evaluate
metric = evaluate.load(sys.argv[1])
jobs = json.load(open(sys.argv[2]))
out = {
    name: metric.compute(
        predictions=job["predictions"],
        references=job["references"],
        grader=job["grader"],
        return_details=job.get("details", False),
    )
    for name, job in jobs.items()
}
print(json.dumps(out))
"""


def compute(jobs: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf"),
        HF_MODULES_CACHE=str(tmp_path / "hf" / "modules"),
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(MODULE), str(tmp_path / "jobs.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def jobs_from_run(path: Path) -> dict[str, Any]:
    """Per task, the run's responses (reasoning inside <think>, as a model writes it) in
    attempt order, the gold answers and the grader the run used."""
    run = open_run(path)
    jobs = {}
    for problem_task in run.task_names():
        records: dict[str, dict[int, Any]] = {}
        for record in run.records(problem_task):
            if record.status == "ok" and record.completion is not None:
                records.setdefault(record.sample_id, {})[record.attempt] = record.completion
        problems = [p for p in run.problems() if p["task"] == problem_task]
        predictions = []
        for p in problems:
            done = records.get(p["id"], {})
            predictions.append(
                [
                    f"<think>\n{c.reasoning}\n</think>\n\n{c.text}" if c.reasoning else c.text
                    for _, c in sorted(done.items())
                ]
            )
        grader = run.manifest["tasks"][problem_task]["grader"]["grader"]
        jobs[f"{path.name}/{problem_task}"] = {
            "predictions": predictions,
            "references": [p["target"] for p in problems],
            "grader": grader,
            "details": True,
        }
    return jobs


# Hand-made responses: equivalent forms of one answer, and the option-letter forms.
VOTES = {
    "equivalent": {
        "predictions": [["\\boxed{3}", "\\boxed{0.5}", "<think>\\boxed{3}</think>\\boxed{1/2}"]],
        "references": ["3"],
        "grader": "math",
    },
    "choice": {
        "predictions": [["Answer: B", "The answer is \\boxed{C}", "(C)", ""]],
        "references": ["C"],
        "grader": "choice",
    },
}


@pytest.fixture(scope="module")
def computed(lb_runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything through one interpreter: importing evaluate alone takes seconds."""
    # Three graders (integer, math, choice) and a run whose failed attempts are left out.
    runs = [lb_runs.run("alpha"), lb_runs.run("epsilon-failing")]
    jobs = {name: job for path in runs for name, job in jobs_from_run(path).items()}
    assert {job["grader"] for job in jobs.values()} == {"integer", "math", "choice"}
    return compute({**jobs, **VOTES}, tmp_path_factory.mktemp("evaluate"))


def test_module_reproduces_runs_results(lb_runs: Runs, computed: dict[str, Any]) -> None:
    for name, output in computed.items():
        if "/" not in name:
            continue
        run_name, task = name.split("/")
        entry = json.loads((lb_runs.run(run_name) / "results.json").read_text())["tasks"][task]
        expected = {metric: m["value"] for metric, m in entry["metrics"].items()}
        numbers = {k: v for k, v in output.items() if k not in ("details", "per_problem")}
        assert numbers == expected, name
        for metric, m in entry["metrics"].items():  # intervals too, from the same code
            assert output["details"][metric] == m, (name, metric)
        # Per problem: the same correct counts and majority votes as the run stored.
        columns = entry["per_problem"]
        assert [sum(p["correct"]) for p in output["per_problem"]] == columns["correct"]
        assert [p["cons"] for p in output["per_problem"]] == columns["cons"]
    failing = json.loads((lb_runs.run("epsilon-failing") / "results.json").read_text())
    assert failing["failed_attempts"] > 0  # the comparison above covered failed attempts


def test_votes_group_equivalent_answers(computed: dict[str, Any]) -> None:
    """cons@k votes over mathematically equal answers, not strings: 0.5 and 1/2 outvote 3."""
    # By strings every answer has one vote and the first (3, right) would win.
    assert computed["equivalent"]["cons@3"] == 0.0
    assert computed["equivalent"]["pass@1"] == round(1 / 3, 6)
    assert computed["choice"]["cons@4"] == 1.0 and computed["choice"]["pass@1"] == 0.5
