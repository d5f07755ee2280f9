"""PostgreSQL side of the cleanup step: the in-progress flag (D17), scoped maintenance (D21), the payer
view refresh and the run's scratch rows. Statements: `sql/postgres/cleanup/`. Every function needs an
autocommit connection (VACUUM cannot run in a transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.columns import FLAG_COLUMNS, INSERVICE_PTO_COLUMNS
from visit_conflicts.observability import logger
from visit_conflicts.sql_files import read_sql

SCRATCH_TABLES = ("run_scope_group", "run_seen_pair")

# Issue 13: ANALYZE of all 248 columns of conflictvisitmaps costs ~5.5 s of CPU per run, and the planner
# only ever looks at the columns queries filter, join or group on: keys, statuses, the timestamps of the
# delta scopes (D16), the kind of pair, the payer view's eligibility. These wide tables get statistics of
# those columns only; the narrow ones are analysed whole.
ANALYZED_COLUMNS: dict[str, tuple[str, ...]] = {
    "conflictvisitmaps": (
        *("ID", "CONFLICTID", "GroupID", "VisitID", "ConVisitID", "AppVisitID", "ConAppVisitID"),
        *("SSN", "VisitDate", "ProviderID", "ConProviderID", "PayerID", "StatusFlag", "UpdateFlag"),
        *("CreatedDate", "UpdatedDate", "ResolveDate", "ConNoResponseDate", "ConNoResponseFlag"),
        *("FlagForReviewDate", "IsMissed", "ConIsMissed", "InServiceFlag", "PTOFlag", "ReverseUUID"),
        *INSERVICE_PTO_COLUMNS,
        *FLAG_COLUMNS,
    ),
    "conflictlog_staging": (
        *("ID", "CONFLICTID", "VisitID", "ConVisitID", "VisitDate", "SSN", "ProviderID", "ConProviderID"),
        *("PayerID", "ConPayerID", "StatusFlag", "ConStatusFlag"),
    ),
}


def _sql(name: str) -> str:
    return read_sql(f"postgres/cleanup/{name}.sql")


def reset_in_progress_flag(conn: psycopg.Connection, *, idle: int, last_load: datetime | None) -> None:
    """D17: `InProgressFlag` to the idle value; `LastLoadDate` to `last_load` when given (success)."""
    conn.execute(_sql("reset_in_progress_flag"), {"idle": idle, "last_load": last_load})


def _exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(_sql("table_exists"), {"name": name}).fetchone()
    return bool(row and row[0])


def maintain(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """D21: VACUUM and ANALYZE only the tables this run wrote (the wide ones on ANALYZED_COLUMNS)."""
    for table in tables:
        if not _exists(conn, table):
            continue
        ident = sql.Identifier(table)
        wanted = ANALYZED_COLUMNS.get(table)
        if wanted is None:
            conn.execute(sql.SQL(_sql("vacuum_table")).format(table=ident))
            continue
        conn.execute(sql.SQL(_sql("vacuum_only")).format(table=ident))
        present = [
            r[0] for r in conn.execute(_sql("select_columns"), {"table": table, "columns": list(wanted)})
        ]
        conn.execute(
            sql.SQL(_sql("analyze_columns")).format(
                table=ident, columns=sql.SQL(", ").join(map(sql.Identifier, present))
            )
        )


def refresh_view(conn: psycopg.Connection, view: str) -> str:
    """Refresh the payer view concurrently (a plain refresh as fallback); returns what was done."""
    if not _exists(conn, view):
        return "skipped (view missing)"
    ident = sql.Identifier(view)
    try:
        conn.execute(sql.SQL(_sql("refresh_view_concurrently")).format(view=ident))
        return "refreshed concurrently"
    except psycopg.Error as exc:
        logger.warning(
            "concurrent refresh failed, falling back to a plain refresh", extra={"error": str(exc)}
        )
        conn.execute(sql.SQL(_sql("refresh_view")).format(view=ident))
        return "refreshed (plain)"


def purge_scratch(conn: psycopg.Connection, run_id: str) -> int:
    """Drop the run's scope and seen keys; returns the rows removed."""
    deleted = 0
    for table in SCRATCH_TABLES:
        cur = conn.execute(
            sql.SQL(_sql("purge_scratch")).format(table=sql.Identifier(table)), {"run_id": run_id}
        )
        deleted += max(cur.rowcount, 0)
    return deleted
