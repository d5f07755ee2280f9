"""Benchmark: peak memory of one detect chunk's write path over --pairs pairs (default 1M).

A detect chunk holds one source result batch at a time and merges it in batches of `batch_size`
(visit_conflicts/steps/detect.py). This benchmark runs that write path (`PairWriter.write_batch` on
Arrow batches) over a stream of --pairs pairs that is produced batch by batch, as result batches of the
real connector are downloaded one at a time, and reports the process's peak RSS (ru_maxrss) next to its
RSS before the first batch. The pairs are copies of pairs that detection produced from generated data
(the templates of bench_merge), each with new keys, so rows have real widths.

The Snowflake emulation is not in the loop: fakesnow materialises a whole query result in memory, which
the real connector does not, so a chunk measured through the emulation would measure the emulation.

    .venv/bin/python -m bench.bench_chunk_memory [--pairs 1000000] [--batch-size 5000]
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa

from bench.bench_merge import TEMPLATE_SCHEMA, detected_pairs
from bench.common import fresh_schema, pg_server, write_result
from visit_conflicts.columns import PAIR_COLUMNS
from visit_conflicts.store.db import connect
from visit_conflicts.store.detect import PairWriter

SCHEMA = "bench_chunk_memory"


def rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def templates(dsn: str) -> pa.Table:
    """Detected pairs as Arrow, from an earlier bench_merge template run if there is one."""
    cols = ", ".join(f'"{c}"' for c in PAIR_COLUMNS)
    try:
        with connect(dsn, TEMPLATE_SCHEMA, autocommit=True) as conn:
            rows: list[Any] = conn.execute(f"SELECT {cols} FROM conflictvisitmaps").fetchall()
    except Exception:
        rows = []
    if not rows:
        rows = detected_pairs(dsn)
    as_text = [[str(v) if isinstance(v, uuid.UUID) else v for v in r] for r in rows]
    return pa.Table.from_arrays(
        [pa.array([r[i] for r in as_text]) for i in range(len(PAIR_COLUMNS))], names=list(PAIR_COLUMNS)
    )


def stream(template: pa.Table, pairs: int, batch_size: int) -> Iterator[pa.Table]:
    """`pairs` rows in batches, each batch built only when asked for (new keys, template columns)."""
    visit_idx, con_idx = PAIR_COLUMNS.index("VisitID"), PAIR_COLUMNS.index("ConVisitID")
    sent = 0
    while sent < pairs:
        n = min(batch_size, pairs - sent)
        batch = template.take(pa.array([(sent + i) % template.num_rows for i in range(n)]))
        batch = batch.set_column(visit_idx, "VisitID", pa.array([str(uuid.uuid4()) for _ in range(n)]))
        batch = batch.set_column(con_idx, "ConVisitID", pa.array([str(uuid.uuid4()) for _ in range(n)]))
        sent += n
        yield batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-dsn")
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    args = ap.parse_args()
    with pg_server(args.pg_dsn) as dsn:
        template = templates(dsn)
        fresh_schema(dsn, SCHEMA)
        with connect(dsn, SCHEMA) as conn:
            writer = PairWriter(conn, PAIR_COLUMNS, run_id="bench-memory", chunk=0)
            before = rss_mb()
            started = time.perf_counter()
            # The detect step's loop: the next batch is produced and prepared while one is written.
            total = writer.write_batches(
                stream(template, args.pairs, args.batch_size),
                now=datetime(2026, 11, 27, 9),
                on_batch=lambda: None,
            )
            seconds = time.perf_counter() - started
        run = {
            "pairs": args.pairs,
            "batch_size": args.batch_size,
            "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "seconds": round(seconds, 1),
            "counts": total.as_dict(),
        }
        print(run)
        write_result("chunk_memory", vars(args), [run], "peak_rss_mb")


if __name__ == "__main__":
    main()
