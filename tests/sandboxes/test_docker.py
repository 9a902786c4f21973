"""The Docker pool itself: hardening flags on every container, recycling, concurrency."""

from __future__ import annotations

import asyncio
import time

import pytest
from evalr.sandbox import Limits, Program
from evalr.sandboxes.docker import DockerSandbox

from .conftest import skip_unless

ECHO = Program("python", "print(input())\n")


@pytest.fixture(autouse=True)
def _engine() -> None:
    skip_unless("docker")


def test_every_container_is_hardened(docker_box: DockerSandbox) -> None:
    asyncio.run(docker_box.run(ECHO, ["x\n"], Limits()))
    containers = list(docker_box._live.values())
    assert containers
    for container in containers:
        container.reload()
        host = container.attrs["HostConfig"]
        config = container.attrs["Config"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert "/tmp" in host["Tmpfs"] and "size=" in host["Tmpfs"]["/tmp"]
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] and host["PidsLimit"] > 0
        assert host["Memory"] > 0 and host["Memory"] == host["MemorySwap"]
        assert host["NanoCpus"] == 10**9
        assert host["Init"] is True
        assert host["IpcMode"] == "none"
        assert host["Privileged"] is False
        assert config["User"] and not config["User"].startswith("0")
        assert host["LogConfig"]["Type"] == "none"
        binds = host.get("Binds") or []
        assert not any("docker.sock" in b for b in binds)


def test_describe_names_the_image_digest(docker_box: DockerSandbox) -> None:
    facts = docker_box.describe()
    assert facts["image_id"].startswith("sha256:")
    assert facts["image_id"] == docker_box._client.images.get(facts["image"]).id


def test_recycles_after_a_violation_and_every_m_submissions() -> None:
    box = DockerSandbox(pool_size=1, recycle_after=3)
    try:
        box.start()
        first = next(iter(box._live))
        limits = Limits(cpu_s=1, wall_s=2)
        asyncio.run(box.run(Program("python", "while True:\n    pass\n"), ["1"], limits))
        assert box.recycled == 1
        deadline = time.monotonic() + 60
        while first in box._live and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first not in box._live
        for _ in range(3):
            execution = asyncio.run(box.run(ECHO, ["y\n"], limits))
            assert execution.runs[0].stdout == "y\n"
        assert box.recycled == 2  # the replacement served three submissions, then went
    finally:
        asyncio.run(box.aclose())
    assert box._live == {}


def test_pool_runs_submissions_concurrently() -> None:
    box = DockerSandbox(pool_size=2)
    try:
        box.start()
        program = Program("python", "import time\ntime.sleep(1)\nprint(input())\n")

        async def both() -> list:
            return await asyncio.gather(*(box.run(program, [f"{i}\n"], Limits()) for i in range(2)))

        start = time.monotonic()
        results = asyncio.run(both())
        elapsed = time.monotonic() - start
        assert [r.runs[0].stdout for r in results] == ["0\n", "1\n"]
        assert elapsed < 1.9  # two one-second sleeps overlapped
    finally:
        asyncio.run(box.aclose())


def test_a_container_that_vanished_is_replaced_and_the_submission_retried() -> None:
    box = DockerSandbox(pool_size=1)
    try:
        box.start()
        (container,) = box._live.values()
        container.remove(force=True)  # the engine lost it behind the pool's back
        execution = asyncio.run(box.run(ECHO, ["z\n"], Limits()))
        assert execution.runs[0].stdout == "z\n"
        assert box.recycled == 1
    finally:
        asyncio.run(box.aclose())
