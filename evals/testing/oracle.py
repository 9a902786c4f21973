"""Deterministic answers for the test server: what a reasoning model would reply to a prompt.

Every reply is a pure function of (prompt, seed, choice index) and the answer key, so a test can
predict what a run should score, and a resumed run sees exactly the replies an uninterrupted one
would have seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ReasoningStyle = Literal["field", "think", "none"]
ChoiceStyle = Literal["answer", "boxed", "paren"]

_LETTERS = "ABCD"
_MC_HINT = re.compile(r"^\(?[A-D][).]\s", re.MULTILINE)
_INTEGER = re.compile(r"-?\d+")
# Filler for the thinking part; its content is irrelevant, only its length (tokens) matters.
_FILLER = (
    "let me think about this carefully so first we note that the given condition implies "
    "a relation between the quantities and then we can simplify step by step checking each "
    "case wait that is not right let us recompute the expression again hmm okay now it works"
)
_VOCABULARY = tuple(_FILLER.split())


def unit_hash(*parts: object) -> float:
    """A stable number in [0, 1) from the parts; the same on every machine and Python run."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class KeyEntry:
    """One gold answer, found by a substring of the prompt or the prompt's sha256."""

    answer: str
    match: str | None = None
    sha256: str | None = None
    # Chance that an attempt is correct; None falls back to the server's default.
    p: float | None = None

    def __post_init__(self) -> None:
        if self.match is not None:
            object.__setattr__(self, "match", squash(self.match))


@dataclass(frozen=True)
class AnswerKey:
    entries: tuple[KeyEntry, ...] = ()
    # prompt -> entry; lookups scan every entry, and runs repeat each prompt k times.
    _found: dict[str, KeyEntry | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def lookup(self, prompt: str) -> KeyEntry | None:
        """The entry for a prompt: exact sha256 first, else the longest substring that matches
        (whitespace runs count as one space on both sides)."""
        if prompt in self._found:
            return self._found[prompt]
        digest, flat = prompt_sha256(prompt), squash(prompt)
        best: KeyEntry | None = None
        for entry in self.entries:
            if entry.sha256 == digest:
                best = entry
                break
            match = entry.match
            if match and match in flat and (best is None or len(match) > len(best.match or "")):
                best = entry
        self._found[prompt] = best
        return best

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        question: str = "match",
        answer: str = "answer",
        p: float | None = None,
    ) -> AnswerKey:
        """Build a key from dataset-shaped rows, e.g. ``from_rows(aime, "problem", "answer")``."""
        entries = []
        for row in rows:
            entries.append(
                KeyEntry(
                    answer=str(row[answer]).strip(),
                    match=str(row[question]).strip() if row.get(question) else None,
                    sha256=row.get("sha256"),
                    p=row.get("p", p),
                )
            )
        return cls(tuple(entries))

    @classmethod
    def load(cls, path: Path) -> AnswerKey:
        """Read a key file: JSONL rows or a JSON list of ``{match|sha256, answer, p?}``, or a JSON
        object mapping prompt substrings to answers."""
        text = Path(path).read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return cls.from_rows(json.loads(line) for line in text.splitlines() if line.strip())
        data = json.loads(text)
        if isinstance(data, dict):
            return cls(tuple(KeyEntry(answer=str(v), match=k) for k, v in data.items()))
        return cls.from_rows(data)


def squash(text: str) -> str:
    return " ".join(text.split())


def prompt_sha256(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


@dataclass(frozen=True)
class Reply:
    """One synthesized choice, before it is shaped into the OpenAI wire format."""

    content: str
    reasoning: str | None
    finish_reason: Literal["stop", "length"]
    completion_tokens: int
    reasoning_tokens: int
    correct: bool
    matched: bool


@dataclass(frozen=True)
class Oracle:
    """Decides each attempt's answer and writes the reply text around it."""

    key: AnswerKey = field(default_factory=AnswerKey)
    p_correct: float = 0.6
    reasoning_style: ReasoningStyle = "field"
    reasoning_words: int = 40
    # Distinct wrong answers per problem, so majority votes see a few competing values.
    wrong_answers: int = 3
    choice_style: ChoiceStyle = "answer"

    def reply(
        self, prompt: str, nonce: object, index: int, max_tokens: int | None, prefix: str = ""
    ) -> Reply:
        """The reply for attempt ``index`` of ``prompt``; ``nonce`` is the seed (or a stand-in).

        ``prefix`` is an assistant turn the client forced (R1's ``<think>\\n``): a real server
        continues it without echoing it back.
        """
        entry = self.key.lookup(prompt)
        p = entry.p if entry is not None and entry.p is not None else self.p_correct
        correct = entry is not None and unit_hash("correct", prompt, nonce, index) < p
        variant = int(unit_hash("variant", prompt, nonce, index) * max(1, self.wrong_answers))
        if _is_multiple_choice(prompt):
            final = self._choice(prompt, entry, correct, variant)
        else:
            final = (
                f"The final answer is \\boxed{{{self._value(prompt, entry, correct, variant)}}}."
            )
        return self._shape(prompt, nonce, index, final, max_tokens, prefix, correct, entry)

    def _value(self, prompt: str, entry: KeyEntry | None, correct: bool, variant: int) -> str:
        if entry is None:
            return str(int(unit_hash("unknown", prompt) * 1000))
        gold = entry.answer
        if correct:
            return gold
        if _INTEGER.fullmatch(gold):
            return str(int(gold) + 1 + variant)
        return f"{gold}+{1 + variant}"

    def _choice(self, prompt: str, entry: KeyEntry | None, correct: bool, variant: int) -> str:
        gold = _gold_letter(prompt, entry.answer) if entry is not None else None
        if gold is None:
            letter = _LETTERS[int(unit_hash("guess", prompt) * 4)]
        elif correct:
            letter = gold
        else:
            others = [c for c in _LETTERS if c != gold]
            letter = others[variant % len(others)]
        if self.choice_style == "boxed":
            return f"So the answer is \\boxed{{{letter}}}."
        if self.choice_style == "paren":
            return f"The correct option is ({letter})."
        return f"Answer: {letter}"

    def _shape(
        self,
        prompt: str,
        nonce: object,
        index: int,
        final: str,
        max_tokens: int | None,
        prefix: str,
        correct: bool,
        entry: KeyEntry | None,
    ) -> Reply:
        thinking = _filler(unit_hash("filler", prompt, nonce, index), self.reasoning_words)
        answer = final.split()
        # Tags count as one token each, like special tokens in real vocabularies.
        opener = [] if self.reasoning_style != "think" or "<think>" in prefix else ["<think>"]
        closer = ["</think>"] if self.reasoning_style == "think" else []
        if self.reasoning_style == "none":
            thinking = []
        stream = opener + thinking + closer + answer
        budget = len(stream) if max_tokens is None else max(0, max_tokens)
        finish: Literal["stop", "length"] = "stop" if len(stream) <= budget else "length"
        cut = stream[:budget]
        think_out = cut[len(opener) : len(opener) + len(thinking)]
        answer_out = cut[len(opener) + len(thinking) + len(closer) :]
        if self.reasoning_style == "field":
            content, reasoning = " ".join(answer_out), " ".join(think_out)
        elif self.reasoning_style == "think":
            head = "<think>\n" if opener and cut else ""
            tail = "\n</think>\n\n" if len(cut) > len(opener) + len(thinking) else ""
            content, reasoning = head + " ".join(think_out) + tail + " ".join(answer_out), None
        else:
            content, reasoning = " ".join(answer_out), None
        return Reply(
            content=content,
            reasoning=reasoning,
            finish_reason=finish,
            completion_tokens=len(cut),
            reasoning_tokens=len(think_out),
            correct=correct and finish == "stop",
            matched=entry is not None,
        )


def _is_multiple_choice(prompt: str) -> bool:
    # MATH problems can list lettered options too, but they ask for a boxed answer.
    if "$LETTER" in prompt:
        return True
    return "\\boxed" not in prompt and bool(_MC_HINT.search(prompt))


def _gold_letter(prompt: str, gold: str) -> str | None:
    """The letter whose option carries the gold text (GPQA shuffles options per question)."""
    if len(gold) == 1 and gold in _LETTERS:
        return gold
    flat, gold = squash(prompt), squash(gold)
    for letter in _LETTERS:
        if f"{letter}) {gold}" in flat or f"({letter}) {gold}" in flat:
            return letter
    return None


def _filler(position: float, words: int) -> list[str]:
    start = int(position * len(_VOCABULARY))
    size = len(_VOCABULARY)
    return [_VOCABULARY[(start + i) % size] for i in range(words)]
