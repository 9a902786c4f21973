"""What ``--tasks`` names: a registered task, a task file, a ``module:factory``, or a Task object.

- ``aime24``: a task registered through the ``evalr.tasks`` entry point;
- ``path/to/arith.yaml`` (``.yaml``/``.yml``): a task file (``evalr.taskfile``), no package;
- ``package.module:factory``: a callable returning a Task (or a Task object by that name);
- a ``Task`` object (Python API only).

Options come from ``-T key=value`` as strings and are converted by the factory's annotations
(``int``, ``float``, ``bool``, ``str``, ``X | None``); an option no task accepts is an error.
The sandbox choice reaches factories that take a ``sandbox`` parameter as a value: it is
isolation, not protocol, so it is never part of the stored options.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalr import registry
from evalr.errors import ConfigError
from evalr.task import Task

SourceKind = Literal["registered", "file", "factory", "object"]
TaskRef = str | Task


@dataclass(frozen=True)
class TaskSource:
    """How a run's task was named; recorded in the manifest so re-grading can rebuild it."""

    kind: SourceKind
    ref: str  # the registered name, the file's absolute path, module:factory, or the Task name
    # A task file's content hash: part of the protocol, so an edited file refuses to resume.
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "ref": self.ref}
        if self.sha256:
            out["sha256"] = self.sha256
        return out


@dataclass(frozen=True)
class Resolved:
    task: Task
    source: TaskSource
    options: Mapping[str, Any] = field(default_factory=dict)  # as converted, without sandbox


def is_file_ref(text: str) -> bool:
    return text.endswith((".yaml", ".yml"))


def resolve(
    ref: TaskRef, options: Mapping[str, str] | None = None, sandbox: str | None = None
) -> Resolved:
    """Build the task a reference names, with its options applied."""
    options = dict(options or {})
    if isinstance(ref, Task):
        if options:
            raise ConfigError(f"task {ref.name}: options apply to named tasks, not Task objects")
        return Resolved(ref, TaskSource("object", ref.name))
    text = ref.strip()
    if is_file_ref(text):
        from evalr.taskfile import load_task_file

        path = Path(text).expanduser().resolve()
        task, digest = load_task_file(path, options)
        return Resolved(task, TaskSource("file", str(path), digest), options)
    if ":" in text:
        factory = _import_factory(text)
        kind: SourceKind = "factory"
    else:
        factory = registry.load("task", text)
        kind = "registered"
    if isinstance(factory, Task):
        if options:
            raise ConfigError(f"task {text}: a Task object takes no options")
        return Resolved(factory, TaskSource(kind, text))
    converted = convert_options(text, factory, options)
    call = dict(converted)
    if sandbox is not None and "sandbox" in _parameters(factory):
        call["sandbox"] = sandbox
    try:
        task = factory(**call)
    except TypeError as exc:
        raise ConfigError(f"task {text}: bad option ({exc})") from None
    if not isinstance(task, Task):
        raise ConfigError(f"task {text}: the factory returned {type(task).__name__}, not a Task")
    return Resolved(task, TaskSource(kind, text), converted)


def accepted_options(ref: TaskRef) -> set[str] | None:
    """The -T options a reference's factory takes (None: any); empty for files and objects."""
    if isinstance(ref, Task) or is_file_ref(ref.strip()):
        return set()
    text = ref.strip()
    factory = _import_factory(text) if ":" in text else registry.load("task", text)
    if isinstance(factory, Task):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in _parameters(factory).values()):
        return None
    return set(option_names(factory))


def _import_factory(text: str) -> Any:
    module_name, _, attr = text.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"task {text!r}: expected package.module:factory")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"task {text}: cannot import {module_name} ({exc})") from None
    found = getattr(module, attr, None)
    if found is None:
        raise ConfigError(f"task {text}: {module_name} has no {attr!r}")
    return found


def _parameters(factory: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}


def option_names(factory: Callable[..., Any]) -> list[str]:
    """Options a factory accepts from ``-T`` (the sandbox travels separately)."""
    return [
        name
        for name, p in _parameters(factory).items()
        if name != "sandbox" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def convert_options(
    label: str, factory: Callable[..., Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """``-T`` strings converted by the factory's annotations; unknown keys are errors."""
    params = _parameters(factory)
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # unresolvable annotations: pass strings through
        hints = {}
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in params and not accepts_any:
            known = ", ".join(option_names(factory)) or "none"
            raise ConfigError(
                f"task {label}: unknown option {key!r}{registry.did_you_mean(key, list(params))}; "
                f"options: {known}"
            )
        out[key] = _convert(label, key, value, hints.get(key))
    return out


def _convert(label: str, key: str, value: Any, hint: Any) -> Any:
    if not isinstance(value, str) or hint is None:
        return value
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if type(None) in kinds and value.lower() in ("none", "null", ""):
        return None
    for kind in kinds:
        if kind is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        elif kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
        elif kind is str or typing.get_origin(kind) is Literal:
            allowed = typing.get_args(kind)
            if allowed and value not in allowed:
                raise ConfigError(
                    f"task {label}: option {key}={value!r}: choose one of "
                    f"{', '.join(map(str, allowed))}"
                )
            return value
    wanted = " or ".join(getattr(k, "__name__", str(k)) for k in kinds)
    raise ConfigError(f"task {label}: option {key}={value!r} is not a valid {wanted}")
