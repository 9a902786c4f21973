"""Headless Chromium (Debian's ``chromium``) opening pages from file://, several at once.

What a page did is read from the DOM ``--dump-dom`` returns after load: each page's script
records script errors, failed loads, blocked content and ``console.error`` calls in
``<html data-js-errors>`` and sets ``data-js-ready="1"`` once it has wired the page (no DevTools
protocol needed). Chromium's own log (``--enable-logging=stderr``) is read as well: any console
message there fails a test.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .dom import Element, parse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass(frozen=True)
class Browsed:
    dom: Element
    html: str
    console: list[str]  # console messages and uncaught errors from Chromium's log

    @property
    def root(self) -> Element:
        return self.dom.find("html")


def _argv(work: Path, name: str, *args: str) -> list[str]:
    assert CHROMIUM is not None
    return [CHROMIUM, *FLAGS, f"--user-data-dir={work / ('profile-' + name)}", *args]


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def browse(urls: dict[str, str], work: Path, timeout: float = 120) -> dict[str, Browsed]:
    """``--dump-dom`` of every URL, the browsers running side by side."""
    procs = {
        name: subprocess.Popen(
            _argv(work, name, "--dump-dom", url),
            cwd=work,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, url in urls.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, stderr[-2000:]
        out[name] = Browsed(parse(stdout), stdout, _console(stderr))
    return out


def screenshot(url: str, path: Path, work: Path, size: str = "1400,2000") -> list[str]:
    """A PNG of the page at ``path``; returns the console lines of that load."""
    argv = _argv(work, path.stem, f"--window-size={size}", f"--screenshot={path}", url)
    proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and path.is_file(), proc.stderr[-2000:]
    return _console(proc.stderr)
