"""One day of source changes after a generated (or already mutated) source, for an incremental rerun.

`mutate` touches a small, seeded sample of the bulk visits dated from two weeks before the new anchor to the
end of its window, favouring visits of groups that have visits at several agencies (where conflicts
live): half are moved by 30 minutes to 3 hours (which creates and resolves conflicts), a quarter of the past
ones are marked missed, and a quarter are deleted (moved from FACTVISITCALLPERFORMANCE_CR to
FACTVISITCALLPERFORMANCE_DELETED_CR with "Permanent Deleted" = TRUE). Every touched row gets a
"Visit Updated Timestamp" between the previous anchor and the new one, so the next run's delta sees it.
Planted visits are never touched. The ids per kind go to `mutations/NNN.json`, a summary to the manifest.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from devkit.generate.context import BUSINESS_TZ, LOOKFORWARD_DAYS, TS_TYPE, GenerateError, Stream, utc_instant
from devkit.generate.manifest import Manifest
from devkit.generate.writer import count_source_rows
from visit_conflicts.source.connection import connect_source
from visit_conflicts.source.schema import source_columns

CR = "FACTVISITCALLPERFORMANCE_CR"
DELETED = "FACTVISITCALLPERFORMANCE_DELETED_CR"
RECENT_DAYS = 14
_TIME_COLUMNS = (
    "Scheduled Start Time",
    "Scheduled End Time",
    "Visit Start Time",
    "Visit End Time",
    "Call In Time",
    "Call Out Time",
)

# Generator-only statements (the pipeline never runs them), kept beside the code that owns the data.
_SAMPLE_SQL = """
WITH visits AS (
    SELECT cr."Visit Id" AS visit_id,
           CAST(cr."Visit Date" AS DATE) AS visit_date,
           TRIM(cg."SSN") AS ssn,
           cr."Provider Id" AS provider_id,
           cr."Scheduled Start Time" AS scheduled_start,
           SUBSTR(MD5(cr."Visit Id" || %(salt)s), 1, 8) AS h
    FROM FACTVISITCALLPERFORMANCE_CR cr
    JOIN DIMCAREGIVER cg ON cg."Caregiver Id" = cr."Caregiver Id"
    WHERE cr."Visit Date" >= CAST(%(lo)s AS TIMESTAMP_TZ) AND cr."Visit Date" < CAST(%(hi)s AS TIMESTAMP_TZ)
),
multi AS (
    SELECT visit_date, ssn FROM visits GROUP BY visit_date, ssn HAVING COUNT(DISTINCT provider_id) > 1
)
SELECT DISTINCT v.visit_id, v.visit_date, v.scheduled_start
FROM visits v
LEFT JOIN multi m ON m.visit_date = v.visit_date AND m.ssn = v.ssn
WHERE v.h < %(all_threshold)s OR (m.ssn IS NOT NULL AND v.h < %(multi_threshold)s)
ORDER BY v.visit_id
"""


def _minute_of_day(instant: Any) -> int:
    """Minutes since New York midnight of a TIMESTAMP_TZ value (0 for NULL)."""
    if instant is None:
        return 0
    local = instant.astimezone(BUSINESS_TZ)
    return local.hour * 60 + local.minute


def _threshold(probability: float) -> str:
    """The 8-hex-digit prefix below which an MD5 falls with `probability`."""
    return f"{min(int(probability * 16**8), 16**8 - 1):08x}"


def mutate(
    source_dir: Path,
    *,
    seed: int,
    anchor: datetime | None = None,
    fraction: float = 0.002,
) -> dict[str, Any]:
    """Apply one day of changes; returns a summary (also appended to the manifest's "mutations").

    `anchor` is the next run's "now" (default: the previous anchor + 1 day); `fraction` is roughly the share
    of the visits dated from two weeks before it to the end of its window that get touched.
    """
    source_dir = Path(source_dir)
    manifest = Manifest.load(source_dir)
    mutations = list(manifest["mutations"])
    previous = datetime.fromisoformat(mutations[-1]["anchor"] if mutations else manifest["anchor"])
    anchor = anchor or previous + timedelta(days=1)
    if anchor.tzinfo is None:
        raise GenerateError(f"anchor {anchor.isoformat()} has no time zone; pass an aware datetime")
    anchor = anchor.astimezone(BUSINESS_TZ).replace(microsecond=0)
    if anchor <= previous:
        raise GenerateError(
            f"anchor {anchor.isoformat()} must be after the previous anchor {previous.isoformat()}"
        )
    if not (0 < fraction <= 0.2):
        raise GenerateError(f"fraction {fraction} is out of range; use 0 < fraction <= 0.2")
    rng = np.random.default_rng([seed, int(Stream.MUTATE), len(mutations)])
    planted = {v for case in manifest.cases.values() for v in case["visits"]}
    today = anchor.date()
    lo = utc_instant(datetime.combine(today - timedelta(days=RECENT_DAYS), datetime.min.time()))
    hi = utc_instant(datetime.combine(today + timedelta(days=LOOKFORWARD_DAYS + 1), datetime.min.time()))

    conn = connect_source(source_dir)
    try:
        cur = conn.cursor()
        cur.execute(
            _SAMPLE_SQL,
            {
                "salt": f"{seed}:{len(mutations)}",
                "lo": lo.isoformat(),
                "hi": hi.isoformat(),
                "all_threshold": _threshold(fraction / 2),
                "multi_threshold": _threshold(min(1.0, fraction * 4)),
            },
        )
        sample = [row for row in cur.fetchall() if row[0] not in planted]
        ids = [vid for vid, _, _ in sample]
        past = np.array([day < today for _, day, _ in sample], dtype=bool)
        n = len(ids)
        u = rng.random(n)
        kind = np.where(u < 0.5, "move", np.where(u < 0.75, "missed", "delete"))
        kind = np.where((kind == "missed") & ~past, "move", kind)
        shift = rng.choice([-120, -60, -30, 30, 60, 90, 120, 180], n)
        # A move keeps the scheduled start on its date ("Visit Date" is the scheduled date): flip it if not.
        minute = np.array([_minute_of_day(start) for _, _, start in sample], dtype=np.int64)
        shift = np.where((minute + shift < 0) | (minute + shift >= 24 * 60), -shift, shift)
        span = int((anchor - previous).total_seconds())
        previous_us = int(previous.timestamp()) * 1_000_000
        stamp = previous_us + rng.integers(1, span, n) * 1_000_000
        changes = pa.table(
            {
                "VISIT_ID": pa.array(ids, pa.string()),
                "KIND": pa.array(kind.tolist(), pa.string()),
                "SHIFT_MINUTES": pa.array(shift, pa.int64()),
                "UPDATED": pa.array(stamp, TS_TYPE),
            }
        )
        _apply(conn, changes)
        counts = count_source_rows(conn)
    finally:
        conn.close()

    number = len(mutations) + 1
    detail = {
        kind_name: sorted(i for i, k in zip(ids, kind, strict=True) if k == kind_name)
        for kind_name in ("move", "missed", "delete")
    }
    (source_dir / "mutations").mkdir(exist_ok=True)
    detail_path = source_dir / "mutations" / f"{number:03d}.json"
    detail_path.write_text(json.dumps(detail, indent=1, sort_keys=True) + "\n")
    summary = {
        "number": number,
        "seed": seed,
        "fraction": fraction,
        "previous_anchor": previous.isoformat(),
        "anchor": anchor.isoformat(),
        "moved": len(detail["move"]),
        "missed": len(detail["missed"]),
        "deleted": len(detail["delete"]),
        "visit_ids_file": f"mutations/{number:03d}.json",
        "counts": counts,
    }
    data = dict(manifest.data)
    data["mutations"] = [*mutations, summary]
    Manifest(data).write(source_dir)
    return summary


def _apply(conn: Any, changes: pa.Table) -> None:
    import pandas as pd
    from snowflake.connector.pandas_tools import write_pandas

    cur = conn.cursor()
    cur.execute(
        "CREATE OR REPLACE TEMPORARY TABLE VC_MUTATION "
        "(VISIT_ID VARCHAR, KIND VARCHAR, SHIFT_MINUTES INTEGER, UPDATED TIMESTAMP_TZ)"
    )
    if changes.num_rows:
        write_pandas(
            conn, changes.to_pandas(types_mapper=pd.ArrowDtype), "VC_MUTATION", quote_identifiers=True
        )
    shifted = ", ".join(
        f'"{c}" = DATEADD(minute, VC_MUTATION.SHIFT_MINUTES, {CR}."{c}")' for c in _TIME_COLUMNS
    )
    stamped = '"Visit Updated Timestamp" = VC_MUTATION.UPDATED, "Updated Datatimestamp" = VC_MUTATION.UPDATED'
    cur.execute(
        f"UPDATE {CR} SET {shifted}, {stamped} FROM VC_MUTATION "
        f"WHERE {CR}.\"Visit Id\" = VC_MUTATION.VISIT_ID AND VC_MUTATION.KIND = 'move'"
    )
    cur.execute(
        f'UPDATE {CR} SET "Is Missed" = TRUE, "Missed Visit Reason" = \'Caregiver No Show\', {stamped} '
        f"FROM VC_MUTATION WHERE {CR}.\"Visit Id\" = VC_MUTATION.VISIT_ID AND VC_MUTATION.KIND = 'missed'"
    )
    replaced = {
        "Permanent Deleted": "TRUE",
        "Visit Updated Timestamp": "m.UPDATED",
        "Updated Datatimestamp": "m.UPDATED",
    }
    columns = [name for name, _ in source_columns(DELETED)]
    select = ", ".join(replaced.get(name, f'cr."{name}"') for name in columns)
    target = ", ".join(f'"{name}"' for name in columns)
    cur.execute(
        f"INSERT INTO {DELETED} ({target}) SELECT {select} FROM {CR} cr "
        "JOIN VC_MUTATION m ON m.VISIT_ID = cr.\"Visit Id\" WHERE m.KIND = 'delete'"
    )
    cur.execute(
        f"DELETE FROM {CR} WHERE \"Visit Id\" IN (SELECT VISIT_ID FROM VC_MUTATION WHERE KIND = 'delete')"
    )
    cur.execute("DROP TABLE IF EXISTS VC_MUTATION")
    cur.close()
