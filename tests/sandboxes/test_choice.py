"""Which sandbox runs untrusted code: Docker when an engine answers, else bubblewrap, loudly."""

from __future__ import annotations

import asyncio
import logging

import pytest
from evalr.errors import SandboxError
from evalr.sandbox import availability, open_sandbox
from evalr.sandboxes.docker import DockerSandbox
from evalr.sandboxes.local import LocalSandbox

from .conftest import skip_unless


def test_docker_is_the_default_when_an_engine_answers(caplog: pytest.LogCaptureFixture) -> None:
    skip_unless("docker")
    with caplog.at_level(logging.WARNING, logger="evalr.sandbox"):
        box = open_sandbox()
    assert isinstance(box, DockerSandbox) and box.isolation == "docker"
    assert not caplog.records
    asyncio.run(box.aclose())


def test_choosing_local_while_docker_answers_warns(caplog: pytest.LogCaptureFixture) -> None:
    skip_unless("docker")
    skip_unless("local")
    with caplog.at_level(logging.WARNING, logger="evalr.sandbox"):
        box = open_sandbox("local")
    assert isinstance(box, LocalSandbox)
    assert any("weaker" in r.getMessage() for r in caplog.records)


def test_falls_back_to_local_only_without_an_engine(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    skip_unless("local")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert availability("docker").usable is False
    with caplog.at_level(logging.WARNING, logger="evalr.sandbox"):
        box = open_sandbox()
    assert isinstance(box, LocalSandbox)
    assert "no Docker engine" in box.describe()["fallback_reason"]
    assert "weaker" in box.describe()["strength"]
    assert any("less than a container" in r.getMessage() for r in caplog.records)
    with pytest.raises(SandboxError) as err:
        open_sandbox("docker")
    assert "\n" not in str(err.value)


def test_unknown_sandbox_name_is_a_config_error() -> None:
    from evalr.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown sandbox"):
        open_sandbox("firecracker")
