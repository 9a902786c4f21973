"""`evalr report` over runs made by the real pipeline: the paper table's numbers, published
figures, notes for unusual inputs, self-containment, determinism, atomic output, exports."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from evalr.cli import main
from evalr.reports import render_report

from .conftest import MARKUP, Runs
from .dom import Element, read


def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("evalr: error: ")
    return lines[0]


def cell(page: Element, run_slug: str, column: str) -> Element:
    row = page.find("tr", data_run=run_slug)
    return row.find("td", data_col=column)


def slug_of(report: Path, label: str) -> str:
    page = read(report / "index.html")
    for row in page.by_id("paper").find_all("tr"):
        if row.attrs.get("data-run") and row.find("strong").text == label:
            return row.attrs["data-run"]
    raise AssertionError(f"no row for {label}")


def test_paper_table_holds_each_runs_numbers(runs: Runs, report: Path) -> None:
    page = read(report / "index.html")
    for name in ("weak", "strong", "greedy"):
        res = results(runs[name])
        slug = slug_of(report, name)
        for task, column in (
            ("aime24", "aime24_pass1"),
            ("math500", "math500_pass1"),
            ("gpqa_diamond", "gpqa_diamond_pass1"),
        ):
            m = res["tasks"][task]["metrics"]["pass@1"]
            td = cell(page, slug, column)
            assert float(td.attrs["data-v"]) == pytest.approx(100 * m["value"], abs=1e-4)
            assert td.find(class_="v").text.startswith(f"{100 * m['value']:.1f}")
            low, high = m["ci95"]
            assert f"[{100 * low:.1f}, {100 * high:.1f}]" in td.find(class_="ci").text
            assert m["ci_method"] in td.find(class_="ci").text
            assert f"k={res['tasks'][task]['k']}" in td.find(class_="kn").text
        cons = res["tasks"]["aime24"]["metrics"]["cons@4"]
        td = cell(page, slug, "aime24_cons64")
        assert float(td.attrs["data-v"]) == pytest.approx(100 * cons["value"], abs=1e-4)
        assert "cons@4" in td.text
    # Columns only for tasks some run has; the methods of the intervals are explained.
    heads = [th.attrs.get("data-col") for th in page.by_id("paper").find("thead").find_all("th")]
    assert "livecodebench_pass1" not in heads and "math500_pass1" in heads
    assert "problem-level studentized bootstrap" in page.text


def test_published_figures_consistent_and_differing(runs: Runs, report: Path) -> None:
    page = read(report / "index.html")
    perfect = cell(page, slug_of(report, "perfect"), "math500_pass1")
    weak = cell(page, slug_of(report, "weak"), "math500_pass1")
    assert perfect.find(class_="published").text == "97.3" == weak.find(class_="published").text
    # perfect: 100% with its Wilson interval over 6 problems holds 97.3; weak: far below.
    low, high = results(runs["perfect"])["tasks"]["math500"]["metrics"]["pass@1"]["ci95"]
    assert 100 * low <= 97.3 <= 100 * high
    assert perfect.attrs["data-status"] == "consistent"
    assert weak.attrs["data-status"] == "differs"
    weak_value = 100 * results(runs["weak"])["tasks"]["math500"]["metrics"]["pass@1"]["value"]
    assert f"Δ {weak_value - 97.3:+.1f}" in weak.text
    strong = cell(page, slug_of(report, "strong"), "math500_pass1")
    assert strong.attrs["data-status"] == "" and not strong.find_all(class_="published")
    row = page.find("tr", data_run=slug_of(report, "weak"))
    assert "DeepSeek-R1" in row.text and "--published-as" in row.text


def test_protocol_differences_are_footnoted(report: Path) -> None:
    page = read(report / "index.html")
    notes = [li.text for li in page.find("ol", class_="footnotes").find_all("li")]
    assert "k=4 (r1: 64)" in notes and "first 6 of 30 problems" in notes
    assert "cons@4, not cons@64" in notes
    assert "protocol greedy, not r1" in notes and "temperature 0.0 (r1: 0.6)" in notes
    greedy = cell(page, slug_of(report, "greedy"), "aime24_pass1")
    marks = {int(a.text) for a in greedy.find("sup").find_all("a")}
    flagged = {notes[i - 1] for i in marks}
    assert {"protocol greedy, not r1", "temperature 0.0 (r1: 0.6)", "k=4 (r1: 64)"} <= flagged
    assert "flagged" in greedy.attrs["class"].split()


def test_empty_killed_and_other_protocol_runs_render_with_notes(runs: Runs, report: Path) -> None:
    page = read(report / "index.html")
    notes = page.find("ul", class_="notes").text
    assert f"{runs['empty']}: no run directories in it" in notes
    assert "killed: no results.json: the run did not finish" in notes
    assert "these runs follow different protocols (greedy: greedy; r1:" in notes
    killed = page.find("tr", data_run=slug_of(report, "killed"))
    assert "provisional" in killed.find("td", data_col="aime24_pass1").attrs["class"]
    # The killed run's numbers are rebuilt from its journal: graded attempts only.
    journal = [json.loads(line) for line in (runs["killed"] / "samples.jsonl").open()]
    graded = [r for r in journal if r["task"] == "aime24" and r["status"] == "ok"]
    by_problem: dict[str, list[bool]] = {}
    for r in graded:
        by_problem.setdefault(r["sample_id"], []).append(r["grade"]["correct"])
    expected = 100 * sum(sum(v) / len(v) for v in by_problem.values()) / len(by_problem)
    value = float(killed.find("td", data_col="aime24_pass1").attrs["data-v"])
    assert value == pytest.approx(expected, abs=1e-3)


def test_task_page_breakdowns_and_drilldown(runs: Runs, report: Path) -> None:
    slug = slug_of(report, "strong")
    task = read(report / "runs" / slug / "math500" / "index.html")
    assert task.find_all("table", id="by-subject") and task.find_all("table", id="by-level")
    assert task.find("svg", class_="hist").find_all("rect")
    rows = task.by_id("problems").find("tbody").find_all("tr")
    res = results(runs["strong"])["tasks"]["math500"]["per_problem"]
    assert [r.find_all("td")[1].text for r in rows] == res["ids"]
    href = rows[3].find("a").attrs["href"]
    page_file, anchor = href.split("#")
    samples = read(report / "runs" / slug / "math500" / page_file)
    problem = samples.by_id(anchor)
    assert res["ids"][3] in problem.find("h2").text
    problems = {
        json.loads(line)["id"]: json.loads(line)
        for line in (runs["strong"] / "problems.jsonl").open()
    }
    assert problems[res["ids"][3]]["target"] in problem.text
    strip = problem.find(class_="strip").text
    assert len(strip) == 4 and strip.count("✓") == res["correct"][3]


def test_comparison_pages(runs: Runs, report: Path) -> None:
    from evalr.paired import paired_difference

    page = read(report / "compare" / "aime24.html")
    assert "weak" in page.text and "strong" in page.text
    weak, strong = results(runs["weak"]), results(runs["strong"])
    a = weak["tasks"]["aime24"]["per_problem"]
    b = strong["tasks"]["aime24"]["per_problem"]
    diff = paired_difference(
        [c / n for c, n in zip(a["correct"], a["attempts"], strict=True)],
        [c / n for c, n in zip(b["correct"], b["attempts"], strict=True)],
    )
    pair = (
        report
        / "compare"
        / "aime24"
        / f"{slug_of(report, 'weak')}--{slug_of(report, 'strong')}.html"
    )
    text = read(pair).text
    assert f"{100 * diff.delta:+.1f} points of pass@1" in text
    rows = read(pair).by_id("pairs").find("tbody").find_all("tr")
    assert len(rows) == len(a["ids"])
    side = read(pair.with_name(pair.stem + "-side-001.html"))
    first = side.by_id("p1")
    assert len(first.find_all(class_="answers")) == 2


def test_markup_in_model_text_is_escaped(report: Path) -> None:
    slug = slug_of(report, "constant")
    raw = (report / "runs" / slug / "aime24" / "samples-001.html").read_text()
    assert "<script>document.title" not in raw and "<img src=x" not in raw
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in raw
    page = read(report / "runs" / slug / "aime24" / "samples-001.html")
    assert MARKUP in page.text
    assert not page.find_all("img") and len(page.find_all("script")) == 1


def test_self_contained(report: Path) -> None:
    pages = list(report.rglob("*.html"))
    assert len(pages) > 20
    js = (Path(__file__).parents[2] / "reports" / "templates" / "report.js").read_text()
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    for path in pages:
        page = read(path)
        for e in page.iter():
            for attr in ("src", "srcset", "data", "poster"):
                assert attr not in e.attrs or e.attrs[attr].startswith("data:"), (path, e.attrs)
            href = e.attrs.get("href", "")
            assert not re.match(r"^[a-z]+:", href) or e.tag == "use", (path, href)
        assert not page.find_all("link")
        scripts = page.find_all("script")
        assert all("src" not in s.attrs for s in scripts)
        csp = page.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
        assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert (report / "assets" / "radar.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inline_data_is_json_escaped(runs: Runs, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile"
    shutil.copytree(runs["weak"], hostile)
    manifest = json.loads((hostile / "manifest.json").read_text())
    manifest["run_id"] = "x</script><script>document.title='pwned'</script>"
    (hostile / "manifest.json").write_text(json.dumps(manifest))
    render_report([hostile], tmp_path / "out")
    raw = (tmp_path / "out" / "index.html").read_text()
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', raw, re.S)
    assert data is not None and "</script><script>" not in raw.split("<body>")[1]
    assert json.loads(data.group(1))["table"][0]["run_id"] == manifest["run_id"]


def test_rendering_is_deterministic(runs: Runs, tmp_path: Path) -> None:
    given = [runs["weak"], runs["strong"]]
    first, second = render_report(given, tmp_path / "a"), render_report(given, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in first.parent.rglob("*") if p.is_file())
    assert len(files) > 10
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (second.parent / rel).read_bytes(), rel


def test_failed_render_keeps_the_previous_report(
    runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    render_report([runs["weak"]], out)
    before = (out / "index.html").read_bytes()
    import evalr.reports.workers as workers

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workers, "write_run", broken)
    assert main(["report", str(runs["strong"]), "--out", str(out)]) == 8
    assert (out / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporary left behind
    monkeypatch.undo()
    render_report([runs["strong"]], out)  # an earlier report is replaced
    assert (out / "index.html").read_bytes() != before


def test_usage_errors_are_one_line(
    runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 3
    assert "nope: no such directory" in one_line_error(capsys.readouterr().err)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert main(["report", str(runs["weak"]), "--out", str(taken)]) == 2
    assert "is not an evalr report" in one_line_error(capsys.readouterr().err)
    assert (taken / "notes.txt").read_text() == "mine"
    assert main(["report", str(runs["weak"]), "--published-as", "DeepSeek-R2"]) == 2
    assert "did you mean DeepSeek-R1" in one_line_error(capsys.readouterr().err)
    assert main(["report", str(runs["weak"]), "--published-as", "nobody=DeepSeek-R1"]) == 2
    assert "names no run called nobody" in one_line_error(capsys.readouterr().err)
    assert main(["report", str(runs["weak"]), "--format", "pdf"]) == 2


def test_markdown_csv_and_latex(
    runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = [str(runs["weak"]), str(runs["perfect"])]
    assert main(["report", *given, "--format", "md", "--published-as", "DeepSeek-R1"]) == 0
    md = capsys.readouterr().out
    value = 100 * results(runs["weak"])["tasks"]["math500"]["metrics"]["pass@1"]["value"]
    assert f"| {value:.1f} [" in md.replace("|  ", "| ") or f"{value:.1f} [" in md
    assert "published: DeepSeek-R1" in md and "97.3 (" in md and "[1] " in md
    out = tmp_path / "table.csv"
    assert main(["report", *given, "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    mine = [r for r in rows if r["model"] == "weak" and r["benchmark"] == "MATH-500 pass@1"]
    assert len(mine) == 1 and float(mine[0]["value"]) == pytest.approx(value, abs=1e-3)
    assert {r["model"] for r in rows} == {"weak", "perfect"}
    tex = tmp_path / "table.tex"
    assert main(["report", *given, "--format", "latex", "--out", str(tex)]) == 0
    latex = tex.read_text()
    assert "\\begin{tabular}" in latex and f"{value:.1f}" in latex and "\\bottomrule" in latex


def test_preset_and_model_names_match_published_models(runs: Runs, tmp_path: Path) -> None:
    from evalr.reports.paper import match_run

    by_preset = match_run(["r1-distill-qwen-7b"], "openai:deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    assert by_preset is not None and by_preset.model.name == "DeepSeek-R1-Distill-Qwen-7B"
    assert by_preset.how == "preset r1-distill-qwen-7b"
    by_model = match_run(["my-box"], "vllm:deepseek-ai/DeepSeek-R1?tensor_parallel_size=8")
    assert by_model is not None and by_model.model.name == "DeepSeek-R1"
    assert match_run(["weak"], "openai:weak") is None
    # A run directory whose run id starts with a preset name is matched with no flag.
    preset = tmp_path / "v3"
    shutil.copytree(runs["weak"], preset)
    manifest = json.loads((preset / "manifest.json").read_text())
    manifest["run_id"] = "v3-20250101T000000"
    (preset / "manifest.json").write_text(json.dumps(manifest))
    render_report([preset], tmp_path / "out")
    row = read(tmp_path / "out" / "index.html").find("tr", data_run="v3-20250101T000000")
    assert "DeepSeek-V3" in row.text and "preset v3" in row.text
    assert row.find("td", data_col="math500_pass1").find(class_="published").text == "90.2"


def test_livecodebench_public_tests_are_flagged() -> None:
    from evalr.reports.paper import protocol_differences

    manifest = {"protocol": {"name": "r1", "sampling": {}, "tasks": {"livecodebench": {"k": 16}}}}
    entry = {"label": "LCB public tests (not LCB)", "test_sets": {"public": 40, "hidden": 2}}
    found = protocol_differences(manifest, "livecodebench", entry, 42)
    assert "graded on public tests (hidden 2, public 40): not a LiveCodeBench score" in found
    hidden = {"label": "LiveCodeBench", "test_sets": {"hidden": 42}}
    assert protocol_differences(manifest, "livecodebench", hidden, 42) == []


def test_command_module_imports_only_click() -> None:
    import subprocess
    import sys

    code = (
        "import sys, evalr.reports.report_command\n"
        "print(sorted(m for m in ('matplotlib', 'jinja2', 'pandas', 'msgspec', 'numpy')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_drilldown_is_split_into_pages(report_env: None, tmp_path: Path) -> None:
    from evalr.reports.taskpage import PER_PAGE

    from .conftest import finished_run

    run = tmp_path / "seeded"
    finished_run("fake:seeded", run, tasks="math500", samples=2, limit=2 * PER_PAGE + 5)
    render_report([run], tmp_path / "out")
    base = next((tmp_path / "out" / "runs").iterdir()) / "math500"
    pages = sorted(p.name for p in base.glob("samples-*.html"))
    assert pages == ["samples-001.html", "samples-002.html", "samples-003.html"]
    ids = results(run)["tasks"]["math500"]["per_problem"]["ids"]
    seen = []
    for name in pages:
        page = read(base / name)
        sections = page.find_all("section", class_="problem")
        seen += [s.find("h2").text.split(" ", 1)[1] for s in sections]
        assert {a.attrs["href"] for a in page.find(class_="pager").find_all("a")} == {
            p for p in pages if p != name
        }
    assert seen == ids
    rows = read(base / "index.html").by_id("problems").find("tbody").find_all("tr")
    assert rows[PER_PAGE].find("a").attrs["href"] == f"samples-002.html#p{PER_PAGE + 1}"


def test_an_endpoint_that_ignores_sampling_is_flagged() -> None:
    from evalr.reports.paper import protocol_differences
    from evalr.specs import presets

    r1 = presets()["r1"]  # the DeepSeek API ignores temperature and top-p for the reasoner
    manifest = {
        "protocol": {
            "name": "r1",
            "model": r1.identity,
            "sampling": {},
            "tasks": {"math500": {"k": 4}},
        },
    }
    assert protocol_differences(manifest, "math500", {}, 500, "r1") == [
        "the endpoint ignores temperature, top_p"
    ]
    other = {**manifest, "protocol": {**manifest["protocol"], "model": "openai:mine"}}
    assert protocol_differences(other, "math500", {}, 500, "r1") == []


def _code_run(root: Path) -> Path:
    """A finished LiveCodeBench run graded on public tests, written as the runner writes one."""
    run = root / "lcb"
    run.mkdir()
    ids = ["q1", "q2", "q3"]
    manifest = {
        "run_id": "coder-20250101T000000",
        "protocol": {
            "name": "r1",
            "model": "openai:coder",
            "sampling": {"temperature": 0.6, "top_p": 0.95, "max_tokens": 32768},
            "assistant_prefix": "",
            "tasks": {"livecodebench": {"k": 2, "options": {}}},
        },
        "deviations": ["livecodebench: k=2 (r1: 16)"],
        "tasks": {"livecodebench": {"dataset": {"rows": 3}}},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "problems.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "task": "livecodebench",
                    "id": q,
                    "messages": [{"role": "user", "content": f"Solve {q}"}],
                    "target": "",
                    "metadata": {"difficulty": d, "platform": "leetcode"},
                }
            )
            + "\n"
            for q, d in zip(ids, ["easy", "hard", "hard"], strict=True)
        )
    )
    verdicts = {
        "q1": ["accepted", "accepted"],
        "q2": ["wrong_answer", "accepted"],
        "q3": ["time_limit", "wrong_answer"],
    }
    lines = []
    for q, vs in verdicts.items():
        for i, v in enumerate(vs):
            details = {"test_set": "public", "tests": 10, "passed": 10 if v == "accepted" else 3}
            if v != "accepted":
                details |= {"failed_test": 3, "reason": "expected 5, got <b>6</b>"}
            lines.append(
                json.dumps(
                    {
                        "task": "livecodebench",
                        "sample_id": q,
                        "attempt": i,
                        "seed": i,
                        "status": "ok",
                        "completion": {
                            "text": f"```python\nprint({i})\n```",
                            "reasoning": "plan",
                            "finish_reason": "stop",
                            "usage": {"completion_tokens": 50, "reasoning_tokens": 40},
                        },
                        "grade": {
                            "correct": v == "accepted",
                            "extracted": f"print({i})",
                            "verdict": v,
                            "details": details,
                            "answer_class": None,
                        },
                    }
                )
                + "\n"
            )
    (run / "samples.jsonl").write_text("".join(lines))
    correct = [sum(v == "accepted" for v in vs) for vs in verdicts.values()]
    pass1 = {
        "value": sum(c / 2 for c in correct) / 3,
        "stderr": 0.2,
        "ci95": [0.1, 0.9],
        "n": 3,
        "ci_method": "bootstrap-t",
    }
    results_doc = {
        "schema_version": 2,
        "run_id": manifest["run_id"],
        "protocol": "r1",
        "complete": True,
        "deviations": manifest["deviations"],
        "model": "openai:coder",
        "tasks": {
            "livecodebench": {
                "label": "LCB public tests (not LCB)",
                "version": "1",
                "k": 2,
                "problems": 3,
                "metrics": {"pass@1": pass1},
                "counts": {"attempts": 6},
                "no_answer_rate": 0.0,
                "truncation_rate": 0.0,
                "verdicts": {"accepted": 3, "time_limit": 1, "wrong_answer": 2},
                "test_sets": {"public": 6},
                "per_problem": {
                    "ids": ids,
                    "attempts": [2, 2, 2],
                    "correct": correct,
                    "cons": [None, None, None],
                },
            }
        },
    }
    (run / "results.json").write_text(json.dumps(results_doc))
    return run


def test_code_task_pages_show_verdicts_and_difficulty(tmp_path: Path) -> None:
    run = _code_run(tmp_path)
    render_report([run], tmp_path / "out", published_as="DeepSeek-R1")
    index = read(tmp_path / "out" / "index.html")
    td = index.find("td", data_col="livecodebench_pass1")
    notes = [li.text for li in index.find("ol", class_="footnotes").find_all("li")]
    flagged = {notes[int(a.text) - 1] for a in td.find("sup").find_all("a")}
    assert "graded on public tests (public 6): not a LiveCodeBench score" in flagged
    assert "k=2 (r1: 16)" in flagged
    base = tmp_path / "out" / "runs" / "coder-20250101T000000" / "livecodebench"
    task = read(base / "index.html")
    by = task.by_id("by-difficulty").find("tbody").find_all("tr")
    assert [r.find_all("td")[0].text for r in by] == ["easy", "hard"]
    assert by[0].find_all("td")[2].text == "100.0" and by[1].find_all("td")[2].text == "25.0"
    problem = read(base / "samples-001.html").by_id("p3")
    dist = {
        r.find_all("td")[0].text: r.find_all("td")[1].text
        for r in problem.find("table", class_="dist").find("tbody").find_all("tr")
    }
    assert dist == {"time_limit": "1", "wrong_answer": "1"}
    details = problem.find(class_="answers").find("dl", class_="kv").text
    assert "time_limit" in details and "expected 5, got <b>6</b>" in details
    assert "failed_test3" in details.replace(" ", "") and "test_setpublic" in details


def test_codeforces_rating_and_percentile_cells(tmp_path: Path) -> None:
    run = _code_run(tmp_path)
    doc = json.loads((run / "results.json").read_text())
    per = {"ids": ["1A"], "attempts": [2], "correct": [1], "cons": [None]}
    doc["tasks"]["codeforces"] = {
        "label": "Codeforces",
        "version": "1",
        "k": 2,
        "problems": 1,
        "per_problem": per,
        "metrics": {
            "codeforces_rating": {"value": 1650.4, "stderr": 80, "ci95": [1500, 1800], "n": 10},
            "codeforces_percentile": {"value": 88.0, "stderr": 2, "ci95": [80, 89], "n": 10},
        },
    }
    (run / "results.json").write_text(json.dumps(doc))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["protocol"]["tasks"]["codeforces"] = {"k": 2, "options": {}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    render_report([run], tmp_path / "out", published_as="r1-distill-qwen-32b")
    index = read(tmp_path / "out" / "index.html")
    rating = index.find("td", data_col="codeforces_rating")
    assert rating.find(class_="v").text.startswith("1,650")
    assert "[1,500, 1,800]" in rating.find(class_="ci").text and "bootstrap" in rating.text
    assert rating.find(class_="published").text == "1691"
    assert rating.attrs["data-status"] == "consistent"
    percentile = index.find("td", data_col="codeforces_percentile")
    assert percentile.find(class_="published").text == "90.6"
    assert percentile.attrs["data-status"] == "differs"  # 90.6 lies above [80, 89]


def test_notes_on_the_inputs_go_to_stderr(
    runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    assert main(["report", str(runs["empty"]), str(bad), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    from evalr.reports.table import RECORD_FIELDS

    assert out.splitlines() == [",".join(RECORD_FIELDS)]  # the header of an empty table
    assert f"report: note: {runs['empty']}: no run directories in it" in err
    assert f"report: note: {bad}: left out: {bad / 'manifest.json'} is corrupt" in err


def test_no_endpoint_address_in_a_report(runs: Runs, tmp_path: Path) -> None:
    """The run pages name the model, not the server it was reached at."""
    out = render_report([runs["strong"]], tmp_path / "report")
    text = "".join(p.read_text(errors="replace") for p in out.parent.rglob("*.html"))
    assert "127.0.0.1" not in text and "base_url" not in text
