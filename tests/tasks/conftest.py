"""Task tests read the real data mirror through ``EVALR_DATA_DIR``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def mirror_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    yield data_dir
