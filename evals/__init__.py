"""evalr: reproducible evaluation of reasoning LLMs.

Attributes load lazily so importing evalr (and ``evalr --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Completion",
    "Dataset",
    "DatasetInfo",
    "EvalrError",
    "GenerationRequest",
    "Grade",
    "Grader",
    "Message",
    "ModelSpec",
    "Prompt",
    "Sample",
    "Sampling",
    "Task",
    "load_runs",
    "run",
]

_WHERE = {
    "Completion": "evalr.types",
    "GenerationRequest": "evalr.types",
    "Grade": "evalr.types",
    "Message": "evalr.types",
    "Sample": "evalr.types",
    "Sampling": "evalr.types",
    "Dataset": "evalr.task",
    "DatasetInfo": "evalr.task",
    "Grader": "evalr.task",
    "Prompt": "evalr.task",
    "Task": "evalr.task",
    "EvalrError": "evalr.errors",
    "ModelSpec": "evalr.specs",
    "run": "evalr.api",
    "load_runs": "evalr.api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'evalr' has no attribute {name!r}")
