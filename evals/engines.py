"""Engine servers evalr starts and stops itself: vLLM, SGLang, llama.cpp's OpenAI server.

``async with managed_server(engine, model, flags, log_dir) as server`` launches the engine on a
free loopback port, waits until ``/v1/models`` answers (or fails with the tail of its log), and
always takes it down again: normal end, error, Ctrl-C. The child gets its own process group,
killed as a whole, and a parent-death signal, so even a SIGKILLed evalr leaves no server behind.

``flags`` are the engine's own command-line options, spelled as in its docs without the dashes
(``tensor_parallel_size=8``); evalr passes them through and records them in the manifest.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.errors import ConfigError, FatalBackendError

_PR_SET_PDEATHSIG = 1
_SECRET_WORDS = re.compile("key|token|secret|password", re.IGNORECASE)
_TAIL_LINES = 8
_live: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Engine:
    """How to launch one kind of OpenAI-compatible server and what it can do."""

    name: str
    distribution: str  # whose version goes in the manifest
    install: str
    module: str  # run as `python -m MODULE`
    model_flag: str  # how the server is told which model to load
    dashes: bool  # vLLM/SGLang spell flags --tensor-parallel-size; llama.cpp's --n_ctx
    capabilities: Capabilities
    ready_timeout_s: float
    defaults: Mapping[str, str] = field(default_factory=dict)
    # Whether a final partial assistant message is continued (vLLM/SGLang continue_final_message).
    continues_assistant: bool = True
    # Request fields that switch off the engine's own sampling extras, so only the protocol's
    # temperature and top-p shape the samples.
    neutral_sampling: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""

    def launch(self, model: str, host: str, port: int) -> list[str]:
        """argv after the interpreter."""
        return ["-m", self.module, self.model_flag, model, "--host", host, "--port", str(port)]


ENGINES: dict[str, Engine] = {
    "vllm": Engine(
        name="vllm",
        distribution="vllm",
        install="pip install vllm",
        module="vllm.entrypoints.openai.api_server",
        model_flag="--model",
        dashes=True,
        capabilities=Capabilities(native_n=True, seeds=True),
        # Full DeepSeek-R1 takes many minutes to load and compile.
        ready_timeout_s=3600,
    ),
    "sglang": Engine(
        name="sglang",
        distribution="sglang",
        install="pip install 'sglang[all]'",
        module="sglang.launch_server",
        model_flag="--model-path",
        dashes=True,
        capabilities=Capabilities(native_n=True, seeds=True),
        ready_timeout_s=3600,
    ),
    "llamacpp": Engine(
        name="llamacpp",
        distribution="llama-cpp-python",
        install="pip install 'evalr[server]'",
        module="llama_cpp.server",
        model_flag="--model",
        dashes=False,
        # Measured: `n` is accepted and silently ignored (one choice comes back), requests are
        # served one at a time, `seed` is honoured.
        capabilities=Capabilities(native_n=False, seeds=True, max_concurrency=1),
        ready_timeout_s=300,
        # llama_cpp.server applies top_k 40, min_p 0.05 and repeat_penalty 1.1 by default.
        neutral_sampling={"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0},
        # The server's own default context is 2048, which would silently cut long reasoning;
        # 0 means the model's trained context. Threads: half the cores, see llamacpp backend.
        defaults={
            "n_ctx": "0",
            "n_threads": str(max(1, (os.cpu_count() or 2) // 2)),
            "n_threads_batch": str(max(1, (os.cpu_count() or 2) // 2)),
        },
        # It renders a final assistant message as a closed turn and opens a new one.
        continues_assistant=False,
        notes="ignores n; serves one request at a time; honours seed; no assistant prefill",
    ),
}


def engine(name: str) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    return ENGINES[name]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def command_line(
    eng: Engine, model: str, port: int, flags: Mapping[str, str], python: str
) -> list[str]:
    """The exact argv; ``true`` becomes a bare switch, ``false`` drops it."""
    argv = [python, *eng.launch(model, "127.0.0.1", port)]
    for key, value in sorted({**eng.defaults, **flags}.items()):
        flag = "--" + (key.replace("_", "-") if eng.dashes else key)
        if value.lower() == "true":
            argv.append(flag)
        elif value.lower() != "false":
            argv += [flag, value]
    return argv


def engine_version(eng: Engine, python: str) -> str:
    """The engine's version as installed for ``python``; a one-line error if it is missing."""
    probe = (
        "import importlib.metadata as m, sys\n"
        f"try: print(m.version({eng.distribution!r}))\n"
        "except m.PackageNotFoundError: sys.exit(3)\n"
    )
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot run {python} to start {eng.name}: {exc}") from None
    if done.returncode != 0:
        raise ConfigError(
            f"{eng.distribution} is not installed for {python}: {eng.install} "
            "(or name another interpreter with ?python=/path/to/venv/bin/python)"
        )
    return done.stdout.strip()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGTERM it when evalr dies, even by SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _kill_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the whole process group (engines fork workers), then SIGKILL stragglers."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    _live.pop(proc.pid, None)


@atexit.register
def _reap_all() -> None:
    """The safety net: an interpreter exit never leaves an engine running."""
    for proc in list(_live.values()):
        _kill_group(proc, grace_s=2)


def log_tail(path: Path, lines: int = _TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


class ManagedServer:
    """One engine process on a loopback port. Use ``managed_server`` rather than this directly."""

    def __init__(
        self,
        eng: Engine,
        model: str,
        flags: Mapping[str, str],
        log_dir: Path,
        *,
        python: str = sys.executable,
        ready_timeout_s: float | None = None,
    ) -> None:
        self.engine = eng
        self.model = model
        self.flags = dict(flags)
        self.python = python
        self.ready_timeout_s = ready_timeout_s or eng.ready_timeout_s
        self.log_path = log_dir / f"engine-{eng.name}.log"
        self.port = 0
        self.argv: list[str] = []
        self.version = ""
        self.ready_s: float | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def capabilities(self) -> Capabilities:
        return self.engine.capabilities

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self) -> None:
        self.version = await asyncio.to_thread(engine_version, self.engine, self.python)
        self.port = free_port()
        self.argv = command_line(self.engine, self.model, self.port, self.flags, self.python)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            # Spawned from the event loop's thread on purpose: the parent-death signal fires
            # when the spawning *thread* exits, so a short-lived worker thread would kill it.
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            log.write(f"[evalr] pid {self.proc.pid}\n".encode())
        _live[self.proc.pid] = self.proc
        started = time.monotonic()
        await self._wait_ready(started)
        self.ready_s = round(time.monotonic() - started, 3)

    async def _wait_ready(self, started: float) -> None:
        assert self.proc is not None
        url = f"{self.base_url}/models"
        while True:
            code = self.proc.poll()
            if code is not None:
                raise FatalBackendError(
                    f"{self.engine.name} server exited with code {code} before it was ready; "
                    f"log {self.log_path}: {log_tail(self.log_path)}"
                )
            if await asyncio.to_thread(_answers, url):
                return
            if time.monotonic() - started > self.ready_timeout_s:
                raise FatalBackendError(
                    f"{self.engine.name} server not ready after {self.ready_timeout_s:.0f} s "
                    f"(raise ready_timeout_s); log {self.log_path}: {log_tail(self.log_path)}"
                )
            await asyncio.sleep(0.1)

    async def stop(self, grace_s: float = 10) -> None:
        if self.proc is not None:
            await asyncio.to_thread(_kill_group, self.proc, grace_s)
            with self.log_path.open("ab") as log:
                log.write(f"[evalr] stopped; exit code {self.proc.returncode}\n".encode())

    def describe(self) -> dict[str, Any]:
        secret = {v for k, v in self.flags.items() if _SECRET_WORDS.search(k)}
        return {
            "engine": self.engine.name,
            "version": self.version,
            "argv": ["***" if a in secret else a for a in self.argv],
            "flags": {k: "***" if v in secret else v for k, v in self.flags.items()},
            "python": self.python,
            "port": self.port,
            "pid": self.pid,
            "log": self.log_path.name,
            "ready_s": self.ready_s,
            "native_n": self.engine.capabilities.native_n,
            "max_concurrency": self.engine.capabilities.max_concurrency,
            **({"notes": self.engine.notes} if self.engine.notes else {}),
        }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@asynccontextmanager
async def managed_server(
    engine_name: str,
    model: str,
    flags: Mapping[str, str],
    log_dir: Path,
    *,
    python: str = sys.executable,
    ready_timeout_s: float | None = None,
) -> AsyncIterator[ManagedServer]:
    """A running engine server for the duration of the block; always stopped on the way out."""
    server = ManagedServer(
        engine(engine_name), model, flags, log_dir, python=python, ready_timeout_s=ready_timeout_s
    )
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
