"""Phase C's computed columns (C-12 effective times, C-13 billed rate per minute, C-14 ReverseUUID), computed
by the pair writer on the rows it is writing anyway.

Phase C (`sql/postgres/status/computed_*.sql`) computes these columns after the merge. Left to Phase C
alone, every pair the merge writes is written three more times, once per unit: for a table of ~250
columns each is a new row version with an entry in every index. That was most of the status step's time
(~70 of 96 s at the first load of scale 0.03; ~16K pairs x 3 on an incremental night at scale 0.25).
So the writer sets them in the same write, with the same rules, and Phase C finds nothing left to
change on those rows. Phase C still runs after it: it handles rows written by anything else, and every
case the writer leaves to it (below). The end state is the one Phase C alone reaches; a test compares
the two paths value for value.

The same rules as the Phase C statements, restated for the writer's two paths:

- new pairs (binary COPY of Arrow data): `arrow_columns`, on the rows converted to the CVM types;
- stored pairs being updated (one UPDATE): `sql_set_terms`, from the values the row is taking.

Rules (the window is the run's, D1; outside it Phase C changes nothing, so neither does the writer):

- ShVTSTTime / ShVTENTime / CShVTSTTime / CShVTENTime: the visit time, else the scheduled time, else the
  InService time, of each side.
- BilledRateMinute / ConBilledRateMinute, first matching branch (rate = BillRateBoth, in float8):
  billed 'yes', Hourly, rate > 0 -> rate / 60; billed 'yes', Daily or Visit, rate > 0, BilledHours > 0
  -> (rate / BilledHours) / 60; billed not 'yes' (NULL excluded), Hourly, rate > 0 -> rate / 60; billed
  not 'yes', Daily or Visit, rate > 0, schedule start and end known and different -> (rate / exact
  scheduled hours) / 60; else 0. Stored as real; both sides are written when either stored value is
  NULL or off by more than 0.0001. A rate that `real` cannot hold (PostgreSQL's cast raises), or from a
  NaN input (PostgreSQL orders NaN above every number, Arrow does not), is left to Phase C.
- ReverseUUID: only when NULL, all four inputs known, the key at most 100 characters (D23: a longer key
  is left NULL and Phase C counts it): LEAST(a, b) || '_' || GREATEST(a, b) in byte order, with
  a = VisitID~AppVisitID and b = ConVisitID~ConAppVisitID (uuid text: lower case with dashes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from visit_conflicts.store.arrow_copy import uuid_text

TIME_COLUMNS: dict[str, tuple[str, str, str]] = {
    "ShVTSTTime": ("VisitStartTime", "SchStartTime", "InserviceStartDate"),
    "ShVTENTime": ("VisitEndTime", "SchEndTime", "InserviceEndDate"),
    "CShVTSTTime": ("ConVisitStartTime", "ConSchStartTime", "ConInserviceStartDate"),
    "CShVTENTime": ("ConVisitEndTime", "ConSchEndTime", "ConInserviceEndDate"),
}
# Each billed rate and the prefix of the columns it is computed from ("Con": the conflicting visit's).
RATE_COLUMNS: dict[str, str] = {"BilledRateMinute": "", "ConBilledRateMinute": "Con"}
REVERSE_UUID = "ReverseUUID"
REVERSE_UUID_MAX = 100
COMPUTED_COLUMNS: tuple[str, ...] = (*TIME_COLUMNS, *RATE_COLUMNS, REVERSE_UUID)
# Rates the writer stores itself: 0, or a magnitude `real` holds without overflow or underflow (bounds
# kept inside float4's so that rounding at the edge cannot decide); anything else is left to Phase C.
RATE_MIN, RATE_MAX = 1e-44, 3.4e38
# Tolerance of the stored rate (an exact comparison would always see the float4 rounding).
RATE_TOLERANCE = 0.0001

_TIMESTAMP = pa.timestamp("us")
_INPUT_TYPES: dict[str, pa.DataType] = {
    **{c: _TIMESTAMP for sources in TIME_COLUMNS.values() for c in sources},
    **{f"{p}{c}": pa.string() for p in ("", "Con") for c in ("Billed", "RateType")},
    **{f"{p}{c}": pa.float32() for p in ("", "Con") for c in ("BillRateBoth", "BilledHours")},
    "VisitDate": pa.date32(),
    "VisitID": pa.binary(16),
    "ConVisitID": pa.binary(16),
    "AppVisitID": pa.int64(),
    "ConAppVisitID": pa.int64(),
}


# -- new pairs: Arrow ----------------------------------------------------------------------------------


def arrow_columns(rows: pa.Table, window: tuple[date, date]) -> dict[str, pa.Array]:
    """The computed columns of new pairs (`rows` converted to the CVM types; a column it lacks is NULL,
    as on the inserted row)."""
    n = rows.num_rows

    def col(name: str) -> pa.Array:
        if name in rows.column_names:
            return rows.column(name).combine_chunks()
        return pa.nulls(n, _INPUT_TYPES[name])

    visit_date = col("VisitDate")
    in_window = _true(
        pc.and_(
            pc.greater_equal(visit_date, pa.scalar(window[0], pa.date32())),
            pc.less_equal(visit_date, pa.scalar(window[1], pa.date32())),
        )
    )
    out: dict[str, pa.Array] = {}
    for target, sources in TIME_COLUMNS.items():
        value = pc.coalesce(*(col(s) for s in sources))
        out[target] = pc.if_else(in_window, value, pa.scalar(None, _TIMESTAMP))
    rates, usable = {}, in_window
    for target, prefix in RATE_COLUMNS.items():
        rates[target], ok = _arrow_rate(col, prefix)
        usable = pc.and_(usable, ok)
    for target, rate in rates.items():
        out[target] = pc.if_else(usable, rate.cast(pa.float32(), safe=False), pa.scalar(None, pa.float32()))
    key = _arrow_reverse_uuid(col)
    short = _true(pc.less_equal(pc.utf8_length(key), REVERSE_UUID_MAX))
    out[REVERSE_UUID] = pc.if_else(pc.and_(in_window, short), key, pa.scalar(None, pa.string()))
    return out


def _true(mask: pa.Array) -> pa.Array:
    """A condition as SQL's WHERE/CASE reads it: NULL is not true."""
    return pc.fill_null(mask, False)


def _arrow_rate(col: Callable[[str], pa.Array], prefix: str) -> tuple[pa.Array, pa.Array]:
    """One side's rate per minute (float8) and whether the writer may store it."""
    billed, rate_type = col(f"{prefix}Billed"), col(f"{prefix}RateType")
    rate = col(f"{prefix}BillRateBoth").cast(pa.float64())
    hours = col(f"{prefix}BilledHours").cast(pa.float64())
    start, end = col(f"{prefix}SchStartTime"), col(f"{prefix}SchEndTime")
    yes, not_yes = _true(pc.equal(billed, "yes")), _true(pc.not_equal(billed, "yes"))
    hourly = _true(pc.equal(rate_type, "Hourly"))
    daily = _true(pc.is_in(rate_type, pa.array(["Daily", "Visit"])))
    positive = _true(pc.greater(rate, 0.0))
    scheduled = _true(pc.and_(pc.is_valid(start), pc.and_(pc.is_valid(end), pc.not_equal(start, end))))
    # EXTRACT(EPOCH FROM end - start)::float8: exact microseconds, then one correctly rounded division.
    seconds = pc.divide(pc.subtract(end, start).cast(pa.int64()).cast(pa.float64()), 1e6)
    per_hour = pc.divide(rate, 60.0)
    branches = [
        (pc.and_(yes, pc.and_(hourly, positive)), per_hour),
        (
            pc.and_(yes, pc.and_(daily, pc.and_(positive, _true(pc.greater(hours, 0.0))))),
            pc.divide(pc.divide(rate, hours), 60.0),
        ),
        (pc.and_(not_yes, pc.and_(hourly, positive)), per_hour),
        (
            pc.and_(not_yes, pc.and_(daily, pc.and_(positive, scheduled))),
            pc.divide(pc.divide(rate, pc.divide(seconds, 3600.0)), 60.0),
        ),
    ]
    value = pa.array(np.zeros(len(rate)), pa.float64())
    for condition, branch in reversed(branches):
        value = pc.if_else(condition, branch, value)
    magnitude = pc.abs(value)
    in_range = pc.or_(
        pc.equal(value, 0.0),
        pc.and_(pc.greater_equal(magnitude, RATE_MIN), pc.less_equal(magnitude, RATE_MAX)),
    )
    no_nan = pc.invert(pc.or_(_true(pc.is_nan(rate)), _true(pc.is_nan(hours))))
    return value, _true(pc.and_(in_range, no_nan))


def _arrow_reverse_uuid(col: Callable[[str], pa.Array]) -> pa.Array:
    sides = [
        pc.binary_join_element_wise(uuid_text(col(visit)), col(app).cast(pa.string()), "~")
        for visit, app in (("VisitID", "AppVisitID"), ("ConVisitID", "ConAppVisitID"))
    ]
    # Arrow compares strings byte by byte, as COLLATE "C" does.
    a_first = pc.less_equal(sides[0], sides[1])
    low, high = pc.if_else(a_first, sides[0], sides[1]), pc.if_else(a_first, sides[1], sides[0])
    return pc.binary_join_element_wise(low, high, "_")


# -- stored pairs: SQL ---------------------------------------------------------------------------------


def sql_set_terms(value: Callable[[str], sql.Composable], stored: str) -> list[sql.Composable]:
    """The SET terms of an UPDATE of `stored` (the alias of the updated row, whose columns read the
    values before the update) that recompute the columns from `value(c)`: the value column c takes in
    this update. Needs the bind values `window_start` and `window_end`."""
    t = sql.Identifier(stored)

    def old(c: str) -> sql.Composable:
        return sql.SQL("{}.{}").format(t, sql.Identifier(c))

    in_window = sql.SQL("COALESCE({} BETWEEN %(window_start)s AND %(window_end)s, FALSE)").format(
        value("VisitDate")
    )
    terms: list[sql.Composable] = [
        sql.SQL("{c} = CASE WHEN {w} THEN COALESCE({a}, {b}, {d}) ELSE {old} END").format(
            c=sql.Identifier(target), w=in_window, a=value(a), b=value(b), d=value(d), old=old(target)
        )
        for target, (a, b, d) in TIME_COLUMNS.items()
    ]
    rates = {target: _sql_rate(value, prefix) for target, prefix in RATE_COLUMNS.items()}
    differs = sql.SQL(" OR ").join(
        sql.SQL("COALESCE(abs({old} - ({r})), 1) > {tol}").format(
            old=old(target), r=rate, tol=sql.Literal(RATE_TOLERANCE)
        )
        for target, rate in rates.items()
    )
    storable = sql.SQL(" AND ").join(
        sql.SQL("(({r}) = 0 OR abs({r}) BETWEEN {lo} AND {hi})").format(
            r=rate, lo=sql.Literal(RATE_MIN), hi=sql.Literal(RATE_MAX)
        )
        for rate in rates.values()
    )
    terms += [
        sql.SQL("{c} = CASE WHEN {w} AND ({differs}) AND {storable} THEN ({r})::real ELSE {old} END").format(
            c=sql.Identifier(target), w=in_window, differs=differs, storable=storable, r=rate, old=old(target)
        )
        for target, rate in rates.items()
    ]
    sides = (("VisitID", "AppVisitID"), ("ConVisitID", "ConAppVisitID"))
    a, b = (
        sql.SQL("({v}::text || '~' || {app}::text) COLLATE \"C\"").format(v=value(v), app=value(app))
        for v, app in sides
    )
    # LEAST and GREATEST skip NULLs: without all four inputs there is no key (not a one-sided one).
    known = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(value(c)) for side in sides for c in side)
    key = sql.SQL("(LEAST({a}, {b}) || '_' || GREATEST({a}, {b}))").format(a=a, b=b)
    terms.append(
        sql.SQL(
            "{c} = CASE WHEN {old} IS NULL AND {w} AND {known} AND length({key}) <= {max} THEN {key}"
            " ELSE {old} END"
        ).format(
            c=sql.Identifier(REVERSE_UUID),
            old=old(REVERSE_UUID),
            w=in_window,
            known=known,
            key=key,
            max=sql.Literal(REVERSE_UUID_MAX),
        )
    )
    return terms


def _sql_rate(value: Callable[[str], sql.Composable], prefix: str) -> sql.Composable:
    """One side's rate per minute in float8, as computed_billed_rate.sql computes it."""
    v = {c: value(f"{prefix}{c}") for c in ("Billed", "RateType", "BillRateBoth", "BilledHours")}
    start, end = value(f"{prefix}SchStartTime"), value(f"{prefix}SchEndTime")
    return sql.SQL(
        "CASE"
        " WHEN {billed} = 'yes' AND {type} = 'Hourly' AND {rate} > 0 THEN {rate}::float8 / 60.0::float8"
        " WHEN {billed} = 'yes' AND {type} IN ('Daily', 'Visit') AND {rate} > 0 AND {hours} > 0"
        " THEN ({rate}::float8 / {hours}::float8) / 60.0::float8"
        " WHEN {billed} <> 'yes' AND {type} = 'Hourly' AND {rate} > 0 THEN {rate}::float8 / 60.0::float8"
        " WHEN {billed} <> 'yes' AND {type} IN ('Daily', 'Visit') AND {rate} > 0"
        " AND {start} IS NOT NULL AND {end} IS NOT NULL AND {start} <> {end}"
        " THEN ({rate}::float8 / (EXTRACT(EPOCH FROM ({end} - {start}))::float8 / 3600.0::float8))"
        " / 60.0::float8"
        " ELSE 0.0::float8 END"
    ).format(
        billed=v["Billed"],
        type=v["RateType"],
        rate=v["BillRateBoth"],
        hours=v["BilledHours"],
        start=start,
        end=end,
    )
