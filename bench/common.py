"""Shared benchmark plumbing: a PostgreSQL server (the project's own unless --pg-dsn), schemas, results.

Results are JSON files in bench/results/ with the machine, the parameters, every measured run and the
median, so numbers in notes can be traced to a command.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from devkit.local_postgres import PgServer
from visit_conflicts.paths import LOCAL_DIR, PROJECT_ROOT
from visit_conflicts.store.migrate import migrate

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


@contextmanager
def pg_server(dsn: str | None = None) -> Iterator[str]:
    """A DSN: the given one, else a benchmark server of the project's own (kept between runs)."""
    if dsn:
        yield dsn
        return
    server = PgServer.load_or_create(LOCAL_DIR / "bench-pg")
    server.start()
    yield server.dsn


def fresh_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    with psycopg.connect(dsn) as conn:
        migrate(conn, schema)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(
    name: str, params: dict[str, Any], runs: list[dict[str, Any]], key: str, also: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Write the runs and the median of `key` (and of every key in `also` the runs carry)."""
    values = [r[key] for r in runs]
    result = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "params": params,
        "runs": runs,
        "median": {
            key: statistics.median(values),
            **{k: statistics.median(r[k] for r in runs) for k in also if all(k in r for r in runs)},
        },
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(
        json.dumps(
            {
                "benchmark": name,
                "median": result["median"],
                "file": str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path),
            }
        )
    )
    return result
