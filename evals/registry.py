"""Find tasks, backends and sandboxes by name through entry points, importing only what is used."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from evalr.errors import ConfigError

GROUPS = {"task": "evalr.tasks", "backend": "evalr.backends", "sandbox": "evalr.sandboxes"}


@cache
def _points(kind: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUPS[kind])}


def names(kind: str) -> list[str]:
    return sorted(_points(kind))


def did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def load(kind: str, name: str) -> Any:
    """The object an entry point names; a one-line ConfigError for unknown names."""
    points = _points(kind)
    if name not in points:
        known = sorted(points)
        raise ConfigError(
            f"unknown {kind} {name!r}{did_you_mean(name, known)}; "
            f"known: {', '.join(known) or 'none'}"
        )
    return points[name].load()
