"""The report in a real browser: headless Chromium opens its pages from file://.

Sorting is exercised through the page's own hook: ``index.html#sort=TABLE:COLUMN[:desc]`` makes
the script ``click()`` that column's header once (twice for descending), which runs the same
handler a reader's click does; the sorted DOM is then dumped and checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .browser import CHROMIUM, browse, screenshot
from .conftest import MARKUP, Runs
from .dom import read

pytestmark = [
    pytest.mark.slow,  # eight browser launches, side by side: about 20 s on 2 cores
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
    ),
]
if CHROMIUM is None:  # say why in the output, not only in -rs
    print("tests/reports/test_browser.py: skipped: no chromium on PATH")


def _slug(report: Path, label: str) -> str:
    for row in read(report / "index.html").by_id("paper").find_all("tr"):
        if row.attrs.get("data-run") and row.find("strong").text == label:
            return row.attrs["data-run"]
    raise AssertionError(label)


@pytest.fixture(scope="module")
def browsed(report: Path, runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("browser")
    strong, weak, markup = (_slug(report, n) for n in ("strong", "weak", "constant"))
    index = (report / "index.html").as_uri()
    pages = {
        "index": index,
        "desc": index + "#sort=paper:3:desc",
        "asc": index + "#sort=paper:3",
        "task": (report / "runs" / strong / "math500" / "index.html").as_uri(),
        "samples": (report / "runs" / strong / "math500" / "samples-001.html").as_uri(),
        "markup": (report / "runs" / markup / "aime24" / "samples-001.html").as_uri(),
        "side": (report / "compare" / "aime24" / f"{weak}--{strong}-side-001.html").as_uri(),
    }
    found = browse(pages, work)
    shot = work / "index.png"
    console = screenshot(index, shot, work)
    return {"pages": found, "shot": shot, "console": console, "report": report}


def test_pages_load_without_errors(browsed: dict[str, Any]) -> None:
    for name, page in browsed["pages"].items():
        assert page.console == [], name
        assert page.root.attrs.get("data-js-ready") == "1", name
        assert page.root.attrs.get("data-js-errors") == "", (name, page.root.attrs)
    assert browsed["console"] == []


def test_table_holds_the_runs_numbers(browsed: dict[str, Any], runs: Runs) -> None:
    dom = browsed["pages"]["index"].dom
    for name in ("weak", "strong"):
        res = json.loads((runs[name] / "results.json").read_text())
        row = dom.find("tr", data_run=_slug(browsed["report"], name))
        for task, col in (("aime24", "aime24_pass1"), ("gpqa_diamond", "gpqa_diamond_pass1")):
            value = 100 * res["tasks"][task]["metrics"]["pass@1"]["value"]
            assert row.find("td", data_col=col).find(class_="v").text.startswith(f"{value:.1f}")


def _column(page: Any) -> list[str]:
    rows = page.dom.by_id("paper").find("tbody").find_all("tr")
    return [r.find_all("td")[3].attrs["data-v"] for r in rows]


def test_sorting_by_a_column(browsed: dict[str, Any]) -> None:
    initial = _column(browsed["pages"]["index"])
    desc, asc = _column(browsed["pages"]["desc"]), _column(browsed["pages"]["asc"])
    numbers = sorted((float(v) for v in initial if v), reverse=True)
    assert [float(v) for v in desc if v] == numbers
    assert [float(v) for v in asc if v] == sorted(numbers)
    assert desc != initial and asc != desc  # the sort had something to do
    assert desc[-1] == asc[-1] == ""  # runs without the task stay last either way
    head = browsed["pages"]["desc"].dom.by_id("paper").find("thead").find_all("th")[3]
    assert head.attrs["aria-sort"] == "descending"


def test_charts_render(browsed: dict[str, Any]) -> None:
    from PIL import Image

    charts = browsed["pages"]["index"].dom.find_all("svg", class_="chart")
    assert len(charts) == 2 and all(len(c.find_all("path")) > 10 for c in charts)
    hist = browsed["pages"]["task"].dom.find("svg", class_="hist")
    assert len(hist.find_all("rect")) == 60
    image = Image.open(browsed["shot"]).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 100  # text, tables and charts: far from a blank page
    white = max(count for count, rgb in colours if rgb == (255, 255, 255))
    assert white < 0.95 * image.width * image.height


def test_markup_in_a_response_is_shown_as_text(browsed: dict[str, Any]) -> None:
    page = browsed["pages"]["markup"]
    raw = (
        browsed["report"]
        / "runs"
        / _slug(browsed["report"], "constant")
        / "aime24"
        / "samples-001.html"
    )
    title = read(raw).find("title").text
    assert page.dom.find("title").text == title and "pwned" not in title
    assert page.dom.find_all("img") == []
    assert len(page.dom.find_all("script")) == 1
    assert MARKUP in page.dom.find("main").text
    assert page.root.attrs["data-js-errors"] == ""


def test_side_by_side_shows_both_runs(browsed: dict[str, Any]) -> None:
    first = browsed["pages"]["side"].dom.by_id("p1")
    columns = first.find(class_="side").find_all("h3")
    assert [c.text for c in columns] == ["weak", "strong"]


def test_screenshot_is_kept(browsed: dict[str, Any]) -> None:
    assert browsed["shot"].stat().st_size > 10_000
    assert browsed["shot"].parent.is_dir() and shutil.disk_usage(browsed["shot"].parent)
