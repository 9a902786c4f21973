"""The R1 protocol's prompts: one user turn, no system prompt.

Math (AIME, MATH-500): the problem, a newline, then DeepSeek-R1's recommended directive
"Please reason step by step, and put your final answer within \\boxed{}." (the R1 README's
usage recommendation; the same "\\n"-joined user turn as Qwen2.5-Math's ``qwen-boxed`` prompt and
QwQ's published AIME inputs).

GPQA: openai/simple-evals' multiple-choice template, which the R1 paper names for GPQA Diamond,
with the four options in a per-question order derived from (seed, record id) by SHA-256, so every
run, rerun and resume with the same seed sees the same order on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from evalr.task import Prompt
from evalr.types import Message, Problem

MATH_DIRECTIVE = "Please reason step by step, and put your final answer within \\boxed{}."

GPQA_TEMPLATE = """Answer the following multiple choice question. The last line of your response \
should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. \
Think step by step before answering.

{question}

A) {a}
B) {b}
C) {c}
D) {d}"""

LETTERS = "ABCD"


def math_prompt(problem: Problem) -> Prompt:
    return Prompt((Message("user", f"{problem.input}\n{MATH_DIRECTIVE}"),))


def permutation(seed: int, record_id: str, size: int = 4) -> tuple[int, ...]:
    """A stable shuffle of ``range(size)``: option i goes where its hash of (seed, id, i) sorts."""

    def rank(i: int) -> bytes:
        return hashlib.sha256(f"{seed}\x1f{record_id}\x1f{i}".encode()).digest()

    return tuple(sorted(range(size), key=rank))


def choice_prompt(question: str, options: Sequence[str], order: Sequence[int]) -> str:
    """The simple-evals text with ``options[order[j]]`` shown as letter j."""
    shown = [options[i] for i in order]
    return GPQA_TEMPLATE.format(question=question, a=shown[0], b=shown[1], c=shown[2], d=shown[3])
