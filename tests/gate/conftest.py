"""Real run directories for the gate's end-to-end tests, made once per session.

The project's loopback test server (the server the ``chat_server`` fixture starts, here at
session scope so every gate test shares the runs) answers AIME 2024 and MATH-500 prompts
correctly with probability ``p_correct``; ``evalr run`` writes real run directories from it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from evalr.cli import main
from evalr.testing.mirror import mirror_answer_key
from evalr.testing.oracle import Oracle
from evalr.testing.server import ServerConfig
from evalr.testing.threaded import ServerThread

KEY_ENV = "EVALR_GATE_TEST_KEY"
TASKS = "aime24,math500"
LIMIT = 30
SAMPLES = 4


@dataclass(frozen=True)
class GateRuns:
    """Run directories: ``base`` at 70% accuracy, ``rerun`` the same accuracy with another
    seed, ``worse`` at 40%, ``k2`` with 2 attempts per problem, ``incomplete`` with failed
    attempts, ``crashed`` without results.json, ``other_task`` of GPQA only, ``aime_only``
    a rerun of AIME alone."""

    root: Path
    server: ServerThread
    base: Path
    rerun: Path
    worse: Path
    k2: Path
    incomplete: Path
    crashed: Path
    other_task: Path
    aime_only: Path

    def run_argv(
        self, out: Path, p_correct: float, *extra: str, tasks: str = TASKS, samples: int = SAMPLES
    ) -> list[str]:
        self.server.reconfigure(p_correct=p_correct)
        spec = f"openai:evalr-test?base_url={self.server.base_url}&api_key_env={KEY_ENV}"
        return [
            "run",
            "--model",
            spec,
            "--tasks",
            tasks,
            "--limit",
            str(LIMIT),
            "--samples",
            str(samples),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]


@pytest.fixture(scope="session")
def gate_runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GateRuns]:
    root = tmp_path_factory.mktemp("gate_runs")
    with (
        pytest.MonkeyPatch.context() as mp,
        ServerThread(ServerConfig(oracle=Oracle(key=mirror_answer_key(data_dir)))) as server,
    ):
        mp.setenv("EVALR_DATA_DIR", str(data_dir))
        mp.setenv(KEY_ENV, "sk-gate-test")
        runs = GateRuns(
            root=root,
            server=server,
            base=root / "base",
            rerun=root / "rerun",
            worse=root / "worse",
            k2=root / "k2",
            incomplete=root / "incomplete",
            crashed=root / "crashed",
            other_task=root / "other_task",
            aime_only=root / "aime_only",
        )

        def run(
            out: Path, p: float, *extra: str, tasks: str = TASKS, samples: int = SAMPLES
        ) -> None:
            code = main(runs.run_argv(out, p, *extra, tasks=tasks, samples=samples))
            assert code == 0, f"evalr run for {out.name} exited {code}"

        run(runs.base, 0.7)
        run(runs.rerun, 0.7, "--seed", "1")
        run(runs.worse, 0.4)
        run(runs.k2, 0.7, samples=2)
        run(runs.other_task, 0.7, tasks="gpqa_diamond", samples=1)
        run(runs.aime_only, 0.7, "--seed", "1", tasks="aime24")
        # One AIME problem always fails (HTTP 500, one try): stored as errors, run incomplete.
        server.reconfigure(
            fail_match=("Among the 900 residents of Aimeville",), fail_match_status=500
        )
        run(runs.incomplete, 0.7, "--retries", "1", "--max-error-rate", "1")
        server.reconfigure(fail_match=())
        shutil.copytree(runs.base, runs.crashed)
        (runs.crashed / "results.json").unlink()  # what a kill before the end leaves
        yield runs
