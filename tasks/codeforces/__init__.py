"""Codeforces: contest problems judged in the sandbox in C++ or Python, with offline ratings.

``evalr run --tasks codeforces -T problems=2020 -T language=cpp`` (options are strings):

- ``problems``: ``codecontests`` (default: 165 problems of late-2021 contests with tests),
  ``2024`` (408 problems of CodeElo's window, sample tests only), ``2020`` (the six contests
  with standings, sample tests only offline), ``all``. See ``problems`` for sources.
- ``contests``: comma-separated contest ids; without ``problems``, searched in ``all``.
- ``language``: ``cpp`` (default, as competitors use) or ``python``; the prompt asks for it,
  and a fenced block in the other language is judged in that language.
- ``sandbox``: the sandbox to run code in (``docker``, ``local``); default: Docker when an
  engine answers.
- ``time_scale``: multiplies every time limit (default 1).
- ``distribution``: the percentile population (``cf-active-2024``, ``codeelo``,
  ``r1-reported``); ``order``: ``random`` or ``given`` attempt order for placement;
  ``rating_seed``: the bootstrap's seed.

Problem ids are Codeforces problem ids (``1579A``); each sample's metadata records its contest,
index, rating, limits and test set. A score from sample tests only is labelled as such in the
loaded Dataset's ``facts["label"]``. Ratings: see ``ratings``.
"""

from __future__ import annotations

from typing import Any

# The factory loads on first use, so importing the CLI group (`evalr --help`) stays light.


def __getattr__(name: str) -> Any:
    if name == "codeforces":
        from .task import codeforces

        return codeforces
    raise AttributeError(f"module 'evalr.tasks.codeforces' has no attribute {name!r}")
