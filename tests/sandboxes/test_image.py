"""The offline image build, the apt-mirror discovery, and the sandbox CLI."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from evalr.commands.sandbox import sandbox
from evalr.errors import EvalrError, SandboxError
from evalr.sandbox import availability
from evalr.sandboxes.image import RUNNER, ensure_rootfs, image_tar, mirror
from evalr.sandboxes.wire import RUNNER_PATH


def test_mirror_is_read_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm updates\n"
    )
    assert mirror([deb822]) == ("http://mirror.example/debian", "bookworm")
    classic = tmp_path / "sources.list"
    classic.write_text("# deb http://old/debian sid main\ndeb http://local/debian trixie main\n")
    assert mirror([tmp_path / "missing", classic]) == ("http://local/debian", "trixie")
    with pytest.raises(SandboxError):
        mirror([tmp_path / "missing"])


def test_host_rootfs_holds_python_gxx_and_no_host_secrets() -> None:
    root = ensure_rootfs("host").path
    assert (root / "usr/bin/python3").exists()
    assert (root / "usr/bin/g++").exists() and any(root.glob("usr/include/*/c++/*/bits/stdc++.h"))
    assert any((root / "usr/lib").glob("python3.*/json/__init__.py"))
    assert not (root / "root").exists() and not (root / "work").exists()
    assert (root / "tmp").stat().st_mode & 0o1777 == 0o1777
    for part in (root, *root.parents[:3]):
        assert part.stat().st_mode & 0o005 == 0o005, part  # the sandbox uids can traverse it


def test_image_tar_is_root_owned_with_the_runner() -> None:
    root = ensure_rootfs("host").path
    with tarfile.open(fileobj=io.BytesIO(image_tar(root))) as tar:
        members = tar.getmembers()
        runners = [m for m in members if m.name.lstrip("./") == RUNNER_PATH.lstrip("/")]
        assert len(runners) == 1
        assert tar.extractfile(runners[0]).read() == RUNNER.read_bytes()  # type: ignore[union-attr]
        assert all(m.uid == 0 and m.gid == 0 for m in members)


def _cli(argv: list[str]) -> tuple[int, str]:
    """``evalr sandbox ...``: the exit code the main CLI gives (an EvalrError's own) and output."""
    done = CliRunner().invoke(sandbox, argv)
    if isinstance(done.exception, EvalrError):
        return done.exception.exit_code, done.output
    return done.exit_code, done.output


def test_sandbox_check_says_what_runs_code() -> None:
    code, out = _cli(["check"])
    docker, local = availability("docker"), availability("local")
    assert code == (0 if docker.usable or local.usable else SandboxError.exit_code)
    assert out.startswith("docker ") and "\nlocal " in out
    if docker.usable:
        assert "default: docker" in out and "image:" in out
    elif local.usable:
        assert "default: local (weaker" in out


def test_sandbox_build_reports_the_image() -> None:
    code, out = _cli(["build"])
    assert code == 0, out
    assert "root filesystem (host)" in out
    if availability("docker").usable:
        assert "docker image: evalr-sandbox:host-" in out and "sha256:" in out


def test_build_with_an_unknown_method_is_refused() -> None:
    code, out = _cli(["build", "--method", "scratch"])
    assert code == 2 and "scratch" in out  # a usage error, before anything is built
