"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from evalr.task import Task

from . import doubles


@pytest.fixture
def use_tasks() -> Iterator[Callable[..., None]]:
    """Name in-memory tasks for ``doubles.config``: RunConfig then carries the Task objects."""

    def install(*tasks: Task) -> None:
        doubles.INSTALLED.clear()
        doubles.INSTALLED.update({t.name: t for t in tasks})

    yield install
    doubles.INSTALLED.clear()
