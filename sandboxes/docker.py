"""The Docker sandbox: a warm pool of hardened containers, one exec per submission.

Every container: no network, read-only root, a size-capped tmpfs /tmp (executable: a C++
submission is compiled there and run from there), no /dev/shm (ipc none),
pids limit, memory limit equal to memory+swap, a CPU limit, all capabilities dropped,
no-new-privileges, a non-root user, an init process, no logs. The keeper process runs as
``nobody``; each submission's exec runs the runner as the container's own sandbox uid, so the
runner's kill(-1) sweep reaches every process the submission left and nothing else. A host
watchdog bounds each exec; a container is replaced after any violation, a dirty sweep, a dead
runner, or every ``recycle_after`` submissions.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import queue
import socket
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from evalr.errors import SandboxError
from evalr.sandbox import Availability, Execution, Limits, Program, TestRun

from .image import Method, ensure_image, image_tag
from .wire import COMMAND, STOP, drive, encode_request

LABEL = "evalr.sandbox"
UID_BASE = 62000  # exec uid = UID_BASE + slot: distinct per container
HEADROOM_MB = 512  # container memory above one test's limit: runner, tmpfs pages
ACQUIRE_TIMEOUT_S = 600  # waiting for a free container longer than this means the pool is gone


def _client(timeout: int = 60, connections: int = 10):
    try:
        import docker
    except ImportError:
        raise SandboxError("the docker package is missing; pip install 'evalr[docker]'") from None
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=connections)
        client.ping()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SandboxError(f"no Docker engine answers ({first[:160]})") from None
    return client


def probe() -> Availability:
    try:
        client = _client(timeout=5)
        version = client.version().get("Version", "?")
        client.close()
    except SandboxError as exc:
        return Availability("docker", False, str(exc))
    return Availability("docker", True, f"Docker engine {version}", extra={"engine": version})


@dataclass
class _Slot:
    index: int
    container: Any
    uses: int = 0

    @property
    def uid(self) -> int:
        return UID_BASE + self.index


class DockerSandbox:
    isolation = "docker"

    @staticmethod
    def probe() -> Availability:
        return probe()

    @staticmethod
    def build(method: Method = "host", force: bool = False) -> Mapping[str, Any]:
        """Import (or docker-build) the sandbox image; what ``evalr sandbox build`` reports."""
        tag, image_id, seconds = ensure_image(_client(), method, force=force)
        return {"image": tag, "image_id": image_id, "seconds": round(seconds, 1)}

    @staticmethod
    def image_present(method: Method = "host") -> tuple[str, str | None]:
        """(tag, image id or None when it still has to be built)."""
        tag = image_tag(method)
        try:
            return tag, _client(timeout=10).images.get(tag).id
        except Exception:
            return tag, None

    def __init__(
        self,
        pool_size: int | None = None,
        recycle_after: int = 200,
        method: Method = "host",
        cpus: float = 1.0,
        limits: Limits | None = None,
        fallback_reason: str | None = None,
    ) -> None:
        self.pool_size = pool_size or max(1, os.cpu_count() or 1)
        self.recycle_after = recycle_after
        self.method = method
        self.cpus = cpus
        self.limits = limits or Limits()  # sizes the containers; per-test limits may be lower
        self._client: Any = None
        self._tag = self._image_id = ""
        self._slots: queue.Queue[_Slot] = queue.Queue()
        self._live: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="evalr-docker")
        self._started = False
        self.recycled = 0

    # --- pool ------------------------------------------------------------------------------

    def start(self) -> None:
        """Build or find the image and start the pool (idempotent; called on first use)."""
        with self._lock:
            if self._started:
                return
            self._client = _client(connections=self.pool_size + 4)
            self._remove_stale()
            self._tag, self._image_id, _ = ensure_image(self._client, self.method)
            with ThreadPoolExecutor(self.pool_size) as boot:
                for slot in boot.map(self._create, range(self.pool_size)):
                    self._slots.put(slot)
            atexit.register(self._shutdown)
            self._started = True

    def _owner(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def _remove_stale(self) -> None:
        """Containers left by an evalr process on this host that no longer exists."""
        host = socket.gethostname()
        # sparse: no inspect per container, which fails when another process removes one
        # between the listing and the inspect
        listed = self._client.containers.list(all=True, filters={"label": LABEL}, sparse=True)
        for container in listed:
            owner = (container.attrs.get("Labels") or {}).get(LABEL + ".owner", "")
            name, _, pid = owner.partition(":")
            if name == host and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(Exception):
                    container.remove(force=True)

    def _create(self, index: int) -> _Slot:
        import docker.types

        limits = self.limits
        memory = f"{limits.memory_mb + limits.disk_mb + HEADROOM_MB}m"
        container = self._client.containers.run(
            self._tag,
            command=[*COMMAND, "idle"],
            detach=True,
            user="65534:65534",
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={limits.disk_mb + 64}m,mode=1777"},
            ipc_mode="none",
            pids_limit=limits.processes + 32,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(self.cpus * 1e9),
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            init=True,
            ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
            log_config=docker.types.LogConfig(type="none"),
            labels={LABEL: "1", LABEL + ".owner": self._owner()},
            environment={"LANG": "C.UTF-8"},
        )
        self._live[container.id] = container
        return _Slot(index, container)

    def _recycle(self, slot: _Slot) -> None:
        """Replace a container in the background; the pool shrinks by one meanwhile."""
        self.recycled += 1

        def replace() -> None:
            self._remove(slot.container)
            try:
                self._slots.put(self._create(slot.index))
            except Exception:  # engine trouble: retry once, then leave the pool smaller
                with contextlib.suppress(Exception):
                    self._slots.put(self._create(slot.index))

        threading.Thread(target=replace, daemon=True).start()

    def _remove(self, container: Any) -> None:
        self._live.pop(container.id, None)
        with contextlib.suppress(Exception):
            container.remove(force=True)

    def _shutdown(self) -> None:
        for container in list(self._live.values()):
            self._remove(container)

    # --- one submission --------------------------------------------------------------------

    async def run(
        self,
        program: Program,
        inputs: Sequence[str],
        limits: Limits,
        *,
        stop_on_failure: bool = True,
        should_stop: Callable[[int, TestRun], bool] | None = None,
    ) -> Execution:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self.run_blocking, program, inputs, limits, stop_on_failure, should_stop
        )

    def run_blocking(
        self,
        program: Program,
        inputs: Sequence[str],
        limits: Limits,
        stop_on_failure: bool = True,
        should_stop: Callable[[int, TestRun], bool] | None = None,
    ) -> Execution:
        self.start()
        if limits.memory_mb > self.limits.memory_mb or limits.disk_mb > self.limits.disk_mb:
            raise SandboxError("per-test limits exceed what the pool's containers were sized for")
        request = encode_request(program, inputs, limits, stop_on_failure)
        for attempt in (1, 2):  # an engine error (container gone) is retried on a fresh one
            try:
                slot = self._slots.get(timeout=ACQUIRE_TIMEOUT_S)
            except queue.Empty:
                raise SandboxError("no sandbox container became available") from None
            healthy = False
            try:
                outcome = self._exec(slot, request, len(inputs), limits, should_stop)
                healthy = outcome.healthy
                return outcome.execution
            except Exception as exc:
                if attempt == 2 or isinstance(exc, SandboxError):
                    raise SandboxError(f"docker exec failed: {str(exc)[:160]}") from None
            finally:
                slot.uses += 1
                if healthy and slot.uses < self.recycle_after:
                    self._slots.put(slot)
                else:
                    self._recycle(slot)
        raise AssertionError("unreachable")

    def _exec(self, slot: _Slot, request: bytes, n: int, limits: Limits, should_stop):
        api = self._client.api
        exec_id = api.exec_create(
            slot.container.id, list(COMMAND), stdin=True, user=f"{slot.uid}:{slot.uid}",
            workdir="/tmp",
        )["Id"]  # fmt: skip
        sock = api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        try:
            raw.sendall(request)
            frames = _Frames(raw)
            return drive(frames.read, lambda: _send(raw, STOP), n, limits, should_stop)
        finally:
            with contextlib.suppress(Exception):
                raw.close()

    def describe(self) -> Mapping[str, Any]:
        self.start()  # the manifest needs the image digest
        limits = self.limits
        return {
            "sandbox": "docker",
            "isolation": self.isolation,
            "image": self._tag or None,
            "image_id": self._image_id or None,
            "method": self.method,
            "pool_size": self.pool_size,
            "recycle_after": self.recycle_after,
            "container": {
                "network": "none",
                "read_only": True,
                "tmpfs_mb": limits.disk_mb + 64,
                "memory_mb": limits.memory_mb + limits.disk_mb + HEADROOM_MB,
                "cpus": self.cpus,
                "pids": limits.processes + 32,
                "cap_drop": "ALL",
                "no_new_privileges": True,
                "user": "non-root",
                "init": True,
            },
        }

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._shutdown)


class _Frames:
    """Docker's multiplexed exec stream: 8-byte headers (stream id, size); stdout is stream 1."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.pending = b""
        self.want: tuple[int, int] | None = None  # (stream, size) of the frame being read

    def read(self, timeout: float) -> bytes | None:
        self.raw.settimeout(max(0.01, timeout))
        out = b""
        while not out:
            try:
                chunk = self.raw.recv(1 << 16)
            except TimeoutError:
                return None
            except OSError:
                return b""
            if not chunk:
                return b""
            self.pending += chunk
            out = self._take()
        return out

    def _take(self) -> bytes:
        out = bytearray()
        while True:
            if self.want is None:
                if len(self.pending) < 8:
                    return bytes(out)
                stream, size = struct.unpack(">BxxxL", self.pending[:8])
                self.pending = self.pending[8:]
                self.want = (stream, size)
            stream, size = self.want
            if len(self.pending) < size:
                return bytes(out)
            body, self.pending = self.pending[:size], self.pending[size:]
            self.want = None
            if stream == 1:
                out += body


def _send(raw: Any, data: bytes) -> None:
    with contextlib.suppress(OSError):
        raw.sendall(data)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
