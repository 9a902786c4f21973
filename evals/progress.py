"""A progress line on stderr: completions/s, tokens/s and ETA. Silent in quiet mode."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    def __init__(self, total: int, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.errors = 0
        self.tokens = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = -1
        # Without a terminal, print a line every 10 s instead of redrawing one in place.
        self._every = 0.25 if self.tty else 10.0

    def advance(self, completions: int, tokens: int, errors: int = 0) -> None:
        self.done += completions
        self.tokens += tokens
        self.errors += errors
        now = time.monotonic()
        if not self.quiet and now - self._last >= self._every:
            self._last = now
            self._draw(now)

    def _draw(self, now: float, final: bool = False) -> None:
        if final and not self.tty and self._shown == self.done:
            return  # the last periodic line already says everything
        self._shown = self.done
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total}  {rate:.{2 if rate < 1 else 1}f} compl/s  "
            f"{self.tokens / elapsed:.0f} tok/s  "
            f"{'elapsed ' + _clock(elapsed) if final else 'ETA ' + _clock(eta)}"
            + (f"  errors {self.errors}" if self.errors else "")
        )
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet and self.total:
            self._draw(time.monotonic(), final=True)
