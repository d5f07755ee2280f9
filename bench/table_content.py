"""Behaviour baseline: an order-independent content digest of the conflict tables, and the scenario.

What it is for: proving that a restructuring of the code changed no behaviour. The same scenario runs
on the old and the new checkout through the project's stable command line only (`python -m
visit_conflicts db migrate | generate | run`, as subprocesses), and the content of `conflictvisitmaps`
(CVM) and `conflicts` (CF) is digested after each run. Equal digests mean equal table content, up to
the columns below. The module imports only the standard library and psycopg (never `visit_conflicts`),
so this one file works unchanged on both sides of a refactor.

Ignored columns (their values are left out of the digest), and why:

- CVM "ID", CF "CONFLICTID" and CVM "CONFLICTID": identity values. They depend on sequence order, which
  depends on chunk and thread timing. Grouping is still compared structurally (see below).
- CVM "CreatedDate" (set on insert: detect's wall clock, or the run's "now" for InService pairs),
  "UpdatedDate" (set on update, stale resolve and conflict-id assignment in detect/inservice), "ResolveDate"
  (stale cleanup in finalize/inservice, and the status cascades, deleted visits and no-response reopen,
  which clear it to NULL) and "CRDATEUNIQUE" (the earliest CreatedDate of the conflict, so derived from
  the clock). Sources: sql/postgres/detect/*.sql, sql/postgres/inservice/*.sql,
  sql/postgres/status/*.sql and the insert path of the pair writer.
- CF "RECORDEDDATETIME" (column DEFAULT CURRENT_TIMESTAMP when detect inserts a parent), "CreatedDate"
  (detect's "now" on the new parent) and "ResolveDate" (status cascades, deleted visits; cleared on
  reopen).

Every other column is compared, including the timestamps that come from the source data (visit,
schedule, EVV, billed, InService/PTO times, "LastUpdatedDate") and the user-owned dates the pipeline never
writes ("NoResponseDate", "ConNoResponseDate", "FlagForReviewDate", "AggFlagForReviewDate", "FAILEDON",
"G_CRDATEUNIQUE"): if the pipeline ever started writing them, the digest has to show it.

As extra information (not part of `sha256`), `stamp_presence_sha256` digests which of the ignored
timestamp columns are NULL on each row: clearing or setting a stamp is behaviour even though its value
is a clock reading.

Canonical form. A value becomes text, NULL stays JSON null (so NULL and '' differ): uuid as lower-case
text, floats with `repr` (real columns arrive as the exact double of the float4), timestamps and dates
in ISO form (session time zone UTC), booleans as "true"/"false", numbers as decimal text. One JSON
line per row:

- CF:  {"members": sorted [VisitID, ConVisitID] of the CVM rows pointing at it, "columns": {...}}
- CVM: {"key": [VisitID, ConVisitID], "parent": null when CONFLICTID is NULL, else {"exists": whether
  the CF row exists, "members_sha256": digest of the parent's sorted member list, "visit_ids": the
  parent's distinct member VisitIDs}, "columns": {...}}

A pair moved to another conflict changes its own "parent" and the "members" of both conflicts. The lines
are sorted (a multiset: duplicates count), and `sha256` is the SHA-256 of the lines joined by "\\n" with
a final "\\n": exactly the bytes of the `--dump` file of that table, so `sha256sum` checks a dump.

Usage (cwd = the checkout under test):

    python -m bench.table_content --pg-dsn DSN --schema S [--dump DIR] [--json OUT]
    python -m bench.table_content scenario --python .venv/bin/python --pg-dsn DSN --schema S \\
        --workdir DIR [--dump DIR] [--json OUT] [--replace]
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

CVM = "conflictvisitmaps"
CF = "conflicts"
KEY = ("VisitID", "ConVisitID")
# Identity values: sequence order follows chunk/thread timing, so they differ between equal runs.
IGNORED_IDS = {CVM: ("ID", "CONFLICTID"), CF: ("CONFLICTID",)}
# Columns the pipeline stamps from its clock (wall clock or the run's "now"); see the module docstring.
IGNORED_STAMPS = {
    CVM: ("CreatedDate", "UpdatedDate", "ResolveDate", "CRDATEUNIQUE"),
    CF: ("RECORDEDDATETIME", "CreatedDate", "ResolveDate"),
}

# The scenario: a first full run on generated data, then a next-day delta and an incremental run.
SCALE = "0.01"
SEED = "3"
MUTATE_SEED = "5"
NOW_1 = "2026-11-27T11:00:00+00:00"
NOW_2 = "2026-11-28T11:00:00+00:00"
# A fixed chunk count: the chunking is a run parameter, and the digests must not depend on defaults.
CHUNKS = "4"
WORKERS = "2"


def canonical(value: Any) -> Any:
    """The canonical text of one value; NULL stays None (JSON null), distinct from ''."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value).lower()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, str):
        return value
    # json/jsonb, arrays: a stable JSON text.
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _sha256_lines(lines: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def _table_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type with modifiers) of the table's columns in their stored order; empty if no table."""
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum""",
        (schema, table),
    ).fetchall()
    return [(str(name), str(typ)) for name, typ in rows]


def _stream(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str]
) -> Iterable[tuple[Any, ...]]:
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(schema, table)
    )
    # A server-side cursor keeps client memory to the canonical lines, not the fetched tuples as well.
    with conn.cursor(name=f"table_content_{table}") as cur:
        cur.itersize = 5000
        cur.execute(query)
        yield from cur


def _split_columns(
    all_columns: list[tuple[str, str]], table: str
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    present = {name for name, _ in all_columns}
    ids = [c for c in IGNORED_IDS[table] if c in present]
    stamps = [c for c in IGNORED_STAMPS[table] if c in present]
    skipped = set(ids) | set(stamps)
    compared = [(name, typ) for name, typ in all_columns if name not in skipped]
    return compared, ids, stamps


def _read(conn: psycopg.Connection[Any], schema: str, dump: Path | None) -> dict[str, Any]:
    cvm_all = _table_columns(conn, schema, CVM)
    cf_all = _table_columns(conn, schema, CF)
    if not cvm_all or not cf_all:
        raise LookupError(f"schema {schema!r} lacks {CVM} or {CF}")
    cvm_cols, cvm_ids, cvm_stamps = _split_columns(cvm_all, CVM)
    cf_cols, cf_ids, cf_stamps = _split_columns(cf_all, CF)
    cvm_names = [n for n, _ in cvm_cols]
    cf_names = [n for n, _ in cf_cols]
    missing_key = [k for k in KEY if k not in cvm_names]
    if missing_key or "CONFLICTID" not in {n for n, _ in cvm_all} or "CONFLICTID" not in cf_ids:
        raise LookupError(f"{CVM}/{CF} lack the key columns (VisitID, ConVisitID, CONFLICTID)")

    # CVM first: the members of each conflict are needed by both tables' lines.
    key_at = [cvm_names.index(k) for k in KEY]
    cvm_rows: list[tuple[Any, list[Any], str, str]] = []  # (conflict id, key, columns json, stamps json)
    members: dict[Any, list[list[Any]]] = {}
    for row in _stream(conn, schema, CVM, ["CONFLICTID", *cvm_names, *cvm_stamps]):
        conflict_id = row[0]
        values = [canonical(v) for v in row[1 : 1 + len(cvm_names)]]
        stamps = {name: v is not None for name, v in zip(cvm_stamps, row[1 + len(cvm_names) :], strict=True)}
        key = [values[i] for i in key_at]
        cvm_rows.append((conflict_id, key, _dumps(dict(zip(cvm_names, values, strict=True))), _dumps(stamps)))
        if conflict_id is not None:
            members.setdefault(conflict_id, []).append(key)
    for keys in members.values():
        keys.sort(key=_dumps)

    cf_lines: list[str] = []
    cf_stamp_lines: list[str] = []
    cf_ids_seen: set[Any] = set()
    for row in _stream(conn, schema, CF, ["CONFLICTID", *cf_names, *cf_stamps]):
        conflict_id = row[0]
        cf_ids_seen.add(conflict_id)
        values = [canonical(v) for v in row[1 : 1 + len(cf_names)]]
        stamps = {name: v is not None for name, v in zip(cf_stamps, row[1 + len(cf_names) :], strict=True)}
        member_json = _dumps(members.get(conflict_id, []))
        cf_lines.append(
            '{"members":'
            + member_json
            + ',"columns":'
            + _dumps(dict(zip(cf_names, values, strict=True)))
            + "}"
        )
        cf_stamp_lines.append('{"members":' + member_json + ',"stamps":' + _dumps(stamps) + "}")

    parents: dict[Any, str] = {}
    for conflict_id, keys in members.items():
        parents[conflict_id] = _dumps(
            {
                "exists": conflict_id in cf_ids_seen,
                "members_sha256": hashlib.sha256(_dumps(keys).encode("ascii")).hexdigest(),
                "visit_ids": sorted({k[0] for k in keys}, key=_dumps),
            }
        )
    cvm_lines: list[str] = []
    cvm_stamp_lines: list[str] = []
    for conflict_id, key, columns_json, stamps_json in cvm_rows:
        parent = "null" if conflict_id is None else parents[conflict_id]
        key_json = _dumps(key)
        cvm_lines.append('{"key":' + key_json + ',"parent":' + parent + ',"columns":' + columns_json + "}")
        cvm_stamp_lines.append('{"key":' + key_json + ',"stamps":' + stamps_json + "}")
    del cvm_rows

    result: dict[str, Any] = {"schema": schema}
    for table, lines, stamp_lines, cols, ids, stamp_names in (
        (CVM, cvm_lines, cvm_stamp_lines, cvm_cols, cvm_ids, cvm_stamps),
        (CF, cf_lines, cf_stamp_lines, cf_cols, cf_ids, cf_stamps),
    ):
        lines.sort()
        stamp_lines.sort()
        result[table] = {
            "rows": len(lines),
            "sha256": _sha256_lines(lines),
            "stamp_presence_sha256": _sha256_lines(stamp_lines),
            "columns_sha256": hashlib.sha256(_dumps(cols).encode("ascii")).hexdigest(),
            "compared_columns": len(cols),
            "ignored_columns": [*ids, *stamp_names],
        }
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            (dump / f"{table}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="ascii")
            (dump / f"{table}.stamps.jsonl").write_text(
                "".join(line + "\n" for line in stamp_lines), encoding="ascii"
            )
            (dump / f"{table}.columns.json").write_text(_dumps(cols) + "\n", encoding="ascii")
    return result


def table_content(
    conn: psycopg.Connection[Any], schema: str, dump: Path | str | None = None
) -> dict[str, Any]:
    """Canonical content digests of CVM and CF in `schema` (see the module docstring).

    Returns {"schema", "conflictvisitmaps": {...}, "conflicts": {...}}, each table with "rows", "sha256",
    "stamp_presence_sha256", "columns_sha256", "compared_columns", "ignored_columns". With `dump`, the
    canonical sorted lines of each table are written to DIR/<table>.jsonl (their sha256 is "sha256").
    Both tables are read in one REPEATABLE READ snapshot when the connection is idle.
    """
    started = time.perf_counter()
    dump_dir = Path(dump) if dump is not None else None
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    saved = (conn.isolation_level, conn.read_only)
    if idle:
        # One snapshot for both tables: a concurrent writer must not make them disagree.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
    try:
        with conn.transaction():
            # Only timestamptz values depend on the session zone; fixing it makes them comparable.
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            result = _read(conn, schema, dump_dir)
    finally:
        if idle:
            conn.isolation_level, conn.read_only = saved
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def digest_dsn(dsn: str, schema: str, dump: Path | str | None = None) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return table_content(conn, schema, dump)


# ---------------------------------------------------------------------------------------------------
# Scenario: the project's command line only, so the same steps run on any checkout.


def _git(args: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _schema_has_tables(dsn: str, schema: str) -> bool | None:
    """None: no such schema; else whether it holds any relation."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid)
               FROM pg_namespace n WHERE n.nspname = %s""",
            (schema,),
        ).fetchone()
    return None if row is None else int(row[0]) > 0


def _drop_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def scenario(
    python: str,
    dsn: str,
    schema: str,
    workdir: Path | str,
    *,
    dump: Path | str | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Migrate, generate, run, digest; mutate, run, digest. Subprocesses run in the current directory
    (the checkout under test). Needs an empty or absent `schema` and no `workdir`/source (or `replace`,
    which drops both first). Step output goes to `workdir`/logs."""
    work = Path(workdir).resolve()
    source = work / "source"
    logs = work / "logs"
    state = _schema_has_tables(dsn, schema)
    if state or source.exists():
        if not replace:
            raise SystemExit(
                f"schema {schema!r} has tables or {source} exists: the scenario starts from nothing "
                "(pass --replace to drop them)"
            )
        _drop_schema(dsn, schema)
        shutil.rmtree(source, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    dump_dir = Path(dump).resolve() if dump is not None else None

    cli = [python, "-m", "visit_conflicts"]
    pg = ["--pg-dsn", dsn, "--schema", schema]
    run_opts = ["--chunks", CHUNKS, "--workers", WORKERS, "--no-progress"]
    steps: list[tuple[str, list[str]]] = [
        ("migrate", ["db", "migrate", *pg]),
        (
            "generate",
            ["generate", "--source-dir", str(source), *pg, "--scale", SCALE, "--seed", SEED, "--now", NOW_1],
        ),
        ("run1", ["run", "--source-dir", str(source), *pg, "--now", NOW_1, *run_opts]),
        ("digest1", []),
        (
            "mutate",
            ["generate", "--source-dir", str(source), "--mutate", "--seed", MUTATE_SEED, "--now", NOW_2],
        ),
        ("run2", ["run", "--source-dir", str(source), *pg, "--now", NOW_2, *run_opts]),
        ("digest2", []),
    ]
    result: dict[str, Any] = {
        "checkout": os.getcwd(),
        "git_head": _git(["rev-parse", "HEAD"]),
        "git_dirty": bool(_git(["status", "--porcelain", "--untracked-files=no"])),
        "python": python,
        "schema": schema,
        "workdir": str(work),
        "scenario": {
            "scale": SCALE,
            "seed": SEED,
            "mutate_seed": MUTATE_SEED,
            "now": [NOW_1, NOW_2],
            "chunks": CHUNKS,
            "workers": WORKERS,
        },
        "steps": [],
        "digests": {},
        "exit_codes": {},
        "ok": True,
    }
    for name, args in steps:
        started = time.perf_counter()
        if not args:
            phase = "after_run1" if name == "digest1" else "after_run2"
            digests = digest_dsn(dsn, schema, dump_dir / phase if dump_dir else None)
            result["digests"][phase] = digests
            result["steps"].append({"step": name, "seconds": round(time.perf_counter() - started, 2)})
            continue
        argv = [*cli, *args]
        with open(logs / f"{name}.out", "wb") as out, open(logs / f"{name}.err", "wb") as err:
            code = subprocess.run(argv, stdout=out, stderr=err, check=False).returncode
        seconds = round(time.perf_counter() - started, 2)
        # The DSN may carry a password: the recorded command line shows a placeholder instead.
        shown = ["DSN" if a == dsn else a for a in argv]
        result["steps"].append({"step": name, "argv": shown, "exit_code": code, "seconds": seconds})
        result["exit_codes"][name] = code
        print(f"{name}: exit {code} in {seconds}s", file=sys.stderr)
        if code != 0:
            result["ok"] = False
            # Without a schema or source data nothing later means anything; a failed run is still digested.
            if name in ("migrate", "generate", "mutate"):
                break
    return result


def _write_json(data: dict[str, Any], path: str | None) -> None:
    text = json.dumps(data, indent=2, sort_keys=False)
    print(text)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["scenario"]:
        sp = argparse.ArgumentParser(
            prog="python -m bench.table_content scenario",
            description="Run the behaviour scenario through the project's CLI and digest the tables.",
        )
        sp.add_argument("--python", default=".venv/bin/python", help="interpreter of the checkout under test")
        sp.add_argument("--pg-dsn", required=True)
        sp.add_argument("--schema", required=True, help="an empty or absent schema")
        sp.add_argument("--workdir", required=True, help="source data and step logs go here")
        sp.add_argument("--dump", help="write canonical rows to DIR/after_run1, DIR/after_run2")
        sp.add_argument("--json", help="also write the result JSON here")
        sp.add_argument("--replace", action="store_true", help="drop the schema and source data first")
        a = sp.parse_args(args_in[1:])
        result = scenario(a.python, a.pg_dsn, a.schema, a.workdir, dump=a.dump, replace=a.replace)
        _write_json(result, a.json)
        return 0 if result["ok"] else 1
    p = argparse.ArgumentParser(
        prog="python -m bench.table_content",
        description="Content digests of conflictvisitmaps and conflicts (ids and pipeline stamps ignored).",
        epilog="`scenario --help` for the behaviour scenario.",
    )
    p.add_argument("--pg-dsn", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--dump", help="write the canonical sorted rows of each table into DIR")
    p.add_argument("--json", help="also write the digests here")
    a = p.parse_args(args_in)
    _write_json(digest_dsn(a.pg_dsn, a.schema, a.dump), a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
