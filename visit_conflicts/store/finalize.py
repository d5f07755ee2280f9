"""PostgreSQL side of the finalize step: stale cleanup of regular pairs over the run's scope (D12).

Two statements in one transaction (`sql/postgres/finalize/`): the keys of the open pairs of the scope's
groups that the run did not produce (index-only scan, hash anti-join against the seen set, hash
semi-join against the scope), analysed, then the update of those keys through the unique index, which
records a 'stale' event per resolved pair in the conflict history (`conflict_event`) in the same
statement.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.detect import regular_pair

_STATEMENTS = ("stale_pairs", "resolve_stale_pairs")
# Enough of a sample for the row counts and distinct values the joins are planned on; the default (300
# pages per column per target unit) cost ~1.7 s over 1M scope groups and 1M seen keys. At 10 the SSN's
# distinct count of the scope came out anywhere from -0.24 to -0.36 (truth -0.5) and the plan flipped
# between the parallel hash joins (1.0-1.2 s over 1M groups) and a serial one (2.4 s) in 3 of 6 ANALYZEs;
# at 30 it was parallel in 6 of 6, for 0.07 s of ANALYZE instead of 0.03 s.
_STATISTICS_TARGET = 30


def count_scope_groups(conn: psycopg.Connection, run_id: str) -> int:
    row = conn.execute(read_sql("postgres/finalize/count_scope_groups.sql"), {"run_id": run_id}).fetchone()
    if not conn.autocommit:
        conn.commit()
    return int(row[0]) if row else 0


def resolve_stale_pairs(conn: psycopg.Connection, run_id: str, *, now: datetime) -> int:
    """Resolve the regular pairs of the run's scope that it did not produce and that are 'N' or 'U'
    (ResolveDate kept when already set); returns how many (measured, D13)."""
    with conn.transaction():
        conn.execute(
            sql.SQL("SET LOCAL default_statistics_target = {}").format(sql.Literal(_STATISTICS_TARGET))
        )
        conn.execute("ANALYZE run_scope_group")
        conn.execute("ANALYZE run_seen_pair")
    stale, resolve = (
        sql.SQL(read_sql(f"postgres/finalize/{name}.sql")).format(regular=regular_pair("c"))
        for name in _STATEMENTS
    )
    with conn.transaction():
        # Memory for the hash joins over ~1M seen keys and ~1M scope groups, for this transaction only
        # (the default spills them to disk in batches).
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute(stale, {"run_id": run_id})
        conn.execute("ANALYZE _stale_pairs")
        return len(conn.execute(resolve, {"run_id": run_id, "now": now, "step": "finalize"}).fetchall())
