"""Real sandboxes for the sandbox tests: a Docker pool of one container, and bubblewrap.

A suite skips, printing why, only where its sandbox cannot run (no daemon answers, no bwrap).
The Docker image is built on first use when the engine lacks it, as in a fresh CI machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from evalr.sandbox import Sandbox, availability
from evalr.sandboxes.docker import DockerSandbox
from evalr.sandboxes.local import LocalSandbox

KINDS = ("docker", "local")


def skip_unless(name: str) -> None:
    found = availability(name)
    if not found.usable:
        print(f"skipping {name} sandbox tests: {found.detail}")
        pytest.skip(f"{name} sandbox unavailable: {found.detail}")


@pytest.fixture(scope="session")
def docker_box() -> Iterator[DockerSandbox]:
    skip_unless("docker")
    box = DockerSandbox(pool_size=1, recycle_after=1000)
    box.start()
    yield box
    asyncio.run(box.aclose())


@pytest.fixture(scope="session")
def local_box() -> Iterator[LocalSandbox]:
    skip_unless("local")
    box = LocalSandbox(workers=1)
    yield box
    asyncio.run(box.aclose())


@pytest.fixture(params=KINDS)
def box(request: pytest.FixtureRequest) -> Sandbox:
    return request.getfixturevalue(f"{request.param}_box")
