"""Read the final answer out of a model's text: the last ``\\boxed{}``, or a multiple-choice letter.

Extraction only ever looks at the answer part. Reasoning is split off by the backend; text that
still carries a ``</think>`` is cut after it, and an opened but never closed ``<think>`` (a model
cut off while thinking) yields no answer, so nothing boxed inside unfinished thoughts is graded.
"""

from __future__ import annotations

import re

from evalr.reasoning import split_reasoning

# \boxed{...}, \boxed {...}, \fbox{...}; also the brace-less "\boxed 5" some models write.
_BOX = re.compile(r"\\(?:boxed|fbox)\b\s*")


def answer_part(text: str) -> str:
    """The text after the reasoning: after the last ``</think>``; empty if thinking never ended."""
    return split_reasoning(text)[1]


def _balanced(text: str, start: int) -> str | None:
    """Content of the brace group opening at ``text[start] == '{'``, or None if never closed."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":  # an escaped brace \{ or \} does not open or close the group
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def boxed_all(text: str) -> list[str]:
    """Every complete boxed answer in order (a truncated last box is skipped)."""
    found: list[str] = []
    for match in _BOX.finditer(text):
        end = match.end()
        if end < len(text) and text[end] == "{":
            content = _balanced(text, end)
        else:  # "\boxed 5": up to the next space or $ (only when something follows at all)
            bare = re.match(r"[^\s${}]+", text[end:])
            content = bare.group(0) if bare and match.group(0).endswith(" ") else None
        if content is not None:
            found.append(content.strip())
    return found


def last_boxed(text: str) -> str | None:
    """The last complete ``\\boxed{}``/``\\fbox{}`` content of the answer part, or None."""
    boxes = boxed_all(text)
    return boxes[-1] if boxes else None


def extract_boxed(text: str) -> str | None:
    """Answer-part extraction used by the math tasks."""
    answer = last_boxed(answer_part(text))
    return answer if answer else None


# Letter forms, strongest first. Every pattern is searched for its LAST occurrence: a model that
# changes its mind ("Answer: B ... actually, Answer: C") means the last one.
_LETTER = r"\(?\s*\$?\s*(?:\\text(?:bf)?\{\s*)?\(?([A-D])\)?(?:\s*\})?\s*\$?\s*\)?"
_ANSWER_LINE = re.compile(
    r"(?i:\**\s*(?:final\s+)?answer\s*(?:is)?\s*\**\s*[:：]\s*\**\s*)" + _LETTER + r"(?![A-Za-z])"
)
_ANSWER_IS = re.compile(
    r"(?i:(?:the\s+)?(?:correct\s+)?answer\s+is\s*:?\s*\**\s*)" + _LETTER + r"(?![A-Za-z])"
)
_BOXED_LETTER = re.compile(r"^\s*" + _LETTER + r"(?:[\s.:)].*)?$", re.S)
_PAREN_LETTER = re.compile(r"\(([A-D])\)")


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    hits = pattern.findall(text)
    return hits[-1] if hits else None


def extract_choice(text: str) -> str | None:
    """GPQA letter: ``Answer: C`` (simple-evals), ``\\boxed{C}``, ``answer is (C)``, ``(C)``."""
    part = answer_part(text)
    for pattern in (_ANSWER_LINE, _ANSWER_IS):
        letter = _last(pattern, part)
        if letter:
            return letter.upper()
    boxed = last_boxed(part)
    if boxed is not None:
        match = _BOXED_LETTER.match(boxed)
        if match:
            return match.group(1).upper()
    return _last(_PAREN_LETTER, part)
