"""The in-sandbox test runner: one process per submission, one forked child per test.

It runs INSIDE the sandbox (baked read-only into the image, or bound read-only by the local
sandbox) under a non-root uid, with the standard library only. Protocol on its stdin: a decimal
byte length, a newline, then that many bytes of JSON request; afterwards the host may send b"s"
to stop early (it saw a failing test). On stdout: one JSON line per event: ``{"compile": ...}``,
then one line per test, then ``{"done": true, "clean": ...}``. Expected outputs of a solution's
tests never come here; the host compares. (A checker program is a submission of its own: its
tests carry the input, the expected answer and the solution's output, see ``harness="checker"``.)

Languages: ``python`` runs the source in the forked child (one interpreter, prewarmed);
``cpp`` is compiled once with g++ (its own limits, which are not the tests' time) and the binary
is exec'd in each forked child. A failed compile is reported in the ``compile`` event.

Untrusted code runs only in forked children: own session, rlimits (address space, CPU, file
size, descriptors, processes), a fresh working directory, stdin/stdout/stderr on files and pipes
and every other descriptor closed. The runner marks itself non-dumpable, so a child of the same
uid cannot ptrace it or open /proc/<runner>/fd to forge results; a child that kills the runner
only ends the submission early, which the host treats as a failure. After every test the runner
kills every other process of its uid (kill(-1)), so nothing survives into the next test.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import select
import shutil
import signal
import sys
import time
from typing import Any

# LiveCodeBench prefixes every solution with this header (lcb_runner/evaluation/testing_util.py).
LCB_IMPORTS = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\n"
    "from functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\n"
    "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\n"
    "import random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)
WORK = "/tmp/evalr"
EXIT_MEMORY = 3  # the child's code for MemoryError
EXIT_EXEC = 4  # the child could not exec the compiled program
CXX = "/usr/bin/g++"
CXX_FLAGS = ("-std=gnu++17", "-O2", "-pipe", "-DONLINE_JUDGE")
# The compiler's own limits: generous, and never counted as the program's run time.
COMPILE_LIMITS = {"cpu_s": 30.0, "wall_s": 45.0, "memory_mb": 2048, "disk_mb": 256,
                  "processes": 64, "output_bytes": 1 << 16}  # fmt: skip
CHECKER_FILES = ("input.txt", "correct_output.txt", "solution_output.txt")
RESULT_FD = 3  # LCB harnesses write their result here
PR_SET_DUMPABLE = 4


def _set_dumpable(flag: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, flag, 0, 0, 0)
    except Exception:  # no libffi in a stripped image: the sweep and fail-closed host still hold
        pass


def _emit(event: dict) -> None:
    data = (json.dumps(event) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def _read_request() -> dict:
    header = b""
    while not header.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            raise SystemExit("runner: no request")
        header += chunk
    size, body = int(header), bytearray()
    while len(body) < size:
        chunk = os.read(0, min(1 << 20, size - len(body)))
        if not chunk:
            raise SystemExit("runner: truncated request")
        body += chunk
    return json.loads(body)


# --- LiveCodeBench's source transformations, reproduced for grading parity -----------------


def _clean_if_name(code: str) -> str:
    import ast

    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            head, body = tree.body[:-1], last.body  # lists: ast.unparse joins them (as LCB does)
            code = ast.unparse(head) + "\n" + ast.unparse(body)  # type: ignore[arg-type]
    except Exception:
        pass
    return code


def _make_function(code: str) -> str:
    import ast

    try:
        tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
        others = [s for s in tree.body if not isinstance(s, ast.Import | ast.ImportFrom)]
        fn = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=others,
            decorator_list=[],
            lineno=-1,
        )
        header = ast.unparse(imports)  # type: ignore[arg-type]
        return LCB_IMPORTS + "\n" + header + "\n" + ast.unparse(fn)
    except Exception:
        return code


def harness_source(source: str, harness: str) -> str:
    """The text LCB actually executes for a solution. Computed here, in a single-threaded
    process: CPython 3.11's parser keeps its recursion guard per interpreter, so ``ast`` calls
    racing in a threaded host can fail, which LCB's transforms would swallow silently."""
    if harness == "lcb_stdin":
        return _make_function(_clean_if_name(source))
    if harness == "lcb_call":
        return LCB_IMPORTS + "\n\n" + source
    return source


def _prepare(req: dict) -> tuple[object | None, str | None]:
    source = harness_source(req["source"], req["harness"])
    try:
        return compile(source, "<solution>", "exec"), None
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _compile_cpp(req: dict) -> tuple[str | None, str | None]:
    """g++ once per submission, supervised like a test but under COMPILE_LIMITS."""
    build = f"{WORK}/build"
    os.makedirs(build, exist_ok=True)
    source, binary = f"{build}/solution.cpp", f"{build}/solution"
    with open(source, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(req["source"])
    argv = [CXX, *CXX_FLAGS, "-o", binary, source]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": build}
    child = _spawn(lambda out_w, err_w: _exec_child(argv, env, COMPILE_LIMITS, out_w, err_w, build))
    captured = _capture(child, COMPILE_LIMITS)
    code, _usage, _wall = _reap(child)
    if req.get("sweep"):
        _sweep()  # a compiler process left behind must not survive into the tests
    with contextlib.suppress(OSError):
        os.unlink(source)
    if captured.reason is not None:
        return None, f"compilation stopped: {captured.reason} ({COMPILE_LIMITS['wall_s']:.0f} s)"
    if code != 0 or not os.path.isfile(binary):
        tail = captured.err[-4000:].decode("utf-8", "replace").strip()
        return None, tail or f"compiler exited with status {code}"
    return binary, None


def _static_mb(binary: str) -> float:
    """Memory the ELF program asks for before it runs (loadable segments, BSS included)."""
    import struct

    with open(binary, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only; anything else: unknown
            return 0.0
        phoff, phentsize, phnum = (
            struct.unpack_from("<Q", head, 32)[0],
            *struct.unpack_from("<HH", head, 54),
        )
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    total = 0
    for i in range(phnum):
        kind = struct.unpack_from("<I", table, i * phentsize)[0]
        if kind == 1:  # PT_LOAD: p_memsz at offset 40
            total += struct.unpack_from("<Q", table, i * phentsize + 40)[0]
    return total / 2**20


def _prepare_program(req: dict) -> tuple[object | None, str | None]:
    """What each test's child runs: a code object (python) or a binary's path (cpp)."""
    if req.get("language", "python") == "cpp":
        return _compile_cpp(req)
    return _prepare(req)


# --- the child: untrusted code runs only here ------------------------------------------------


def _limit_child(limits: dict, native: bool = False) -> None:
    mem = int(limits["memory_mb"]) << 20
    cpu = max(1, math.ceil(float(limits["cpu_s"])))
    # A compiled program may use its whole memory limit as stack (deep recursion), as judges allow.
    stack = [(resource.RLIMIT_STACK, (mem, mem))] if native else []
    for name, value in (
        *stack,
        (resource.RLIMIT_AS, (mem, mem)),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, ((int(limits["disk_mb"]) << 20),) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_NPROC, (int(limits["processes"]),) * 2),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(name, value)


def _lcb_guard() -> None:
    # LCB's reliability_guard(): the same functions disabled, so a solution that uses one fails
    # here as it failed there. Not a security measure; the sandbox is.
    import builtins
    import shutil as _shutil
    import subprocess

    builtins.quit = None  # type: ignore[assignment]
    for name in (
        "kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
        "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod",
        "fchown", "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir",
    ):  # fmt: skip
        setattr(os, name, None)
    _shutil.rmtree = _shutil.move = _shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    builtins.help = None  # type: ignore[assignment]
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None  # type: ignore[assignment]


def _run_lcb_stdin(code: Any, data: str) -> None:
    # What LCB's stacked mock.patch decorators really do: the readline/readlines/read patches
    # are entered first, on the ORIGINAL sys.stdin object (only names bound to it at module
    # level, e.g. ``from sys import stdin``, see them), then sys.stdin becomes a plain
    # StringIO of the input and open() a mock returning the input; stdout is captured in a
    # StringIO; SystemExit is swallowed. The module body ran before any patching.
    import builtins
    import io

    module: dict = {"__name__": "tmp_sol"}
    exec(code, module)
    fn = module.get("wrapped_function")
    if fn is None:
        raise RuntimeError("no wrapped_function")
    original = sys.stdin
    lines = iter(data.split("\n"))
    with contextlib.suppress(AttributeError):
        original.readline = lambda *a: next(lines)  # type: ignore[method-assign]
        original.readlines = lambda *a: data.split("\n")  # type: ignore[method-assign]
        original.read = lambda *a: data  # type: ignore[method-assign]
    captured = io.StringIO()
    sys.stdin, sys.stdout = io.StringIO(data), captured
    builtins.open = lambda *a, **k: io.StringIO(data)  # type: ignore[assignment]
    with contextlib.suppress(SystemExit):
        fn()
    _write_all(captured.getvalue().encode("utf-8", "surrogateescape"))


def _run_lcb_call(code: Any, data: str, source: str, fn_name: str) -> None:
    # LCB: exec the module, Solution() if the text has "class Solution", one JSON value per
    # line as positional arguments, tuple results become lists. The repr goes to the host,
    # which evaluates it and compares with == exactly as LCB does.
    module: dict = {"__name__": "tmp_sol"}
    exec(code, module)
    target = module["Solution"]() if "class Solution" in source else None
    method = getattr(target, fn_name) if target is not None else module[fn_name]
    args = [json.loads(line) for line in data.split("\n")]
    result = method(*args)
    if isinstance(result, tuple):
        result = list(result)
    _write_all(repr(result).encode("utf-8", "surrogateescape"))


def _write_all(data: bytes) -> None:
    # LCB harnesses: the result travels on fd 3; fd 1 (what LCB leaves uncaptured) is /dev/null.
    view = memoryview(data)
    while view:
        view = view[os.write(RESULT_FD, view) :]


def _child(code: Any, req: dict, data: str, out_w: int, err_w: int, workdir: str) -> None:
    try:
        os.setsid()
        _set_dumpable(1)  # so /dev/stdin and /proc/self work for the solution itself
        _limit_child(req["limits"])
        harness = req["harness"]
        lcb = harness in ("lcb_stdin", "lcb_call")
        fd = os.open(f"{WORK}/input" if harness == "script" else os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        if lcb:
            os.dup2(1, RESULT_FD)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.closerange(RESULT_FD + (1 if lcb else 0), 65536)
        os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        os.chdir(workdir)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)  # type: ignore[misc]  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        if lcb:
            if "numpy" in req["source"]:  # LCB's grader imported numpy before its guard
                with contextlib.suppress(ImportError):
                    import numpy  # noqa: F401
            _lcb_guard()
        if harness == "lcb_stdin":
            _run_lcb_stdin(code, data)
        elif harness == "lcb_call":
            _run_lcb_call(code, data, req["source"], req["fn_name"])
        else:
            if harness == "checker":  # checker.py input.txt correct_output.txt solution_output.txt
                sys.argv = ["checker.py", *CHECKER_FILES]
            try:
                exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
            except SystemExit as exc:
                sys.stdout.flush()
                os._exit(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
        sys.stdout.flush()
        os._exit(0)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            sys.stdout = sys.__stdout__
            traceback.print_exc(limit=5)
            sys.stderr.flush()
        os._exit(1)


def _exec_child(
    argv: list[str], env: dict, limits: dict, out_w: int, err_w: int, workdir: str,
    stdin: str = os.devnull,
) -> None:  # fmt: skip
    """A native program (the compiler, or a compiled solution) in place of the forked child."""
    try:
        os.setsid()
        _limit_child(limits, native=True)
        os.dup2(os.open(stdin, os.O_RDONLY), 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        os.chdir(workdir)
        os.execve(argv[0], argv, env)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            os.write(2, f"cannot run {argv[0]}: {exc}\n".encode())
        os._exit(EXIT_EXEC)


# --- the parent: supervises one test ----------------------------------------------------------


def _sweep() -> int:
    """Kill every other process of this uid; return how many are left (0 = clean)."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        except PermissionError:
            break
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    return _others()


def _others() -> int:
    me, uid, left = os.getpid(), os.getuid(), 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (me, 1):  # pid 1: the namespace's init
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X"):
            left += 1
    return left


def _wipe(path: str) -> bool:
    def unlock(func, target, _exc):  # a solution may chmod its files away; undo and retry
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target) or target, 0o700)
            os.chmod(target, 0o700)
            func(target)

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=unlock)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
    return not os.path.lexists(path)


def _wipe_scratch(keep: str | None) -> bool:
    """Remove everything the submission may have written: /tmp (but ``keep``) and /dev/shm."""
    clean = True
    for top in ("/tmp", "/dev/shm"):
        try:
            names = os.listdir(top)
        except OSError:
            continue
        for name in names:
            path = os.path.join(top, name)
            if path != keep:
                clean = _wipe(path) and clean
    return clean


class _Child:
    """A forked child under supervision: its pid, the read ends of its stdout and stderr."""

    def __init__(self, pid: int, out_r: int, err_r: int, start: float) -> None:
        self.pid, self.out_r, self.err_r, self.start = pid, out_r, err_r, start
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None


class _Captured:
    """What a child wrote, and why supervision stopped early (None: it exited by itself)."""

    def __init__(self) -> None:
        self.out, self.err = bytearray(), bytearray()
        self.reason: str | None = None


ERR_CAP = 8192  # bytes of stderr kept (the tail)


def _spawn(body) -> _Child:
    """Fork; the child runs ``body(out_w, err_w)`` and never returns."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        body(out_w, err_w)
        os._exit(EXIT_EXEC)  # body returned: it should not
    os.close(out_w)
    os.close(err_w)
    return _Child(pid, out_r, err_r, start)


def _capture(child: _Child, limits: dict) -> _Captured:
    """Read the child's output until it exits, overruns its wall time or its output cap."""
    got = _Captured()
    cap = int(limits["output_bytes"])
    buffers = {child.out_r: got.out, child.err_r: got.err}
    for fd in buffers:
        os.set_blocking(fd, False)
    deadline = child.start + float(limits["wall_s"])
    exited = False
    while not exited and got.reason is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            got.reason = "time_limit"
            break
        watch = [*buffers, *([child.pidfd] if child.pidfd is not None else [])]
        poll = min(remaining, 0.05 if child.pidfd is None else 1)
        ready, _, _ = select.select(watch, [], [], poll)
        for fd in ready:
            if fd == child.pidfd:
                exited = True
            elif (chunk := _read_some(fd)) is not None:
                _append(buffers, fd, chunk, got, cap)
        if child.pidfd is None and os.waitid(
            os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT
        ):
            exited = True
    if got.reason is None:  # drain what the child wrote before it exited
        for fd in list(buffers):
            while fd in buffers and (chunk := _read_some(fd)) and len(got.out) <= cap:
                _append(buffers, fd, chunk, got, cap)
        if len(got.out) > cap:
            got.reason = "output_limit"
    return got


def _append(buffers: dict, fd: int, chunk: bytes, got: _Captured, cap: int) -> None:
    if not chunk:  # EOF on this pipe
        buffers.pop(fd)
        return
    buffers[fd] += chunk
    if buffers[fd] is got.err and len(got.err) > ERR_CAP:
        del got.err[: len(got.err) - ERR_CAP]
    if len(got.out) > cap:
        got.reason = "output_limit"


def _reap(child: _Child) -> tuple[int, resource.struct_rusage, float]:
    """Kill what is left of the child's session, collect its status, close its pipes."""
    with contextlib.suppress(OSError):
        os.killpg(child.pid, signal.SIGKILL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - child.start
    for fd in (child.out_r, child.err_r, child.pidfd):
        if fd is not None:
            os.close(fd)
    return os.waitstatus_to_exitcode(status), usage, wall


def _status(captured: _Captured, code: int, cpu: float, limits: dict, native: bool) -> str:
    """The test's status from how the child ended."""
    if captured.reason is not None:
        return captured.reason
    if code == -signal.SIGXCPU or cpu > float(limits["cpu_s"]):
        return "time_limit"
    if code == EXIT_MEMORY or code == -signal.SIGKILL:
        return "memory_limit"  # SIGKILL we did not send: the cgroup's OOM killer
    if native and code != 0 and b"std::bad_alloc" in captured.err:
        return "memory_limit"  # new[] failed at the address-space limit
    return "runtime_error" if code != 0 else "ok"


def _test_workdir(req: dict, data: str, index: int) -> str:
    """A fresh working directory for test ``index``, and the input where the harness reads it."""
    workdir = f"{WORK}/t{index}"
    os.makedirs(workdir, exist_ok=True)
    if req["harness"] == "script":
        with open(f"{WORK}/input", "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(data)
    elif req["harness"] == "checker":
        case = json.loads(data)
        for name, key in zip(CHECKER_FILES, ("input", "expected", "output"), strict=True):
            with open(f"{workdir}/{name}", "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(str(case.get(key, "")))
    return workdir


def _start_test(prepared: object, req: dict, data: str, workdir: str) -> _Child:
    if isinstance(prepared, str):  # a compiled program
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        limits, stdin = req["limits"], f"{WORK}/input"
        return _spawn(
            lambda out_w, err_w: _exec_child([prepared], env, limits, out_w, err_w, workdir, stdin)
        )
    return _spawn(lambda out_w, err_w: _child(prepared, req, data, out_w, err_w, workdir))


def _clean_after_test(req: dict, workdir: str) -> bool:
    """Nothing of this test survives into the next: its processes, its directory, its scratch."""
    if req.get("sweep"):
        _sweep()
    _wipe(workdir)
    return _wipe_scratch(keep=WORK)


def _run_one(prepared: object, req: dict, data: str, index: int) -> dict:
    """One test, top to bottom: set up, run supervised, reap, clean, report."""
    limits = req["limits"]
    workdir = _test_workdir(req, data, index)
    child = _start_test(prepared, req, data, workdir)
    captured = _capture(child, limits)
    code, usage, wall = _reap(child)
    clean = _clean_after_test(req, workdir)
    cpu = usage.ru_utime + usage.ru_stime
    cap = int(limits["output_bytes"])
    return {
        "i": index,
        "status": _status(captured, code, cpu, limits, native=isinstance(prepared, str)),
        "exit": code,
        "stdout": bytes(captured.out[:cap]).decode("utf-8", "replace"),
        "stderr": bytes(captured.err[-ERR_CAP:]).decode("utf-8", "replace"),
        "cpu": round(cpu, 4),
        "wall": round(wall, 4),
        "scratch_clean": clean,
    }


def _too_big(prepared: object, req: dict, index: int) -> dict | None:
    """A compiled program whose static data alone exceeds the memory limit never starts."""
    if not isinstance(prepared, str):
        return None
    need = _static_mb(prepared)
    if need <= float(req["limits"]["memory_mb"]):
        return None
    return {
        "i": index, "status": "memory_limit", "exit": -1, "stdout": "",
        "stderr": f"static memory {need:.0f} MB exceeds the limit", "cpu": 0.0, "wall": 0.0,
    }  # fmt: skip


def _read_some(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None


def _stop_requested(state: dict) -> bool:
    if state.get("eof"):
        return False
    ready, _, _ = select.select([0], [], [], 0)
    if not ready:
        return False
    chunk = os.read(0, 64)
    if not chunk:
        state["eof"] = True
        return False
    return b"s" in chunk


def _prewarm() -> None:
    # Import the LCB header's modules once here, so each forked child finds them loaded.
    with contextlib.suppress(Exception):
        exec(LCB_IMPORTS, {})
        sys.setrecursionlimit(1000)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "idle":  # a warm container's keeper process
        while True:
            signal.pause()
    if os.getuid() == 0:
        print("runner: refusing to run as root", file=sys.stderr)
        return 2
    _set_dumpable(0)
    req = _read_request()
    os.makedirs(WORK, exist_ok=True)
    started = time.monotonic()
    prepared, error = _prepare_program(req)
    _emit({"compile": error, "compile_s": round(time.monotonic() - started, 4)})
    if error is None:
        if not isinstance(prepared, str):
            _prewarm()
        state: dict = {}
        for index, data in enumerate(req["inputs"]):
            if _stop_requested(state):
                break
            result = _too_big(prepared, req, index) or _run_one(prepared, req, data, index)
            _emit(result)
            if req.get("stop_on_failure") and result["status"] != "ok":
                break
    left = _sweep() if req.get("sweep") else _others()
    wiped = _wipe_scratch(keep=None)
    _emit({"done": True, "clean": left == 0 and wiped, "left": left})
    return 0


if __name__ == "__main__":
    sys.exit(main())
