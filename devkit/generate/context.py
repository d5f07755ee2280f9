"""The generator's fixed frame: seed, scale, anchor ("now" of the first run), windows and time conversion.

Everything the generator writes is a function of (seed, scale, anchor). Random numbers come from numpy
generators keyed by (seed, stream, ...), one stream per concern, so adding rows to one table never shifts
the values of another. Business time is New York wall-clock time: the generator reasons in local
wall-clock microseconds and converts to UTC instants only when it builds TIMESTAMP_TZ columns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from visit_conflicts.context import subtract_years

BUSINESS_TZ_NAME = "America/New_York"
BUSINESS_TZ = ZoneInfo(BUSINESS_TZ_NAME)
LOOKBACK_YEARS = 2
LOOKFORWARD_DAYS = 45
LOOKBACK_HOURS = 36

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
_EPOCH = date(1970, 1, 1)
TS_TYPE = pa.timestamp("us", tz="UTC")


class GenerateError(ValueError):
    """Bad generator input; the message names the argument and what to pass instead."""


class Stream(enum.IntEnum):
    """Independent random streams (the second element of every generator key)."""

    WORLD = 1
    VISITS = 2
    DELETED = 3
    INSERVICE = 4
    CASES = 5
    MUTATE = 6


def day_number(d: date) -> int:
    """Days since 1970-01-01 (the generator's integer date)."""
    return (d - _EPOCH).days


def day_date(n: int) -> date:
    return _EPOCH + timedelta(days=int(n))


@dataclass(frozen=True)
class GenContext:
    seed: int
    scale: float
    anchor: datetime  # tz-aware
    anchor_local: datetime  # naive New York wall clock of the anchor
    window_start: date
    window_end: date
    cutoff: datetime  # tz-aware: anchor - LOOKBACK_HOURS

    @classmethod
    def create(cls, *, seed: int, scale: float, anchor: datetime) -> GenContext:
        if anchor.tzinfo is None or anchor.utcoffset() is None:
            raise GenerateError(
                f"anchor {anchor.isoformat()} has no time zone; pass an aware datetime, e.g. "
                f"datetime(2025, 6, 15, 6, 0, tzinfo=ZoneInfo('{BUSINESS_TZ_NAME}'))"
            )
        if not (0 < scale <= 10):
            raise GenerateError(f"scale {scale} is out of range; use 0 < scale <= 10 (1 = production volume)")
        if seed < 0:
            raise GenerateError(f"seed {seed} is negative; use a non-negative integer")
        # Whole seconds keep every derived timestamp exact in microseconds and in the manifest text.
        anchor = anchor.astimezone(BUSINESS_TZ).replace(microsecond=0)
        anchor_local = anchor.replace(tzinfo=None)
        anchor_date = anchor_local.date()
        return cls(
            seed=int(seed),
            scale=float(scale),
            anchor=anchor,
            anchor_local=anchor_local,
            window_start=subtract_years(anchor_date, LOOKBACK_YEARS),
            window_end=anchor_date + timedelta(days=LOOKFORWARD_DAYS),
            # Elapsed-time arithmetic in UTC: across a DST change 36 hours are not 36 wall-clock hours.
            cutoff=(anchor.astimezone(UTC) - timedelta(hours=LOOKBACK_HOURS)).astimezone(BUSINESS_TZ),
        )

    @property
    def anchor_date(self) -> date:
        return self.anchor_local.date()

    @property
    def anchor_day(self) -> int:
        return day_number(self.anchor_date)

    @property
    def anchor_local_us(self) -> int:
        return local_us(self.anchor_local)

    @property
    def cutoff_local_us(self) -> int:
        return local_us(self.cutoff.astimezone(BUSINESS_TZ).replace(tzinfo=None))

    def rng(self, stream: Stream, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(stream), *key])


def local_us(value: datetime) -> int:
    """Microseconds since the epoch of a naive (wall-clock) datetime."""
    delta = value - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def local_datetime(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=int(us))


def at(d: date, hhmm: str) -> datetime:
    """The naive local datetime of `d` at "HH:MM" (a planted time)."""
    return datetime.combine(d, time.fromisoformat(hhmm))


def local_to_utc(local: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """TIMESTAMP_TZ column (UTC instants) from New York wall-clock microseconds; invalid -> NULL.

    The hour that does not exist when clocks go forward moves forward, and the repeated hour when they go
    back is read as standard time, so equal wall-clock times always give equal instants.
    """
    values = np.asarray(local, dtype=np.int64)
    stamps = values.astype("datetime64[us]")
    if valid is not None:
        stamps = np.where(valid, stamps, np.datetime64("NaT"))
    index = pd.DatetimeIndex(stamps).tz_localize(
        BUSINESS_TZ_NAME, ambiguous=np.zeros(len(values), dtype=bool), nonexistent="shift_forward"
    )
    utc = index.tz_convert("UTC").as_unit("us").asi8
    mask = np.isnat(stamps) if valid is None else ~valid | np.isnat(stamps)
    return pa.array(utc, type=TS_TYPE, mask=mask)


def days_to_utc(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Local midnight of each day number, as UTC instants (converted once per distinct day)."""
    days = np.asarray(days, dtype=np.int64)
    uniq, inverse = np.unique(days, return_inverse=True)
    converted = local_to_utc(uniq * US_PER_DAY).to_numpy(zero_copy_only=False).astype("datetime64[us]")
    values = converted[inverse].astype(np.int64)
    return pa.array(values, type=TS_TYPE, mask=None if valid is None else ~valid)


def utc_instant(local: datetime) -> datetime:
    """The aware UTC datetime of a naive New York wall-clock datetime (same rules as `local_to_utc`)."""
    us = int(local_to_utc(np.array([local_us(local)])).cast(pa.int64())[0].as_py())
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
