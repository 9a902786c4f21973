"""Build a site beside its directory and swap it in: the previous site survives any failure.

The new site is written to ``.NAME.building-PID`` next to ``NAME``; only when every page is
written does the old directory move aside (``.NAME.old-PID``) and the new one take its name,
after which the old one is deleted. Between the two renames (microseconds) the name is absent;
a failure there moves the old site back. One build at a time holds ``.NAME.lock`` (flock),
under which leftovers of a killed build are removed. A directory that is not a site built here
(it holds files but no input record) is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from evalr.errors import ConfigError, LockedError, StorageError

from .inputs import RECORD


def check_target(site: Path, runs_root: Path) -> None:
    """Refuse targets a build must not replace; one-line ConfigErrors saying what to do."""
    if site.exists() and not site.is_dir():
        raise ConfigError(f"--out {site} is a file; give a directory for the site")
    resolved, root = site.resolve(), runs_root.resolve()
    if root == resolved or root.is_relative_to(resolved):
        raise ConfigError(
            f"--out {site} holds the runs root {runs_root}; the site replaces its directory, "
            "so give a directory outside the runs"
        )
    if site.is_dir() and any(site.iterdir()) and not (site / RECORD).is_file():
        raise ConfigError(
            f"--out {site} is not empty and is not a leaderboard site (no {RECORD}); "
            "give a new or empty directory"
        )


@contextlib.contextmanager
def building(site: Path) -> Iterator[Path]:
    """Yields an empty directory beside ``site`` to build into; swaps it in if the block
    ends normally, removes it otherwise."""
    parent = site.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        lock = open(parent / f".{site.name}.lock", "a")  # noqa: SIM115
    except OSError as exc:
        raise StorageError(f"cannot create {parent}: {exc.strerror or exc}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"another leaderboard build is writing {site}; wait for it to finish"
            ) from None
        for stale in [
            *parent.glob(f".{site.name}.building-*"),
            *parent.glob(f".{site.name}.old-*"),
        ]:
            shutil.rmtree(stale, ignore_errors=True)
        fresh = parent / f".{site.name}.building-{os.getpid()}"
        try:
            fresh.mkdir()
            yield fresh
            _swap(site, fresh)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise


def _swap(site: Path, fresh: Path) -> None:
    if not site.exists():
        os.replace(fresh, site)
        return
    old = site.with_name(f".{site.name}.old-{os.getpid()}")
    os.replace(site, old)
    try:
        os.replace(fresh, site)
    except BaseException:
        os.replace(old, site)
        raise
    shutil.rmtree(old, ignore_errors=True)


def carry(old_site: Path, new_site: Path, relative: str) -> bool:
    """Bring an unchanged file or folder over from the previous site (hard links, else a
    copy); False when the previous site lacks it."""
    source = old_site / relative
    if not source.exists():
        return False
    target = new_site / relative
    target.parent.mkdir(parents=True, exist_ok=True)

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link)
    else:
        link(str(source), str(target))
    return True
