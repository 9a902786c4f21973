"""Problem statements as plain text, and the judging facts a statement states.

Codeforces HTML (``$$$``-delimited math) becomes text with the standard library's
``html.parser``; appended limit and tag lines of the offline copies are removed (the prompt
states the limits once, and tags would be hints). From the text: the float tolerance ("absolute
or relative error does not exceed 10^{-6}"), whether YES/NO may be printed in any case, and
whether several answers are correct (then only a checker judges it fully).
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any

_TOLERANCE = re.compile(
    r"(?:absolute|relative)[^.]{0,80}?(?:error|difference)[^.]{0,80}?"
    r"10\s*\^\s*\{?\s*[-−]\s*(\d+)",
    re.IGNORECASE,
)
_ANY_CASE = re.compile(
    r"any (?:case|register)|case[- ]insensitive|(?:upper|lower)case or (?:upper|lower)case"
    r"|\(upper or lower\)",
    re.IGNORECASE,
)
_SEVERAL = re.compile(
    r"(?:multiple|several|more than one)[^.]{0,50}?(?:answers|solutions|possible)"
    r"|(?:print|output) any(?: of them| one)?\b",
    re.IGNORECASE,
)
_LIMIT_LINES = re.compile(
    r"^\s*(?:Time Limit|Memory Limit):.*$|^\s*Tags:\s*\n\s*\[[^\]]*\]\s*$", re.MULTILINE
)


@dataclass(frozen=True)
class Facts:
    """How a problem's output is compared, as far as its statement says."""

    float_tolerance: float | None = None
    any_case: bool = False
    several_answers: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def facts(text: str) -> Facts:
    found = _TOLERANCE.search(text)
    return Facts(
        float_tolerance=10.0 ** -int(found.group(1)) if found else None,
        any_case=bool(_ANY_CASE.search(text)),
        several_answers=bool(_SEVERAL.search(text)),
    )


def without_limits(text: str) -> str:
    """The statement without its appended limit lines and tag list."""
    return re.sub(r"\n{3,}", "\n\n", _LIMIT_LINES.sub("", text)).strip()


class _Text(HTMLParser):
    _BREAKS = frozenset({"p", "div", "br", "ul", "ol", "pre", "center", "table", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(fragment: str | None) -> str:
    """Codeforces statement HTML as text; ``$$$x$$$`` math becomes ``$x$``."""
    if not fragment:
        return ""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("$$$", "$").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def compose(
    title: str,
    legend: str,
    input_spec: str,
    output_spec: str,
    examples: list[tuple[str, str]],
    note: str = "",
) -> str:
    """A statement in the usual order: legend, Input, Output, Examples, Note."""
    parts = [f"{title}\n\n{legend}".strip(), f"Input\n\n{input_spec}", f"Output\n\n{output_spec}"]
    for number, (given, wanted) in enumerate(examples, 1):
        label = "Example" if len(examples) == 1 else f"Example {number}"
        parts.append(f"{label}\n\nInput\n\n{given.strip()}\n\nOutput\n\n{wanted.strip()}")
    if note:
        parts.append(f"Note\n\n{note}")
    return "\n\n".join(parts)
