"""End-to-end fixtures: ``evalr`` subprocesses with the data mirror and an API key set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .driver import API_KEY, KEY_ENV, Evalr


@pytest.fixture
def evalr(tmp_path: Path, data_dir: Path) -> Evalr:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update({"EVALR_DATA_DIR": str(data_dir), KEY_ENV: API_KEY})
    return Evalr(tmp_path, env)
