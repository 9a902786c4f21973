"""The wheel (DESIGN decision 1): one top-level ``evalr`` holding every subpackage, its data files
and entry points, importable from a clean virtualenv without the source tree."""

from __future__ import annotations

import configparser
import importlib.util
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source directory of each package root, as pyproject's package-dir maps them.
PACKAGE_DIRS = {"evalr": "evals", "evalr.tasks": "tasks", "evalr.sandboxes": "sandboxes"}
PACKAGE_DIRS["evalr.reports"] = "reports"
# Every package the wheel declares (read from pyproject, so a new one cannot be forgotten here).
SUBPACKAGES = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
    "tool"
]["setuptools"]["packages"]
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "runs", "*.egg-info", "__pycache__", ".*_cache"
)


def _isolation() -> list[str]:
    """Build with this environment's setuptools when it is new enough: offline and seconds
    faster than fetching a fresh one into an isolated build environment."""
    try:
        major, minor = (int(p) for p in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return []
    bdist_wheel = (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None
    return ["--no-build-isolation"] if major >= 68 and bdist_wheel else []


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the tree: no stale build/ or egg-info leaks in, and the wheel is compared
    with exactly the files it was built from."""
    src = tmp_path_factory.mktemp("wheel") / "src"
    shutil.copytree(ROOT, src, ignore=_SKIP)
    return src


@pytest.fixture(scope="module")
def wheel(source: Path) -> Path:
    base, src = source.parent, source
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *_isolation()]
    done = subprocess.run(
        [*pip_wheel, "-w", str(base / "dist"), "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (base / "dist").glob("evalr-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _dist_info(names: set[str]) -> str:
    (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    return info


def _read(wheel: Path, member: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member).decode()


def test_only_evalr_at_top_level(wheel: Path, names: set[str]) -> None:
    tops = {n.split("/")[0] for n in names}
    assert tops == {"evalr", _dist_info(names)}
    assert _read(wheel, f"{_dist_info(names)}/top_level.txt").split() == ["evalr"]


def test_data_files_are_inside(names: set[str]) -> None:
    assert {"evalr/presets.toml", "evalr/py.typed"} <= names


def test_every_source_module_is_packaged(source: Path, names: set[str]) -> None:
    # The package list in pyproject is explicit: a new subdirectory would silently be left out.
    missing = []
    for package, directory in PACKAGE_DIRS.items():
        for path in (source / directory).rglob("*.py"):
            member = "/".join([*package.split("."), *path.relative_to(source / directory).parts])
            if member not in names:
                missing.append(member)
    assert missing == []


def _entry_points(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {s: {k: v.strip() for k, v in parser[s].items()} for s in parser.sections()}


def test_entry_points_match_pyproject(source: Path, wheel: Path, names: set[str]) -> None:
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    declared = {group: dict(points) for group, points in project["entry-points"].items()}
    declared["console_scripts"] = dict(project["scripts"])
    got = _entry_points(_read(wheel, f"{_dist_info(names)}/entry_points.txt"))
    assert got == declared
    assert got["console_scripts"] == {"evalr": "evalr.cli:main"}
    assert {"openai", "fake"} <= set(got["evalr.backends"])
    assert {"aime24", "aime25", "math500", "gpqa_diamond"} <= set(got["evalr.tasks"])


def test_entry_point_modules_are_in_the_wheel(source: Path, wheel: Path, names: set[str]) -> None:
    got = _entry_points(_read(wheel, f"{_dist_info(names)}/entry_points.txt"))
    unpackaged, unwritten = [], []
    for points in got.values():
        for target in points.values():
            parts = target.split(":")[0].split(".")
            member = "/".join(parts)
            if f"{member}.py" in names or f"{member}/__init__.py" in names:
                continue
            package = ".".join(parts[:2]) if ".".join(parts[:2]) in PACKAGE_DIRS else "evalr"
            tail = parts[len(package.split(".")) :]
            module = source / PACKAGE_DIRS[package] / "/".join(tail)
            exists = module.with_suffix(".py").is_file() or (module / "__init__.py").is_file()
            (unpackaged if exists else unwritten).append(target)
    assert unpackaged == [], "modules present in the source tree but missing from the wheel"
    if unwritten:
        pytest.xfail(f"plugins declared but not written yet: {', '.join(sorted(unwritten))}")


def test_clean_venv_imports_every_subpackage(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    done = subprocess.run(
        [*install, "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The CLI needs click; the wheel's own contents are what this test is about, so click is
    # copied in from this environment rather than fetched.
    import click

    site_dirs = list((venv / "lib").glob("python3*/site-packages"))
    shutil.copytree(Path(click.__file__).parent, site_dirs[0] / "click")

    probe = (
        "import importlib, json, evalr\n"
        f"mods = [importlib.import_module(m) for m in {SUBPACKAGES!r}]\n"
        "from importlib.metadata import entry_points\n"
        "from evalr import specs\n"
        "print(json.dumps({'files': [m.__file__ for m in mods],"
        " 'tasks': sorted(e.name for e in entry_points(group='evalr.tasks')),"
        " 'r1': specs.resolve('r1').target}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ran = subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    facts = json.loads(ran.stdout)
    site = str(venv)
    assert all(f.startswith(site) for f in facts["files"]), facts["files"]  # not the checkout
    assert {"aime24", "math500"} <= set(facts["tasks"])
    assert facts["r1"] == "deepseek-reasoner"  # presets.toml read from the installed package

    helped = subprocess.run(
        [str(venv / "bin" / "evalr"), "--help"], capture_output=True, text=True, env=env
    )
    assert helped.returncode == 0 and "Usage: evalr" in helped.stdout, helped.stderr
