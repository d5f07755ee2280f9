"""task01 (staging) and task03 (status management) of the legacy container, and the legacy's Snowflake reads.

The Snowflake queries (delta keys of Step 1, the deleted ids of B-0, the payer/provider dimension rows of
B.1) run on the emulation and are returned for the timed PostgreSQL parts; they are not timed.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench.legacy.merge import connect
from visit_conflicts.source.connection import connect_source

STATUS_SQL = Path(__file__).parent / "sql" / "status.sql"
PPR_PAGE = 5000


def _source_rows(source_dir: Path, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute(query, params)
        return list(cur.fetchall())
    finally:
        conn.close()


def delta_keys(
    source_dir: Path, dsn: str, schema: str, cutoff: datetime, window: tuple[date, date]
) -> list[tuple[Any, str]]:
    """Step 1 of the legacy detection: DISTINCT (date, trimmed SSN) of the visits updated since the cutoff,
    in the window, provider not excluded, SSN not blank and not excluded."""
    with connect(dsn, schema) as pg:
        agencies = [str(r[0]) for r in pg.execute('SELECT "ProviderID" FROM excluded_agency').fetchall()]
        ssns = {str(r[0]).strip() for r in pg.execute('SELECT "SSN" FROM excluded_ssn').fetchall() if r[0]}
    rows = _source_rows(
        source_dir,
        """SELECT DISTINCT CAST(cr."Visit Date" AS DATE), TRIM(cg."SSN"), cr."Provider Id"
           FROM FACTVISITCALLPERFORMANCE_CR cr
           JOIN DIMCAREGIVER cg ON cg."Caregiver Id" = cr."Caregiver Id"
           WHERE cr."Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)
             AND CAST(cr."Visit Date" AS DATE) BETWEEN CAST(%(lo)s AS DATE) AND CAST(%(hi)s AS DATE)
             AND TRIM(cg."SSN") <> ''""",
        {"cutoff": cutoff.isoformat(), "lo": window[0].isoformat(), "hi": window[1].isoformat()},
    )
    excluded = set(agencies)
    return sorted({(d, s) for d, s, p in rows if s and s not in ssns and p not in excluded})


def deleted_ids(source_dir: Path, cutoff: datetime, window: tuple[date, date]) -> list[str]:
    """B-0's Snowflake query: DISTINCT deleted "Visit Id" in the window, updated since the cutoff."""
    rows = _source_rows(
        source_dir,
        """SELECT DISTINCT "Visit Id" FROM FACTVISITCALLPERFORMANCE_DELETED_CR
           WHERE CAST("Visit Date" AS DATE) BETWEEN CAST(%(lo)s AS DATE) AND CAST(%(hi)s AS DATE)
             AND "Visit Updated Timestamp" >= CAST(%(cutoff)s AS TIMESTAMP_TZ)""",
        {"cutoff": cutoff.isoformat(), "lo": window[0].isoformat(), "hi": window[1].isoformat()},
    )
    return [str(r[0]) for r in rows if r[0] is not None]


def payer_provider_rows(source_dir: Path) -> list[tuple[Any, ...]]:
    """B.1's Snowflake query: DISTINCT rows of DIMPROVIDER x DIMPAYERPROVIDER x DIMPAYER."""
    return _source_rows(
        source_dir,
        """SELECT DISTINCT dpp."Payer Id", dpp."Application Payer Id", dpa."Payer Name", dpp."Provider Id",
                  dpp."Application Provider Id", dp."Provider Name"
           FROM DIMPROVIDER dp
           JOIN DIMPAYERPROVIDER dpp ON dpp."Provider Id" = dp."Provider Id"
           JOIN DIMPAYER dpa ON dpa."Payer Id" = dpp."Payer Id\"""",
        {},
    )


def staging(
    dsn: str, schema: str, ppr_rows: list[tuple[Any, ...]], window: tuple[date, date]
) -> dict[str, Any]:
    """task01: B.1 payer/provider sync, then B.2 TRUNCATE + INSERT ... SELECT of the window's CVM rows."""
    out: dict[str, Any] = {}
    started = time.perf_counter()
    with connect(dsn, schema) as conn:
        conn.execute(
            """CREATE TEMP TABLE _tmp_ppr_dim ("PayerID" text NOT NULL, "AppPayerID" bigint,
                   "Contract" varchar(100), "ProviderID" text NOT NULL, "AppProviderID" bigint,
                   "ProviderName" varchar(100)) ON COMMIT DROP"""
        )
        cur = conn.cursor()
        rows = [
            (
                str(p),
                int(ap) if ap is not None and str(ap).isdigit() else None,
                c,
                str(v),
                int(av) if av is not None and str(av).isdigit() else None,
                n,
            )
            for p, ap, c, v, av, n in ppr_rows
        ]
        for start in range(0, len(rows), PPR_PAGE):
            page = rows[start : start + PPR_PAGE]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(page))
            cur.execute(f"INSERT INTO _tmp_ppr_dim VALUES {values}", [v for row in page for v in row])
        cur.execute(
            """INSERT INTO payer_provider_reminders ("PayerID", "AppPayerID", "Contract", "ProviderID",
                   "AppProviderID", "ProviderName", "CreatedDateTime", "NumberOfDays")
               SELECT t."PayerID"::uuid, t."AppPayerID", t."Contract", t."ProviderID"::uuid,
                      t."AppProviderID", t."ProviderName", CURRENT_TIMESTAMP, NULL
               FROM _tmp_ppr_dim t
               WHERE NOT EXISTS (SELECT 1 FROM payer_provider_reminders r
                                 WHERE r."PayerID" = t."PayerID"::uuid
                                   AND r."ProviderID" = t."ProviderID"::uuid)"""
        )
        out["ppr_inserted"] = cur.rowcount
        cur.execute(
            """UPDATE payer_provider_reminders r
               SET "Contract" = t."Contract", "ProviderName" = t."ProviderName"
               FROM _tmp_ppr_dim t
               WHERE r."PayerID" = t."PayerID"::uuid AND r."ProviderID" = t."ProviderID"::uuid"""
        )
        out["ppr_updated"] = cur.rowcount
        conn.commit()
    out["ppr_seconds"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    with connect(dsn, schema) as conn:
        columns = [
            str(r[0])
            for r in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = %s AND table_name = 'conflictlog_staging'
                   ORDER BY ordinal_position""",
                (schema,),
            ).fetchall()
        ]
        conn.execute('TRUNCATE "conflictlog_staging"')
        conn.commit()
    names = set(columns)
    parent = {
        "StatusFlag": "ConStatusFlag" in names,
        "FlagForReview": "ConFlagForReview" in names,
        "FlagForReviewDate": "ConFlagForReviewDate" in names,
    }
    sources = []
    for column in columns:
        if parent.get(column):
            sources.append(f'C."{column}"')
        elif column == "ConStatusFlag":
            sources.append('CVM."StatusFlag"')
        elif column == "ConFlagForReview":
            sources.append('CVM."FlagForReview"')
        elif column == "ConFlagForReviewDate":
            sources.append('CVM."FlagForReviewDate"')
        elif column == "CreatedDate":
            sources.append("CURRENT_TIMESTAMP")
        else:
            sources.append(f'CVM."{column}"')
    target = ", ".join(f'"{c}"' for c in columns)
    with connect(dsn, schema) as conn:
        cur = conn.cursor()
        cur.execute(
            f'INSERT INTO "conflictlog_staging" ({target}) SELECT {", ".join(sources)} '
            'FROM conflictvisitmaps CVM INNER JOIN conflicts C ON C."CONFLICTID" = CVM."CONFLICTID" '
            'WHERE CVM."VisitDate" BETWEEN %s AND %s',
            window,
        )
        out["rows_inserted"] = cur.rowcount
        conn.commit()
    out["staging_seconds"] = round(time.perf_counter() - started, 3)
    return out


def _units() -> list[tuple[str, str]]:
    text = STATUS_SQL.read_text()
    parts = re.split(r"^-- unit: (\w+)\s*$", text, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts), 2)]


def status(dsn: str, schema: str, deleted: list[str], window: tuple[date, date]) -> dict[str, Any]:
    """task03: B-0's load of the deleted ids, then the 15 units, each in its own transaction."""
    out: dict[str, Any] = {"units": {}}
    with connect(dsn, schema) as conn:
        started = time.perf_counter()
        cur: Any = conn.cursor()  # a ClientCursor (bench.legacy.merge.connect)
        cur.execute(
            'CREATE TEMP TABLE IF NOT EXISTS _tmp_deleted_visits ("VisitID" TEXT NOT NULL) '
            "ON COMMIT PRESERVE ROWS"
        )
        cur.execute("TRUNCATE _tmp_deleted_visits")
        if deleted:
            statement = 'INSERT INTO _tmp_deleted_visits ("VisitID") VALUES (%s)'
            for start in range(0, len(deleted), 1000):  # execute_batch, page size 1000
                page = deleted[start : start + 1000]
                cur.execute(";".join(cur.mogrify(statement, (v,)) for v in page))
            cur.execute('CREATE INDEX ON _tmp_deleted_visits ("VisitID")')
            cur.execute("ANALYZE _tmp_deleted_visits")
        conn.commit()
        out["units"]["fetch_deleted_visit_ids"] = {
            "rows": len(deleted),
            "seconds": time.perf_counter() - started,
        }
        params = {"ws": window[0], "we": window[1]}
        for name, statement in _units():
            started = time.perf_counter()
            cur.execute("SET LOCAL statement_timeout = '1800s'")
            rows = 0
            for part in [p for p in statement.split(";") if p.strip()]:
                cur.execute(part, params)
                rows = cur.rowcount
            conn.commit()
            out["units"][name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    out["rows_affected"] = sum(u["rows"] for u in out["units"].values() if u["rows"] > 0)
    return out
