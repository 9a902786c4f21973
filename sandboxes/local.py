"""The local sandbox: bubblewrap namespaces, a non-root uid and rlimits; no Docker engine needed.

Weaker than the Docker sandbox (no memory or pids cgroup for the whole submission, the host
kernel's user-namespace code is reachable), so it is only the default where no engine answers.
Each submission gets a fresh bwrap: new user, pid, net, ipc, uts and cgroup namespaces, the
sandbox root filesystem read-only, a size-capped tmpfs /tmp, no capabilities, no nested user
namespaces, a new session, and death with its parent. When the runner exits, the pid namespace
goes and takes every process left in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import select
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from evalr.errors import SandboxError
from evalr.sandbox import Availability, Execution, Limits, Program, TestRun

from .image import Method, ensure_rootfs, runner_copy
from .wire import COMMAND, RUNNER_PATH, STOP, drive, encode_request

UID_BASE = 61000  # one uid per worker slot, so RLIMIT_NPROC counts never mix


def _wrap(root: str, runner: str, uid: int, limits: Limits) -> list[str]:
    prefix: list[str] = []
    if os.getuid() == 0:  # never give untrusted code root's uid, even inside a namespace
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    else:
        uid = os.getuid()
    tmp_bytes = (limits.disk_mb + 64) << 20
    return [
        *prefix,
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", str(uid),
        "--gid", str(uid),
        "--ro-bind", root, "/",
        "--ro-bind", runner, RUNNER_PATH,
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(tmp_bytes),
        "--tmpfs", "/tmp",
        "--chdir", "/tmp",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LANG", "C.UTF-8",
        *COMMAND,
    ]  # fmt: skip


@cache
def _probe() -> Availability:
    if shutil.which("bwrap") is None:
        return Availability("local", False, "bubblewrap not installed (apt-get install bubblewrap)")
    if os.getuid() == 0 and shutil.which("setpriv") is None:
        return Availability("local", False, "setpriv (util-linux) not found")
    prefix = ["setpriv", f"--reuid={UID_BASE}", f"--regid={UID_BASE}", "--clear-groups", "--"]
    cmd = [*(prefix if os.getuid() == 0 else []), "bwrap", "--unshare-all", "--ro-bind", "/", "/"]
    try:
        done = subprocess.run([*cmd, "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Availability("local", False, f"bwrap failed to start ({exc})")
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["?"])[-1]
        return Availability("local", False, f"bwrap cannot create namespaces here ({why})")
    return Availability(
        "local", True, "bubblewrap namespaces + non-root uid + rlimits", strength="weaker"
    )


class LocalSandbox:
    isolation = "bubblewrap"

    @staticmethod
    def probe() -> Availability:
        return _probe()

    @staticmethod
    def build(method: Method = "host", force: bool = False) -> Mapping[str, Any]:
        """Build (or find) the root filesystem the local sandbox binds read-only."""
        del force  # the cache key already covers what the root is made of
        built = ensure_rootfs(method)
        return {"rootfs": str(built.path), "size_mb": built.size_mb, "seconds": built.seconds}

    def __init__(
        self,
        workers: int | None = None,
        method: Method = "host",
        limits: Limits | None = None,
        fallback_reason: str | None = None,
    ) -> None:
        del limits  # per-test limits arrive with each run; nothing is sized up front
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.method = method
        self.fallback_reason = fallback_reason
        self._root: str | None = None
        self._runner = ""
        self._lock = threading.Lock()
        self._uids: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            self._uids.put(UID_BASE + slot)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="evalr-local")

    def _rootfs(self) -> str:
        with self._lock:
            if self._root is None:
                self._runner = str(runner_copy())
                self._root = str(ensure_rootfs(self.method).path)
            return self._root

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
        request = encode_request(program, inputs, limits, stop_on_failure)
        root = self._rootfs()
        uid = self._uids.get()
        try:
            proc = subprocess.Popen(
                _wrap(root, self._runner, uid, limits),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError as exc:
            self._uids.put(uid)
            raise SandboxError(f"could not start bwrap: {exc}") from None
        try:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(request)
                proc.stdin.flush()
            except BrokenPipeError:
                pass
            out = proc.stdout.fileno()

            def read(timeout: float) -> bytes | None:
                ready, _, _ = select.select([out], [], [], min(timeout, 5.0))
                return os.read(out, 1 << 16) if ready else None

            def send_stop() -> None:
                with contextlib.suppress(BrokenPipeError, ValueError):
                    proc.stdin.write(STOP)  # type: ignore[union-attr]

            return drive(read, send_stop, len(inputs), limits, should_stop).execution
        finally:
            proc.kill()  # tears down the pid namespace and everything in it
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            self._uids.put(uid)

    def describe(self) -> Mapping[str, Any]:
        self._rootfs()
        return {
            "sandbox": "local",
            "isolation": self.isolation,
            "strength": "weaker than docker: namespaces and rlimits, no cgroup limits",
            "rootfs": self._root,
            "method": self.method,
            "workers": self.workers,
            **({"fallback_reason": self.fallback_reason} if self.fallback_reason else {}),
        }

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
