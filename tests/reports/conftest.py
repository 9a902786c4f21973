"""Run directories made by the real pipeline against the project's test server, once per session,
and the report rendered over them.

Models (the test server answers for any model name; ``p_correct`` sets its accuracy): ``weak``
(0.3) and ``strong`` (0.9) run AIME 2024, MATH-500 and GPQA Diamond; ``perfect`` (1.0) runs
MATH-500 only; ``greedy`` runs another named protocol (temperature 0); ``killed`` is stopped
mid-way by SIGKILL (no results.json); ``markup`` is the fake backend answering with markup.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from evalr.protocol import R1, Protocol
from evalr.retry import RetryPolicy
from evalr.testing.threaded import ServerThread, mirror_server
from evalr.types import Sampling

TASKS = "aime24,math500,gpqa_diamond"
LIMIT, K = 6, 4
KEY_ENV = "EVALR_REPORT_TEST_KEY"
FAST = RetryPolicy(attempts=2, base_s=0.01, max_s=0.05)
# What a model might write: shown as text, never run; the page's title must survive it.
MARKUP = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'


@dataclass(frozen=True)
class Runs:
    root: Path
    data_dir: Path

    def __getitem__(self, name: str) -> Path:
        return self.root / name


def finished_run(
    model: str,
    out: Path,
    *,
    tasks: str = TASKS,
    samples: int = K,
    limit: int = LIMIT,
    protocol: Protocol = R1,
) -> None:
    import evalr

    evalr.run(
        model,
        tasks,
        samples=samples,
        limit=limit,
        out=out,
        quiet=True,
        protocol=protocol,
        retry=FAST,
    )


def killed_run(server: ServerThread, model: str, out: Path) -> None:
    """``evalr run`` as a user starts it, killed once a few completions are stored."""
    script = Path(sys.executable).with_name("evalr")
    argv = [
        str(script),
        "run",
        "--model",
        server.model_spec(model, KEY_ENV),
        "--tasks",
        TASKS,
        "--quiet",
    ]
    argv += ["--limit", str(LIMIT), "--samples", str(K), "--out", str(out), "--concurrency", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "samples.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not (out / "results.json").exists(), "the run finished before it could be killed"


@pytest.fixture(scope="session")
def report_env(data_dir: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("EVALR_DATA_DIR", KEY_ENV)}
    os.environ["EVALR_DATA_DIR"] = str(data_dir)
    os.environ[KEY_ENV] = "sk-report-test"
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def runs(data_dir: Path, report_env: None, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("report-runs")
    servers = {p: mirror_server(data_dir, p) for p in (0.3, 0.9, 1.0)}
    slow = mirror_server(data_dir, 0.6, supports_n=False, latency_ms=30)
    try:
        finished_run(servers[0.3].model_spec("weak", KEY_ENV), root / "weak")
        finished_run(servers[0.9].model_spec("strong", KEY_ENV), root / "strong")
        finished_run(servers[1.0].model_spec("perfect", KEY_ENV), root / "perfect", tasks="math500")
        greedy = Protocol("greedy", Sampling(temperature=0.0, top_p=1.0, max_tokens=32768))
        finished_run(servers[0.9].model_spec("greedy", KEY_ENV), root / "greedy", protocol=greedy)
        killed_run(slow, "killed", root / "killed")
    finally:
        for server in [*servers.values(), slow]:
            server.close()
    finished_run(
        f"fake:constant?answer={quote(MARKUP)}", root / "markup", tasks="aime24", samples=2, limit=2
    )
    (root / "empty").mkdir()
    return Runs(root, data_dir)


@pytest.fixture(scope="session")
def report(runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report over every run (the empty directory included), rendered through the CLI;
    ``weak`` and ``perfect`` compared with DeepSeek-R1's published figures."""
    from evalr.cli import main

    out = tmp_path_factory.mktemp("report") / "site"
    names = ["weak", "strong", "perfect", "greedy", "killed", "markup", "empty"]
    published = "weak=DeepSeek-R1,perfect=DeepSeek-R1"
    argv = ["report", *(str(runs[n]) for n in names), "--out", str(out)]
    assert main([*argv, "--published-as", published]) == 0
    return out
