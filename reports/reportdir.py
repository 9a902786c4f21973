"""The report directory: pages rendered with Jinja2 into a temporary directory beside the target,
which then replaces the target; a failure leaves the previous report as it was.

Every page carries the same inline stylesheet and script and a Content-Security-Policy that
allows only that script (by its SHA-256), inline styles and ``data:`` images: nothing is loaded
from anywhere, and markup that slipped into a page could not run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evalr.errors import ConfigError, StorageError

MARKER = ".evalr-report"  # a directory evalr may replace holds this file


@cache
def environment() -> Any:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evalr.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates are package data: no stat() of each per page
    )
    assets = resources.files("evalr.reports").joinpath("templates")
    js = assets.joinpath("report.js").read_text(encoding="utf-8")
    css = assets.joinpath("report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    from evalr.reports.table import fmt, interval_text

    env.globals.update(
        fmt=fmt,
        interval=interval_text,
        js=Markup(js),
        css=Markup(css),
        csp=f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'",
        version=_version(),
    )
    return env


def _version() -> str:
    from evalr.manifest import evalr_version

    return evalr_version()


def render(template: str, **context: Any) -> str:
    return str(environment().get_template(template).render(**context))


class ReportDir:
    """Where pages go while a report is built (``root``), and how it becomes ``target``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, data: str | bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)

    def page(self, relative: str, template: str, **context: Any) -> None:
        depth = relative.count("/")
        self.write(relative, render(template, root="../" * depth, **context))


def _check_target(target: Path) -> None:
    if target.is_file():
        raise ConfigError(f"{target} is a file; give --out a directory for the HTML report")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ConfigError(
            f"{target} exists and is not an evalr report; give --out a new directory (or an "
            "earlier report's, which is then replaced)"
        )


@contextlib.contextmanager
def building(target: Path, info: Mapping[str, Any]) -> Iterator[ReportDir]:
    """Yield a ReportDir in a temporary directory beside ``target``; on success it replaces
    ``target`` (an earlier report), on any failure it is removed and ``target`` stays."""
    _check_target(target)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise StorageError(f"cannot write the report in {parent}: {exc.strerror or exc}") from None
    try:
        yield ReportDir(tmp)
        (tmp / MARKER).write_text(json.dumps(dict(info), indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report is for reading
        _swap(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise StorageError(
                f"cannot write the report in {parent}: {exc.strerror or exc}; the previous "
                "report (if any) is unchanged"
            ) from None
        raise


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``: the old one is moved aside first and removed last."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old / "report")
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old / "report", target)  # put the previous report back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
