"""The reference tables read from PostgreSQL once per step: settings, mph, excluded_ssn, excluded_agency.

Plan, detect and inservice load them into Snowflake session tables (`source.common`). The statements
live in `sql/postgres/reference/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from visit_conflicts.sql_files import read_sql

# D7: the multiplier when settings has no row "ID" = 0 or its ExtraDistancePer is NULL.
DEFAULT_EXTRA_DISTANCE_PER = 1.0

_REFERENCE_SQL = "postgres/reference/{}.sql"


@dataclass(frozen=True)
class ReferenceData:
    """Reference tables read from PostgreSQL once per step.

    `mph_bands` holds (From, To, AverageMilesPerHour) rows; D7 semantics are applied by detection.
    """

    excluded_ssns: tuple[str, ...]
    excluded_provider_ids: tuple[str, ...]
    mph_bands: tuple[tuple[float, float, float], ...]
    extra_distance_per: float


def load_reference_data(pg_conn: Any) -> ReferenceData:
    """Read settings, mph, excluded_ssn and excluded_agency from the target schema (search_path).

    A missing settings row or NULL "ExtraDistancePer" means 1.0 (D7). As in legacy, a NULL band edge
    reads as 0 and a NULL speed as 1. SSNs are trimmed; provider ids are lower-case uuid text.
    """
    row = pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_extra_distance_per"))).fetchone()
    extra = DEFAULT_EXTRA_DISTANCE_PER if row is None or row[0] is None else float(row[0])
    bands = tuple(
        (
            float(lo) if lo is not None else 0.0,
            float(hi) if hi is not None else 0.0,
            float(mph) if mph is not None else 1.0,
        )
        for lo, hi, mph in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_mph_bands")))
    )
    ssns = tuple(str(r[0]) for r in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_excluded_ssns"))))
    providers = tuple(
        str(r[0]).lower()
        for r in pg_conn.execute(read_sql(_REFERENCE_SQL.format("select_excluded_provider_ids")))
    )
    return ReferenceData(
        excluded_ssns=ssns,
        excluded_provider_ids=providers,
        mph_bands=bands,
        extra_distance_per=extra,
    )
