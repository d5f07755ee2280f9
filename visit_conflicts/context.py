"""The run context (D1, D2): run id, run date, visit window and delta cutoff, computed once per run.

Every query in both databases receives these values as literal parameters; nothing asks the database
for "now". The context is a small frozen value that serialises to JSON, so the state machine can carry
it from step to step (and the ledger keeps a copy).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from visit_conflicts.config import Params


def subtract_years(day: date, years: int) -> date:
    """`day` minus whole years; 29 February falls back to 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def new_run_id(now: datetime) -> str:
    """A sortable, unique local run id (Step Functions uses its execution name instead)."""
    return f"local-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def compute_cutoff(
    now: datetime, lookback_hours: int, watermark: datetime | None, since: datetime | None = None
) -> datetime:
    """D2: `since` when given; else min(now - lookback_hours, watermark); the watermark may be absent."""
    if since is not None:
        return since.astimezone(UTC)
    by_hours = now - timedelta(hours=lookback_hours)
    if watermark is None:
        return by_hours.astimezone(UTC)
    return min(by_hours, watermark).astimezone(UTC)


@dataclass(frozen=True)
class RunContext:
    run_id: str
    now: datetime  # run start, tz-aware UTC
    run_date: date  # in the business time zone
    window_start: date  # inclusive
    window_end: date  # inclusive
    cutoff: datetime  # tz-aware UTC
    watermark: datetime | None  # start of the last successful full run, if any
    business_timezone: str

    @classmethod
    def create(
        cls,
        params: Params,
        *,
        now: datetime | None = None,
        run_id: str | None = None,
        run_date: date | None = None,
        watermark: datetime | None = None,
    ) -> RunContext:
        now = (now or datetime.now(UTC)).astimezone(UTC)
        if now.tzinfo is None:  # pragma: no cover - astimezone always sets it
            raise ValueError("now must be timezone-aware")
        zone = ZoneInfo(params.business_timezone)
        day = run_date or now.astimezone(zone).date()
        return cls(
            run_id=run_id or new_run_id(now),
            now=now,
            run_date=day,
            window_start=subtract_years(day, params.lookback_years),
            window_end=day + timedelta(days=params.lookforward_days),
            cutoff=compute_cutoff(now, params.lookback_hours, watermark, params.since),
            watermark=watermark.astimezone(UTC) if watermark else None,
            business_timezone=params.business_timezone,
        )

    @property
    def cutoff_local(self) -> datetime:
        """The cutoff as naive wall-clock time in the business zone (how PostgreSQL timestamps are kept)."""
        return self.cutoff.astimezone(ZoneInfo(self.business_timezone)).replace(tzinfo=None)

    @property
    def now_local(self) -> datetime:
        """Run start as naive wall-clock time in the business zone (written into timestamp columns)."""
        return self.now.astimezone(ZoneInfo(self.business_timezone)).replace(tzinfo=None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime | date):
                data[key] = value.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunContext:
        return cls(
            run_id=data["run_id"],
            now=datetime.fromisoformat(data["now"]),
            run_date=date.fromisoformat(data["run_date"]),
            window_start=date.fromisoformat(data["window_start"]),
            window_end=date.fromisoformat(data["window_end"]),
            cutoff=datetime.fromisoformat(data["cutoff"]),
            watermark=datetime.fromisoformat(data["watermark"]) if data.get("watermark") else None,
            business_timezone=data["business_timezone"],
        )
