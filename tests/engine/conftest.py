"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from evalr.task import Task


@pytest.fixture
def use_tasks(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the runner build the given in-memory tasks instead of entry-point plugins."""

    def install(*tasks: Task) -> None:
        by_name = {t.name: t for t in tasks}
        monkeypatch.setattr("evalr.runner.build_task", lambda name, options: by_name[name])

    return install
