"""``evalr run --executor ray`` on a real two-node Ray cluster, against the project's test server.

Every Ray run here is compared with one in-process run of the same protocol: the same records
(ignoring timings) and the same results.json. A generation worker killed mid-run and a driver
killed mid-run (then resumed in-process) must change neither, and store nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.driver import API_KEY, KEY_ENV, Evalr, comparable, records, run_args
from evalr.testing.mirror import mirror_answer_key
from evalr.testing.oracle import Oracle
from evalr.testing.server import ServerConfig
from evalr.testing.threaded import ServerThread

from .conftest import ray_logs

TASKS, LIMIT, SAMPLES = "aime24,math500", 6, 4
TOTAL = 2 * LIMIT * SAMPLES
# One request per attempt, 150 ms each, one at a time per worker: a run lasts a few seconds,
# long enough to kill something in the middle of it.
SERVER = {"supports_n": False, "latency_ms": 150, "api_key": API_KEY}
EXTRA = ("--concurrency", "1")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[ServerThread]:
    oracle = Oracle(key=mirror_answer_key(data_dir), p_correct=0.5)
    with ServerThread(ServerConfig(oracle=oracle, **SERVER)) as thread:
        yield thread


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Evalr:
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, "RAY_ADDRESS")}
    env.update({"EVALR_DATA_DIR": str(data_dir), KEY_ENV: API_KEY})
    return Evalr(tmp_path_factory.mktemp("ray-runs"), env)


def args(server: ServerThread, out: Path, *extra: str) -> list[str]:
    return run_args(server, out, TASKS, LIMIT, SAMPLES, (*EXTRA, *extra))


def ray_args(server: ServerThread, out: Path, address: str) -> list[str]:
    return args(server, out, "--executor", "ray", "--ray-address", address)


def journal(run_dir: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Records by (task, problem, attempt), without what differs between two runs (timings)."""
    out = {}
    for r in records(run_dir):
        r.pop("time")
        if r.get("completion"):
            r["completion"].pop("latency_s")
        out[(r["task"], r["sample_id"], r["attempt"])] = r
    return out


def stored_once(run_dir: Path) -> bool:
    counts = Counter((r["task"], r["sample_id"], r["attempt"]) for r in records(run_dir))
    return len(counts) == TOTAL and set(counts.values()) == {1}


def results(run_dir: Path) -> dict[str, Any]:
    return comparable(json.loads((run_dir / "results.json").read_text()))


@pytest.fixture(scope="module")
def baseline(driver: Evalr, server: ServerThread) -> Path:
    out = driver.cwd / "in-process"
    proc = driver(*args(server, out))
    assert proc.returncode == 0, proc.stderr
    assert stored_once(out)
    return out


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_for(condition: Any, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.02)


def test_a_ray_run_stores_the_same_records_and_results_as_in_process(
    driver: Evalr, server: ServerThread, baseline: Path, ray_address: str, ray_cluster: Any
) -> None:
    out = driver.cwd / "ray"
    proc = driver(*ray_args(server, out, ray_address))
    assert proc.returncode == 0, proc.stderr
    assert stored_once(out)
    assert journal(out) == journal(baseline)
    assert results(out) == results(baseline)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"] == "ray"
    (session,) = manifest["ray"]["sessions"]
    assert len(session["nodes"]) == 2 and len(session["generation_workers"]) == 2
    nodes = {n["node_id"] for n in session["nodes"]}
    assert {w["node_id"] for w in session["generation_workers"]} == nodes  # one per node
    assert len(session["throughput"]) == 2
    assert session["duplicates_dropped"] == session["lost_workers"] == 0
    log = (out / "run.log").read_text()
    assert log.count("completions/s") == len(session["throughput"]) >= 1
    # Workers got the API key as a value: the server refused nothing, and it is nowhere on disk.
    for path in [*out.iterdir(), *ray_logs(ray_cluster)]:
        assert API_KEY.encode() not in path.read_bytes(), path


def test_a_killed_worker_loses_and_duplicates_nothing(
    driver: Evalr, server: ServerThread, baseline: Path, ray_address: str
) -> None:
    out = driver.cwd / "ray-worker-killed"
    proc = driver.popen(*ray_args(server, out, ray_address))
    wait_for(lambda: lines(out / "samples.jsonl") >= TOTAL // 4, proc)
    session = json.loads((out / "manifest.json").read_text())["ray"]["sessions"][-1]
    victim = session["generation_workers"][-1]["pid"]
    os.kill(victim, signal.SIGKILL)
    assert proc.wait(timeout=180) == 0, proc.communicate()[1]

    assert stored_once(out)
    assert journal(out) == journal(baseline)
    assert results(out) == results(baseline)
    session = json.loads((out / "manifest.json").read_text())["ray"]["sessions"][-1]
    assert session["lost_workers"] == 1
    assert 1 <= session["shard_retries"] <= 2  # the two shards it was running, at most
    assert f"pid {victim}" in (out / "run.log").read_text()
    assert "lost" in (out / "run.log").read_text()


def test_a_killed_ray_driver_resumes_in_process_to_the_same_results(
    driver: Evalr, server: ServerThread, baseline: Path, ray_address: str
) -> None:
    out = driver.cwd / "ray-driver-killed"
    proc = driver.popen(*ray_args(server, out, ray_address))
    wait_for(lambda: lines(out / "samples.jsonl") >= TOTAL // 3, proc)
    workers = json.loads((out / "manifest.json").read_text())["ray"]["sessions"][-1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stored = lines(out / "samples.jsonl")
    assert stored < TOTAL, "the run finished before it was killed"
    # Ray ends a dead driver's workers; wait for that so none of them sends another request.
    for pid in [w["pid"] for w in workers["generation_workers"]]:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    stored = lines(out / "samples.jsonl")

    server.reset_stats()
    resumed = driver(*args(server, out))
    assert resumed.returncode == 0, resumed.stderr
    assert stored_once(out)
    assert journal(out) == journal(baseline)
    assert results(out) == results(baseline)
    assert json.loads((out / "manifest.json").read_text())["executor"] == "in-process"
    # Only the missing attempts were asked for.
    assert server.stats(detail=False)["known"]["received"] == TOTAL - stored


def test_ray_address_without_the_ray_executor_is_a_usage_error(
    driver: Evalr, server: ServerThread
) -> None:
    proc = driver(*args(server, driver.cwd / "never", "--ray-address", "127.0.0.1:1"))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "error: --ray-address needs --executor ray" in line
    assert not (driver.cwd / "never").exists()


@pytest.mark.slow
def test_without_an_address_a_local_ray_runs_the_run_and_stops(
    driver: Evalr, server: ServerThread, baseline: Path, ray_cluster: Any
) -> None:
    out = driver.cwd / "ray-local"
    before = _ray_daemons()
    proc = driver(*args(server, out, "--executor", "ray"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert journal(out) == journal(baseline)
    assert results(out) == results(baseline)
    (session,) = json.loads((out / "manifest.json").read_text())["ray"]["sessions"]
    assert session["address"] == "local"
    assert [n["ip"] for n in session["nodes"]] == ["127.0.0.1"]  # loopback only
    # The Ray it started is gone with it (the shared cluster's processes are untouched).
    deadline = time.monotonic() + 30
    while (left := _ray_daemons() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left


def _ray_daemons() -> set[int]:
    """The process ids of Ray's own daemons on this machine (GCS servers and raylets)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0.endswith((b"/gcs_server", b"/raylet")):
            found.add(int(entry.name))
    return found
