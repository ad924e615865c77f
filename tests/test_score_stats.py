"""Score statistics against hand-computed values."""

from __future__ import annotations

import pytest

from mel_app.evaluations.stats import consolidate, describe


def test_describe_with_cannot_assess_and_an_even_count():
    s = describe([6, 3, None, 4, 5])
    assert (s.n, s.cannot_assess, s.minimum, s.maximum) == (4, 1, 3, 6)
    assert s.mean == pytest.approx(4.5)
    assert s.median == pytest.approx(4.5)  # mean of the two middle values, 4 and 5
    assert s.stdev == pytest.approx(1.2909944)  # sqrt(((1.5²)+(1.5²)+(0.5²)+(0.5²))/3)


def test_a_single_score_has_no_spread_and_nothing_is_all_none():
    assert describe([5]).stdev is None and describe([5]).median == 5
    empty = describe([None, None])
    assert empty.n == 0 and empty.mean is None and empty.cannot_assess == 2


def test_divergence_is_flagged_from_two_points_between_group_means():
    summary = consolidate(
        [
            ("REL", "workers", 6),
            ("REL", "workers", 5),
            ("REL", "employers", 3),
            ("REL", "employers", 4),
            ("EFF", "workers", 4),
            ("EFF", "employers", 3),
            ("EFF", "ilo", None),
        ]
    )
    assert summary["REL"].divergence == pytest.approx(2.0) and summary["REL"].is_divergent
    assert summary["EFF"].divergence == pytest.approx(1.0) and not summary["EFF"].is_divergent
    assert summary["EFF"].groups["ilo"].cannot_assess == 1
    assert summary["REL"].overall.n == 4 and summary["REL"].overall.mean == pytest.approx(4.5)
