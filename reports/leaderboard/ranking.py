"""Rankings: which runs compare, which one stands for each model, and who is tied with whom.

**Comparable runs.** Two runs' numbers for a task are ranked together only when the task was
run under the same protocol: protocol name, sampling, assistant prefix, the task's protocol
record (version, k, problem limit, options, task source), dataset (id, revision, split,
config), the same problem ids, and grader (name and version) all equal. Model and seed may
differ: they are what is compared (a seed reshuffles GPQA's options, so the record's
seed-dependent dataset and prompt hashes are left out; a prompt change bumps the task
version). A run that departs from its protocol (``deviations``) is labelled modified, with the
deviations, and ranks only against runs with the same departures.

**Newest wins.** Per model and comparable protocol, the newest finished run (``created`` in
its manifest) stands in the ranking; older runs stay listed on the model's page.

**Ties.** Within one ranking (task x metric x protocol), every pair of models is compared by a
paired test over the problems both runs graded (per-problem scores: pass@1 = correct/attempts,
pass@k = unbiased pass@k, cons@k = majority vote right), through
``evalr.paired.paired_difference``; the pairs' two-sided p-values are Holm-corrected together.
A model's rank interval runs from 1 + the number of models significantly better to N - the
number significantly worse (MathArena's rank intervals, with a paired test); tie groups cut the
value order where two neighbours differ significantly. Metrics without per-problem scores (a
Codeforces rating) are ordered by value, with no test.

Holm's correction is our own six lines: scipy offers Benjamini-Hochberg only
(``scipy.stats.false_discovery_control``), and statsmodels, which has it, is a large dependency
for one loop.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalr.metrics import pass_at_k

from .catalog import FINISHED, ListedRun, TaskState

PER_PROBLEM = re.compile(r"(pass|cons)@(\d+)")
PAIRED_METHOD = (
    "paired tests over shared problems (evalr.paired.paired_difference), "
    "Holm-corrected over all pairs"
)


@dataclass(frozen=True)
class Standing:
    """One model's place in one ranking."""

    run: ListedRun
    task: TaskState
    value: float | None
    metric: Mapping[str, Any]
    rank_low: int
    rank_high: int
    group: int  # tie group, 1 = the top group

    @property
    def rank(self) -> str:
        if self.rank_low == self.rank_high:
            return str(self.rank_low)
        return f"{self.rank_low}\u2013{self.rank_high}"


@dataclass(frozen=True)
class Ranking:
    task: str
    task_label: str
    metric: str
    protocol: str  # the protocol's name, and its departures for a modified one
    key: str  # short hash of what makes runs comparable
    modified: bool
    paired: bool  # False: ordered by value, no test
    standings: tuple[Standing, ...]


@dataclass(frozen=True)
class Board:
    rankings: tuple[Ranking, ...]
    # (run rel, task) -> rel of the newer run of the same model and protocol that stands instead
    superseded: Mapping[tuple[str, str], str]


def protocol_key(run: ListedRun, task: TaskState) -> tuple[str, str]:
    """(key, label) of the protocol ``task`` was run under in ``run``."""
    assert run.run is not None
    manifest = run.run.manifest
    protocol = manifest.get("protocol", {})
    described = manifest.get("tasks", {}).get(task.name, {})
    grader, dataset = described.get("grader", {}), described.get("dataset", {})
    # The record's dataset and prompt hashes follow the run's seed where a task shuffles
    # (GPQA's option order): the seed is not a protocol difference, the problems are.
    record = {
        k: v
        for k, v in protocol.get("tasks", {}).get(task.name, {}).items()
        if k not in ("dataset_sha256", "prompts_sha256")
    }
    keyed = {
        "name": protocol.get("name"),
        "sampling": protocol.get("sampling"),
        "assistant_prefix": protocol.get("assistant_prefix", ""),
        "task": task.name,
        "record": record,
        "dataset": [dataset.get(k) for k in ("id", "revision", "split", "config")],
        "problems": hashlib.sha256("\0".join(run.run.outcomes(task.name).ids).encode()).hexdigest(),
        "grader": [grader.get("grader"), grader.get("version")],
        "label": task.label,
    }
    text = json.dumps(keyed, sort_keys=True, ensure_ascii=False, default=str)
    name = str(protocol.get("name") or "unnamed protocol")
    label = f"{name}, modified: {'; '.join(task.deviations)}" if task.deviations else name
    return hashlib.sha256(text.encode()).hexdigest()[:12], label


def problem_scores(run: ListedRun, task: str, metric: str) -> dict[str, float] | None:
    """Per-problem scores behind ``metric`` (None for metrics without any)."""
    found = PER_PROBLEM.fullmatch(metric)
    if found is None or run.run is None:
        return None
    kind, k = found.group(1), int(found.group(2))
    out = run.run.outcomes(task)
    scores: dict[str, float] = {}
    for pid, n, c, vote in zip(out.ids, out.attempts, out.correct, out.cons, strict=True):
        if n == 0:
            continue
        if kind == "cons":
            scores[pid] = float(bool(vote))
        elif k == 1:
            scores[pid] = c / n
        elif n >= k:
            scores[pid] = pass_at_k(n, c, k)
    return scores


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone), in the input's order."""
    m = len(pvalues)
    adjusted = [1.0] * m
    running = 0.0
    for step, i in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - step) * pvalues[i]))
        adjusted[i] = running
    return adjusted


PairCache = MutableMapping[str, Mapping[str, Any]]


def _pair(
    a: tuple[ListedRun, dict[str, float]],
    b: tuple[ListedRun, dict[str, float]],
    cache_key: str,
    cache: PairCache,
) -> tuple[float, float]:
    """(delta b - a, two-sided p) over the problems both graded; cached by content hashes."""
    if cache_key not in cache:
        shared = [pid for pid in a[1] if pid in b[1]]
        if len(shared) < 2:
            found = {"n": len(shared), "delta": 0.0, "p": 1.0, "method": "too few shared problems"}
        else:
            from evalr.paired import paired_difference

            result = paired_difference([a[1][p] for p in shared], [b[1][p] for p in shared])
            p = float(result.p_two_sided)
            found = {
                "n": int(result.n),
                "delta": float(result.delta),
                "p": 1.0 if math.isnan(p) else p,
                "method": str(result.method),
            }
        cache[cache_key] = found
    entry = cache[cache_key]
    return float(entry["delta"]), float(entry["p"])


def _rank(
    entries: Sequence[tuple[ListedRun, TaskState]],
    metric: str,
    key: str,
    hashes: Mapping[str, str],
    cache: PairCache,
    alpha: float,
) -> tuple[list[Standing], bool]:
    def value(entry: tuple[ListedRun, TaskState]) -> float:
        v = entry[1].metrics[metric].get("value")
        return -math.inf if v is None else float(v)

    ordered = sorted(entries, key=lambda e: (-value(e), e[0].model, e[0].rel))
    scores = [problem_scores(run, task.name, metric) for run, task in ordered]
    n = len(ordered)
    better = [[False] * n for _ in range(n)]  # better[i][j]: i significantly above j
    paired = all(s is not None for s in scores)
    if paired and n > 1:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        tested = []
        for i, j in pairs:
            hi, hj = hashes.get(ordered[i][0].rel, ""), hashes.get(ordered[j][0].rel, "")
            flip = hi > hj
            first, second = (j, i) if flip else (i, j)
            delta, p = _pair(
                (ordered[first][0], scores[first] or {}),
                (ordered[second][0], scores[second] or {}),
                f"{key}|{metric}|{min(hi, hj)}|{max(hi, hj)}",
                cache,
            )
            tested.append((-delta if flip else delta, p))  # delta: j minus i
        adjusted = holm([p for _, p in tested])
        for (i, j), (delta, _), p in zip(pairs, tested, adjusted, strict=True):
            if p < alpha and delta != 0:
                better[i][j], better[j][i] = delta < 0, delta > 0
    standings = []
    group = 1
    for i, (run, task) in enumerate(ordered):
        if paired:
            low = 1 + sum(better[j][i] for j in range(n))
            high = n - sum(better[i][j] for j in range(n))
            if i > 0 and better[i - 1][i]:
                group += 1
        else:
            low = high = group = i + 1
        metric_entry = task.metrics[metric]
        v = metric_entry.get("value")
        standings.append(
            Standing(run, task, None if v is None else float(v), metric_entry, low, high, group)
        )
    return standings, paired


def build_board(
    runs: Sequence[ListedRun],
    hashes: Mapping[str, str],
    cache: PairCache,
    alpha: float = 0.05,
) -> Board:
    """Every ranking over the finished runs; ``cache`` holds paired tests by content hash."""
    by_protocol: dict[str, dict[str, list[tuple[ListedRun, TaskState]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    labels: dict[str, tuple[str, TaskState]] = {}
    for run in runs:
        if run.state != FINISHED:
            continue
        for task in run.tasks:
            key, label = protocol_key(run, task)
            by_protocol[key][run.model].append((run, task))
            labels.setdefault(key, (label, task))
    superseded: dict[tuple[str, str], str] = {}
    rankings = []
    for key, models in by_protocol.items():
        standing = []
        for entries in models.values():
            entries.sort(key=lambda e: (e[0].created, e[0].rel), reverse=True)
            standing.append(entries[0])
            for run, task in entries[1:]:
                superseded[(run.rel, task.name)] = entries[0][0].rel
        label, task = labels[key]
        if sum((o, t.name) == (label, task.name) for o, t in labels.values()) > 1:
            label = f"{label} [{key[:6]}]"  # same departures, yet not comparable: tell apart
        metric_names = list(dict.fromkeys(m for _, t in standing for m in t.metrics))
        for metric in metric_names:
            having = [e for e in standing if metric in e[1].metrics]
            placed, paired = _rank(having, metric, key, hashes, cache, alpha)
            rankings.append(
                Ranking(
                    task.name,
                    task.label,
                    metric,
                    label,
                    key,
                    bool(task.deviations),
                    paired,
                    tuple(placed),
                )
            )
    rankings.sort(key=_ranking_order)
    return Board(tuple(rankings), superseded)


def _metric_order(metric: str) -> tuple[int, int, str]:
    found = PER_PROBLEM.fullmatch(metric)
    if found is None:
        return (2, 0, metric)
    return (0 if found.group(1) == "pass" else 1, int(found.group(2)), metric)


def _ranking_order(r: Ranking) -> tuple[Any, ...]:
    return (r.modified, r.task, r.protocol, _metric_order(r.metric))
