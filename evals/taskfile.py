"""Tasks from a YAML file: a new dataset with no Python and no package (``docs/tasks.md``).

```yaml
name: arith                 # label in results; default: the file's stem
description: Two-digit sums # optional
version: "1"                # optional; bump it when you change grading by hand
dataset:
  path: arith.jsonl         # JSONL, JSON, CSV or Parquet, relative to this file; or
  # hub: org/name           #   a Hub dataset, with revision: SHA (required), split:, config:
id: qid                     # field with the problem id (default: the row number)
prompt: "{{ question }}\\nPlease reason step by step, and put your final answer within \\\\boxed{}."
system: "..."               # optional system message (also a template)
target: solution            # field (or a Jinja2 template) with the gold answer
grader: math                # math | integer | choice | exact, or package.module:callable
samples: 4                  # default k
```

Templates render with Jinja2 and ``StrictUndefined`` against each row, so a template naming a
field the rows lack fails before any request with the file, the key and the row. Every mistake
is one ``ConfigError`` line naming the file, the key and what to write. The file's bytes are
hashed into the protocol: an edited task file refuses to resume a run made with the old one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evalr.errors import ConfigError, DataError
from evalr.task import Dataset, DatasetInfo, Grader, Prompt, Task
from evalr.types import Message, Problem

KEYS = {
    "name",
    "description",
    "version",
    "dataset",
    "id",
    "prompt",
    "system",
    "target",
    "grader",
    "samples",
    "majority_vote",
}
DATASET_KEYS = {"path", "hub", "revision", "split", "config"}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


class _FileError:
    """Builds the one-line errors for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"task file {self.path}: {key}: {problem}; {fix}")


def load_task_file(path: Path, options: Mapping[str, Any] | None = None) -> tuple[Task, str]:
    """The Task a YAML file describes, and the file's sha256."""
    if options:
        raise ConfigError(f"task file {path}: takes no -T options (edit the file instead)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"task file {path}: cannot read it ({exc.strerror})") from None
    err = _FileError(path)
    spec = _parse_yaml(raw, err)
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise err(unknown[0], "unknown key", f"use one of {', '.join(sorted(KEYS))}")
    for key in ("dataset", "prompt", "target", "grader"):
        if key not in spec:
            raise err(key, "missing", _HINTS[key])
    name = str(spec.get("name") or path.stem)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise err("name", f"{name!r} is not a plain name", "use letters, digits, _ . -")
    samples = spec.get("samples", 1)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise err("samples", f"{samples!r} is not a positive integer", "write e.g. samples: 4")
    grader = _grader(spec["grader"], err)
    env = _templates()
    prompt = _template(env, spec["prompt"], "prompt", err)
    system = _template(env, spec["system"], "system", err) if spec.get("system") else None
    target = spec["target"]
    if not isinstance(target, str) or not target.strip():
        raise err("target", "must be a field name or a template", _HINTS["target"])
    target_render = (
        _template(env, target, "target", err) if not _FIELD.match(target.strip()) else None
    )
    id_field = spec.get("id")
    if id_field is not None and not (isinstance(id_field, str) and _FIELD.match(id_field)):
        raise err("id", f"{id_field!r} is not a field name", "write e.g. id: qid")
    source = _dataset(spec["dataset"], path.parent, err)

    def to_sample(number: int, row: Mapping[str, Any]) -> Problem:
        gold = (
            _render(target_render, row, "target", number, err)
            if target_render
            else _field(row, target.strip(), "target", number, err)
        )
        sid = _field(row, id_field, "id", number, err) if id_field else str(number)
        return Problem(id=sid, input="", target=gold, metadata=dict(row))

    def load(seed: int) -> Dataset:
        rows, info = source()
        samples_ = tuple(to_sample(n, row) for n, row in enumerate(rows, 1))
        ids = [s.id for s in samples_]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise err("id", f"duplicate problem id {dup!r}", "name a field with unique values")
        # Render every prompt now: a template naming a missing field fails before any request.
        return Dataset(tuple(_with_input(s, n) for n, s in enumerate(samples_, 1)), info)

    def _with_input(problem: Problem, number: int) -> Problem:
        text = _render(prompt, problem.metadata, "prompt", number, err)
        return Problem(problem.id, text, problem.target, problem.metadata)

    def to_prompt(problem: Problem) -> Prompt:
        messages = [Message("user", problem.input)]
        if system is not None:
            text = _render(system, problem.metadata, "system", 0, err)
            messages.insert(0, Message("system", text))
        return Prompt(tuple(messages))

    majority = spec.get("majority_vote", True)
    task = Task(
        name=name,
        version=str(spec.get("version", "1")),
        description=str(spec.get("description") or f"task file {path.name}"),
        load=load,
        prompt=to_prompt,
        grader=grader,
        default_samples=samples,
        majority_vote=bool(majority),
        params={"task_file": str(path)},
    )
    return task, hashlib.sha256(raw).hexdigest()


_HINTS = {
    "dataset": "write dataset: {path: rows.jsonl} or dataset: {hub: org/name, revision: SHA}",
    "prompt": 'write prompt: "{{ question }}" (a Jinja2 template over each row\'s fields)',
    "target": 'write target: answer (a field) or a template like "{{ answer }}"',
    "grader": "write grader: math, integer, choice, exact, or package.module:callable",
}


def _parse_yaml(raw: bytes, err: _FileError) -> dict[str, Any]:
    import yaml

    try:
        spec = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise err("file", "not UTF-8 text", "save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise err(where, str(problem), "fix the YAML syntax there") from None
    if not isinstance(spec, dict):
        raise err("file", "not a mapping of keys", "start with name:, dataset:, prompt: ...")
    return spec


def _templates() -> Any:
    import jinja2

    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def _template(env: Any, text: Any, key: str, err: _FileError) -> Any:
    import jinja2

    if not isinstance(text, str) or not text.strip():
        raise err(key, "must be a non-empty text", _HINTS.get(key, "give a Jinja2 template"))
    try:
        return env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise err(key, f"template error ({exc.message})", "fix the {{ }} syntax") from None


def _render(template: Any, row: Mapping[str, Any], key: str, number: int, err: _FileError) -> str:
    import jinja2

    try:
        return str(template.render(**row))
    except jinja2.UndefinedError as exc:
        fields = ", ".join(sorted(map(str, row))) or "none"
        raise err(
            key, f"row {number}: {exc.message}", f"use one of the rows' fields: {fields}"
        ) from None


def _field(row: Mapping[str, Any], name: str, key: str, number: int, err: _FileError) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        fields = ", ".join(sorted(map(str, row))) or "none"
        raise err(key, f"row {number} has no field {name!r}", f"use one of: {fields}")
    return str(value).strip()


def _dataset(
    spec: Any, base: Path, err: _FileError
) -> Callable[[], tuple[list[Mapping[str, Any]], DatasetInfo]]:
    from evalr import data

    if not isinstance(spec, dict):
        raise err("dataset", "must be a mapping", _HINTS["dataset"])
    unknown = sorted(set(spec) - DATASET_KEYS)
    if unknown:
        raise err(f"dataset.{unknown[0]}", "unknown key", f"use {', '.join(sorted(DATASET_KEYS))}")
    if ("path" in spec) == ("hub" in spec):
        raise err("dataset", "give exactly one of path: and hub:", _HINTS["dataset"])
    if "path" in spec:
        file = (base / str(spec["path"])).resolve()
        if not file.is_file():
            raise err("dataset.path", f"{file} not found", "give a path relative to the task file")

        def local() -> tuple[list[Mapping[str, Any]], DatasetInfo]:
            rows = _checked(data.read_rows(file), file, err)
            digest = data.file_sha256(file)
            info = DatasetInfo(
                id=str(spec["path"]),
                revision=digest[:12],
                source=f"file:{file}",
                split="file",
                extra={"sha256": digest, "rows": len(rows)},
            )
            return rows, info

        return local
    revision = str(spec.get("revision") or "")
    if not _SHA.match(revision):
        raise err(
            "dataset.revision",
            f"{revision or 'missing'}: the Hub needs a pinned commit",
            "write revision: <40-hex commit sha> (branches and tags move)",
        )
    hub = data.HubRef(
        str(spec["hub"]), revision, str(spec.get("split", "test")), spec.get("config")
    )

    def remote() -> tuple[list[Mapping[str, Any]], DatasetInfo]:
        rows = data.hub_rows(hub)
        out = _checked(list(rows.rows), Path(hub.repo), err)
        extra = {"config": hub.config, "sha256": rows.sha256}
        return out, DatasetInfo(hub.repo, hub.revision, rows.source, hub.split, extra)

    return remote


def _checked(rows: Any, where: Path, err: _FileError) -> list[Mapping[str, Any]]:
    out = list(rows)
    if not out:
        raise DataError(f"task file {err.path}: dataset {where} has no rows")
    for number, row in enumerate(out, 1):
        if not isinstance(row, Mapping):
            raise DataError(f"task file {err.path}: dataset row {number} is not an object")
    return out


def _grader(value: Any, err: _FileError) -> Grader:
    from evalr import graders

    builtin: dict[str, Callable[[], Grader]] = {
        "math": graders.MathGrader,
        "integer": graders.IntegerGrader,
        "choice": graders.ChoiceGrader,
        "exact": graders.ExactGrader,
    }
    if not isinstance(value, str) or not value.strip():
        raise err("grader", "must be a name", _HINTS["grader"])
    name = value.strip()
    if name in builtin:
        return builtin[name]()
    if ":" not in name:
        raise err("grader", f"unknown grader {name!r}", _HINTS["grader"])
    from evalr.taskref import _import_factory

    try:
        found = _import_factory(name)
    except ConfigError as exc:
        raise err("grader", str(exc), _HINTS["grader"]) from None
    return graders.as_grader(found, name)
