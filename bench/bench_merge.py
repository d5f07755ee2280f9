"""Benchmark: the detect write path and stale cleanup on a large conflictvisitmaps.

Setup (as in the performance notes): CVM with --existing rows (default 1M) of every written column,
then --incoming pairs per run (default 100K; --mix NEW,UNCHANGED,CHANGED percentages, default 50,49,1;
the nightly steady state is about 1,98,1) merged through PairWriter in batches of --batch-size, by
--writers connections in parallel (each its own share of the pairs, as parallel detect chunks do), with
--compare fingerprint (default) or full. The pairs arrive with the fingerprint the pair queries compute
at the source (computed outside the clock; `--fingerprint-at writer`: without it, so the writer converts
and fingerprints every pair, the path of pairs without one). Reports pairs/s per run and the median,
and the time of stale cleanup over a --scope-groups scope (default 1M groups). A chunk's memory:
bench_chunk_memory.py.

The COPY floor, measured in the same run right after each merge: the same incoming rows (already
converted to the CVM column types, outside the clock) sent by binary COPY into an empty table with the
CVM's columns and no index, by the same number of connections, each its own share of the batches.
`floor_ratio` = merge pairs/s / floor rows/s (issue 13: >= 0.9 for the 50/49/1 mix). The same into an
empty table with the CVM's indexes as well: `floor_indexed_ratio` (the merge's new pairs pay those index
entries, in a table of --existing rows).

The stored rows carry the fingerprint the writer would have recorded for them (the steady state after
migration 0030); `--no-fingerprints` leaves it NULL (the first run after the migration).

Row contents (--rows):
  detected   (default) every CVM row is a copy of a pair that detection produced from the generator's
             data (a small pipeline run at SF 0.002), with its own keys, SSN and date: real widths and
             NULL patterns (about 1.5 KB per stored row).
  synthetic  every column filled from its name and type: about 3 KB per stored row, above
             PostgreSQL's 2 KB TOAST threshold, so a pessimistic case.

    .venv/bin/python -m bench.bench_merge [--existing 1000000] [--incoming 100000] [--runs 3]
        [--writers 2] [--mix 50,49,1] [--compare fingerprint|full] [--only merge|stale]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from bench.common import fresh_schema, pg_server, timed, write_result
from devkit.emulation import release_emulation
from devkit.generate import generate
from visit_conflicts.columns import FLAG_COLUMNS, PAIR_COLUMNS
from visit_conflicts.config import Params, load_params
from visit_conflicts.context import RunContext
from visit_conflicts.local_runner import run_pipeline
from visit_conflicts.step_api import Resources
from visit_conflicts.steps import finalize as finalize_step
from visit_conflicts.store import ledger
from visit_conflicts.store.arrow_copy import ArrowCopy, column_types
from visit_conflicts.store.db import connect
from visit_conflicts.store.detect import MergeCompare, PairWriter, pair_fingerprints
from visit_conflicts.store.fingerprint import FINGERPRINT_COLUMN
from visit_conflicts.store.maintenance import vacuum_scratch
from visit_conflicts.store.migrate import migrate

SCHEMA = "bench_merge"


def _expression(column: str, data_type: str, length: int | None) -> sql.Composable:
    """A value for generated row g of the given type, distinct per row where it matters."""
    name = sql.Literal(column)
    if column == "VisitID":
        return sql.SQL("md5('v' || g)::uuid")
    if column == "ConVisitID":
        return sql.SQL("md5('c' || g)::uuid")
    if column == "SSN":
        return sql.SQL("lpad((g / 2)::text, 9, '0')")
    if column == "VisitDate":
        return sql.SQL("DATE '2026-01-01' + (g % 700)")
    if column in FLAG_COLUMNS:
        return sql.SQL("CASE WHEN g % 7 = 0 THEN 'Y' ELSE 'N' END")
    if data_type == "uuid":
        return sql.SQL("md5({} || (g % 5000))::uuid").format(name)
    if data_type in ("bigint", "integer", "smallint"):
        return sql.SQL("(g % 30000)")
    if data_type in ("real", "double precision", "numeric"):
        return sql.SQL("((g % 1000) * 0.25)::real")
    if data_type == "boolean":
        return sql.SQL("(g % 11 = 0)")
    if data_type == "date":
        return sql.SQL("DATE '2026-01-01' + (g % 700)")
    if data_type.startswith("timestamp"):
        return sql.SQL("TIMESTAMP '2026-01-01 08:00' + (g % 5000) * INTERVAL '15 minutes'")
    width = length or 20
    return sql.SQL("left({} || ' ' || (g % 9973), {})").format(name, sql.Literal(width))


TEMPLATE_SCHEMA = "bench_merge_templates"


def detected_pairs(dsn: str) -> list[tuple[Any, ...]]:
    """Pairs (PAIR_COLUMNS) that detection produces from a small generated dataset."""
    workdir = Path(tempfile.mkdtemp(prefix="vc-bench-merge-"))
    release_emulation()
    try:
        fresh_schema(dsn, TEMPLATE_SCHEMA)
        anchor = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
        with connect(dsn, TEMPLATE_SCHEMA) as conn:
            generate(workdir, conn, scale=0.002, seed=5, anchor=anchor)
        params = load_params(
            "local",
            {"chunks": 1, "steps": ["plan", "detect", "finalize"], "target": {"schema": TEMPLATE_SCHEMA}},
        )
        outcome = run_pipeline(
            Resources(pg_dsn=dsn, schema=TEMPLATE_SCHEMA, source_dir=workdir), params, now=anchor
        )
        if outcome.status != "succeeded":
            raise RuntimeError(f"template run ended {outcome.status}")
        with connect(dsn, TEMPLATE_SCHEMA) as conn:
            cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
            return conn.execute(
                sql.SQL('SELECT {} FROM conflictvisitmaps ORDER BY "ID"').format(cols)
            ).fetchall()
    finally:
        release_emulation()
        shutil.rmtree(workdir, ignore_errors=True)


def template_table(dsn: str) -> pa.Table:
    """Detected pairs (PAIR_COLUMNS) as Arrow, from an earlier template run when there is one."""
    cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
    try:
        with connect(dsn, TEMPLATE_SCHEMA, autocommit=True) as conn:
            rows: list[Any] = conn.execute(
                sql.SQL("SELECT {} FROM conflictvisitmaps").format(cols)
            ).fetchall()
    except psycopg.Error:
        rows = []
    if not rows:
        rows = detected_pairs(dsn)
    as_text = [[str(v) if isinstance(v, uuid.UUID) else v for v in r] for r in rows]
    return pa.Table.from_arrays(
        [pa.array([r[i] for r in as_text]) for i in range(len(PAIR_COLUMNS))], names=list(PAIR_COLUMNS)
    )


def fill_cvm_detected(conn: psycopg.Connection, dsn: str, rows: int, *, fingerprinted: bool = True) -> None:
    """CVM rows copied from detected pairs (see the module docstring), each with its own keys and group,
    sent by binary COPY with the fingerprint the pair writer records (unless `fingerprinted` is false).

    Row g (1..rows) is template g % count with VisitID md5('v' || g), ConVisitID md5('c' || g), SSN
    g / 2 zero-padded to 9 digits and VisitDate 2026-01-01 + g % 700, as bench_stale's scope expects.
    """
    extra = ("CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag", "CreatedDate")
    types = column_types(conn, "conflictvisitmaps", (*PAIR_COLUMNS, FINGERPRINT_COLUMN, *extra))
    conn.commit()
    pairs = ArrowCopy(sql.Identifier("conflictvisitmaps"), {c: types[c] for c in PAIR_COLUMNS})
    target = ArrowCopy(sql.Identifier("conflictvisitmaps"), types)
    raw = pairs.convert(template_table(dsn))
    first_day = (datetime(2026, 1, 1) - datetime(1970, 1, 1)).days
    step = 20_000
    for start in range(1, rows + 1, step):
        g = np.arange(start, min(start + step, rows + 1), dtype=np.int64)
        part = raw.take(pa.array(g % raw.num_rows))
        own = {
            "VisitID": pa.array([hashlib.md5(f"v{i}".encode()).digest() for i in g], pa.binary(16)),
            "ConVisitID": pa.array([hashlib.md5(f"c{i}".encode()).digest() for i in g], pa.binary(16)),
            "SSN": pa.array([str(i // 2).rjust(9, "0") for i in g], pa.string()),
            "VisitDate": pa.array((first_day + g % 700).astype(np.int32)).cast(pa.date32()),
        }
        for name, values in own.items():
            part = part.set_column(part.schema.get_field_index(name), name, values)
        n = len(g)
        fingerprint = pair_fingerprints(part, PAIR_COLUMNS) if fingerprinted else pa.nulls(n, pa.int64())
        part = part.append_column(FINGERPRINT_COLUMN, fingerprint)
        for name, values in {
            "CONFLICTID": pa.array(g),
            "StatusFlag": pa.array(["N"] * n),
            "InServiceFlag": pa.array(["N"] * n),
            "PTOFlag": pa.array(["N"] * n),
            "CreatedDate": pa.array([datetime(2026, 1, 1)] * n, pa.timestamp("us")),
        }.items():
            part = part.append_column(name, values)
        with conn.cursor() as cur:
            target.copy(cur, target.convert(part))
        conn.commit()
    conn.execute("SELECT setval(pg_get_serial_sequence('conflicts', 'CONFLICTID'), %s)", (rows + 1,))
    conn.commit()


def fill_cvm(conn: psycopg.Connection, rows: int, schema: str = SCHEMA) -> None:
    types = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            """SELECT column_name, data_type, character_maximum_length FROM information_schema.columns
               WHERE table_schema = %s AND table_name = 'conflictvisitmaps'""",
            (schema,),
        ).fetchall()
    }
    columns = list(PAIR_COLUMNS)
    exprs = [_expression(c, *types[c]) for c in columns]
    statement = sql.SQL(
        """INSERT INTO conflictvisitmaps ({cols}, "CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag",
               "CreatedDate")
           SELECT {exprs}, g, 'N', 'N', 'N', TIMESTAMP '2026-01-01'
           FROM generate_series({lo}, {hi}) g"""
    )
    step = 250_000
    for start in range(1, rows + 1, step):
        # Literal bounds and no parameters: the expressions use '%' (modulo), which a parameterised
        # statement would read as a placeholder.
        conn.execute(
            statement.format(
                cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
                exprs=sql.SQL(", ").join(exprs),
                lo=sql.Literal(start),
                hi=sql.Literal(min(start + step - 1, rows)),
            )
        )
        conn.commit()
    conn.execute("SELECT setval(pg_get_serial_sequence('conflicts', 'CONFLICTID'), %s)", (rows + 1,))
    conn.commit()


def incoming(
    conn: psycopg.Connection, existing: int, count: int, seed: int, mix: tuple[int, int, int]
) -> list[tuple[Any, ...]]:
    """count pairs: mix = percentages of new, unchanged (stored rows as they are) and changed pairs."""
    rng = random.Random(seed)
    n_new, n_unchanged = count * mix[0] // 100, count * mix[1] // 100
    n_changed = count - n_new - n_unchanged
    # Stored rows read back as the templates of every kind (new pairs copy one with fresh keys).
    n_read = max(n_unchanged + n_changed, min(n_new, existing), 1)
    ids = rng.sample(range(1, existing + 1), n_read)
    cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
    rows = conn.execute(
        sql.SQL('SELECT {} FROM conflictvisitmaps WHERE "ID" = ANY(%s)').format(cols), (ids,)
    ).fetchall()
    conn.commit()
    as_text: list[list[Any]] = [[str(v) if isinstance(v, uuid.UUID) else v for v in r] for r in rows]
    out: list[tuple[Any, ...]] = []
    start_idx = PAIR_COLUMNS.index("SchStartTime")
    visit_idx, con_idx = PAIR_COLUMNS.index("VisitID"), PAIR_COLUMNS.index("ConVisitID")
    for i, values in enumerate(as_text[: n_unchanged + n_changed]):
        values = list(values)
        if i < n_changed:
            values[start_idx] = (values[start_idx] or datetime(2026, 1, 1)) + timedelta(
                minutes=rng.randint(1, 90)
            )
        out.append(tuple(values))
    for i in range(n_new):
        values = list(as_text[i % len(as_text)])
        values[visit_idx] = str(uuid.UUID(int=rng.getrandbits(128)))
        values[con_idx] = str(uuid.UUID(int=rng.getrandbits(128)))
        out.append(tuple(values))
    rng.shuffle(out)
    return out


def _filled(dsn: str, schema: str, rows: int) -> bool:
    try:
        with connect(dsn, schema, autocommit=True) as conn:
            # An exact count: reltuples after ANALYZE is an estimate that can fall just short.
            found = conn.execute("SELECT count(*) FROM conflictvisitmaps").fetchone()
    except Exception:
        return False
    return found is not None and found[0] >= rows


def in_parallel(work: list[Any], writers: int, share: Any) -> float:
    """Run share(w, work[w::writers]) on `writers` threads; wall-clock seconds (errors re-raised)."""
    errors: list[BaseException] = []

    def run(w: int) -> None:
        try:
            share(w, work[w::writers])
        except BaseException as e:  # reported after the join
            errors.append(e)

    def all_of_them() -> None:
        threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    seconds, _ = timed(all_of_them)
    if errors:
        raise errors[0]
    return seconds


def copy_floor(
    dsn: str, schema: str, pairs: pa.Table, writers: int, batch_size: int, *, indexed: bool = False
) -> dict[str, Any]:
    """The same rows by raw binary COPY into an empty table of the CVM's columns (with its indexes when
    `indexed`), by `writers` connections (share i: every writers-th batch), converted outside the clock."""
    table = "bench_copy_floor"
    like = "INCLUDING DEFAULTS INCLUDING IDENTITY" + (" INCLUDING INDEXES" if indexed else "")
    with connect(dsn, schema, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE conflictvisitmaps {})").format(
                sql.Identifier(table), sql.SQL(like)
            )
        )
        types = column_types(conn, table, PAIR_COLUMNS)
    copier = ArrowCopy(sql.Identifier(table), types)
    converted = copier.convert(pairs)
    batches = [converted.slice(i, batch_size) for i in range(0, converted.num_rows, batch_size)]
    conns = [connect(dsn, schema) for _ in range(writers)]

    def share(w: int, mine: list[pa.Table]) -> None:
        conn = conns[w]
        for batch in mine:
            with conn.transaction(), conn.cursor() as cur:
                copier.copy(cur, batch)

    try:
        seconds = in_parallel(batches, writers, share)
    finally:
        for conn in conns:
            conn.close()
        with connect(dsn, schema, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    return {"seconds": round(seconds, 3), "rows_per_second": round(pairs.num_rows / seconds)}


def with_source_fingerprint(dsn: str, schema: str, pairs: pa.Table) -> pa.Table:
    """`pairs` with the `PairFingerprint` column the pair query computes at the source (outside the
    clock, as Snowflake computes it). Here it is the construction the fill stored (over the values as
    stored), so an unchanged pair's fingerprint is its stored one, as the query's HASH is after a night
    that stored it."""
    with connect(dsn, schema, autocommit=True) as conn:
        types = column_types(conn, "conflictvisitmaps", PAIR_COLUMNS)
    converted = ArrowCopy(sql.Identifier("conflictvisitmaps"), types).convert(pairs)
    return pairs.append_column(FINGERPRINT_COLUMN, pair_fingerprints(converted, PAIR_COLUMNS))


def merge_run(
    dsn: str,
    schema: str,
    pairs: pa.Table,
    run: int,
    writers: int,
    batch_size: int,
    compare: MergeCompare = "fingerprint",
) -> dict[str, Any]:
    """Merge `pairs` by `writers` connections in parallel (share i: every writers-th batch); wall clock."""
    batches = [pairs.slice(i, batch_size) for i in range(0, pairs.num_rows, batch_size)]
    totals: dict[str, int] = {}
    lock = threading.Lock()
    conns = [connect(dsn, schema) for _ in range(writers)]
    pair_writers = [
        PairWriter(conn, PAIR_COLUMNS, run_id=f"bench-{run}", chunk=w, compare=compare)
        for w, conn in enumerate(conns)
    ]

    def share(w: int, mine: list[pa.Table]) -> None:
        # As detect does: the next batch is prepared while the current one is written.
        counts = pair_writers[w].write_batches(mine, now=datetime(2026, 11, 27, 9), on_batch=lambda: None)
        with lock:
            for k, v in counts.as_dict().items():
                totals[k] = totals.get(k, 0) + v

    try:
        seconds = in_parallel(batches, writers, share)
    finally:
        for conn in conns:
            conn.close()
    return {
        "seconds": round(seconds, 3),
        "pairs_per_second": round(pairs.num_rows / seconds),
        "counts": totals,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--existing", type=int, default=1_000_000)
    ap.add_argument("--incoming", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--writers", type=int, default=1, help="parallel writer connections")
    ap.add_argument(
        "--mix",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        default=(50, 49, 1),
        help="percentages of new, unchanged and changed incoming pairs",
    )
    ap.add_argument("--compare", choices=("fingerprint", "full"), default="fingerprint")
    ap.add_argument(
        "--fingerprint-at",
        choices=("source", "writer"),
        default="source",
        help="source: the pairs arrive with their fingerprint, as the pair queries compute it; writer: "
        "the writer converts every pair and computes it (the path of pairs without one)",
    )
    ap.add_argument(
        "--no-fingerprints", action="store_true", help="stored rows without a fingerprint (first run)"
    )
    ap.add_argument("--no-floor", action="store_true", help="skip the COPY floor measurement")
    ap.add_argument("--rows", choices=("detected", "synthetic"), default="detected")
    ap.add_argument("--scope-groups", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("merge", "stale"), help="measure only the merge or only stale cleanup")
    ap.add_argument("--seed", type=int, default=int(time.time()), help="new pair ids differ per seed")
    ap.add_argument(
        "--reuse", action="store_true", help="keep a CVM filled by an earlier run of this benchmark"
    )
    args = ap.parse_args()
    schema = SCHEMA if args.rows == "synthetic" else f"{SCHEMA}_{args.rows}"
    with pg_server(args.pg_dsn) as dsn:
        if args.reuse and _filled(dsn, schema, args.existing):
            with psycopg.connect(dsn) as conn:
                migrate(conn, schema)  # migrations added since the fill
        else:
            fresh_schema(dsn, schema)
            with connect(dsn, schema) as conn:
                if args.rows == "synthetic":
                    fill_seconds, _ = timed(lambda: fill_cvm(conn, args.existing, schema))
                else:
                    fill_seconds, _ = timed(
                        lambda: fill_cvm_detected(
                            conn, dsn, args.existing, fingerprinted=not args.no_fingerprints
                        )
                    )
            print(f"filled {args.existing} CVM rows ({args.rows}) in {fill_seconds:.1f}s")
        with connect(dsn, schema, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE conflictvisitmaps")
            size = conn.execute(
                "SELECT pg_relation_size('conflictvisitmaps') / greatest(reltuples, 1) FROM pg_class"
                " WHERE oid = 'conflictvisitmaps'::regclass"
            ).fetchone()
        print(f"stored row size: {size[0] if size else 0:.0f} bytes")
        runs = []
        for run in range(args.runs if args.only != "stale" else 0):
            with connect(dsn, schema) as conn:
                rows = incoming(conn, args.existing, args.incoming, seed=run + args.seed, mix=args.mix)
            # Pairs arrive from Snowflake as Arrow result batches; build that form outside the clock.
            pairs = pa.Table.from_arrays(
                [pa.array([r[i] for r in rows]) for i in range(len(PAIR_COLUMNS))],
                names=list(PAIR_COLUMNS),
            )
            del rows
            if args.fingerprint_at == "source":
                pairs = with_source_fingerprint(dsn, schema, pairs)
            result = merge_run(
                dsn, schema, pairs, run + args.seed, args.writers, args.batch_size, args.compare
            )
            if not args.no_floor:
                for suffix, indexed in (("", False), ("_indexed", True)):
                    floor = copy_floor(dsn, schema, pairs, args.writers, args.batch_size, indexed=indexed)
                    result[f"copy_floor{suffix}_rows_per_second"] = floor["rows_per_second"]
                    result[f"floor{suffix}_ratio"] = round(
                        result["pairs_per_second"] / floor["rows_per_second"], 3
                    )
            runs.append(result)
            print(runs[-1])
        if runs:
            write_result(
                "merge",
                vars(args),
                runs,
                "pairs_per_second",
                also=(
                    "copy_floor_rows_per_second",
                    "floor_ratio",
                    "copy_floor_indexed_rows_per_second",
                    "floor_indexed_ratio",
                ),
            )
        if args.only != "merge":
            stale_runs = [
                bench_stale(dsn, schema, args.scope_groups, seed=(args.seed + r) % 1000)
                for r in range(args.runs)
            ]
            write_result("stale_cleanup", vars(args), stale_runs, "seconds")


def bench_stale(dsn: str, schema: str, groups: int, seed: int) -> dict[str, Any]:
    """Stale cleanup over a scope of `groups` (VisitDate, SSN) keys, most of which exist in CVM."""
    run_id = f"stale-{seed}-{uuid.uuid4().hex[:6]}"
    params = Params(chunks=1)
    res = Resources(pg_dsn=dsn, schema=schema)
    ctx = RunContext.create(params, now=datetime(2026, 11, 27, 14, tzinfo=UTC), run_id=run_id)
    with res.pg_conn(autocommit=True) as conn:
        vacuum_scratch(conn)  # dead rows an earlier invocation left (untimed)
        ledger.start_run(conn, ctx, params, steps=["finalize"], full_run=False)
        ledger.step_started(conn, run_id, "detect", 0)
        ledger.step_finished(conn, run_id, "detect", chunk=0, status="succeeded")
        # Scope: the groups of CVM rows (as a real delta touches existing groups), plus unknown ones.
        conn.execute(
            """INSERT INTO run_scope_group (run_id, chunk, "VisitDate", "SSN")
               SELECT %s, 0, DATE '2026-01-01' + (g %% 700), lpad((g / 2)::text, 9, '0')
               FROM generate_series(1, %s) g""",
            (run_id, groups),
        )
        # Seen: every pair of the scope except one in a thousand (those become stale).
        conn.execute(
            """INSERT INTO run_seen_pair (run_id, chunk, "VisitID", "ConVisitID")
               SELECT %s, 0, c."VisitID", c."ConVisitID" FROM conflictvisitmaps c
               WHERE c."ID" %% 1000 <> %s AND c."ID" <= %s""",
            (run_id, seed, groups * 2),
        )
    seconds, result = timed(lambda: finalize_step.run(res, ctx, params))
    with res.pg_conn(autocommit=True) as conn:
        ledger.finish_run(conn, run_id, status="succeeded")
        conn.execute("DELETE FROM run_scope_group WHERE run_id = %s", (run_id,))
        conn.execute("DELETE FROM run_seen_pair WHERE run_id = %s", (run_id,))
        # As between two nightly runs (the maintenance step): the next run must not scan this one's dead
        # rows (without it the second and later runs took 6.6 s against 1.5 s for the first).
        vacuum_scratch(conn)
    out = {"seconds": round(seconds, 3), "counts": result.counts}
    print(out)
    return out


if __name__ == "__main__":
    main()
