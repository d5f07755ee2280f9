"""task02_00's PostgreSQL side: the batch loop and the stale cleanup of its detection.

psycopg2's `execute_batch` (the legacy driver call) joins a page of client-side-bound statements with ';'
and sends them in one round trip; `_execute_batch` does exactly that with psycopg 3's `ClientCursor`.
The rows come in as dicts keyed by the pair columns (the legacy streamed Snowflake rows as dicts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from visit_conflicts.columns import FLAG_COLUMNS, INSERVICE_PTO_COLUMNS, PAIR_COLUMNS

BATCH_SIZE = 5000
PAGE_SIZE = 1000
COPY_CHUNK = 100_000
STALE_UPDATE_CHUNK = 100_000
# The 33 business columns of change detection (section 6.4), after the 7 flags.
BUSINESS_COLUMNS = (
    "ProviderID",
    "ConProviderID",
    "VisitDate",
    "SchStartTime",
    "SchEndTime",
    "ConSchStartTime",
    "ConSchEndTime",
    "EVVStartTime",
    "EVVEndTime",
    "ConEVVStartTime",
    "ConEVVEndTime",
    "CaregiverID",
    "ConCaregiverID",
    "OfficeID",
    "ConOfficeID",
    "PatientID",
    "ConPatientID",
    "PayerID",
    "ConPayerID",
    "ServiceCodeID",
    "ConServiceCodeID",
    "IsMissed",
    "EVVType",
    "ConIsMissed",
    "ConEVVType",
    "P_PatientID",
    "ConP_PatientID",
    "PA_PatientID",
    "ConPA_PatientID",
    "ContractType",
    "ConContractType",
    "FederalTaxNumber",
    "ConFederalTaxNumber",
)


def connect(dsn: str, schema: str) -> psycopg.Connection[Any]:
    """A connection as the legacy opened them: synchronous_commit off, large work memory."""
    conn = psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.commit()
    return conn


def _execute_batch(cur: Any, statement: str, rows: Sequence[Any]) -> None:
    """psycopg2.extras.execute_batch: pages of `PAGE_SIZE` statements, one round trip per page."""
    for start in range(0, len(rows), PAGE_SIZE):
        page = rows[start : start + PAGE_SIZE]
        cur.execute(";".join(cur.mogrify(statement, params) for params in page))


def _key(row: dict[str, Any]) -> tuple[str, str | None]:
    return str(row["VisitID"]), str(row["ConVisitID"]) if row["ConVisitID"] else None


_REGULAR = " AND ".join(f'"{c}" IS NULL' for c in INSERVICE_PTO_COLUMNS)
_LOOKUP_COLUMNS = ("VisitID", "ConVisitID", "CONFLICTID", "StatusFlag", *FLAG_COLUMNS, *BUSINESS_COLUMNS)


def _lookup(dsn: str, schema: str, visit_ids: Iterable[Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Section 6.3: one SELECT per batch on a fresh connection, VisitIDs inlined as quoted literals."""
    literals = ", ".join(f"'{v}'" for v in sorted({str(v) for v in visit_ids}))
    columns = ", ".join(f'"{c}"' for c in _LOOKUP_COLUMNS)
    with connect(dsn, schema) as conn:
        rows = conn.execute(
            f'SELECT {columns} FROM conflictvisitmaps WHERE "VisitID" IN ({literals}) AND {_REGULAR}'
        ).fetchall()
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for row in rows:
        record = dict(zip(_LOOKUP_COLUMNS, row, strict=True))
        found[_key(record)] = record
    return found


def _dirty(row: dict[str, Any], existing: dict[str, Any]) -> str | None:
    """Section 6.4: a flag N -> not N first, else any business column differing (plain equality)."""
    for flag in FLAG_COLUMNS:
        if existing[flag] == "N" and row[flag] != "N":
            return "flag"
    for column in BUSINESS_COLUMNS:
        if row[column] != existing[column]:
            return "business"
    return None


def _update_statement(flags: tuple[str, ...]) -> str:
    """Section 6.5: every output column but the key (flags only where the stored one is 'N')."""
    columns = [c for c in PAIR_COLUMNS if c not in ("VisitID", "ConVisitID") and c not in FLAG_COLUMNS]
    sets = [f'"{c}" = %({c})s' for c in ("CONFLICTID", *flags, *columns)]
    sets += ['"UpdateFlag" = NULL', '"UpdatedDate" = CURRENT_TIMESTAMP', '"ResolveDate" = NULL']
    return (
        f"UPDATE conflictvisitmaps SET {', '.join(sets)} "
        'WHERE ("VisitID" = %(VisitID)s AND "ConVisitID" = %(ConVisitID)s) '
        'OR ("VisitID" = %(VisitID)s AND "ConVisitID" IS NULL AND %(ConVisitID)s IS NULL)'
    )


_INSERT = (
    "INSERT INTO conflictvisitmaps ("
    + ", ".join(f'"{c}"' for c in (*PAIR_COLUMNS, "CONFLICTID"))
    + ', "StatusFlag", "InServiceFlag", "PTOFlag", "CreatedDate") VALUES ('
    + ", ".join(["%s"] * (len(PAIR_COLUMNS) + 1))
    + ", 'N', 'N', 'N', CURRENT_TIMESTAMP)"
)


def merge_pairs(dsn: str, schema: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The batch loop over `rows`; returns the legacy statistics (section 9) and the seen keys."""
    stats = {
        "rows_fetched": 0,
        "matched_in_postgres": 0,
        "new_conflicts": 0,
        "rows_updated": 0,
        "rows_inserted": 0,
        "rows_skipped_no_changes": 0,
        "changes_by_flag": 0,
        "changes_by_business_data": 0,
        "batches_processed": 0,
    }
    seen: set[tuple[str, str | None]] = set()
    conn = connect(dsn, schema)
    try:
        cur = conn.cursor()
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            stats["rows_fetched"] += len(batch)
            seen.update(_key(r) for r in batch)
            existing = _lookup(dsn, schema, (r["VisitID"] for r in batch))
            updates: dict[str, list[dict[str, Any]]] = {}
            new_rows: list[tuple[Any, ...]] = []
            for row in batch:
                stored = existing.get(_key(row))
                if stored is None:
                    stats["new_conflicts"] += 1
                    new_rows.append((*(row[c] for c in PAIR_COLUMNS), None))
                    continue
                stats["matched_in_postgres"] += 1
                reason = _dirty(row, stored)
                if reason is None:
                    stats["rows_skipped_no_changes"] += 1
                    continue
                stats["changes_by_flag" if reason == "flag" else "changes_by_business_data"] += 1
                flags = tuple(f for f in FLAG_COLUMNS if stored[f] == "N")
                params = dict(row)
                params["CONFLICTID"] = stored["CONFLICTID"]
                updates.setdefault(_update_statement(flags), []).append(params)
            for statement, params_list in updates.items():
                _execute_batch(cur, statement, params_list)
                stats["rows_updated"] += len(params_list)
            conn.commit()
            if new_rows:
                _execute_batch(cur, _INSERT, new_rows)
                conn.commit()
                stats["rows_inserted"] += len(new_rows)
            stats["batches_processed"] += 1
    finally:
        conn.close()
    return {"stats": stats, "seen": seen}


def stale_cleanup(
    dsn: str, schema: str, delta_keys: Sequence[tuple[Any, str]], seen: Iterable[tuple[str, str | None]]
) -> dict[str, Any]:
    """Steps 2d and 4 (section 7): scope and seen keys into temp tables, the anti-join, the update."""
    conn = connect(dsn, schema)
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS _tmp_delta_pairs")
        conn.execute("CREATE TEMP TABLE _tmp_delta_pairs (visit_date DATE, ssn VARCHAR(20))")
        keys = [(d, s.strip()) for d, s in delta_keys if d and s and s.strip()]
        cur = conn.cursor()
        for start in range(0, len(keys), COPY_CHUNK):
            with cur.copy("COPY _tmp_delta_pairs (visit_date, ssn) FROM STDIN") as copy:
                for key in keys[start : start + COPY_CHUNK]:
                    copy.write_row(key)
        conn.execute("CREATE INDEX ON _tmp_delta_pairs (ssn, visit_date)")
        conn.execute("ANALYZE _tmp_delta_pairs")
        timings["scope_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        conn.execute("DROP TABLE IF EXISTS _tmp_seen_conflicts")
        conn.execute("CREATE TEMP TABLE _tmp_seen_conflicts (visit_id UUID, con_visit_id UUID)")
        with cur.copy("COPY _tmp_seen_conflicts (visit_id, con_visit_id) FROM STDIN") as copy:
            for seen_key in seen:
                copy.write_row(seen_key)
        conn.execute("CREATE INDEX ON _tmp_seen_conflicts (visit_id, con_visit_id)")
        conn.execute("ANALYZE _tmp_seen_conflicts")
        conn.execute("DROP TABLE IF EXISTS _tmp_stale_ids")
        conn.execute(
            f"""CREATE TEMP TABLE _tmp_stale_ids AS
                SELECT cvm."VisitID", cvm."ConVisitID"
                FROM conflictvisitmaps cvm
                JOIN _tmp_delta_pairs d ON cvm."SSN" = d.ssn AND cvm."VisitDate" = d.visit_date
                WHERE cvm."CONFLICTID" IS NOT NULL
                  AND cvm."StatusFlag" NOT IN ('R', 'W', 'I')
                  AND {_regular("cvm")}
                  AND NOT EXISTS (SELECT 1 FROM _tmp_seen_conflicts s
                                  WHERE s.visit_id = cvm."VisitID" AND s.con_visit_id = cvm."ConVisitID")"""
        )
        row = conn.execute("SELECT count(*) FROM _tmp_stale_ids").fetchone()
        stale = int(row[0]) if row else 0
        conn.commit()
        timings["identify_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        if stale:
            conn.execute("ALTER TABLE _tmp_stale_ids ADD COLUMN batch_id SERIAL")
            conn.commit()
            for lo in range(1, stale + 1, STALE_UPDATE_CHUNK):
                conn.execute(
                    """UPDATE conflictvisitmaps cvm
                       SET "StatusFlag" = CASE WHEN cvm."StatusFlag" IN ('W', 'I') THEN cvm."StatusFlag"
                                               ELSE 'R' END,
                           "UpdatedDate" = CURRENT_TIMESTAMP
                       FROM _tmp_stale_ids t
                       WHERE cvm."VisitID" = t."VisitID" AND cvm."ConVisitID" = t."ConVisitID"
                         AND t.batch_id BETWEEN %s AND %s""",
                    (lo, lo + STALE_UPDATE_CHUNK - 1),
                )
                conn.commit()
        timings["update_seconds"] = time.perf_counter() - started
    finally:
        conn.close()
    return {"stale_conflicts_resolved": stale, "delta_pairs_count": len(keys), **timings}


def _regular(alias: str) -> str:
    return " AND ".join(f'{alias}."{c}" IS NULL' for c in INSERVICE_PTO_COLUMNS)
