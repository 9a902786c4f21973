"""``evalr leaderboard`` over runs made by the real pipeline against the project's test server."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from evalr.cli import main
from evalr.reports.leaderboard.build import build_site
from evalr.reports.leaderboard.catalog import list_runs, slug
from evalr.reports.leaderboard.inputs import RECORD
from evalr.reports.leaderboard.ranking import build_board

from .conftest import Runs
from .page import Page, Row, read_page


@pytest.fixture(scope="module")
def site(lb_runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    # Run reports are rendered (and their links checked) in test_run_reports_*, where fewer
    # runs keep it quick: a report takes seconds of chart drawing.
    assert main(["leaderboard", str(lb_runs.root), "--out", str(out), "--no-reports"]) == 0
    return out


@pytest.fixture(scope="module")
def index(site: Path) -> Page:
    return read_page(site / "index.html")


def board_rows(page: Page) -> list[Row]:
    return [r for r in page.tables["board"] if "data-task" in r.attrs]


def ranking(page: Page, task: str, metric: str, model_in: str = "alpha") -> list[Row]:
    """The rows of the ranking (task, metric) holding the current run of ``model_in``."""
    rows = [
        r
        for r in board_rows(page)
        if (r.attrs["data-task"], r.attrs["data-metric"]) == (task, metric)
    ]
    key = next(
        r.attrs["data-key"]
        for r in rows
        if r.attrs["data-model"] == f"openai:{model_in}" and "k=2" not in r.attrs["data-protocol"]
    )
    return [r for r in rows if r.attrs["data-key"] == key]


def results(runs: Runs, name: str) -> dict:
    return json.loads((runs.run(name) / "results.json").read_text())


COLUMNS = ["rank", "tie group", "model", "task", "metric", "value"]


def cell(row: Row, column: str) -> str:
    return row.cells[COLUMNS.index(column)]


@pytest.mark.parametrize("task", ["aime24", "math500", "gpqa_diamond"])
def test_noise_is_tied_and_a_clearly_better_model_ranks_first(
    lb_runs: Runs, index: Page, task: str
) -> None:
    rows = ranking(index, task, "pass@1")
    by_model = {r.attrs["data-model"].removeprefix("openai:"): r for r in rows}
    assert set(by_model) == {"alpha", "beta", "gamma"}
    values = {m: results(lb_runs, m)["tasks"][task]["metrics"]["pass@1"]["value"] for m in by_model}
    assert values["gamma"] > max(values["alpha"], values["beta"])
    assert cell(by_model["gamma"], "rank") == "1"
    for model in ("alpha", "beta"):  # same accuracy, other seed: a difference that is noise
        assert cell(by_model[model], "rank") == "2\u20133"
        assert cell(by_model[model], "tie group") == "2tied"
    assert cell(by_model["gamma"], "tie group") == "1"
    # The table shows the run's own numbers (percent, one decimal).
    for model, row in by_model.items():
        assert cell(row, "value") == f"{100 * values[model]:.1f}"


def test_newest_run_per_model_and_protocol_stands(lb_runs: Runs, index: Page, site: Path) -> None:
    rows = ranking(index, "aime24", "pass@1")
    alpha = next(r for r in rows if r.attrs["data-model"] == "openai:alpha")
    assert f"runs/{slug('alpha')}.html" in alpha.links
    assert f"runs/{slug('alpha-old')}.html" not in {
        link for r in board_rows(index) for link in r.links
    }
    newer = results(lb_runs, "alpha")["tasks"]["aime24"]["metrics"]["pass@1"]["value"]
    assert cell(alpha, "value") == f"{100 * newer:.1f}"
    # The older run stays reachable from the model's page, marked as superseded.
    model = read_page(site / "models" / f"{slug('openai:alpha')}.html")
    runs = {r.cells[0]: r for r in model.tables["model-runs"] if r.attrs.get("data-state")}
    assert set(runs) == {"alpha", "alpha-old", "alpha-k2"}
    assert "superseded by alpha" in runs["alpha-old"].cells[3]
    assert "superseded" not in runs["alpha"].cells[3]
    assert (site / "runs" / f"{slug('alpha-old')}.html").is_file()


def test_protocols_are_never_mixed(index: Page) -> None:
    rows = [r for r in board_rows(index) if r.attrs["data-task"] == "aime24"]
    keys_of: dict[str, set[str]] = {}
    for r in rows:
        keys_of.setdefault(r.attrs["data-key"], set()).add(r.attrs["data-model"])
    # The k=2 run and the other named protocol each form a ranking of their own.
    assert {"openai:alpha"} in keys_of.values()
    assert {"openai:delta"} in keys_of.values()
    assert {"openai:alpha", "openai:beta", "openai:gamma"} in keys_of.values()
    delta = next(r for r in rows if r.attrs["data-model"] == "openai:delta")
    assert delta.attrs["data-protocol"].startswith("hot, modified: ")  # named, never "r1"
    k2 = next(r for r in rows if "k=2" in r.attrs["data-protocol"])
    assert (
        k2.attrs["data-model"] == "openai:alpha" and "first 12 of 30" in k2.attrs["data-protocol"]
    )
    # Every test run departs from the R1 protocol (a problem limit): all flagged modified.
    assert all("modified" in r.cells[9] for r in rows)


def test_crashed_and_incomplete_runs_are_listed_not_ranked(
    lb_runs: Runs, index: Page, site: Path
) -> None:
    unranked = {r.cells[0]: r for r in index.tables["unranked"] if r.attrs.get("data-state")}
    assert set(unranked) == {"zeta-killed", "epsilon-failing"}
    zeta, epsilon = unranked["zeta-killed"], unranked["epsilon-failing"]
    assert zeta.attrs["data-state"] == "unfinished"
    assert "no results.json" in zeta.cells[3] and "rerun the same command" in zeta.cells[3]
    failed = results(lb_runs, "epsilon-failing")["failed_attempts"]
    assert epsilon.attrs["data-state"] == "incomplete" and f"{failed} failed" in epsilon.cells[3]
    ranked = {r.attrs["data-model"] for r in board_rows(index)}
    assert not ranked & {"openai:zeta", "openai:epsilon"}
    # Each has its page, with the note.
    page = read_page(site / "runs" / f"{slug('zeta-killed')}.html")
    assert page.attrs["state-note"]["data-state"] == "unfinished"
    graded = sum(
        1 for line in (lb_runs.run("zeta-killed") / "samples.jsonl").open() if line.strip()
    )
    assert f"{graded} of 144 attempts graded" in page.texts["state-note"]


def test_every_page_and_link_exists(lb_runs: Runs, site: Path, index: Page) -> None:
    pages = [site / "index.html", *sorted((site / "models").glob("*.html"))]
    pages += sorted((site / "runs").glob("*.html"))
    names = {p.name for p in (lb_runs.root).iterdir()}
    assert {p.stem.rsplit("-", 1)[0] for p in (site / "runs").glob("*.html")} == names
    assert len(list((site / "models").glob("*.html"))) == 6  # alpha..zeta
    for page in pages:
        assert "127.0.0.1" not in page.read_text()  # no endpoint address is published
        parsed = read_page(page)
        assert parsed.links, page
        for link in parsed.links:
            target = link.split("#", 1)[0]
            assert "://" not in link and not link.startswith("/"), link  # relative: any host
            assert (page.parent / target).resolve().is_file(), f"{page.name} -> {link}"
    # Self-contained: the only script is inline, nothing is loaded from elsewhere.
    text = (site / "index.html").read_text()
    assert "<script src" not in text and "<link" not in text and "fetch(" not in text
    assert (site / ".nojekyll").is_file()


def test_run_page_shows_the_runs_numbers(lb_runs: Runs, site: Path) -> None:
    page = read_page(site / "runs" / f"{slug('gamma')}.html")
    doc = results(lb_runs, "gamma")
    shown = {
        (r.attrs["data-metric"], r.cells[1])
        for t in page.tables.values()
        for r in t
        if "data-metric" in r.attrs
    }
    for entry in doc["tasks"].values():
        for metric, m in entry["metrics"].items():
            assert (metric, f"{100 * m['value']:.1f}") in shown


def test_board_matches_paired_tests(lb_runs: Runs) -> None:
    """The ranking objects agree with the rendered page and use the shared problems."""
    listed = list_runs(lb_runs.root)
    cache: dict = {}
    board = build_board(listed, {r.rel: r.rel for r in listed}, cache, alpha=0.05)
    pass1 = [r for r in board.rankings if r.metric == "pass@1" and len(r.standings) == 3]
    assert {r.task for r in pass1} == {"aime24", "math500", "gpqa_diamond"}
    for r in pass1:
        assert r.paired and r.standings[0].run.model == "openai:gamma"
    assert all(entry["n"] == 12 for entry in cache.values())  # every test over the 12 problems
    assert all(
        0.0 <= entry["p"] <= 1.0 and not math.isnan(entry["delta"]) for entry in cache.values()
    )


def test_empty_directory_renders_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runs").mkdir()
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "site")]) == 0
    page = read_page(tmp_path / "site" / "index.html")
    assert "No run directories were found" in page.texts["no-runs"]
    assert "board" not in page.tables
    assert "0 runs" in capsys.readouterr().out


def test_bad_targets_are_one_line_errors(
    lb_runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def error(argv: list[str], code: int) -> str:
        assert main(argv) == code
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "error: " in err and "Traceback" not in err, err
        return err

    assert "no such directory" in error(
        ["leaderboard", str(tmp_path / "nope"), "--out", str(tmp_path / "s")], 3
    )
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert "not a leaderboard site" in error(
        ["leaderboard", str(lb_runs.root), "--out", str(precious)], 2
    )
    assert (precious / "notes.txt").read_text() == "keep me"
    assert "holds the runs root" in error(
        ["leaderboard", str(lb_runs.root), "--out", str(lb_runs.root.parent)], 2
    )
    assert "--out" in error(["leaderboard", str(lb_runs.root)], 2)


def test_incremental_rebuild_renders_only_changed_runs(lb_runs: Runs, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for name in ("alpha", "beta", "zeta-killed"):
        shutil.copytree(lb_runs.run(name), root / name)
    site = tmp_path / "site"
    first = build_site(root, site, reports=False)
    assert sorted(first.rendered) == ["alpha", "beta", "zeta-killed"] and first.carried == []
    page = site / "runs" / f"{slug('alpha')}.html"
    inode = page.stat().st_ino

    again = build_site(root, site, reports=False)
    assert again.rendered == [] and sorted(again.carried) == ["alpha", "beta", "zeta-killed"]
    assert again.pairs_computed == 0  # the paired tests come from the input record
    assert page.stat().st_ino == inode  # carried over (hard link), not written again

    shutil.copytree(lb_runs.run("gamma"), root / "gamma")
    (root / "alpha" / "results.json").touch()  # a new mtime, the same content
    added = build_site(root, site, reports=False)
    assert added.rendered == ["gamma"]
    assert sorted(added.carried) == ["alpha", "beta", "zeta-killed"]
    metrics = sum(len(t["metrics"]) for t in results(lb_runs, "gamma")["tasks"].values())
    assert added.pairs_computed == 2 * metrics  # gamma against alpha and against beta
    record = json.loads((site / RECORD).read_text())
    assert set(record["runs"]) == {"alpha", "beta", "gamma", "zeta-killed"}
    index = read_page(site / "index.html")
    assert "openai:gamma" in {r.attrs["data-model"] for r in board_rows(index)}

    shutil.rmtree(root / "beta")
    removed = build_site(root, site, reports=False)
    assert removed.rendered == [] and not (site / "runs" / f"{slug('beta')}.html").exists()


def test_failed_build_keeps_the_previous_site(
    lb_runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "runs"
    shutil.copytree(lb_runs.run("alpha"), root / "alpha")
    site = tmp_path / "site"
    build_site(root, site)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    shutil.copytree(lb_runs.run("beta"), root / "beta")

    from evalr.reports.leaderboard import pages

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pages, "render_index", broken)
    with pytest.raises(OSError):
        build_site(root, site)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "runs", "site"]


@pytest.mark.slow
def test_run_reports_are_linked_and_rendered_only_for_new_runs(
    lb_runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalr.reports

    real = getattr(evalr.reports, "render_report", None)
    if real is None:
        pytest.skip("evalr.reports.render_report (evalr report) is not in this tree")
    calls: list[list[str]] = []

    def counted(run_dirs: list[Path], out: Path, **kwargs: Any) -> Path:
        calls.append([Path(p).name for p in run_dirs])
        return Path(real(run_dirs, out, **kwargs))

    monkeypatch.setattr(evalr.reports, "render_report", counted)
    root = tmp_path / "runs"
    for name in ("alpha", "zeta-killed"):
        shutil.copytree(lb_runs.run(name), root / name)
    site = tmp_path / "site"
    build_site(root, site)
    assert sorted(calls) == [["alpha"], ["zeta-killed"]]
    for name in ("alpha", "zeta-killed"):  # each run page links its report, which exists
        page = read_page(site / "runs" / f"{slug(name)}.html")
        link = f"../reports/{slug(name)}/index.html"
        assert link in page.links and (site / "runs" / link).resolve().is_file()
    index = read_page(site / "index.html")
    alpha_rows = [r for r in board_rows(index) if r.attrs["data-model"] == "openai:alpha"]
    assert alpha_rows and all(f"reports/{slug('alpha')}/index.html" in r.links for r in alpha_rows)
    report = site / "reports" / slug("alpha") / "index.html"
    inode = report.stat().st_ino

    calls.clear()
    shutil.copytree(lb_runs.run("gamma"), root / "gamma")
    build_site(root, site)
    assert calls == [["gamma"]]  # the unchanged runs' reports are carried over
    assert report.stat().st_ino == inode
    assert (site / "reports" / slug("gamma") / "index.html").is_file()


def test_only_unfinished_runs_say_nothing_is_ranked(lb_runs: Runs, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(lb_runs.run("zeta-killed"), root / "zeta-killed")
    build_site(root, tmp_path / "site", reports=False)
    page = read_page(tmp_path / "site" / "index.html")
    assert "nothing is ranked yet" in page.texts["no-rankings"]
    assert [r.attrs["data-state"] for r in page.tables["unranked"][1:]] == ["unfinished"]


def test_site_inside_the_runs_root_is_not_read_as_runs(lb_runs: Runs, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(lb_runs.run("alpha"), root / "alpha")
    site = root / "_site"
    first = build_site(root, site, reports=True)
    again = build_site(root, site, reports=True)  # the site now holds a report of alpha
    assert first.runs == again.runs == 1 and again.carried == ["alpha"]


def test_one_build_at_a_time(
    lb_runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl

    root = tmp_path / "runs"
    shutil.copytree(lb_runs.run("alpha"), root / "alpha")
    with open(tmp_path / ".site.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = main(["leaderboard", str(root), "--out", str(tmp_path / "site"), "--no-reports"])
    assert code == 2 and "another leaderboard build" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_unreadable_run_is_listed_with_the_reason(lb_runs: Runs, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(lb_runs.run("alpha"), root / "alpha")
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    summary = build_site(root, tmp_path / "site", reports=True)
    assert summary.runs == 2 and any("broken: unreadable" in n for n in summary.notes)
    page = read_page(tmp_path / "site" / "index.html")
    (row,) = [r for r in page.tables["unranked"] if r.attrs.get("data-state") == "unreadable"]
    assert "manifest.json is corrupt" in row.cells[3]
    assert "openai:alpha" in {r.attrs["data-model"] for r in board_rows(page)}
