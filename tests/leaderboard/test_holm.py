"""Holm's step-down correction, checked against values worked by hand."""

from __future__ import annotations

import pytest
from evalr.reports.leaderboard.ranking import holm


def test_holm_by_hand() -> None:
    # Sorted: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, lifted to 0.06 (monotone).
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


def test_holm_is_never_below_the_raw_p_nor_above_bonferroni() -> None:
    raw = [0.001, 0.2, 0.013, 0.04, 0.0004, 0.7]
    adjusted = holm(raw)
    for p, q in zip(raw, adjusted, strict=True):
        assert p <= q <= min(1.0, len(raw) * p)
    order = sorted(range(len(raw)), key=raw.__getitem__)
    assert [adjusted[i] for i in order] == sorted(adjusted)
