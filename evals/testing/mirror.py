"""An answer key for the test server built from the offline data mirror (``EVALR_DATA_DIR``).

With it the server knows the gold answer of every AIME, MATH-500 and GPQA Diamond problem, so an
end-to-end run scores what the server's correctness probability says it should.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from evalr.testing.oracle import AnswerKey, KeyEntry

# task -> (file under the mirror, question field, answer field)
MIRROR_FILES: dict[str, tuple[str, str, str]] = {
    "aime24": ("aime24/aime24_qwen25math.jsonl", "problem", "answer"),
    "aime25": ("aime25/aime25_evalchemy.jsonl", "problem", "answer"),
    "math500": ("math500/test.jsonl", "problem", "answer"),
    "gpqa_diamond": ("gpqa_diamond/gpqa_diamond_raw.jsonl.gz", "Question", "Correct Answer"),
}
# Long enough to tell problems apart, short enough to survive a task's formatting around it.
MATCH_CHARS = 120


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def mirror_answer_key(
    root: Path, tasks: Iterable[str] = tuple(MIRROR_FILES), p: float | None = None
) -> AnswerKey:
    """Gold answers for ``tasks`` read from the mirror at ``root``; ``p`` overrides the default
    correctness probability for every entry."""
    entries: list[KeyEntry] = []
    for task in tasks:
        name, question, answer = MIRROR_FILES[task]
        for row in _rows(Path(root) / name):
            match = " ".join(str(row[question]).split())[:MATCH_CHARS]
            entries.append(KeyEntry(answer=str(row[answer]).strip(), match=match, p=p))
    return AnswerKey(tuple(entries))
