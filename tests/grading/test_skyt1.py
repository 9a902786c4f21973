"""Re-score the published Sky-T1 generations through ``score_rows`` (the ``evalr score`` path).

The published accuracies (AIME24 30.0, MATH-500 60.0 and 70.4) come from the Qwen2.5-Math
grader. Ours must equal them except where ``skyt1_differences.json`` explains a problem, each
reason checked here against the data:

- ``no_box``: the response has no complete ``\\boxed{}`` in its answer; evalr grades the boxed
  answer only (the R1 protocol asks for one), while the Qwen grader falls back to the last
  number or "final answer is ..." text, and then counted it correct.
- ``their_gold_mangled``: the Qwen grader's normalised gold (``gt``) is not the dataset's answer
  (``3 \\pm 2 \\sqrt{2}`` became ``32\\sqrt{2}``, ``10,\\!080`` became ``10,80``), so it marked a
  right answer wrong; evalr marks it right.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from evalr import registry
from evalr.extract import answer_part, boxed_all
from evalr.mathgrade import canonical
from evalr.score import score_rows

from .cases import HERE

EXPECTED = json.loads((HERE / "skyt1_differences.json").read_text())


@pytest.mark.parametrize("run", sorted(EXPECTED))
def test_published_accuracy_is_reproduced_or_explained(mirror_env: Path, run: str) -> None:
    spec = EXPECTED[run]
    generations = mirror_env / "generations"
    published = json.loads((generations / spec["metrics"]).read_text())["acc"]
    with gzip.open(generations / spec["generations"], "rt", encoding="utf-8") as fh:
        stored = [json.loads(line) for line in fh]
    samples = registry.load("task", spec["task"])().load(0).problems
    rows = []
    for record in stored:
        sample = samples[int(record["idx"])]  # generations are in dataset row order
        assert sample.input.split()[:8] == record["question"].split()[:8]
        rows.append({"id": sample.id, "response": record["code"][0], "theirs": record["score"][0]})

    out = list(score_rows(rows, spec["task"]))
    assert round(100 * sum(bool(r["theirs"]) for r in out) / len(out), 1) == published

    differ = {r["id"]: r for r in out if r["correct"] != bool(r["theirs"])}
    assert set(differ) == set(spec["differences"])
    targets = {s.id: s.target for s in samples}
    gts = {samples[int(rec["idx"])].id: rec["gt"] for rec in stored}
    for sample_id, reason in spec["differences"].items():
        row = differ[sample_id]
        if reason == "no_box":
            assert boxed_all(answer_part(row["response"])) == [] and row["extracted"] is None
            assert row["theirs"] and not row["correct"]
        else:
            assert reason == "their_gold_mangled"
            assert canonical(gts[sample_id]) != canonical(targets[sample_id])
            assert row["correct"] and not row["theirs"]

    ours = round(100 * sum(r["correct"] for r in out) / len(out), 1)
    gained = sum(1 for r in differ.values() if r["correct"])
    lost = len(differ) - gained
    assert ours == round(published + 100 * (gained - lost) / len(out), 1)
    print(f"{run}: published {published}, evalr {ours} (+{gained} -{lost})")
