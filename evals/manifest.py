"""Facts about a run that make its numbers reproducible, written before the first request."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from evalr.task import Prompt


def evalr_version() -> str:
    try:
        return metadata.version("evalr")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_sha() -> str | None:
    """The commit of the evalr source in use, when it runs from a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def host() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def package_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def sha256_json(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def prompts_sha256(prompts: list[Prompt]) -> str:
    return sha256_json([[(m.role, m.content) for m in p.messages] for p in prompts])


def scrub(value: Mapping[str, Any]) -> dict[str, Any]:
    """Drop anything that looks like a credential before it reaches disk."""
    secret = ("key", "token", "secret", "password", "authorization")
    return {
        k: (scrub(v) if isinstance(v, Mapping) else v)
        for k, v in value.items()
        if not (any(s in k.lower() for s in secret) and not k.lower().endswith("_env"))
    }


_LIGHT_MAX = 4000  # characters of JSON per metadata value kept in problems.jsonl


def light_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A problem's metadata without bulk (test cases, long blobs): what reports show."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if key == "tests":
            continue
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            continue
        if len(text) <= _LIGHT_MAX:
            out[str(key)] = json.loads(text)
    return out
