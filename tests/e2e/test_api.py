"""The Python API against the test server: ``evalr.run`` and ``evalr.load_runs``."""

from __future__ import annotations

import json
from pathlib import Path

import evalr
import pytest

from .driver import API_KEY, KEY_ENV, model_spec


def test_run_then_load_runs(chat_server, data_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    monkeypatch.setenv(KEY_ENV, API_KEY)
    server = chat_server(p_correct=0.5, supports_n=False)
    out = tmp_path / "run"
    doc = evalr.run(model_spec(server), "aime24, gpqa_diamond", samples=2, limit=3, out=out)
    assert doc == json.loads((out / "results.json").read_text())
    assert server.stats(detail=False)["known"]["received"] == 2 * 3 * 2

    frame = evalr.load_runs([out])
    rows = frame[(frame.task == "aime24") & (frame.metric == "pass@1")]
    assert len(rows) == 1
    assert rows.iloc[0]["value"] == pytest.approx(
        doc["tasks"]["aime24"]["metrics"]["pass@1"]["value"]
    )
    assert set(frame.task) == {"aime24", "gpqa_diamond"}
    assert set(frame.metric) >= {"pass@1", "pass@2", "cons@2"}
