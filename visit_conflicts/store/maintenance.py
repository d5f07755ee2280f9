"""PostgreSQL side of the maintenance step: scoped VACUUM (ANALYZE) (D21) and the payer view refresh.
Statements: `sql/postgres/maintenance/`. Every function needs an autocommit connection (VACUUM cannot
run in a transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.columns import FLAG_COLUMNS, INSERVICE_PTO_COLUMNS
from visit_conflicts.observability import logger
from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.restore import SCRATCH_TABLES as RUN_SCRATCH_TABLES

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
    return read_sql(f"postgres/maintenance/{name}.sql")


# Scratch and log tables every run fills and empties: the change logs, consumed by staging and the payer
# view, by DELETE; the run-keyed scope and seen tables by TRUNCATE when the run was alone in them, else by
# DELETE (`store.scratch.purge_run_rows`). Without a VACUUM the deleted rows stay: after a first load
# they held hundreds of MB at SF 0.1 (10x that at full volume), and every later run paid for them in its
# COPY, ANALYZE and scans (~1-2 s at SF 0.1, growing with the history, not the delta). A plain VACUUM
# after each run frees earlier runs' rows for reuse and truncates an empty tail: cheap when
# nightly-sized. The steps ANALYZE these tables when they fill them.
SCRATCH_TABLES = (
    *RUN_SCRATCH_TABLES,
    *("run_inservice_scope_ssn", "run_inservice_scope_event", "change_log_staging", "change_log_payer_view"),
)


def _exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(_sql("table_exists"), {"name": name}).fetchone()
    return bool(row and row[0])


def vacuum_tables(conn: psycopg.Connection, tables: Sequence[str], *, analyze: bool = True) -> list[str]:
    """D21: VACUUM and ANALYZE each of `tables` that exists (the wide ones on ANALYZED_COLUMNS only; no
    ANALYZE with `analyze=False`); returns those done."""
    done = []
    for table in tables:
        if not _exists(conn, table):
            continue
        done.append(table)
        ident = sql.Identifier(table)
        if not analyze:
            conn.execute(sql.SQL(_sql("vacuum_only")).format(table=ident))
            continue
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
    return done


def vacuum_scratch(conn: psycopg.Connection) -> list[str]:
    """Plain VACUUM of the scratch and log tables (SCRATCH_TABLES) that exist; returns those done."""
    return vacuum_tables(conn, SCRATCH_TABLES, analyze=False)


def purge_events(conn: psycopg.Connection, *, now: datetime, retention_days: int) -> int:
    """Delete the conflict history older than `retention_days` before `now` (the run's clock); returns
    how many events were deleted."""
    if not _exists(conn, "conflict_event"):
        return 0
    row = conn.execute(_sql("purge_events"), {"now": now, "days": retention_days}).fetchone()
    return int(row[0]) if row else 0


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
