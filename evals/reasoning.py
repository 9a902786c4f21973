"""Separate a reasoning model's thinking from its final answer."""

from __future__ import annotations

import re

_OPEN = "<think>"
_CLOSE = "</think>"
_WORD = re.compile(r"\S+")


def split_reasoning(text: str, prefix: str = "") -> tuple[str | None, str]:
    """Return (reasoning, answer) from raw model text.

    ``prefix`` is text the assistant turn was forced to start with (R1's ``<think>\\n``), which
    servers do not echo back. An opened but never closed ``<think>`` means the model was cut off
    while thinking: everything is reasoning and the answer is empty, so nothing inside the
    thoughts is graded as an answer.
    """
    full = prefix + text
    close = full.rfind(_CLOSE)
    if close >= 0:
        head = full[:close]
        start = head.find(_OPEN)
        reasoning = head[start + len(_OPEN) :] if start >= 0 else head
        return reasoning.strip("\n"), full[close + len(_CLOSE) :].lstrip("\n")
    start = full.find(_OPEN)
    if start >= 0 and not full[:start].strip():
        return full[start + len(_OPEN) :].strip("\n"), ""
    return None, full


def estimate_tokens(text: str | None) -> int:
    """Rough token count (about 1.3 tokens per word) when an engine reports none."""
    if not text:
        return 0
    return round(len(_WORD.findall(text)) * 1.3)
