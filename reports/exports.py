"""The paper table as Markdown, CSV or LaTeX, through pandas (``to_markdown`` uses tabulate,
``to_latex`` uses jinja2): for READMEs, spreadsheets and papers.

Markdown and LaTeX follow the paper's layout: a row per run with each cell's value, 95% interval
and k, and under a matched run a row with the published figures, their delta and verdict;
protocol differences are numbered footnotes (in LaTeX, comments under the tabular). CSV is
tidy: one row per (run, benchmark) with every number in its own column.
"""

from __future__ import annotations

from typing import Any

from evalr.reports.table import RECORD_FIELDS, PaperTable, fmt, interval_text, table_records

FORMATS = ("md", "csv", "latex")


def _marks(numbers: tuple[int, ...]) -> str:
    return f" [{','.join(map(str, numbers))}]" if numbers else ""


def _rows(table: PaperTable) -> list[dict[str, str]]:
    rows = []
    for row in table.rows:
        measured = {"model": row.run.label, "protocol": row.run.protocol}
        paper = {"model": f"published: {row.match.model.name}" if row.match else "", "protocol": ""}
        for column in table.columns:
            cell = row.cells.get(column.key)
            if cell is None:
                measured[column.label] = paper[column.label] = ""
                continue
            text = fmt(cell.value, cell.digits)
            if cell.value is not None:
                text += f" {interval_text(cell)} k={cell.k}"
            measured[column.label] = text.strip() + _marks(cell.footnotes)
            if cell.published is None:
                paper[column.label] = ""
            else:
                # ASCII only: pdflatex takes it without packages.
                why = [f"{cell.delta:+.1f}"] if cell.delta is not None else []
                why += [cell.status] if cell.status else []
                paper[column.label] = f"{cell.published:g}" + (
                    f" ({', '.join(why)})" if why else ""
                )
        rows.append(measured)
        if row.match:
            rows.append(paper)
    return rows


def _footnotes(table: PaperTable) -> list[str]:
    lines = [f"[{i}] {text}" for i, text in enumerate(table.footnotes, 1)]
    methods = "; ".join(f"{name}: {text}" for name, text in table.methods.items())
    if methods:
        lines.append(f"95% intervals: {methods}.")
    return lines


def export(table: PaperTable, fmt_name: str) -> str:
    """The table as text in ``fmt_name`` (md, csv, latex)."""
    import pandas as pd

    if fmt_name == "csv":
        return str(pd.DataFrame(table_records(table), columns=RECORD_FIELDS).to_csv(index=False))
    frame = pd.DataFrame(_rows(table))
    if frame.empty:
        frame = pd.DataFrame(columns=["model", "protocol"])
    notes = _footnotes(table)
    if fmt_name == "latex":
        body = frame.to_latex(
            index=False, escape=True, column_format="ll" + "r" * (len(frame.columns) - 2)
        )
        # The footnotes as comments under the tabular: the caption is the author's to write.
        return str(body) + "".join(f"% {' '.join(line.split())}\n" for line in notes)
    text: Any = frame.map(lambda s: str(s).replace("|", "\\|")).to_markdown(index=False)
    return str(text) + "\n\n" + "".join(f"{line}  \n" for line in notes)
