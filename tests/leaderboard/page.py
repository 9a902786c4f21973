"""Read a rendered page the way a test needs it: tables by id (rows with their attributes,
cell texts and links), every link, and text by element id. Standard-library parser only."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs


@dataclass
class Page:
    tables: dict[str, list[Row]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # element id -> its text
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)  # element id -> attributes
    scripts: int = 0
    title: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._table: str | None = None
        self._row: Row | None = None
        self._cell: list[str] | None = None
        self._ids: list[tuple[str, str, list[str]]] = []  # (tag, id, text parts)
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = found.get("id", f"table{len(self.page.tables)}")
            self.page.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = Row(found)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and "href" in found:
            self.page.links.append(found["href"])
            if self._row is not None:
                self._row.links.append(found["href"])
        elif tag == "script":
            self.page.scripts += 1
        elif tag == "title":
            self._in_title = True
        if "id" in found:
            self.page.attrs[found["id"]] = found
            self._ids.append((tag, found["id"], []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row.cells and self._row.cells != []:
                self.page.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False
        if self._ids and self._ids[-1][0] == tag:
            _, ident, parts = self._ids.pop()
            self.page.texts[ident] = " ".join("".join(parts).split())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, _, parts in self._ids:
            parts.append(data)
        if self._in_title:
            self.page.title += data


def read_page(source: str | Path) -> Page:
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.page


def body_rows(rows: list[Row]) -> list[Row]:
    """Rows without the header row."""
    return [r for r in rows if "data-task" in r.attrs or "data-state" in r.attrs or r.links]
