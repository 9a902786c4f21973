"""``evalr gate`` end to end: real runs from the test server, each exit code, every output."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from e2e.driver import evalr_argv
from evalr.cli import main

from .conftest import LIMIT, SAMPLES, GateRuns


def gate(
    capsys: pytest.CaptureFixture[str], base: Path, cand: Path, out: Path, *flags: str
) -> tuple[int, str, dict[str, Any]]:
    """Run the gate in-process with every output; (exit code, stdout, the JSON document)."""
    out.mkdir(parents=True, exist_ok=True)
    argv = ["gate", str(base), str(cand), *flags]
    argv += ["--markdown", str(out / "gate.md"), "--junit", str(out / "gate.xml")]
    code = main([*argv, "--json", str(out / "gate.json")])
    printed = capsys.readouterr()
    return code, printed.out + printed.err, json.loads((out / "gate.json").read_text())


def junit(out: Path) -> ET.Element:
    return ET.parse(out / "gate.xml").getroot()


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def pass1(run: Path, task: str) -> float:
    results = json.loads((run / "results.json").read_text())
    return float(results["tasks"][task]["metrics"]["pass@1"]["value"])


def test_regression_exits_1_with_every_output(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(capsys, gate_runs.base, gate_runs.worse, tmp_path)
    assert code == 1
    assert doc["exit_code"] == 1 and doc["verdict"] == "regression"
    rows = {(c["task"], c["metric"]): c for c in doc["comparisons"]}
    assert set(rows) == {("aime24", "pass@1"), ("math500", "pass@1")}
    for (task, _), row in rows.items():
        # The gate's means are results.json's pass@1 (same problems, same attempts).
        assert row["baseline"] == pytest.approx(pass1(gate_runs.base, task), abs=1e-6)
        assert row["candidate"] == pytest.approx(pass1(gate_runs.worse, task), abs=1e-6)
        assert row["delta"] == pytest.approx(row["candidate"] - row["baseline"], abs=1e-6)
        assert row["ci95"][0] < row["delta"] < row["ci95"][1] < 0
        assert row["n"] == LIMIT and row["method"] == "sign-flip"
        assert row["p_drop"] < 0.05 and row["verdict"] == "regression"
        assert 0 < row["mde"] < 1
    assert "REGRESSION (exit 1)" in printed
    assert "aime24" in printed and "math500" in printed

    markdown = (tmp_path / "gate.md").read_text()
    assert markdown.startswith("<!-- evalr-gate -->")
    assert "❌ regression (exit 1)" in markdown
    aime = rows[("aime24", "pass@1")]
    shown = f"| {100 * aime['baseline']:.1f} | {100 * aime['candidate']:.1f} | "
    assert shown in markdown
    assert f"{100 * aime['delta']:+.1f} ({100 * aime['ci95'][0]:+.1f} to" in markdown
    assert "modified in both runs" in markdown  # k=4 is not the R1 protocol's 64 for AIME

    root = junit(tmp_path)
    assert root.get("tests") == "2" and root.get("failures") == "2"
    for key, case in cases(root).items():
        assert key[0] in ("evalr.gate.aime24", "evalr.gate.math500") and key[1] == "pass@1"
        failure = case.find("failure")
        assert failure is not None and failure.get("type") == "regression"
        assert "dropped" in (failure.get("message") or "")


def test_same_accuracy_is_inconclusive_at_a_tight_threshold(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(capsys, gate_runs.base, gate_runs.rerun, tmp_path, "--max-drop", "3")
    assert code == 3 and doc["verdict"] == "inconclusive"
    for row in doc["comparisons"]:
        assert row["verdict"] == "inconclusive" and row["mde"] > 0.03
        # The way out: the k (pass@1) or the number of problems that would resolve 3 points.
        assert row["k_needed"] is None or row["k_needed"] > SAMPLES
        assert row["problems_needed"] > LIMIT
        assert "above the 3.0 tolerated" in row["reason"]
    assert "INCONCLUSIVE (exit 3)" in printed
    assert "⚠️ inconclusive" in (tmp_path / "gate.md").read_text()
    root = junit(tmp_path)
    assert root.get("errors") == "2" and root.get("failures") == "0"
    assert all(c.find("error") is not None for c in cases(root).values())

    code, _, doc = gate(capsys, gate_runs.base, gate_runs.rerun, tmp_path, "--allow-inconclusive")
    assert code == 0 and doc["verdict"] == "inconclusive" and doc["exit_code"] == 0
    root = junit(tmp_path)
    assert root.get("skipped") == "2" and root.get("errors") == "0"


def test_same_accuracy_passes_a_threshold_it_can_resolve(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(capsys, gate_runs.base, gate_runs.rerun, tmp_path, "--max-drop", "40")
    assert code == 0, printed
    assert doc["verdict"] == "pass"
    assert all(r["verdict"] == "pass" and r["mde"] <= 0.40 for r in doc["comparisons"])
    assert "✅ pass (exit 0)" in (tmp_path / "gate.md").read_text()
    root = junit(tmp_path)
    assert root.get("tests") == "2"
    assert all(c.find("failure") is None and c.find("error") is None for c in cases(root).values())


def test_large_improvement_is_flagged_everywhere_not_failed(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(capsys, gate_runs.worse, gate_runs.base, tmp_path, "--max-drop", "40")
    assert code == 0
    assert all(r["suspicious"] and r["delta"] > 0.1 for r in doc["comparisons"])
    assert len(doc["suspicious"]) == 2
    assert printed.count("suspiciously large") == 2
    markdown = (tmp_path / "gate.md").read_text()
    assert markdown.count("**Suspicious improvement**") == 2
    assert "grader change or contamination" in markdown
    texts = [c.findtext("system-out") or "" for c in cases(junit(tmp_path)).values()]
    assert all("suspiciously large" in t for t in texts)


def test_more_metrics(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, doc = gate(
        capsys, gate_runs.base, gate_runs.worse, tmp_path, "--metric", "pass@k,cons@k"
    )
    assert code == 1
    labels = {(c["task"], c["metric"]) for c in doc["comparisons"]}
    assert labels == {(t, m) for t in ("aime24", "math500") for m in ("pass@4", "cons@4")}
    for row in doc["comparisons"]:
        assert row["k_needed"] is None  # k-scaling is a pass@1 question
    assert len(list(junit(tmp_path).iter("testcase"))) == 4


def test_protocol_mismatch_names_the_difference(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(capsys, gate_runs.base, gate_runs.k2, tmp_path)
    assert code == 2
    line = printed.strip().splitlines()[-1]
    assert line.startswith("evalr: error: the runs' protocols differ: aime24.k: baseline 4, ")
    assert "--allow-protocol-mismatch" in line
    assert doc["verdict"] == "unusable" and doc["exit_code"] == 2 and "aime24.k" in doc["error"]
    assert "unusable input (exit 2)" in (tmp_path / "gate.md").read_text()
    error = junit(tmp_path).find(".//error")
    assert error is not None and "aime24.k" in (error.get("message") or "")

    code, _, doc = gate(
        capsys,
        gate_runs.base,
        gate_runs.k2,
        tmp_path,
        "--allow-protocol-mismatch",
        "--max-drop",
        "40",
    )
    assert code == 0
    assert any("protocol mismatch allowed: aime24.k" in n for n in doc["notes"])
    assert {(r["k_baseline"], r["k_candidate"]) for r in doc["comparisons"]} == {(4, 2)}


@pytest.mark.parametrize(
    ("which", "says"),
    [
        ("crashed", "has no results.json: the run did not finish"),
        (
            "other_task",
            "no shared task: the baseline has aime24, math500, the candidate gpqa_diamond",
        ),
        ("incomplete", "aime24 is incomplete (0 attempts missing, 4 failed)"),
        ("missing", "is not a run directory"),
    ],
)
def test_unusable_inputs_exit_2(
    gate_runs: GateRuns,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    which: str,
    says: str,
) -> None:
    cand = tmp_path / "nope" if which == "missing" else getattr(gate_runs, which)
    code, printed, doc = gate(capsys, gate_runs.base, cand, tmp_path / "out")
    assert code == 2
    lines = printed.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalr: error: ") and says in lines[0]
    assert doc["exit_code"] == 2 and says in doc["error"]


def test_only_shared_tasks_are_gated(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, doc = gate(
        capsys, gate_runs.base, gate_runs.aime_only, tmp_path, "--max-drop", "40"
    )
    assert code == 0
    assert [(r["task"], r["metric"]) for r in doc["comparisons"]] == [("aime24", "pass@1")]
    assert "math500: in one run only, not gated" in doc["notes"]
    assert "note: math500: in one run only, not gated" in printed


def test_incomplete_run_gated_over_graded_attempts_when_allowed(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, doc = gate(
        capsys,
        gate_runs.base,
        gate_runs.incomplete,
        tmp_path,
        "--allow-incomplete",
        "--max-drop",
        "40",
    )
    assert code == 0
    aime = next(r for r in doc["comparisons"] if r["task"] == "aime24")
    assert aime["n"] == LIMIT - 1  # the problem whose every attempt failed is left out
    notes = " ".join(doc["notes"])
    assert "candidate aime24 is incomplete" in notes and "1 problems without graded" in notes


def test_run_text_is_escaped_in_every_output(
    gate_runs: GateRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "<img src=x onerror=alert(1)>|**@admin**\x1b[31m"
    cand = tmp_path / "hostile"
    shutil.copytree(gate_runs.rerun, cand)
    manifest = json.loads((cand / "manifest.json").read_text())
    manifest["protocol"]["model"] = hostile
    manifest["run_id"] = hostile
    (cand / "manifest.json").write_text(json.dumps(manifest))
    code, printed, doc = gate(capsys, gate_runs.base, cand, tmp_path / "out", "--max-drop", "40")
    assert code == 0
    assert doc["candidate"]["model"] == hostile  # JSON keeps the value, escaped by json
    assert "\x1b" not in printed and "\\x1b[31m" in printed
    markdown = (tmp_path / "out" / "gate.md").read_text()
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "\\|\\*\\*&#64;admin\\*\\*" in markdown
    root = junit(tmp_path / "out")  # parses: no control character reached the XML
    suite = root.find("testsuite")
    assert suite is not None
    name = suite.get("name") or ""
    assert "<img src=x onerror=alert(1)>|**@admin**[31m" in name  # the text, without ESC


def test_run_with_gate_against(
    gate_runs: GateRuns,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from .conftest import KEY_ENV

    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    monkeypatch.setenv(KEY_ENV, "sk-gate-test")
    out = tmp_path / "cand"
    argv = gate_runs.run_argv(out, 0.4, "--gate-against", str(gate_runs.base))
    code = main([*argv, "--json", str(tmp_path / "gate.json")])
    printed = capsys.readouterr().out
    assert code == 1
    assert "pass@1" in printed and "REGRESSION (exit 1)" in printed  # run table, then gate
    doc = json.loads((tmp_path / "gate.json").read_text())
    assert doc["candidate"]["path"] == str(out) and doc["verdict"] == "regression"

    # A baseline that cannot be gated against stops the command before any request.
    gate_runs.server.reset_stats()
    argv = gate_runs.run_argv(tmp_path / "never", 0.4, "--gate-against", str(gate_runs.crashed))
    assert main(argv) == 2
    assert "did not finish" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()

    # A data error of the run itself is unusable input (2): 3 only ever means inconclusive.
    monkeypatch.setenv("EVALR_DATA_DIR", str(tmp_path / "no-mirror"))
    argv = gate_runs.run_argv(tmp_path / "nodata", 0.4, "--gate-against", str(gate_runs.base))
    assert main(argv) == 2
    assert "not found" in capsys.readouterr().err
    assert gate_runs.server.stats(detail=False)["received"] == 0


def test_gate_against_finds_the_default_run_directory(
    gate_runs: GateRuns,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from .conftest import KEY_ENV

    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    monkeypatch.setenv(KEY_ENV, "sk-gate-test")
    monkeypatch.chdir(tmp_path)
    argv = gate_runs.run_argv(tmp_path / "unused", 0.7, "--gate-against", str(gate_runs.base))
    at = argv.index("--out")
    del argv[at : at + 2]  # no --out: the run goes to runs/MODEL/TASKS...
    code = main([*argv, "--json", "gate.json", "--max-drop", "40"])
    capsys.readouterr()
    assert code == 0
    doc = json.loads((tmp_path / "gate.json").read_text())
    written = Path(doc["candidate"]["path"])
    assert (written / "results.json").is_file() and written.parts[0] == "runs"
    assert (
        doc["candidate"]["run_id"] == json.loads((written / "manifest.json").read_text())["run_id"]
    )


def test_console_script_exit_codes(gate_runs: GateRuns, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*evalr_argv(), "gate", *args], capture_output=True, text=True, timeout=60
        )

    done = run(str(gate_runs.base), str(gate_runs.worse))
    assert done.returncode == 1 and "REGRESSION" in done.stdout
    done = run(str(gate_runs.base), str(tmp_path / "nope"))
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    done = run(str(gate_runs.base), str(gate_runs.rerun), "--alpha", "0.7")
    assert done.returncode == 2 and "--alpha" in done.stderr
