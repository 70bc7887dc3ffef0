"""The trend plot across a client's visits draws every measured series it is given."""

from __future__ import annotations

from datetime import datetime, timedelta

from ashiguard.entrypoints.web.plots import render_trends
from ashiguard.services.history import VisitTrend


def _visit(i: int, **extra) -> VisitTrend:
    return VisitTrend(
        session_id=i,
        started_at=datetime(2026, 11, 1) + timedelta(days=7 * i),
        duration_s=3600.0,
        peak_load_n=300.0 + 10 * i,
        load_share=0.4,
        alarms=i % 3,
        too_much=1 if i == 2 else 0,
        dose_kpa_s={"erector_lumbar_left": 900.0 + i, "kidney_left": 10.0},
        **extra,
    )


def test_the_trend_plot_is_a_png_with_or_without_pain_scores():
    with_pain = [_visit(i, pain_before=7 - i, pain_after=3) for i in range(4)]
    without = [_visit(i) for i in range(2)]
    for rows in (with_pain, without, []):
        png = render_trends(rows)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert render_trends(with_pain) != render_trends(without)
