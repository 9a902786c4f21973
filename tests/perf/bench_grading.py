"""Grade 32,000 MATH-500 responses (500 problems x 64 samples) and print the timings.

Realistic repetition: each problem's 64 samples draw from a handful of distinct final answers
(the gold as written, the gold rewritten, two or three wrong answers), in varied response text
around the box. Everything goes through ``MathGrader.grade`` and ``classes`` as a run would:
the fast paths in this process, the rest in the shared two-process math-verify pool.

    python tests/perf/bench_grading.py            # EVALR_DATA_DIR or ../shared/data
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from pathlib import Path

SAMPLES = 64


def _variants(gold: str, rng: random.Random, others: list[str]) -> list[str]:
    rewritten = gold.replace("\\frac", "\\dfrac") if "\\frac" in gold else f"{gold} "
    if gold.lstrip("-").isdigit():
        rewritten = f"{gold}.0" if rng.random() < 0.5 else f"0{gold}"
    wrong = [rng.choice(others), f"{gold}+1", f"2({gold})"][: rng.randint(2, 3)]
    return [gold, rewritten, *wrong]


def _responses(gold: str, rng: random.Random, others: list[str]) -> list[str]:
    answers = _variants(gold, rng, others)
    weights = [0.55, 0.15] + [0.3 / (len(answers) - 2)] * (len(answers) - 2)
    picks = rng.choices(answers, weights=weights, k=SAMPLES)
    return [
        f"<think>\nworking {i} ... maybe \\boxed{{{rng.choice(answers)}}}\n</think>\n\n"
        f"Therefore the answer is $\\boxed{{{a}}}$."
        for i, a in enumerate(picks)
    ]


async def _grade_all(task, problems) -> tuple[int, float, float]:
    from evalr.types import Completion

    grader = task.grader
    start = time.perf_counter()

    async def one(sample, responses):
        extracted = [grader.extract(sample, Completion(r)) for r in responses]
        grades = await grader.grade(sample, extracted)
        return extracted, sum(g.correct for g in grades)

    graded = await asyncio.gather(*(one(s, r) for s, r in problems))
    grade_s = time.perf_counter() - start
    start = time.perf_counter()
    pairs = zip(problems, graded, strict=True)
    await asyncio.gather(*(grader.classes(s, [a for a in ex if a]) for (s, _), (ex, _) in pairs))
    return sum(c for _, c in graded), grade_s, time.perf_counter() - start


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    os.environ.setdefault("EVALR_DATA_DIR", str((root / "../shared/data").resolve()))
    logging.disable(logging.WARNING)
    from evalr.gradepool import shared_pool
    from evalr.mathgrade import raw_math_verify
    from evalr.tasks.math500 import math500

    task = math500()
    samples = task.load(0).problems
    golds = [s.target for s in samples]
    rng = random.Random(0)
    problems = [(s, _responses(s.target, rng, golds)) for s in samples]
    total = len(problems) * SAMPLES
    distinct = sum(len({r.rsplit("boxed{", 1)[1] for r in rs}) for _, rs in problems)

    start = time.perf_counter()
    shared_pool().verify([("1", "1.0")])
    startup = time.perf_counter() - start
    correct, grade_s, classes_s = asyncio.run(_grade_all(task, problems))
    stats = shared_pool().stats

    subset = [(s.target, r) for s, rs in problems[:20] for r in rs[:10]]
    start = time.perf_counter()
    for gold, response in subset:
        raw_math_verify(gold, response)
    raw_ms = 1000 * (time.perf_counter() - start) / len(subset)

    print(f"responses graded        {total} ({len(problems)} problems x {SAMPLES})")
    print(f"distinct answers        {distinct} ({distinct / len(problems):.1f} per problem)")
    print(f"pool start (2 procs)    {startup:.2f} s")
    print(f"grade                   {grade_s:.2f} s ({1e6 * grade_s / total:.0f} us/response)")
    print(f"classes (cons@k)        {classes_s:.2f} s")
    print(f"total                   {startup + grade_s + classes_s:.2f} s  (target < 60 s)")
    print(f"correct                 {correct} ({100 * correct / total:.1f}%)")
    print(f"math-verify pairs       {stats['computed']} computed, {stats['timeouts']} timeouts")
    print(f"raw math-verify serial  {raw_ms:.1f} ms/response -> {raw_ms * total / 1000:.0f} s")


if __name__ == "__main__":
    main()
