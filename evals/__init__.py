"""evalr: reproducible evaluation of reasoning LLMs.

Attributes load lazily so importing evalr (and ``evalr --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "ChoiceGrader",
    "Completion",
    "Dataset",
    "DatasetInfo",
    "EvalrError",
    "ExactGrader",
    "GenerationRequest",
    "Grade",
    "Grader",
    "HubRef",
    "IntegerGrader",
    "MathGrader",
    "Message",
    "ModelSpec",
    "Problem",
    "Prompt",
    "Sample",
    "Sampling",
    "Task",
    "choice_prompt",
    "hub_rows",
    "load_problems",
    "load_rows",
    "load_runs",
    "math_prompt",
    "mirror_rows",
    "read_rows",
    "rescore",
    "run",
]

_WHERE = {
    "Completion": "evalr.types",
    "GenerationRequest": "evalr.types",
    "Grade": "evalr.types",
    "Message": "evalr.types",
    "Problem": "evalr.types",
    "Sample": "evalr.types",
    "Sampling": "evalr.types",
    "Dataset": "evalr.task",
    "DatasetInfo": "evalr.task",
    "Grader": "evalr.task",
    "Prompt": "evalr.task",
    "Task": "evalr.task",
    "EvalrError": "evalr.errors",
    "ModelSpec": "evalr.specs",
    # Building blocks for tasks in a plain Python file (``--tasks my_tasks:arith``).
    "MathGrader": "evalr.graders",
    "IntegerGrader": "evalr.graders",
    "ChoiceGrader": "evalr.graders",
    "ExactGrader": "evalr.graders",
    "math_prompt": "evalr.tasks.prompts",
    "choice_prompt": "evalr.tasks.prompts",
    "HubRef": "evalr.data",
    "read_rows": "evalr.data",
    "hub_rows": "evalr.data",
    "mirror_rows": "evalr.data",
    "load_rows": "evalr.data",
    "run": "evalr.api",
    "rescore": "evalr.api",
    "load_runs": "evalr.api",
    "load_problems": "evalr.api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'evalr' has no attribute {name!r}")
