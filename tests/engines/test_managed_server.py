"""managed_server with the real llama.cpp OpenAI server: ready, usable, always gone afterwards."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from evalr.engines import command_line, engine, managed_server
from evalr.errors import ConfigError, FatalBackendError

from .conftest import alive, logged_pid

pytestmark = pytest.mark.llamacpp


def test_the_server_answers_inside_the_block_and_is_gone_after(gguf: Path, tmp_path: Path) -> None:
    async def go() -> tuple[int, dict]:
        async with managed_server("llamacpp", str(gguf), {"n_ctx": "1024"}, tmp_path) as server:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as resp:
                body = json.load(resp)
            assert server.pid is not None and alive(server.pid)
            return server.pid, {**server.describe(), "models": body}

    pid, facts = asyncio.run(go())
    assert not alive(pid)
    assert facts["engine"] == "llamacpp" and facts["version"]
    assert facts["native_n"] is False and facts["max_concurrency"] == 1
    assert (
        "--n_ctx" in facts["argv"] and facts["argv"][facts["argv"].index("--n_ctx") + 1] == "1024"
    )
    assert facts["models"]["data"], "the server listed no model"
    log = tmp_path / "engine-llamacpp.log"
    assert "llama_cpp.server" in log.read_text() and "[evalr] stopped" in log.read_text()


def test_an_error_inside_the_block_still_stops_the_server(gguf: Path, tmp_path: Path) -> None:
    seen: list[int] = []

    async def go() -> None:
        async with managed_server("llamacpp", str(gguf), {}, tmp_path) as server:
            assert server.pid
            seen.append(server.pid)
            raise RuntimeError("evaluation blew up")

    with pytest.raises(RuntimeError, match="blew up"):
        asyncio.run(go())
    assert seen and not alive(seen[0])


def test_a_server_that_dies_at_start_fails_with_its_log_tail(gguf: Path, tmp_path: Path) -> None:
    async def go() -> None:
        async with managed_server("llamacpp", str(gguf), {"n_ctx": "lots"}, tmp_path):
            raise AssertionError("should not get here")

    with pytest.raises(FatalBackendError) as info:
        asyncio.run(go())
    message = str(info.value)
    assert "exited with code" in message and "engine-llamacpp.log" in message
    assert "n_ctx" in message, "the log tail should say what was wrong"
    assert "\n" not in message
    assert not alive(logged_pid(tmp_path / "engine-llamacpp.log"))


def test_a_server_that_never_gets_ready_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    # A fake engine interpreter that just sleeps: it never answers /v1/models.
    sleeper = tmp_path / "python"
    sleeper.write_text(
        '#!/bin/sh\ncase "$2" in *importlib*) echo 9.9; exit 0;; esac\nexec sleep 600\n'
    )
    sleeper.chmod(0o755)

    async def go() -> None:
        async with managed_server(
            "vllm", "some/model", {}, tmp_path, python=str(sleeper), ready_timeout_s=1
        ):
            raise AssertionError("should not get here")

    with pytest.raises(FatalBackendError, match="not ready after 1 s"):
        asyncio.run(go())
    assert not alive(logged_pid(tmp_path / "engine-vllm.log"))


DRIVER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from evalr.engines import managed_server

    async def main():
        async with managed_server("llamacpp", sys.argv[1], {}, Path(sys.argv[2])) as server:
            print(server.pid, flush=True)
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_server_dies_with_its_parent(
    gguf: Path, tmp_path: Path, quiet_env: dict[str, str], sig: signal.Signals
) -> None:
    """Ctrl-C runs the cleanup; SIGTERM and SIGKILL are caught by the parent-death signal."""
    parent = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(gguf), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=quiet_env,
        text=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"driver printed {line!r}"
    pid = int(line)
    assert alive(pid)
    parent.send_signal(sig)
    parent.wait(timeout=60)
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), f"server {pid} outlived its parent after {sig.name}"


def test_flags_are_spelled_as_each_engine_spells_them() -> None:
    flags = {"tensor_parallel_size": "8", "enable_prefix_caching": "true", "enforce_eager": "false"}
    argv = command_line(engine("vllm"), "deepseek-ai/DeepSeek-R1", 8000, flags, "py")
    assert argv[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[argv.index("--tensor-parallel-size") + 1] == "8"
    assert "--enable-prefix-caching" in argv and "--enforce-eager" not in argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    sg = command_line(engine("sglang"), "deepseek-ai/DeepSeek-R1", 9000, {"tp": "8"}, "py")
    assert sg[sg.index("--model-path") + 1] == "deepseek-ai/DeepSeek-R1" and "--tp" in sg
    ll = command_line(engine("llamacpp"), "r1.gguf", 1, {"n_gpu_layers": "99"}, "py")
    assert "--n_gpu_layers" in ll and "--n_ctx" in ll, "llama.cpp spells flags with underscores"


def test_secrets_in_engine_flags_stay_out_of_the_manifest(tmp_path: Path) -> None:
    from evalr.engines import ManagedServer

    server = ManagedServer(engine("vllm"), "m", {"api_key": "s3cret", "dtype": "bf16"}, tmp_path)
    server.argv = command_line(engine("vllm"), "m", 1, server.flags, "py")
    facts = server.describe()
    assert "s3cret" not in str(facts) and facts["flags"]["dtype"] == "bf16"
    assert facts["argv"][facts["argv"].index("--api-key") + 1] == "***"


def test_unknown_engine_and_missing_engine_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown engine 'vlm'"):
        engine("vlm")

    async def go() -> None:
        async with managed_server("sglang", "m", {}, tmp_path):
            pass

    # sglang is not installed in the test environment: say how to install it.
    with pytest.raises(ConfigError, match=r"pip install 'sglang\[all\]'"):
        asyncio.run(go())
