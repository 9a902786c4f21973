"""The ``codeforces`` task factory (see the package docstring for its options)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from evalr.data import rows_sha256
from evalr.errors import ConfigError
from evalr.task import Dataset, DatasetInfo, Prompt, Task
from evalr.types import Message, Problem

from .grading import LANGUAGES, CodeforcesGrader
from .problems import HUB, HUB_REVISION, PRESETS, ContestProblem, load
from .statement import facts

ORDERS = ("random", "given")  # attempt-order policies of the placement rating (see placement)

VERSION = "1"
LANGUAGE_NAMES = {
    "cpp": ("C++17 (GNU g++, -O2)", "cpp"),
    "python": ("Python 3 (CPython 3.11)", "python"),
}


def codeforces_prompt(language: str) -> Any:
    name, fence = LANGUAGE_NAMES[language]

    def prompt(problem: Problem) -> Prompt:
        meta = problem.metadata
        text = (
            "Solve the following competitive programming problem. Your program reads from "
            "standard input and writes to standard output.\n\n"
            f"Time limit per test: {meta['time_limit_s']:g} seconds\n"
            f"Memory limit per test: {meta['memory_mb']} megabytes\n\n"
            f"{problem.input}\n\n"
            f"Write the complete solution in {name}. Think it through first; then put the "
            f"final program in a single ```{fence} code block at the end of your answer."
        )
        return Prompt((Message("user", text),))

    return prompt


def _sample(problem: ContestProblem) -> Problem:
    return Problem(
        id=problem.problem_id,
        input=problem.statement,
        target="",
        metadata={
            "contest_id": problem.contest_id,
            "index": problem.index,
            "name": problem.name,
            "rating": problem.rating,
            "tags": list(problem.tags),
            "time_limit_s": problem.time_limit_s,
            "memory_mb": problem.memory_mb,
            "test_set": problem.test_set,
            "sample_tests_only": problem.sample_tests_only,
            "tests": {"inputs": list(problem.inputs), "outputs": list(problem.outputs)},
            "statement_facts": facts(problem.statement).as_dict(),
            "checker": problem.checker,
            "aliases": list(problem.aliases),
        },
    )


class _Loader:
    """Loads the problems; what it finds (test sets, skipped problems) travels with the Dataset
    (``facts``). The interactive problems it skipped stay here for the placement rating, which
    counts them as attempted and unsolved."""

    def __init__(self, preset: str, contests: frozenset[int] | None) -> None:
        self.preset, self.contests = preset, contests
        self.interactive: tuple[str, ...] = ()

    def __call__(self, seed: int) -> Dataset:
        loaded = load(self.preset, self.contests)
        samples = tuple(_sample(p) for p in loaded.problems)
        sets = Counter(p.test_set for p in loaded.problems)
        sample_only = sorted(p.problem_id for p in loaded.problems if p.sample_tests_only)
        several = [s.id for s in samples if s.metadata["statement_facts"]["several_answers"]]
        self.interactive = tuple(loaded.skipped.get("interactive", ()))
        facts = dict(
            problems=len(samples),
            contests_loaded=sorted({p.contest_id for p in loaded.problems}),
            test_sets=dict(sorted(sets.items())),
            sample_tests_only=len(sample_only),
            skipped={k: list(v) for k, v in loaded.skipped.items()},
            several_answers_without_checker=sorted(
                s.id for s in samples if s.id in several and not s.metadata["checker"]
            ),
            # per problem: contest, index, rating, time limit (s), memory (MB), test set
            problem_facts={
                p.problem_id: [
                    p.contest_id,
                    p.index,
                    p.rating,
                    p.time_limit_s,
                    p.memory_mb,
                    p.test_set,
                ]
                for p in loaded.problems
            },
            label="Codeforces (sample tests only)" if sample_only else "Codeforces",
        )
        info = DatasetInfo(
            id=HUB if loaded.source == "hub" else "codeforces",
            revision=HUB_REVISION if loaded.source == "hub" else "mirror",
            source=loaded.source,
            split="test",
            extra={
                "preset": self.preset,
                "sha256": loaded.sha256,
                "rows": len(samples),
                "ids_sha256": rows_sha256(
                    tuple({"id": s.id, "set": s.metadata["test_set"]} for s in samples)
                ),
            },
        )
        return Dataset(samples, info, facts)


def _contest_ids(contests: str | None) -> frozenset[int] | None:
    if contests is None or not contests.strip():
        return None
    try:
        return frozenset(int(c) for c in contests.replace(" ", "").split(",") if c)
    except ValueError:
        raise ConfigError(
            f"codeforces: contests must be contest ids like 1575,1581, got {contests!r}"
        ) from None


def codeforces(
    problems: str | None = None,
    contests: str | None = None,
    language: str = "cpp",
    sandbox: str | None = None,
    time_scale: float = 1.0,
    distribution: str = "cf-active-2024",
    order: str = "random",
    rating_seed: int = 0,
) -> Task:
    """Codeforces problems judged in the sandbox; ratings by placement and by difficulty."""
    chosen = _contest_ids(contests)
    preset = problems or ("all" if chosen else "codecontests")
    if preset not in PRESETS:
        raise ConfigError(f"unknown codeforces problem set {preset!r}; known: {', '.join(PRESETS)}")
    if language not in LANGUAGES:
        raise ConfigError(
            f"codeforces: language must be one of {', '.join(LANGUAGES)}, got {language!r}"
        )
    if order not in ORDERS:
        raise ConfigError(f"codeforces: order must be one of {', '.join(ORDERS)}, got {order!r}")
    try:
        scale, seed = float(time_scale), int(rating_seed)
    except ValueError:
        raise ConfigError(
            "codeforces: time_scale must be a number, rating_seed an integer"
        ) from None
    if not scale > 0:
        raise ConfigError(f"codeforces: time_scale must be positive, got {time_scale!r}")
    params: dict[str, Any] = {
        "problem_set": preset,
        "contests": sorted(chosen) if chosen else None,
        "language": language,
        "time_scale": scale,
        "distribution": distribution,
        "order": order,
        "rating_seed": seed,
    }
    from .ratings import CodeforcesRatings, RatingOptions  # numpy: only when a task is built

    loader = _Loader(preset, chosen)
    ratings = CodeforcesRatings(
        RatingOptions(distribution=distribution, order=order, seed=seed),  # type: ignore[arg-type]
        skipped=lambda: loader.interactive,
    )
    return Task(
        name="codeforces",
        version=VERSION,
        description=f"Codeforces problems ({preset}) judged in {language} in the sandbox",
        load=loader,
        prompt=codeforces_prompt(language),
        grader=CodeforcesGrader(language=language, sandbox=sandbox, time_scale=scale),
        default_samples=8,
        majority_vote=False,
        params=params,
        metrics=ratings,
    )
