"""The in-sandbox test runner: one process per submission, one forked child per test.

It runs INSIDE the sandbox (baked read-only into the image, or bound read-only by the local
sandbox) under a non-root uid, with the standard library only. Protocol on its stdin: a decimal
byte length, a newline, then that many bytes of JSON request; afterwards the host may send b"s"
to stop early (it saw a failing test). On stdout: one JSON line per event: ``{"compile": ...}``,
then one line per test, then ``{"done": true, "clean": ...}``. Expected outputs never come here;
the host compares.

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
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
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
        return LCB_IMPORTS + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)
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


# --- the child: untrusted code runs only here ------------------------------------------------


def _limit_child(limits: dict) -> None:
    mem = int(limits["memory_mb"]) << 20
    cpu = max(1, math.ceil(float(limits["cpu_s"])))
    for name, value in (
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


def _run_lcb_stdin(code: object, data: str) -> None:
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
    builtins.open = lambda *a, **k: io.StringIO(data)  # mock_open(read_data=input)
    with contextlib.suppress(SystemExit):
        fn()
    _write_all(captured.getvalue().encode("utf-8", "surrogateescape"))


def _run_lcb_call(code: object, data: str, source: str, fn_name: str) -> None:
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


def _child(code: object, req: dict, data: str, out_w: int, err_w: int, workdir: str) -> None:
    try:
        os.setsid()
        _set_dumpable(1)  # so /dev/stdin and /proc/self work for the solution itself
        _limit_child(req["limits"])
        script = req["harness"] == "script"
        fd = os.open(f"{WORK}/input" if script else os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        if not script:
            os.dup2(1, RESULT_FD)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.closerange(RESULT_FD + (0 if script else 1), 65536)
        os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        os.chdir(workdir)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        harness = req["harness"]
        if harness != "script":
            if "numpy" in req["source"]:  # LCB's grader imported numpy before its guard
                with contextlib.suppress(ImportError):
                    import numpy  # noqa: F401
            _lcb_guard()
        if harness == "lcb_stdin":
            _run_lcb_stdin(code, data)
        elif harness == "lcb_call":
            _run_lcb_call(code, data, req["source"], req["fn_name"])
        else:
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


def _run_one(code: object, req: dict, data: str, index: int) -> dict:
    limits = req["limits"]
    workdir = f"{WORK}/t{index}"
    os.makedirs(workdir, exist_ok=True)
    if req["harness"] == "script":
        with open(f"{WORK}/input", "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(data)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        _child(code, req, data, out_w, err_w, workdir)
    os.close(out_w)
    os.close(err_w)
    cap, err_cap = int(limits["output_bytes"]), 8192
    out, err = bytearray(), bytearray()
    reason = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    fds = {out_r: out, err_r: err}
    for fd in fds:
        os.set_blocking(fd, False)
    deadline = start + float(limits["wall_s"])
    exited = False
    while not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = "time_limit"
            break
        watch = list(fds) + ([pidfd] if pidfd is not None else [])
        ready, _, _ = select.select(watch, [], [], min(remaining, 0.05 if pidfd is None else 1))
        for fd in ready:
            if fd == pidfd:
                exited = True
                continue
            chunk = _read_some(fd)
            if chunk is None:
                continue
            if not chunk:
                fds.pop(fd)
                continue
            buf = fds[fd]
            buf += chunk
            if fd == err_r and len(err) > err_cap:
                del err[: len(err) - err_cap]
            if len(out) > cap:
                reason = "output_limit"
        if reason:
            break
        if pidfd is None and os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            exited = True
    if reason is None:  # drain what the child wrote before it exited
        for fd, buf in list(fds.items()):
            while (chunk := _read_some(fd)) and len(out) <= cap:
                buf += chunk
        if len(out) > cap:
            reason = "output_limit"
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    for fd in (out_r, err_r, pidfd):
        if fd is not None:
            os.close(fd)
    if req.get("sweep"):
        _sweep()
    _wipe(workdir)
    state_clean = _wipe_scratch(keep=WORK)
    cpu = usage.ru_utime + usage.ru_stime
    code_ = os.waitstatus_to_exitcode(status)
    if reason is None:
        if code_ == -signal.SIGXCPU or cpu > float(limits["cpu_s"]):
            reason = "time_limit"
        elif code_ == EXIT_MEMORY or code_ == -signal.SIGKILL:
            reason = "memory_limit"  # SIGKILL we did not send: the cgroup's OOM killer
        elif code_ != 0:
            reason = "runtime_error"
    return {
        "i": index,
        "status": reason or "ok",
        "exit": code_,
        "stdout": bytes(out[:cap]).decode("utf-8", "replace"),
        "stderr": bytes(err[-err_cap:]).decode("utf-8", "replace"),
        "cpu": round(cpu, 4),
        "wall": round(wall, 4),
        "scratch_clean": state_clean,
    }


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
    code, error = _prepare(req)
    _emit({"compile": error})
    if error is None:
        _prewarm()
        os.makedirs(WORK, exist_ok=True)
        state: dict = {}
        for index, data in enumerate(req["inputs"]):
            if _stop_requested(state):
                break
            result = _run_one(code, req, data, index)
            _emit(result)
            if req.get("stop_on_failure") and result["status"] != "ok":
                break
    left = _sweep() if req.get("sweep") else _others()
    wiped = _wipe_scratch(keep=None)
    _emit({"done": True, "clean": left == 0 and wiped, "left": left})
    return 0


if __name__ == "__main__":
    sys.exit(main())
