"""Run directories made by the real pipeline against the project's test server, once per session.

Models (the test server answers for any model name; ``p_correct`` sets its accuracy):
``alpha`` and ``beta`` answer correctly with the same probability under different seeds (their
difference is noise), ``gamma`` far more often. ``alpha`` also has an older, worse run of the
same protocol, a run with another k, and ``delta`` a run of another named protocol. One run is
killed mid-way (no results.json) and one has failed attempts (incomplete).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from evalr.protocol import Protocol
from evalr.retry import RetryPolicy
from evalr.testing.threaded import ServerThread, mirror_server
from evalr.types import Sampling

TASKS = "aime24,math500,gpqa_diamond"
LIMIT, K = 12, 4
KEY_ENV = "EVALR_LB_TEST_KEY"
FAST = RetryPolicy(attempts=2, base_s=0.01, max_s=0.05)


@dataclass(frozen=True)
class Runs:
    root: Path  # the runs root: every run below
    data_dir: Path

    def run(self, name: str) -> Path:
        return self.root / name


def finished_run(
    server: ServerThread,
    model: str,
    out: Path,
    *,
    seed: int = 0,
    samples: int = K,
    tasks: str = TASKS,
    protocol: Protocol | None = None,
    max_error_rate: float = 0.0,
) -> None:
    import evalr
    from evalr.protocol import R1

    evalr.run(
        server.model_spec(model, KEY_ENV),
        tasks,
        samples=samples,
        limit=LIMIT,
        seed=seed,
        out=out,
        quiet=True,
        protocol=protocol or R1,
        retry=FAST,
        max_error_rate=max_error_rate,
    )


def killed_run(server: ServerThread, model: str, out: Path, env: dict[str, str]) -> None:
    """``evalr run`` as a user starts it, killed once a few completions are stored."""
    script = Path(sys.executable).with_name("evalr")
    argv = [str(script), "run", "--model", server.model_spec(model, KEY_ENV), "--tasks", TASKS]
    argv += ["--limit", str(LIMIT), "--samples", str(K), "--out", str(out), "--quiet"]
    argv += ["--concurrency", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "samples.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 6:
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not (out / "results.json").exists(), "the run finished before it could be killed"


@pytest.fixture(scope="session")
def lb_env(data_dir: Path) -> Iterator[dict[str, str]]:
    saved = {k: os.environ.get(k) for k in ("EVALR_DATA_DIR", KEY_ENV)}
    os.environ["EVALR_DATA_DIR"] = str(data_dir)
    os.environ[KEY_ENV] = "sk-leaderboard-test"
    yield dict(os.environ)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def lb_runs(
    data_dir: Path, lb_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("leaderboard") / "runs"
    servers = {p: mirror_server(data_dir, p) for p in (0.3, 0.6, 0.97)}
    slow = mirror_server(data_dir, 0.6, supports_n=False, latency_ms=40)
    failing = mirror_server(data_dir, 0.6, fail_match=("Aya",), fail_match_status=400)
    try:
        finished_run(servers[0.3], "alpha", root / "alpha-old")  # older, worse: superseded
        finished_run(servers[0.6], "alpha", root / "alpha")
        finished_run(servers[0.6], "beta", root / "beta", seed=1)
        finished_run(servers[0.97], "gamma", root / "gamma")
        finished_run(servers[0.6], "alpha", root / "alpha-k2", samples=2)
        hot = Protocol("hot", Sampling(temperature=1.0, top_p=1.0, max_tokens=4096))
        finished_run(servers[0.6], "delta", root / "delta-hot", protocol=hot)
        finished_run(failing, "epsilon", root / "epsilon-failing", max_error_rate=1.0)
        killed_run(slow, "zeta", root / "zeta-killed", lb_env)
    finally:
        for server in [*servers.values(), slow, failing]:
            server.close()
    yield Runs(root, data_dir)
