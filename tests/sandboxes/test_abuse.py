"""The abuse suite: each case a real hostile program, run in both real sandboxes.

Every case checks the verdict the host derives, then that the sandbox is still sound: a canary
submission right after it finds no leftover process and no leftover file, can use its scratch
space, and the host sees no process of a sandbox uid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from evalr.sandbox import Execution, Limits, Program, Sandbox
from evalr.sandboxes.judge import judge, stdin_equal

LIMITS = Limits(
    cpu_s=1.0, wall_s=3.0, memory_mb=256, output_bytes=1 << 20, processes=32, disk_mb=32
)
SANDBOX_UIDS = (range(61000, 61064), range(62000, 62064))  # local and docker exec uids

CANARY = textwrap.dedent(
    """
    import os
    me, parent, uid = os.getpid(), os.getppid(), os.getuid()
    others = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) not in (1, me, parent):  # 1: the sandbox's init
            try:
                if os.stat("/proc/" + pid).st_uid == uid:
                    state = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        others.append(pid)
            except OSError:
                pass
    junk = [n for n in os.listdir("/tmp") if n != "evalr"]
    mine = ("input", os.path.basename(os.getcwd()))
    junk += [n for n in os.listdir("/tmp/evalr") if n not in mine]
    with open("scratch", "wb") as fh:
        fh.write(b"x" * (20 << 20))
    print("clean" if not others and not junk else "dirty %s %s" % (others, junk))
    """
)


def run(box: Sandbox, source: str, inputs: Sequence[str], limits: Limits = LIMITS) -> Execution:
    return asyncio.run(box.run(Program("python", textwrap.dedent(source)), inputs, limits))


def verdict(execution: Execution, expected: Sequence[str]) -> str:
    return judge(execution, expected, stdin_equal).verdict


def host_sandbox_processes() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                uid = os.stat(f"/proc/{name}").st_uid
            except OSError:
                continue
            if any(uid in r for r in SANDBOX_UIDS):
                found.append(int(name))
    return found


def assert_sound(box: Sandbox) -> None:
    """The next submission is unaffected and the host holds no sandbox process."""
    after = run(box, CANARY, [""])
    assert verdict(after, ["clean"]) == "accepted", after
    deadline = time.monotonic() + 5
    while host_sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert host_sandbox_processes() == []


def test_fork_bomb(box: Sandbox) -> None:
    source = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    execution = run(box, source, ["1\n"])
    assert verdict(execution, ["1"]) == "time_limit"
    assert_sound(box)


def test_infinite_loop(box: Sandbox) -> None:
    execution = run(box, "while True:\n    pass\n", ["1\n"])
    assert verdict(execution, ["1"]) == "time_limit"
    assert execution.runs[0].cpu_s >= 0.9
    assert_sound(box)


def test_sleep_hits_the_wall_clock(box: Sandbox) -> None:
    start = time.monotonic()
    execution = run(box, "import time\ntime.sleep(60)\nprint(1)\n", ["1\n"])
    assert verdict(execution, ["1"]) == "time_limit"
    assert execution.runs[0].cpu_s < 0.5
    assert time.monotonic() - start < 20
    assert_sound(box)


@pytest.mark.parametrize(
    "source",
    [
        "x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n",
        "x = bytearray(8 << 30)\n",
    ],
    ids=["gradual", "one-block"],
)
def test_memory_hog(box: Sandbox, source: str) -> None:
    execution = run(box, source, ["1\n"])
    assert verdict(execution, ["1"]) == "memory_limit"
    assert_sound(box)


def test_disk_fill(box: Sandbox) -> None:
    source = """
    for target in ("/fill", "/usr/fill", "/opt/evalr/runner.py"):
        try:
            open(target, "w").write("x")
            print("wrote", target)
        except OSError:
            pass
    i = 0
    while True:
        with open(f"/tmp/fill{i}", "wb") as fh:
            for _ in range(64):
                fh.write(b"x" * (1 << 20))
        i += 1
    """
    execution = run(box, source, ["1\n"])
    assert verdict(execution, ["1"]) == "runtime_error"
    assert "wrote" not in execution.runs[0].stdout  # the root filesystem is read-only
    assert_sound(box)  # the canary writes 20 MB: the scratch space is free again


def test_gigabytes_of_stdout(box: Sandbox) -> None:
    source = """
    import sys
    chunk = "x" * 65536
    for _ in range(1 << 15):  # 2 GiB
        sys.stdout.write(chunk)
    """
    start = time.monotonic()
    execution = run(box, source, ["1\n"])
    assert execution.runs[0].status == "output_limit"
    assert len(execution.runs[0].stdout) <= LIMITS.output_bytes
    assert verdict(execution, ["1"]) == "wrong_answer"
    assert time.monotonic() - start < 20
    assert_sound(box)


@pytest.fixture
def listener() -> Iterator[tuple[str, int, list]]:
    """A TCP server on every host address, recording who connects."""
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet: only picks the outward address
        address = probe.getsockname()[0]
    except OSError:
        address = "127.0.0.1"
    finally:
        probe.close()
    yield address, server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_network_connection(box: Sandbox, listener: tuple[str, int, list]) -> None:
    address, port, accepted = listener
    source = """
    import socket
    host, port = input().split()
    for target in (host, "127.0.0.1", "172.17.0.1"):
        try:
            socket.create_connection((target, int(port)), timeout=1).close()
            print("connected", target)
        except OSError as exc:
            pass
    print("done")
    """
    execution = run(box, source, [f"{address} {port}\n"])
    assert execution.runs[0].stdout.strip() == "done"
    assert verdict(execution, [f"connected {address}\ndone"]) == "wrong_answer"
    assert accepted == []
    assert_sound(box)


def test_reading_host_files(box: Sandbox, tmp_path: Path) -> None:
    token = "TOKEN-" + secrets.token_hex(8)
    secret = Path("/tmp") / f"evalr-secret-{token}"
    secret.write_text(token)
    try:
        source = f"""
        import os
        for path in ({str(secret)!r}, {str(tmp_path)!r}, "/work", "/root/.ssh", "/etc/shadow",
                     "/var/run/docker.sock", "/proc/1/root/tmp"):
            try:
                if os.path.isdir(path):
                    print(path, os.listdir(path))
                else:
                    print(open(path).read())
            except OSError:
                pass
        print(sorted(os.listdir("/tmp")))
        """
        execution = run(box, source, ["1\n"])
        assert token not in execution.runs[0].stdout
        assert verdict(execution, [token]) != "accepted"
    finally:
        secret.unlink()
    assert_sound(box)


def test_other_tests_expected_outputs_are_unreachable(box: Sandbox) -> None:
    tokens = ["TOKEN-" + secrets.token_hex(8) for _ in range(3)]
    source = """
    import gc, os
    found = set()
    def scan(blob):
        at = blob.find(b"TOKEN-")
        while at >= 0:
            found.add(blob[at:at + 22].decode(errors="replace"))
            at = blob.find(b"TOKEN-", at + 1)
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as fh:
                    scan(fh.read(4 << 20))
            except OSError:
                pass
    for pid in os.listdir("/proc"):
        for part in ("environ", "cmdline"):
            try:
                scan(open(f"/proc/{pid}/{part}", "rb").read())
            except OSError:
                pass
    for obj in gc.get_objects():
        if isinstance(obj, (str, bytes)):
            scan(obj.encode() if isinstance(obj, str) else obj)
    print("\\n".join(sorted(found)) or "none")
    """
    limits = Limits(cpu_s=5, wall_s=10, memory_mb=256, output_bytes=1 << 20, processes=32)
    execution = run(box, source, ["a\n", "b\n", "c\n"], limits)
    for test in execution.runs:
        assert not any(token in test.stdout for token in tokens)
    assert verdict(execution, tokens) == "wrong_answer"
    assert_sound(box)


@pytest.mark.parametrize("target", ["os.getppid()", "-1"], ids=["parent", "everything"])
def test_killing_its_parent(box: Sandbox, target: str) -> None:
    execution = run(box, f"import os, signal\nos.kill({target}, signal.SIGKILL)\n", ["1\n", "2\n"])
    assert execution.sandbox_error is not None
    assert verdict(execution, ["1", "2"]) == "runtime_error"
    assert_sound(box)


def test_leaving_background_processes(box: Sandbox) -> None:
    source = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(20)
            open("/tmp/late", "w").write("x")
        os._exit(0)
    print("ok")
    """
    execution = run(box, source, ["1\n", "2\n"])
    assert verdict(execution, ["ok", "ok"]) == "accepted"
    assert_sound(box)


def test_forging_a_result(box: Sandbox) -> None:
    source = """
    import json, os
    fake = json.dumps({"i": 0, "status": "ok", "exit": 0, "stdout": "42", "stderr": "",
                       "cpu": 0, "wall": 0})
    print(fake)
    print(json.dumps({"done": True, "clean": True}))
    for path in (f"/proc/{os.getppid()}/fd/1", "/proc/1/fd/1", f"/proc/{os.getppid()}/mem"):
        try:
            with open(path, "w") as fh:
                fh.write(fake + "\\n")
            print("wrote", path)
        except OSError:
            print("denied", path)
    os.makedirs("/tmp/evalr", exist_ok=True)
    with open("/tmp/evalr/result.json", "w") as fh:
        fh.write(fake)
    """
    execution = run(box, source, ["1\n"])
    out = execution.runs[0].stdout
    assert "wrote" not in out and out.count("denied") == 3
    assert len(execution.runs) == 1 and execution.sandbox_error is None
    assert verdict(execution, ["42"]) == "wrong_answer"
    assert_sound(box)


def test_freezing_its_parent_trips_the_host_watchdog(box: Sandbox) -> None:
    start = time.monotonic()
    execution = run(box, "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n", ["1\n"])
    assert execution.sandbox_error and "watchdog" in execution.sandbox_error
    assert verdict(execution, ["1"]) == "time_limit"
    assert time.monotonic() - start < 40
    assert_sound(box)


def test_clean_program_after_all_abuse(box: Sandbox) -> None:
    execution = run(box, "print(sum(map(int, input().split())))\n", ["1 2\n", "3 4\n"])
    assert verdict(execution, ["3", "7"]) == "accepted"
