"""Reading dataset rows into samples: field access that names the bad row, and dataset facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalr.data import HubRef, Rows, load_rows
from evalr.errors import DataError
from evalr.task import DatasetInfo


def field(task: str, number: int, row: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` the row has (Hub and mirror spell some fields differently)."""
    for name in names:
        value = row.get(name)
        if value is not None and (not isinstance(value, str) or value.strip()):
            return value
    raise DataError(f"{task}: row {number} has no {' or '.join(repr(n) for n in names)}")


def load(task: str, hub: HubRef, mirror: str) -> tuple[Rows, DatasetInfo]:
    rows = load_rows(task, hub, mirror)
    for number, row in enumerate(rows.rows, 1):
        if not isinstance(row, Mapping):
            raise DataError(f"{task}: row {number} is not an object")
    info = DatasetInfo(
        id=hub.repo,
        revision=hub.revision,
        source=rows.source,
        split=hub.split,
        extra={"config": hub.config, "sha256": rows.sha256, "rows": len(rows.rows)},
    )
    return rows, info
