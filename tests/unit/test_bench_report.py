"""The harness report's SF 1 extrapolation: a least-squares line per step through the measured scales."""

from __future__ import annotations

from typing import Any

import pytest

from bench.harness_report import extrapolation_lines, fit_line


def test_fit_line_recovers_a_line_and_needs_two_scales() -> None:
    fixed, slope = fit_line([(0.01, 1.2), (0.1, 3.0), (0.25, 6.0)])
    assert fixed == pytest.approx(1.0) and slope == pytest.approx(20.0)
    with pytest.raises(ValueError):
        fit_line([(0.1, 3.0)])


def _scale(sf: float, detect: float, refresh: float) -> dict[str, Any]:
    run = {
        "seconds": detect + 1.0 + refresh,
        "steps": {
            "detect": {"seconds": detect},
            "maintenance": {"seconds": 1.0 + refresh, "counts": {"view_refresh_seconds": refresh}},
        },
    }
    return {"scale": sf, "incremental": [run, run]}


def test_the_sf1_estimate_follows_the_measured_line_and_separates_the_view_refresh() -> None:
    # detect = 0.4 + 30 x SF, view refresh = 90 x SF: at SF 1, 30.4 s and 90 s.
    data = {"scales": [_scale(sf, 0.4 + 30 * sf, 90 * sf) for sf in (0.01, 0.1)]}
    text = "\n".join(extrapolation_lines(data))
    assert "| detect | 0.70 | 3.40 | 0.40 | 30.00 | 30.4 |" in text
    # run = 1.4 + 120 x SF -> 121.4 s; without the refresh 31.4 s.
    assert "SF 1: 121 s (2.0 min)" in text and "pg_cron: 31 s (0.5 min)" in text
    assert "| of which the payer view's refresh | 0.90 | 9.00 | 0.00 | 90.00 | 90.0 |" in text
    assert extrapolation_lines({"scales": data["scales"][:1]}) == []
