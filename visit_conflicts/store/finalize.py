"""PostgreSQL side of the finalize step: stale cleanup of regular pairs over the run's scope (D12).

Three statements in one transaction (`sql/postgres/finalize/`), each result analysed before the next
is planned: the open candidate keys of the scope's groups (index-only scan), the candidates the run did
not produce (hash anti-join against the seen set), and the update of those keys through the unique index.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.detect import regular_pair

_STATEMENTS = ("stale_candidates", "stale_pairs", "resolve_stale_pairs")


def count_scope_groups(conn: psycopg.Connection, run_id: str) -> int:
    row = conn.execute(read_sql("postgres/finalize/count_scope_groups.sql"), {"run_id": run_id}).fetchone()
    conn.commit()
    return int(row[0]) if row else 0


def resolve_stale_pairs(conn: psycopg.Connection, run_id: str, *, now: datetime) -> int:
    """Resolve the regular pairs of the run's scope that it did not produce and that are 'N' or 'U'
    (ResolveDate kept when already set); returns how many (measured, D13)."""
    conn.execute("ANALYZE run_scope_group")
    conn.execute("ANALYZE run_seen_pair")
    conn.commit()
    candidates, stale, resolve = (
        sql.SQL(read_sql(f"postgres/finalize/{name}.sql")).format(regular=regular_pair("c"))
        for name in _STATEMENTS
    )
    with conn.transaction():
        # Memory for the hash anti-join of ~1M candidates against the seen set, for this transaction
        # only (the default spills it to disk in batches).
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute(candidates, {"run_id": run_id})
        conn.execute("ANALYZE _stale_candidates")
        conn.execute(stale, {"run_id": run_id})
        conn.execute("ANALYZE _stale_pairs")
        return len(conn.execute(resolve, {"run_id": run_id, "now": now}).fetchall())
