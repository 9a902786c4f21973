"""Fault injection: 429s, 500s and dropped connections on a fifth of requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .driver import FAST_RETRIES, record_counts, records, run_args

TASKS = "aime24,math500,gpqa_diamond"
LIMIT, SAMPLES = 5, 4


@pytest.mark.parametrize("supports_n", [False, True], ids=["one-per-sample", "native-n"])
def test_faulty_server_every_completion_stored_exactly_once(
    chat_server, evalr, tmp_path: Path, supports_n: bool
):
    # Say up front whether the server takes n: a faulted n-probe would otherwise switch a
    # native-n run to one request per attempt, which draws different (seeded) samples.
    native = {"native_n": "true" if supports_n else "false"}
    clean = chat_server(supports_n=supports_n)
    reference = tmp_path / "clean"
    assert evalr(*run_args(clean, reference, TASKS, LIMIT, SAMPLES, **native)).returncode == 0

    faulty = chat_server(
        supports_n=supports_n, fail_rate=0.2, fail_modes=("429", "500", "drop"), fail_seed=3
    )
    out = tmp_path / "faulty"
    proc = evalr(*run_args(faulty, out, TASKS, LIMIT, SAMPLES, FAST_RETRIES, **native))
    assert proc.returncode == 0, proc.stderr

    counts = record_counts(out)
    assert len(counts) == 3 * LIMIT * SAMPLES
    assert set(counts.values()) == {1}
    assert {r["status"] for r in records(out)} == {"ok"}

    stats = faulty.stats(detail=False)
    injected = stats["known"]["received"] - stats["known"]["answered"]
    assert injected > 0 and {"429", "500", "drop"} <= set(stats["statuses"])
    assert stats["known"]["choices"] == len(counts)  # nothing answered twice

    results = json.loads((out / "results.json").read_text())
    assert results["timing"]["retries"] == injected
    # Faults change nothing but the number of tries: the same replies, the same scores.
    assert results["tasks"] == json.loads((reference / "results.json").read_text())["tasks"]
