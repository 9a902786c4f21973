"""The site in a real browser: headless Chromium opens it from file://.

A harness page (written to the test's temporary directory) loads the site's pages in iframes
and, once each has loaded, clicks the sort headers and sets the filters the way a user does
(``click()``, a changed select, typed text), then writes what the pages show into its own DOM,
which ``--dump-dom`` returns. ``--allow-file-access-from-files`` lets the harness read pages
from disk; the site itself needs no flag. Console messages (errors included, from every frame)
are read from Chromium's log on stderr: the site must log none. A screenshot of the index is
kept beside the harness.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from evalr.cli import main
from evalr.reports.leaderboard.catalog import slug
from evalr.testing.threaded import mirror_server

from .conftest import Runs, finished_run

MARKUP = '<img src=x onerror="document.title=1"><script>document.title=2</script>'

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
)

HARNESS = """<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head><body>
<pre id="out"></pre>
<script>
var results = {};
function rows(doc) {
  return Array.prototype.slice.call(doc.querySelectorAll("#board tbody tr")).filter(
    function (r) { return !r.hidden; }).map(function (r) {
      return {task: r.dataset.task, metric: r.dataset.metric, model: r.dataset.model,
              key: r.dataset.key, value: r.cells[5].dataset.sort};
    });
}
function links(doc) {
  var anchors = Array.prototype.slice.call(doc.querySelectorAll("a[href]"));
  return anchors.map(function (a) { return a.href; });
}
function record(name, frame) {
  var doc = frame.contentDocument, win = frame.contentWindow;
  var out = {links: links(doc), title: doc.title, images: doc.querySelectorAll("img").length,
             text: doc.body.textContent};
  var table = doc.getElementById("board");
  if (table && name === "index") {
    out.ready = table.dataset.ready;
    out.initial = rows(doc);
    out.initialHash = win.location.hash;
    var value = doc.querySelector('th[data-key="value"]');
    value.click();
    out.sortDesc = rows(doc); out.sortDescAria = value.getAttribute("aria-sort");
    value.click();
    out.sortAsc = rows(doc); out.sortAscAria = value.getAttribute("aria-sort");
    out.sortHash = win.location.hash;
    var task = doc.getElementById("filter-task");
    task.value = "aime24"; task.dispatchEvent(new Event("change"));
    out.aime = rows(doc); out.aimeHash = win.location.hash;
    var q = doc.getElementById("filter-q");
    q.value = "GAM"; q.dispatchEvent(new Event("input"));
    out.gamma = rows(doc);
    q.value = "no such model"; q.dispatchEvent(new Event("input"));
    out.none = rows(doc); out.noneNote = !doc.getElementById("no-rows").hidden;
    out.shown = doc.getElementById("shown").textContent;
  } else if (table) {
    out.initial = rows(doc);
  }
  results[name] = out;
  document.getElementById("out").textContent = JSON.stringify(results);
}
</script>
__FRAMES__
</body></html>
"""


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0"]
    flags += [f"--user-data-dir={cwd / 'profile'}", "--allow-file-access-from-files"]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def browsed(lb_runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("browser")
    root, site = work / "runs", work / "site"
    shutil.copytree(lb_runs.root, root)
    server = mirror_server(lb_runs.data_dir, 0.5)
    try:  # a model whose name is markup: shown as text everywhere, never run
        finished_run(server, MARKUP, root / "markup", tasks="aime24", samples=2)
    finally:
        server.close()
    # Without run reports: those are rendered and linked in test_site (they take seconds each).
    assert main(["leaderboard", str(root), "--out", str(site), "--no-reports"]) == 0
    index = site / "index.html"
    model = site / "models" / f"{slug('openai:gamma')}.html"
    # A model page's link into one ranking (index.html#task=...&metric=...&protocol=...).
    found = re.search(r'href="\.\./index\.html(#[^"]+)"', model.read_text())
    assert found is not None
    anchor = html.unescape(found.group(1))
    urls = {
        "index": index.as_uri(),
        "anchored": index.as_uri() + anchor,
        "model": model.as_uri(),
        "run": (site / "runs" / f"{slug('zeta-killed')}.html").as_uri(),
        "markup": (site / "models" / f"{slug('openai:' + MARKUP)}.html").as_uri(),
    }
    iframes = "\n".join(
        f'<iframe src="{html.escape(url)}" onload="record(\'{name}\', this)"></iframe>'
        for name, url in urls.items()
    )
    harness = work / "harness.html"
    harness.write_text(HARNESS.replace("__FRAMES__", iframes))
    done = chromium("--dump-dom", harness.as_uri(), cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    out = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    assert out and out.group(1), done.stdout[:2000]
    shot = work / "index.png"
    shown = chromium("--window-size=1400,1200", f"--screenshot={shot}", index.as_uri(), cwd=work)
    return {
        "results": json.loads(html.unescape(out.group(1))),
        "console": console_lines(done.stderr) + console_lines(shown.stderr),
        "screenshot": shot,
        "anchor": anchor,
        "site": site,
    }


def test_no_console_errors_and_every_page_loaded(browsed: dict[str, Any]) -> None:
    assert browsed["console"] == []
    assert set(browsed["results"]) == {"index", "anchored", "model", "run", "markup"}
    assert browsed["results"]["index"]["ready"] == "1"


def test_markup_in_a_model_name_is_text(browsed: dict[str, Any]) -> None:
    markup, index = browsed["results"]["markup"], browsed["results"]["index"]
    assert markup["title"] == f"openai:{MARKUP} \u00b7 evalr leaderboard"  # as text, unchanged
    assert f"openai:{MARKUP}" in markup["text"] and f"openai:{MARKUP}" in index["text"]
    assert markup["images"] == 0 and index["images"] == 0
    assert index["title"] == "evalr leaderboard"
    raw = (browsed["site"] / "index.html").read_text()
    assert "<img src=x" not in raw and "&lt;img src=x" in raw


def test_default_view_and_sorting(browsed: dict[str, Any]) -> None:
    index = browsed["results"]["index"]
    assert index["initial"] and {r["metric"] for r in index["initial"]} == {"pass@1"}
    assert index["initialHash"] == ""  # the default view needs no fragment
    desc = [float(r["value"]) for r in index["sortDesc"]]
    asc = [float(r["value"]) for r in index["sortAsc"]]
    assert desc == sorted(desc, reverse=True) and asc == sorted(asc)
    assert len(set(desc)) > 1  # the sort had something to do
    assert index["sortDescAria"] == "descending" and index["sortAscAria"] == "ascending"
    assert "sort=value" in index["sortHash"] and "dir=asc" in index["sortHash"]


def test_filters(browsed: dict[str, Any]) -> None:
    index = browsed["results"]["index"]
    assert index["aime"] and {r["task"] for r in index["aime"]} == {"aime24"}
    assert "task=aime24" in index["aimeHash"]
    assert len(index["aime"]) < len(index["initial"])
    assert index["gamma"] and {r["model"] for r in index["gamma"]} == {"openai:gamma"}
    assert index["none"] == [] and index["noneNote"] and index["shown"] == "0"


def test_a_model_pages_link_opens_its_ranking(browsed: dict[str, Any]) -> None:
    shown = browsed["results"]["anchored"]["initial"]
    assert shown and len({(r["task"], r["metric"], r["key"]) for r in shown}) == 1
    assert "openai:gamma" in {r["model"] for r in shown}


def test_links_resolve_to_files(browsed: dict[str, Any]) -> None:
    checked = 0
    for page in browsed["results"].values():
        for href in page["links"]:
            url = urlparse(href)
            assert url.scheme == "file", href
            assert Path(unquote(url.path)).is_file(), href
            checked += 1
    assert checked > 20


def test_screenshot_is_kept(browsed: dict[str, Any]) -> None:
    shot: Path = browsed["screenshot"]
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
