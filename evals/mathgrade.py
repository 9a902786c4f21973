"""Mathematical equivalence of two answer strings: our fast paths and fixes around math-verify.

Three layers, cheapest first:

1. ``quick_verdict`` (parent process, microseconds): identical normal forms, exact rational
   comparison of plain numbers (``025`` = ``25`` = ``25.0``, ``0.5`` = ``\\frac12``), and
   multiple-choice golds (``\\text{(C)}`` against ``C``, ``(C) 5``, ``\\textbf{(C)}``).
2. ``prepare``: rewrites math-verify gets wrong, applied to both sides before parsing
   (repeating decimals ``0.\\overline{36}``, ``\\varnothing``, thousands separators with a
   space, trailing punctuation).
3. ``verify_strings`` (runs in a worker process; see ``evalr.gradepool``): math-verify's
   ``parse`` + ``verify`` with its signal timeouts, gold parses cached, plus our fallback that
   reads an inequality answer (``-2 \\le x \\le 7``) as the interval it describes.

Every fix here is backed by a golden case in tests/grading where raw math-verify is wrong.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

VERSION = "2"  # 2: multiple-choice letters inside any formatting command

_SPACING = re.compile(r"\\[,;:!]|\\ |~|\\quad|\\qquad")
_DELIMS = (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"), ("$", "$"))
# Formatting commands whose content is the value: \textbf{(C)}, \mathit{C}, \emph{C}, ...
_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textsf|texttt|textrm|textup|textnormal|emph|mbox|operatorname"
    r"|mathrm|mathbf|mathit|mathsf|mathtt|mathnormal|boldsymbol|bm)\s*\{([^{}]*)\}"
)
# The old declaration forms: {\bf C}, {\it C}.
_DECLARATIONS = re.compile(r"\{\\(?:bf|it|rm|sf|tt|em|bfseries|itshape)\s+([^{}]*)\}")
_TRAIL = re.compile(r"[\s.,;:!]+$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")
_FRAC = re.compile(r"^([-+]?)\\frac\{?([-+]?\d+)\}?\{?(\d+)\}?$")
_SLASH = re.compile(r"^([-+]?\d+)/(\d+)$")
_DEGREE = re.compile(r"\^\s*\{?\\circ\}?|°|\\degree")
_CHOICE_GOLD = re.compile(r"^\(?([A-E])\)?$")
_CHOICE_ANSWER = re.compile(r"^\(?([A-E])\)?(?:$|[\s:.)]|\\)")
_OTHER_LETTER = re.compile(r"\b[A-E]\b")
_REPEATING = re.compile(r"(\d*)\.(\d*)\\overline\{?(\d+)\}?")
_EMPTYSET = re.compile(r"\\varnothing|\\O\b|\\\{\s*\\\}")
_SPACED_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})(?:,\s(\d{3}))+(?![\d.])")


def strip_delimiters(text: str) -> str:
    s = text.strip()
    for left, right in _DELIMS:
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    return s


@lru_cache(maxsize=65536)
def unwrap(text: str) -> str:
    """Formatting commands removed, nested ones too: ``\\text{\\textbf{(C)}}`` -> ``(C)``."""
    while True:
        plain = _DECLARATIONS.sub(r"\1", _WRAPPERS.sub(r"\1", text))
        if plain == text:
            return plain
        text = plain


def canonical(text: str) -> str:
    """A normal form for cheap exact matching and vote keys; never used to say 'not equal'."""
    s = strip_delimiters(text)
    s = _SPACING.sub("", s)
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = unwrap(s)
    s = re.sub(r"\s+", "", s)
    s = _TRAIL.sub("", s)
    if s.startswith("\\$"):
        s = s[2:]
    return s


@lru_cache(maxsize=65536)
def number(text: str) -> Fraction | None:
    """The exact value of a plain integer, decimal or simple fraction; None otherwise."""
    s = canonical(text)
    s = _DEGREE.sub("", s)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if _NUMBER.match(s):
        return Fraction(s)
    match = _FRAC.match(s)
    if match:
        sign, num, den = match.groups()
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return -value if sign == "-" else value
    match = _SLASH.match(s)
    if match and int(match.group(2)) != 0:
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


@lru_cache(maxsize=65536)
def choice(text: str) -> str | None:
    """The letter of a multiple-choice gold such as ``\\text{(C)}``; None for other golds."""
    match = _CHOICE_GOLD.match(canonical(text))
    return match.group(1) if match else None


def answer_choice(text: str) -> str | None:
    """The leading letter of an answer to a multiple-choice question: ``(C) 5`` -> ``C``."""
    s = unwrap(strip_delimiters(text)).strip()
    match = _CHOICE_ANSWER.match(s)
    if not match or _OTHER_LETTER.search(s[match.end(1) :]):  # "A, B" names two choices
        return None
    return match.group(1)


def _shape(form: str) -> str | None:
    """The kind of bracket around an answer: a set, or a tuple (pairs and intervals)."""
    if form.startswith("\\{") and form.endswith("\\}"):
        return "set"
    if form and form[0] in "([" and form[-1] in ")]":
        return "tuple"
    return None


@lru_cache(maxsize=65536)
def quick_verdict(gold: str, answer: str) -> bool | None:
    """Decide cheaply where that is safe; None means math-verify must decide."""
    letter = choice(gold)
    if letter is not None:
        return answer_choice(answer) == letter
    gold_form, answer_form = canonical(gold), canonical(answer)
    if gold_form == answer_form:
        return True
    if {_shape(gold_form), _shape(answer_form)} == {"set", "tuple"}:
        return False  # a set is not an ordered pair or an interval (math-verify can say it is)
    gold_value, answer_value = number(gold), number(answer)
    if gold_value is not None and answer_value is not None:
        return gold_value == answer_value
    return None


def _repeating_to_fraction(match: re.Match[str]) -> str:
    whole, fixed, repeat = match.group(1) or "0", match.group(2), match.group(3)
    # whole.fixed(repeat) = whole + (int(fixed+repeat) - int(fixed)) / (10^f * (10^r - 1))
    cycle = int(fixed + repeat) - int(fixed or "0")
    den = 10 ** len(fixed) * (10 ** len(repeat) - 1)
    value = int(whole) + Fraction(cycle, den)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def prepare(text: str) -> str:
    """Rewrite forms math-verify parses wrongly, keeping everything else as written."""
    s = strip_delimiters(text)
    s = _TRAIL.sub("", s)
    s = _REPEATING.sub(_repeating_to_fraction, s)
    s = _EMPTYSET.sub(r"\\emptyset", s)
    s = _SPACED_THOUSANDS.sub(lambda m: m.group(0).replace(", ", ""), s)
    return s


# ---- worker side: everything below imports math-verify / sympy lazily ----------------------


@lru_cache(maxsize=4096)
def _parsed(text: str) -> tuple[Any, ...]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    latex = prepare(text)
    return tuple(
        parse(
            f"${latex}$",
            extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
            parsing_timeout=5,
        )
    )


def _as_set(expr: Any) -> Any:
    """An inequality in one variable as the set it describes (``-2 <= x <= 7`` -> [-2, 7])."""
    import sympy

    if isinstance(expr, sympy.Eq) and isinstance(expr.rhs, sympy.Set):  # "x \in [a, b]"
        return expr.rhs
    if isinstance(expr, (sympy.core.relational.Relational, sympy.And, sympy.Or)):
        free = expr.free_symbols
        if len(free) == 1:
            return expr.as_set()
    return None


def _set_fallback(gold: tuple[Any, ...], answer: tuple[Any, ...]) -> bool:
    import sympy

    if not gold or not answer:
        return False
    gold_expr, answer_expr = gold[0], answer[0]
    gold_set = gold_expr if isinstance(gold_expr, sympy.Set) else _as_set(gold_expr)
    answer_set = answer_expr if isinstance(answer_expr, sympy.Set) else _as_set(answer_expr)
    if gold_set is None or answer_set is None or gold_set is gold_expr is answer_set:
        return False
    try:
        return bool(gold_set == answer_set)
    except Exception:  # sympy comparison errors mean "not shown equal"
        return False


def verify_strings(gold: str, answer: str) -> bool:
    """math-verify equivalence of two answer strings (call in a process's main thread)."""
    from math_verify import verify

    gold_parsed, answer_parsed = _parsed(gold), _parsed(answer)
    if not gold_parsed or not answer_parsed:
        return False
    if verify(list(gold_parsed), list(answer_parsed), timeout_seconds=5):
        return True
    return _set_fallback(gold_parsed, answer_parsed)


def raw_math_verify(gold: str, response: str) -> bool:
    """math-verify as peers use it on a whole response (for measuring, never for grading)."""
    from math_verify import parse, verify

    return bool(verify(parse(f"\\boxed{{{gold}}}"), parse(response)))


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("math-verify", "latex2sympy2_extended", "sympy", "antlr4-python3-runtime"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out
