"""The ``evalr`` command in-process, plus the installed console script once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evalr import specs
from evalr.cli import main

# The toy task by module:factory reference, as a user names a task without a package.
TOY = "engine.doubles:toy_task"


@pytest.fixture(autouse=True)
def no_user_presets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(specs.USER_PRESETS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("evalr: error: ")
    return lines[0]


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "tasks", "models", "show", "score"):
        assert command in out


def test_run_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--model", "--tasks", "--samples", "--limit", "--seed", "--concurrency"):
        assert flag in out
    for flag in ("--out", "--base-url", "--max-error-rate", "--quiet"):
        assert flag in out


def test_bad_model_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", "r1-distil-qwen-7b", "--tasks", "aime24"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "did you mean r1-distill-qwen-7b" in line


def test_distill_without_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", "r1-distill-qwen-7b", "--tasks", "aime24"]) == 2
    assert "--base-url" in one_line_error(capsys.readouterr().err)


def test_models_lists_presets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    user = tmp_path / "models.toml"
    user.write_text('[my-box]\nspec = "openai:m?base_url=http://127.0.0.1:1/v1"\n')
    monkeypatch.setenv(specs.USER_PRESETS_ENV, str(user))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines() if line and not line[0].isspace()}
    assert {"r1", "v3", "r1-distill-qwen-7b", "r1-distill-llama-70b", "my-box"} <= names
    assert "deepseek-reasoner" in out


def test_show_missing_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["show", str(tmp_path / "nope")]) == 3
    line = one_line_error(capsys.readouterr().err)
    assert "nope is not a run directory" in line


def test_show_unfinished_and_corrupt_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    assert main(["show", str(tmp_path)]) == 3
    assert "not finished" in one_line_error(capsys.readouterr().err)
    (tmp_path / "results.json").write_text('{"tasks": ')
    assert main(["show", str(tmp_path)]) == 3
    assert "corrupt" in one_line_error(capsys.readouterr().err)


def test_run_then_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = ["run", "--model", "fake:constant?answer=42", "--tasks", TOY, "--samples", "2"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr()
    assert "pass@1" in printed.out and "100.0" in printed.out
    assert printed.err == ""  # quiet: no progress line
    assert json.loads((out / "results.json").read_text())["tasks"]["toy"]["k"] == 2

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "toy" in shown and "cons@2" in shown and "fake:constant" in shown


def test_run_error_rate_exit_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    argv = ["run", "--model", "fake:constant?fail_rate=1", "--tasks", TOY, "--samples", "1"]
    code = main([*argv, "--out", str(tmp_path), "--quiet", "--retries", "1"])
    assert code == 7
    assert "3 of 3 attempts failed" in one_line_error(capsys.readouterr().err)
    assert (tmp_path / "results.json").is_file()  # stored work and results are kept


def test_run_unwritable_out(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    argv = ["run", "--model", "fake:constant", "--tasks", TOY, "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "file" / "run")]) == 2
    assert "cannot write" in one_line_error(capsys.readouterr().err)


def test_bad_flag_values_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["run", "--model", "r1", "--tasks", "aime24", "--samples", "0"],
        ["run", "--model", "r1", "--tasks", "aime24", "--max-error-rate", "2"],
        ["run", "--model", "r1", "--tasks", ","],
    ):
        assert main(argv) == 2
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and line.startswith("evalr run: error: ")
        assert "(see evalr run --help)" in line


def test_console_script_bad_model(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("evalr")
    assert script.is_file(), "evalr is not installed in this environment (pip install -e .)"
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop(specs.USER_PRESETS_ENV, None)
    done = subprocess.run(
        [str(script), "run", "--model", "nosuchmodel", "--tasks", "aime24"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown model 'nosuchmodel'" in one_line_error(done.stderr)


def test_tasks_lists_every_registered_task(capsys: pytest.CaptureFixture[str]) -> None:
    from evalr import registry

    assert main(["tasks"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line}
    assert set(registry.names("task")) == listed
    assert {"aime24", "math500", "gpqa_diamond"} <= listed


def test_score_without_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score"]) == 2
    line = capsys.readouterr().err.strip()
    assert "--responses" in line and "\n" not in line
