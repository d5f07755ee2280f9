"""D1, D2: the run context (run date, window, cutoff, watermark) computed once, with time-zone edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext, compute_cutoff, subtract_years


def test_run_date_is_taken_in_the_business_zone() -> None:
    """D1: 03:30 UTC on the 27th is still the 26th in New York."""
    ctx = RunContext.create(Params(), now=datetime(2026, 11, 27, 3, 30, tzinfo=UTC))
    assert ctx.run_date == date(2026, 11, 26)
    ctx = RunContext.create(Params(), now=datetime(2026, 11, 27, 5, 30, tzinfo=UTC))
    assert ctx.run_date == date(2026, 11, 27)


def test_run_date_across_dst_change() -> None:
    """D1: 04:30 UTC is 00:30 EDT in summer (same day) but 23:30 EST in winter (previous day)."""
    summer = RunContext.create(Params(), now=datetime(2026, 7, 1, 4, 30, tzinfo=UTC))
    winter = RunContext.create(Params(), now=datetime(2026, 1, 1, 4, 30, tzinfo=UTC))
    assert summer.run_date == date(2026, 7, 1)
    assert winter.run_date == date(2025, 12, 31)


def test_window_is_inclusive_years_back_and_days_forward() -> None:
    """D1: [run_date - lookback_years, run_date + lookforward_days]."""
    ctx = RunContext.create(
        Params(lookback_years=2, lookforward_days=45), now=datetime(2026, 11, 27, 12, tzinfo=UTC)
    )
    assert ctx.window_start == date(2024, 11, 27)
    assert ctx.window_end == date(2027, 1, 11)


def test_leap_day_window_start() -> None:
    assert subtract_years(date(2028, 2, 29), 2) == date(2026, 2, 28)
    assert subtract_years(date(2028, 2, 29), 4) == date(2024, 2, 29)


def test_cutoff_without_watermark_is_lookback_hours() -> None:
    """D2: no successful run yet -> now - lookback_hours."""
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert compute_cutoff(now, 36, None) == now - timedelta(hours=36)


def test_cutoff_takes_the_older_of_watermark_and_lookback() -> None:
    """D2: cutoff = min(now - lookback_hours, watermark): skipped runs never lose changes."""
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    old_watermark = now - timedelta(days=5)
    recent_watermark = now - timedelta(hours=2)
    assert compute_cutoff(now, 36, old_watermark) == old_watermark
    assert compute_cutoff(now, 36, recent_watermark) == now - timedelta(hours=36)


def test_since_overrides_everything() -> None:
    """D2: an explicit `since` is the cutoff."""
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    since = datetime(2026, 10, 1, 6, tzinfo=UTC)
    ctx = RunContext.create(Params(since=since), now=now, watermark=now - timedelta(hours=1))
    assert ctx.cutoff == since


def test_cutoff_local_is_wall_clock_in_business_zone() -> None:
    """D1: PostgreSQL timestamps are New York wall clock; 12:00 UTC in November is 07:00 EST."""
    ctx = RunContext.create(Params(lookback_hours=1), now=datetime(2026, 11, 27, 13, tzinfo=UTC))
    assert ctx.cutoff_local == datetime(2026, 11, 27, 7, 0)


def test_context_round_trips_through_json() -> None:
    """D1: computed once and carried as a small JSON value."""
    ctx = RunContext.create(
        Params(),
        now=datetime(2026, 11, 27, 13, tzinfo=UTC),
        run_id="r1",
        watermark=datetime(2026, 11, 26, 13, tzinfo=UTC),
    )
    assert RunContext.from_json(ctx.to_json()) == ctx
