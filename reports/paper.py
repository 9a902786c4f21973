"""The DeepSeek-R1 paper's figures (``published/deepseek_r1.json``) and how a run meets them.

A run is matched to a published model by ``--published-as`` or else by its preset name (the
label its run id starts with: ``r1``, ``v3``, ``r1-distill-qwen-7b``, ...) or its model name
(``deepseek-ai/DeepSeek-R1-Distill-Qwen-7B``), case-insensitively, against each published
model's name and aliases. A measured cell is *consistent* with the published figure when the
figure lies inside the cell's 95% interval, and *differs* otherwise. Every way a run's protocol
departs from the paper's (sampling, k, token cap, dataset slice, options, test sets) is listed
per cell, to be shown as a footnote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from evalr.errors import ConfigError
from evalr.protocol import R1

PAPER_PROTOCOL = R1.name


@dataclass(frozen=True)
class Published:
    name: str
    aliases: tuple[str, ...]
    sources: tuple[str, ...]
    figures: Mapping[str, float]
    notes: str = ""


@dataclass(frozen=True)
class Match:
    model: Published
    how: str  # "--published-as", "preset r1", "model deepseek-ai/..."


@cache
def paper() -> Mapping[str, Any]:
    """The published-figures document, as shipped."""
    text = resources.files("evalr.reports").joinpath("published/deepseek_r1.json").read_text()
    return json.loads(text)


@cache
def published_models() -> dict[str, Published]:
    return {
        name: Published(
            name,
            tuple(m.get("aliases", ())),
            tuple(m.get("sources", ())),
            dict(m.get("figures", {})),
            str(m.get("notes", "")),
        )
        for name, m in paper()["models"].items()
    }


def _lookup(name: str) -> Published | None:
    wanted = name.strip().lower()
    for model in published_models().values():
        if wanted == model.name.lower() or wanted in (a.lower() for a in model.aliases):
            return model
    return None


def find_published(name: str) -> Published:
    """A published model by name or alias; a ConfigError naming the choices otherwise."""
    found = _lookup(name)
    if found is None:
        from evalr.registry import did_you_mean

        names = list(published_models())
        raise ConfigError(
            f"no published model {name!r}{did_you_mean(name, names)}; known: {', '.join(names)}"
        )
    return found


def parse_published_as(text: str | None) -> tuple[Published | None, dict[str, Published]]:
    """``NAME`` (every run) or ``RUN=NAME,RUN=NAME`` (runs by label, run id or directory)."""
    if not text:
        return None, {}
    if "=" not in text:
        return find_published(text), {}
    pairs: dict[str, Published] = {}
    for item in text.split(","):
        run, sep, name = item.partition("=")
        if not sep or not run.strip() or not name.strip():
            raise ConfigError(f"--published-as: expected NAME or RUN=NAME[,RUN=NAME], not {text!r}")
        pairs[run.strip()] = find_published(name)
    return None, pairs


def match_run(names: Sequence[str], model: str, override: Published | None = None) -> Match | None:
    """``names``: the run's own names (label, run id, directory) to match a RUN=NAME pair;
    ``model``: the protocol's model (``backend:target``)."""
    if override is not None:
        return Match(override, "--published-as")
    label = names[0] if names else ""
    found = _lookup(label) if label else None
    if found is not None:
        return Match(found, f"preset {label}")
    target = model.partition(":")[2].split("?", 1)[0]
    for candidate in (target, target.rstrip("/").rsplit("/", 1)[-1]):
        found = _lookup(candidate) if candidate else None
        if found is not None:
            return Match(found, f"model {target}")
    return None


def verdict(published: float | None, low: float | None, high: float | None) -> str:
    """consistent (figure inside the 95% interval), differs, or "" (nothing to compare)."""
    if published is None or low is None or high is None:
        return ""
    return "consistent" if low <= published <= high else "differs"


def _task_rows(manifest: Mapping[str, Any], task: str) -> int | None:
    rows = manifest.get("tasks", {}).get(task, {}).get("dataset", {}).get("rows")
    return int(rows) if isinstance(rows, int) else None


def _preset_ignores(preset: str | None, protocol: Mapping[str, Any]) -> list[str]:
    """Sampling settings the run's preset says its endpoint ignores (the DeepSeek API's
    temperature and top-p for deepseek-reasoner), when the run's model is that preset's."""
    if not preset:
        return []
    from evalr.errors import EvalrError
    from evalr.specs import presets

    try:
        spec = presets().get(preset)
    except EvalrError:  # an unreadable user presets file: nothing to learn from it
        return []
    if spec is None or spec.identity != protocol.get("model"):
        return []
    return list(spec.ignores)


def protocol_differences(
    manifest: Mapping[str, Any],
    task: str,
    entry: Mapping[str, Any],
    problems: int,
    preset: str | None = None,
) -> list[str]:
    """How a run's task departs from the paper's protocol, in words (empty: it follows it).
    ``preset``: the run's preset name, for what its endpoint is known to ignore."""
    protocol = manifest.get("protocol", {})
    name = protocol.get("name") or "unnamed"
    out: list[str] = []
    if name != PAPER_PROTOCOL:
        out.append(f"protocol {name}, not {PAPER_PROTOCOL}")
    sampling = protocol.get("sampling", {})
    for key, value in R1.sampling.as_dict().items():
        if key in sampling and sampling[key] != value:
            out.append(f"{key} {sampling[key]} ({PAPER_PROTOCOL}: {value})")
    ignored = (
        manifest.get("ignored_sampling")
        or manifest.get("model", {}).get("ignores")
        or _preset_ignores(preset, protocol)
    )
    if ignored:
        out.append(f"the endpoint ignores {', '.join(map(str, ignored))}")
    if protocol.get("assistant_prefix"):
        out.append(f"assistant turn starts with {protocol['assistant_prefix']!r}")
    spec = protocol.get("tasks", {}).get(task, {})
    k = spec.get("k")
    expected = R1.samples.get(task)
    if expected is not None and k is not None and k != expected:
        out.append(f"k={k} ({PAPER_PROTOCOL}: {expected})")
    rows = _task_rows(manifest, task)
    if rows is not None and 0 < problems < rows:
        out.append(f"first {problems} of {rows} problems")
    for key, value in sorted((spec.get("options") or {}).items()):
        out.append(f"option {key}={value}")
    test_sets = entry.get("test_sets") or {}
    label = str(entry.get("label", task))
    if task == "livecodebench" and (label != "LiveCodeBench" or set(test_sets) - {"hidden"}):
        sets = ", ".join(f"{k} {v}" for k, v in sorted(test_sets.items())) or label
        out.append(f"graded on public tests ({sets}): not a LiveCodeBench score")
    elif "sample tests only" in label or "public tests" in label:
        out.append(f"graded as {label!r}")
    # The run's own record of how it departs from its protocol: the paper's only for an r1 run
    # (another protocol's deviations are measured against that protocol, not the paper).
    tasks = set(protocol.get("tasks", {}))
    for deviation in manifest.get("deviations", []) if name == PAPER_PROTOCOL else []:
        head, sep, rest = deviation.partition(": ")
        if sep and head in tasks:
            if head != task:
                continue  # another task's
            deviation = rest
        if deviation not in out:
            out.append(deviation)
    return out
