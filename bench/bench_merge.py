"""Benchmark: the detect write path and stale cleanup on a large conflictvisitmaps.

Setup (as in the performance notes): CVM with --existing rows (default 1M) of every written column,
then --incoming pairs per run (default 100K: 50% new, 49% unchanged, 1% changed) merged through
PairWriter in batches of --batch-size, by --writers connections in parallel (each its own share of
the pairs, as parallel detect chunks do). Reports pairs/s per run and the median, and the time of stale
cleanup over a --scope-groups scope (default 1M groups). A chunk's memory: bench_chunk_memory.py.

Row contents (--rows):
  detected   (default) every CVM row is a copy of a pair that detection produced from the generator's
             data (a small pipeline run at SF 0.002), with its own keys, SSN and date: real widths and
             NULL patterns (about 1.5 KB per stored row).
  synthetic  every column filled from its name and type: about 3 KB per stored row, above
             PostgreSQL's 2 KB TOAST threshold, so a pessimistic case.

    .venv/bin/python -m bench.bench_merge [--existing 1000000] [--incoming 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from visit_conflicts.store.db import connect
from visit_conflicts.store.detect import PairWriter

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


def fill_cvm_detected(conn: psycopg.Connection, dsn: str, rows: int) -> None:
    """CVM rows copied from detected pairs (see the module docstring), each with its own keys and group."""
    templates = detected_pairs(dsn)
    cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE tpl AS SELECT 0 AS n, {} FROM conflictvisitmaps WITH NO DATA").format(cols)
    )
    with conn.cursor().copy(sql.SQL("COPY tpl (n, {}) FROM STDIN").format(cols)) as copy:
        for n, values in enumerate(templates):
            copy.write_row((n, *values))
    own = {
        "VisitID": sql.SQL("md5('v' || g)::uuid"),
        "ConVisitID": sql.SQL("md5('c' || g)::uuid"),
        "SSN": sql.SQL("lpad((g / 2)::text, 9, '0')"),
        "VisitDate": sql.SQL("DATE '2026-01-01' + (g % 700)"),
    }
    exprs = sql.SQL(", ").join(own.get(c, sql.SQL("t.{}").format(sql.Identifier(c))) for c in PAIR_COLUMNS)
    statement = sql.SQL(
        """INSERT INTO conflictvisitmaps ({cols}, "CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag",
               "CreatedDate")
           SELECT {exprs}, g, 'N', 'N', 'N', TIMESTAMP '2026-01-01'
           FROM generate_series({lo}, {hi}) g JOIN tpl t ON t.n = g % {count}"""
    )
    step = 250_000
    for start in range(1, rows + 1, step):
        conn.execute(
            statement.format(
                cols=cols,
                exprs=exprs,
                lo=sql.Literal(start),
                hi=sql.Literal(min(start + step - 1, rows)),
                count=sql.Literal(len(templates)),
            )
        )
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


def incoming(conn: psycopg.Connection, existing: int, count: int, seed: int) -> list[tuple[Any, ...]]:
    """count pairs: 49% unchanged existing rows, 1% changed, 50% new."""
    rng = random.Random(seed)
    n_existing = count // 2
    ids = rng.sample(range(1, existing + 1), n_existing)
    cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
    rows = conn.execute(
        sql.SQL('SELECT {} FROM conflictvisitmaps WHERE "ID" = ANY(%s)').format(cols), (ids,)
    ).fetchall()
    conn.commit()
    out: list[tuple[Any, ...]] = []
    start_idx = PAIR_COLUMNS.index("SchStartTime")
    visit_idx, con_idx = PAIR_COLUMNS.index("VisitID"), PAIR_COLUMNS.index("ConVisitID")
    n_changed = count // 100
    for i, r in enumerate(rows):
        values: list[Any] = [str(v) if isinstance(v, uuid.UUID) else v for v in r]
        if i < n_changed:
            values[start_idx] = (values[start_idx] or datetime(2026, 1, 1)) + timedelta(
                minutes=rng.randint(1, 90)
            )
        out.append(tuple(values))
    for r in rows[: count - len(rows)]:
        values = [str(v) if isinstance(v, uuid.UUID) else v for v in r]
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


def merge_run(
    dsn: str, schema: str, pairs: pa.Table, run: int, writers: int, batch_size: int
) -> dict[str, Any]:
    """Merge `pairs` by `writers` connections in parallel (share i: every writers-th batch); wall clock."""
    batches = [pairs.slice(i, batch_size) for i in range(0, pairs.num_rows, batch_size)]
    totals: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    conns = [connect(dsn, schema) for _ in range(writers)]
    pair_writers = [
        PairWriter(conn, PAIR_COLUMNS, run_id=f"bench-{run}", chunk=w) for w, conn in enumerate(conns)
    ]

    def share(w: int) -> None:
        try:
            # As detect does: the next batch is prepared while the current one is written.
            counts = pair_writers[w].write_batches(
                batches[w::writers], now=datetime(2026, 11, 27, 9), on_batch=lambda: None
            )
            with lock:
                for k, v in counts.as_dict().items():
                    totals[k] = totals.get(k, 0) + v
        except BaseException as e:  # reported after the join
            errors.append(e)

    def merge() -> None:
        threads = [threading.Thread(target=share, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    try:
        seconds, _ = timed(merge)
    finally:
        for conn in conns:
            conn.close()
    if errors:
        raise errors[0]
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
        if not (args.reuse and _filled(dsn, schema, args.existing)):
            fresh_schema(dsn, schema)
            with connect(dsn, schema) as conn:
                if args.rows == "synthetic":
                    fill_seconds, _ = timed(lambda: fill_cvm(conn, args.existing, schema))
                else:
                    fill_seconds, _ = timed(lambda: fill_cvm_detected(conn, dsn, args.existing))
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
                rows = incoming(conn, args.existing, args.incoming, seed=run + args.seed)
            # Pairs arrive from Snowflake as Arrow result batches; build that form outside the clock.
            pairs = pa.Table.from_arrays(
                [pa.array([r[i] for r in rows]) for i in range(len(PAIR_COLUMNS))],
                names=list(PAIR_COLUMNS),
            )
            del rows
            runs.append(merge_run(dsn, schema, pairs, run + args.seed, args.writers, args.batch_size))
            print(runs[-1])
        if runs:
            write_result("merge", vars(args), runs, "pairs_per_second")
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
    out = {"seconds": round(seconds, 3), "counts": result.counts}
    print(out)
    return out


if __name__ == "__main__":
    main()
