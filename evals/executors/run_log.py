"""``run.log`` in the run directory: what the executor did, one timestamped line each.

Appended and flushed line by line (a log, not a replaced file), every line through the run
store's scrubber, so no configured secret reaches it.
"""

from __future__ import annotations

import time

from evalr.store import RunStore

NAME = "run.log"


class RunLog:
    def __init__(self, store: RunStore, prefix: str = "ray") -> None:
        self.store = store
        self.prefix = prefix

    def write(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        line = self.store.scrubber.scrub(f"{stamp} {self.prefix}: {message}".replace("\n", " "))
        try:
            with open(self.store.path / NAME, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError:
            pass  # the log is a convenience: a full disk is reported by the store itself
