"""The production-volume harness (issue 13): per scale factor, a first load and a nightly incremental run of
the real pipeline, measured per step, beside the raw-COPY floor and the legacy write path on the same rows.

    .venv/bin/python -m bench.harness [--scales 0.01,0.1,0.25] [--repetitions 1] [--publish]   (make bench)

Per scale factor:

1. `generate` the source (the emulation under --work-dir) into a fresh database `<prefix>_base`.
2. First load: `run_pipeline` with `since` = the manifest's `first_load_since`, so every group of the
   window is detected (production's table after years of nightly runs).
3. Warm-up nights (--warm-nights, default 2): `mutate` and an incremental run on the base database, a
   day apart. The night right after the first load is not a steady state: its cutoff reaches back before
   the load, so status's delta scope is every pair the load wrote and staging applies the load's whole
   change log. From the second night on, a run's scope is the previous night's writes plus its own, and
   the load's scratch rows (deleted by its restore) have been freed by the maintenance step's VACUUM.
4. `mutate` the measured night (profile --profile), then capture the pairs the incremental run will
   stream: the same pipeline's plan and detect, in a scratch schema of the base database, with the
   incremental run's cutoff and clock (every pair lands there as new, so that table *is* the stream).
   The legacy's own Snowflake reads (delta keys, deleted ids, payer/provider rows) are taken then too.
5. Per repetition, from copies of the base database (`CREATE DATABASE ... TEMPLATE`, a file copy: both
   sides start from the same bytes): our incremental run (`run_pipeline`, as `visit-conflicts run`
   does), then in another copy the legacy algorithm (bench/legacy/: staging, merge, stale cleanup,
   status) on the captured rows, and the raw-COPY floor (binary COPY of the same rows into an empty table
   with the CVM's columns and no index, by as many connections as the run has workers).
6. `--statement-profile`: one more incremental run, untimed, on its own copy with every statement logged
   (that database only); the server's seconds per step and statement (bench/statement_profile.py).

Per step it records wall time, rows read and written (from the step's measured counts), rows/s, peak RSS
and PostgreSQL busy time. Measured through the public entry points only (`generate`, `mutate`,
`run_pipeline`, the ledger's report), so it measures whatever the code does when it runs.

How the per-step numbers are taken, and their limits:

- Each run runs in a subprocess of its own (a fresh interpreter: nothing of the generator or an earlier
  run in its memory). A sampling thread reads the process's peak RSS (VmHWM) every 50 ms and resets it
  (`/proc/self/clear_refs` = 5), so each sample is the exact peak of its interval; a step's peak RSS is
  the largest sample inside the step's ledger interval (+-50 ms at the edges). The process holds the
  Snowflake emulation (DuckDB) too: RSS includes its memory, which a production task does not carry.
- PostgreSQL busy time: the same thread counts, every 50 ms, whether any backend of the run's database
  is `active` (pg_stat_activity). Detect's busy time is the part of the step in which PostgreSQL works
  (the merge), excluding the Snowflake (emulation) query; it is compared with the legacy merge.
- Wall times of steps come from the run ledger (the report), as an operator reads them.
- The machine is shared: numbers vary with its load, recorded as the load average.

Writes `<results-dir>/harness-<time>.json`, the charts `step_time_vs_scale.png` and
`incremental_vs_legacy.png` into `<charts-dir>` and the table into `--report`; `--publish` writes
bench/RESULTS.md and bench/charts/ (committed), else everything goes to --results-dir.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.common import RESULTS_DIR, pg_server
from visit_conflicts.paths import LOCAL_DIR, PROJECT_ROOT

SCHEMA = "conflict_dev"
STREAM_SCHEMA = "harness_stream"
ANCHOR = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
DEFAULT_SCALES = "0.01,0.1,0.25"
SAMPLE_SECONDS = 0.05
# The steps the legacy algorithm is compared on: ours (step, how it is timed) -> the legacy part.
COMPARED = {
    "merge": ("detect", "pg_busy_seconds"),
    "stale cleanup": ("finalize", "seconds"),
    "status": ("status", "seconds"),
    "staging": ("staging", "seconds"),
}
# Which measured counts are a step's rows read and rows written (absent counts are skipped).
ROWS_READ = {
    "staging": ("ppr_source_rows", "payers_source_rows", "staging_rows"),
    "plan": ("groups",),
    "detect": ("pairs_read",),
    "finalize": ("scope_groups",),
    "inservice": ("pairs_read",),
    "status": ("scope_rows", "fetch_deleted_visit_ids"),
}
ROWS_WRITTEN = {
    "staging": ("ppr_inserted", "ppr_updated", "payers_inserted", "payers_updated", "staging_rows"),
    "plan": ("groups",),
    "detect": ("inserted", "updated"),
    "finalize": ("resolved",),
    "inservice": ("inserted", "updated", "resolved"),
    "maintenance": ("tables_vacuumed",),
    "restore": ("scratch_rows",),
}
# Disk per unit of scale, for the check before a scale factor starts: the peak measured at SF 0.25 (source
# emulation 3.5 GB, base database after the first load 13.1 GB, a copy per run: 29.9 GB, i.e. 120 GB per
# unit; 5d89140, where the writers set Phase C's columns and the load no longer leaves three dead row
# versions per pair; 52.1 GB at e7f21db), so about 120 GB at SF 1.
GB_PER_SCALE = 120.0


# --- the subprocess side: one phase per process --------------------------------------------------------
class Sampler:
    """Every SAMPLE_SECONDS: the process's peak RSS since the last sample, and whether PostgreSQL works."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples: list[tuple[float, float, bool]] = []  # (epoch seconds, peak RSS MB, pg active)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="harness-sampler", daemon=True)

    @staticmethod
    def _peak_mb() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
                    break
            else:
                peak = 0.0
        try:  # reset the high-water mark: the next sample is the peak of the next interval
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass
        return peak

    def _loop(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            # A statement profile (--statement-profile) is of the run's statements, not of these.
            with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                conn.execute("SET log_min_duration_statement = -1")
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            while not self._stop.is_set():
                row = conn.execute(query).fetchone()
                self.samples.append((time.time(), self._peak_mb(), bool(row and row[0])))
                self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> dict[str, float]:
        inside = [s for s in self.samples if start <= s[0] <= end + SAMPLE_SECONDS]
        return {
            "peak_rss_mb": round(max((s[1] for s in inside), default=0.0), 1),
            "pg_busy_seconds": round(sum(SAMPLE_SECONDS for s in inside if s[2]), 2),
        }


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _step_name(step: str) -> str:
    """The step a ledger entry belongs to: chunks of a mapped step and the phases of a family (status_b,
    status_a and status_c as "status") together."""
    from visit_conflicts.pipeline import STEP_BY_NAME

    known = STEP_BY_NAME.get(step)
    return (known.family if known is not None else None) or step


def step_spans(report: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per step, from its first start to its last end (epoch seconds), from the run's report."""
    spans: dict[str, tuple[float, float]] = {}
    for s in report["steps"]:
        if s["started_at"] is None or s["seconds"] is None:
            continue
        start = _epoch(s["started_at"])
        name = _step_name(s["step"])
        first, last = spans.get(name, (start, start + s["seconds"]))
        spans[name] = (min(first, start), max(last, start + s["seconds"]))
    return spans


def step_table(report: dict[str, Any], sampler: Sampler) -> dict[str, dict[str, Any]]:
    """Per step (chunks of a mapped step together, and the phases of a family, such as status_b, status_a
    and status_c as "status"): wall time, counts, rows, rows/s, RSS, busy time."""
    counts: dict[str, dict[str, Any]] = {}
    for s in report["steps"]:
        if s["started_at"] is None or s["seconds"] is None:
            continue
        totals = counts.setdefault(_step_name(s["step"]), {})
        for key, value in (s["counts"] or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
            else:
                totals[key] = value
    steps: dict[str, dict[str, Any]] = {}
    for name, (start, end) in step_spans(report).items():
        c = counts[name]
        numeric = {k: v for k, v in c.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        read = sum(numeric.get(k, 0) for k in ROWS_READ.get(name, ()))
        if name == "status":
            written = sum(v for k, v in numeric.items() if not k.startswith(("scope_", "fetch_", "skipped_")))
        else:
            written = sum(numeric.get(k, 0) for k in ROWS_WRITTEN.get(name, ()))
        seconds = end - start
        steps[name] = {
            "seconds": round(seconds, 3),
            "rows_read": read,
            "rows_written": written,
            "rows_per_second": round(max(read, written) / seconds) if seconds > 0 else None,
            **sampler.window(start, end),
            "counts": c,
        }
    return steps


def phase_generate(args: dict[str, Any]) -> dict[str, Any]:
    from devkit.generate import generate
    from visit_conflicts.store.db import connect

    with connect(args["dsn"], SCHEMA) as conn:
        started, cpu = time.perf_counter(), time.process_time()
        manifest = generate(
            Path(args["source_dir"]), conn, scale=args["scale"], seed=args["seed"], anchor=ANCHOR
        )
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    visits = manifest["counts"]["FACTVISITCALLPERFORMANCE_CR"]
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "visits": visits,
        "visits_per_second": round(visits / seconds),
        "visits_per_cpu_second": round(visits / cpu_seconds),
        "counts": manifest["counts"],
        "bulk": manifest["bulk"],
        "first_load_since": manifest["first_load_since"],
    }


def _params(args: dict[str, Any], schema: str, **extra: Any) -> Any:
    from visit_conflicts.config import load_params

    overrides: dict[str, Any] = {"workers": args["workers"], "target": {"schema": schema}, **extra}
    if args.get("chunks"):
        overrides["chunks"] = args["chunks"]
    return load_params("local", overrides)


def phase_run(args: dict[str, Any]) -> dict[str, Any]:
    """One pipeline run (the first load or an incremental run), sampled."""
    from visit_conflicts.local_runner import run_pipeline
    from visit_conflicts.step_api import Resources

    extra = {"since": args["since"]} if args.get("since") else {}
    params = _params(args, SCHEMA, **extra)
    res = Resources(pg_dsn=args["dsn"], schema=SCHEMA, source_dir=Path(args["source_dir"]))
    log, log_start = None, 0
    if args.get("statement_profile"):
        from bench.statement_profile import server_log

        with psycopg.connect(args["dsn"]) as conn:
            log = server_log(conn)
        log_start = log.stat().st_size if log is not None else 0
    with Sampler(args["dsn"]) as sampler:
        started = time.perf_counter()
        outcome = run_pipeline(res, params, now=datetime.fromisoformat(args["now"]))
        seconds = time.perf_counter() - started
    if not outcome.ok:
        raise RuntimeError(f"the run ended {outcome.status}: {outcome.error}\n{outcome.text}")
    with psycopg.connect(args["dsn"]) as conn:
        volumes = _volumes(conn)
    result = {
        "seconds": round(seconds, 2),
        "report_seconds": outcome.report["seconds"],
        "cutoff": outcome.report["cutoff"],
        "steps": step_table(outcome.report, sampler),
        "peak_rss_mb": round(max((s[1] for s in sampler.samples), default=0.0), 1),
        "volumes": volumes,
    }
    if args.get("statement_profile"):
        result["statement_profile"] = _statement_profile(log, log_start, step_spans(outcome.report))
    return result


def _statement_profile(log: Path | None, start: int, spans: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """What the server logged since offset `start` of its log, per step and statement."""
    from bench.statement_profile import parse, summarise

    if log is None:
        return {"error": "the server's log is not readable from here (another machine or user)"}
    with log.open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode("utf-8", errors="replace")
    return {"log": str(log), "steps": summarise(parse(text), spans)}


def _volumes(conn: psycopg.Connection[Any]) -> dict[str, int]:
    row = conn.execute(
        sql.SQL(
            """SELECT count(*) FILTER (WHERE "InServiceFlag" = 'N'),
                      count(*) FILTER (WHERE "InServiceFlag" = 'Y'),
                      count(DISTINCT "CONFLICTID") FILTER (WHERE "InServiceFlag" = 'N'),
                      (SELECT count(*) FROM {staging})
               FROM {cvm}"""
        ).format(
            cvm=sql.Identifier(SCHEMA, "conflictvisitmaps"),
            staging=sql.Identifier(SCHEMA, "conflictlog_staging"),
        )
    ).fetchone()
    assert row is not None
    return {
        "regular_pairs": row[0],
        "inservice_pairs": row[1],
        "regular_parents": row[2],
        "staging_rows": row[3],
    }


def phase_prepare(args: dict[str, Any]) -> dict[str, Any]:
    """The night's changes, the stream the incremental run will read, and the legacy's Snowflake reads."""
    from bench.legacy import steps as legacy_steps
    from visit_conflicts.local_runner import run_pipeline
    from visit_conflicts.step_api import Resources
    from visit_conflicts.store.migrate import migrate

    source = Path(args["source_dir"])
    now = datetime.fromisoformat(args["now"])
    mutation, mutate_seconds = _mutate(args)
    cutoff = datetime.fromisoformat(args["cutoff"])
    with psycopg.connect(args["dsn"], autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(STREAM_SCHEMA)))
    with psycopg.connect(args["dsn"]) as conn:
        migrate(conn, STREAM_SCHEMA)
        for table in ("settings", "mph", "excluded_ssn", "excluded_agency"):
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(STREAM_SCHEMA, table)))
            conn.execute(
                sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}").format(
                    sql.Identifier(STREAM_SCHEMA, table), sql.Identifier(SCHEMA, table)
                )
            )
        conn.commit()
    params = _params(args, STREAM_SCHEMA, steps=["plan", "detect"], since=cutoff.isoformat())
    started = time.perf_counter()
    outcome = run_pipeline(
        Resources(pg_dsn=args["dsn"], schema=STREAM_SCHEMA, source_dir=source), params, now=now
    )
    if not outcome.ok:
        raise RuntimeError(f"the stream capture ended {outcome.status}: {outcome.error}")
    window = (
        datetime.fromisoformat(outcome.report["window"][0]).date(),
        datetime.fromisoformat(outcome.report["window"][1]).date(),
    )
    reads: dict[str, Any] = {
        "delta_keys": [
            (d.isoformat(), s)
            for d, s in legacy_steps.delta_keys(source, args["dsn"], SCHEMA, cutoff, window)
        ],
        "deleted_ids": legacy_steps.deleted_ids(source, cutoff, window),
        "payer_provider_rows": [list(map(_text, r)) for r in legacy_steps.payer_provider_rows(source)],
        "window": [window[0].isoformat(), window[1].isoformat()],
    }
    Path(args["reads_file"]).write_text(json.dumps(reads))
    with psycopg.connect(args["dsn"]) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(STREAM_SCHEMA, "conflictvisitmaps"))
        ).fetchone()
    return {
        "mutation": mutation,
        "mutate_seconds": mutate_seconds,
        "stream_pairs": int(row[0]) if row else 0,
        "stream_capture_seconds": round(time.perf_counter() - started, 2),
        "delta_keys": len(reads["delta_keys"]),
        "deleted_ids": len(reads["deleted_ids"]),
    }


def _mutate(args: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """One night's changes to the source (`mutate_seed`, `profile`, clock `now`): the summary without
    its counts, and the seconds it took."""
    from devkit.generate import mutate

    started = time.perf_counter()
    summary = mutate(
        Path(args["source_dir"]),
        seed=args["mutate_seed"],
        anchor=datetime.fromisoformat(args["now"]),
        profile=args["profile"],
    )
    seconds = round(time.perf_counter() - started, 2)
    return {k: v for k, v in summary.items() if k != "counts"}, seconds


def phase_night(args: dict[str, Any]) -> dict[str, Any]:
    """A warm-up night on the base database: mutate the source, then an incremental run (sampled)."""
    mutation, mutate_seconds = _mutate(args)
    return {"mutation": mutation, "mutate_seconds": mutate_seconds, **phase_run(args)}


def _text(value: Any) -> Any:
    return None if value is None else str(value)


PHASES = {"generate": phase_generate, "run": phase_run, "night": phase_night, "prepare": phase_prepare}


class PhaseFailed(RuntimeError):
    """A phase's process ended badly. Its scale factor is reported as not measured and the harness goes
    on with the next one: a scale that does not fit (say, killed for memory) must not lose the others."""

    def __init__(self, phase: str, returncode: int, stderr: str) -> None:
        if returncode < 0:
            how = f"killed by signal {-returncode}"
            if -returncode == signal.SIGKILL:
                how += " (SIGKILL: the kernel's out-of-memory killer, when nobody else sent it)"
        else:
            last = [line for line in stderr.strip().splitlines() if line.strip()]
            how = f"exit code {returncode}" + (f": {last[-1].strip()}" if last else "")
        self.phase, self.reason = phase, f"phase {phase} {how}"
        super().__init__(f"harness {self.reason}\n{stderr[-4000:]}")


def run_phase(name: str, args: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its result comes back as JSON in a file."""
    out = work / f"phase-{name}-{uuid.uuid4().hex[:6]}.json"
    argv = [sys.executable, "-m", "bench.harness", "_phase", name, json.dumps(args), str(out)]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PhaseFailed(name, done.returncode, done.stderr)
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    result["phase_seconds"] = round(time.perf_counter() - started, 2)
    return result


# --- the orchestrator ---------------------------------------------------------------------------------
def _dsn(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def _admin(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True)


def _drop_db(dsn: str, name: str) -> None:
    with _admin(dsn) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def database_copy(dsn: str, template: str, name: str) -> Iterator[str]:
    """A file copy of `template` as database `name` (dropped afterwards); yields its DSN."""
    _drop_db(dsn, name)
    with _admin(dsn) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield _dsn(dsn, name)
    finally:
        _drop_db(dsn, name)


def _db_bytes(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def legacy_run(dsn: str, reads: dict[str, Any]) -> dict[str, Any]:
    """The legacy algorithm on a copy of the base database, in its order: staging, merge, stale, status."""
    from datetime import date

    from bench.legacy import merge, steps
    from visit_conflicts.columns import PAIR_COLUMNS

    window = (date.fromisoformat(reads["window"][0]), date.fromisoformat(reads["window"][1]))
    with psycopg.connect(dsn) as conn:
        cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
        rows = conn.execute(
            sql.SQL('SELECT {} FROM {} WHERE "InServiceFlag" = %s ORDER BY "ID"').format(
                cols, sql.Identifier(STREAM_SCHEMA, "conflictvisitmaps")
            ),
            ("N",),
        ).fetchall()
    pairs = [dict(zip(PAIR_COLUMNS, r, strict=True)) for r in rows]
    out: dict[str, Any] = {}
    started = time.perf_counter()
    out["staging_detail"] = steps.staging(
        dsn, SCHEMA, [tuple(r) for r in reads["payer_provider_rows"]], window
    )
    out["staging"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "rows": out["staging_detail"]["rows_inserted"],
    }
    started = time.perf_counter()
    merged = merge.merge_pairs(dsn, SCHEMA, pairs)
    out["merge"] = {"seconds": round(time.perf_counter() - started, 3), "rows": len(pairs), **merged["stats"]}
    keys = [(date.fromisoformat(d), s) for d, s in reads["delta_keys"]]
    started = time.perf_counter()
    stale = merge.stale_cleanup(dsn, SCHEMA, keys, merged["seen"])
    out["stale cleanup"] = {"seconds": round(time.perf_counter() - started, 3), "rows": len(keys), **stale}
    started = time.perf_counter()
    status = steps.status(dsn, SCHEMA, reads["deleted_ids"], window)
    out["status"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "rows": status["rows_affected"],
        "units": status["units"],
    }
    for part in ("staging", "merge", "stale cleanup", "status"):
        seconds = out[part]["seconds"]
        out[part]["rows_per_second"] = round(out[part]["rows"] / seconds) if seconds > 0 else None
    return out


def copy_floor(dsn: str, connections: int) -> dict[str, Any]:
    """Binary COPY of the stream's rows into an empty table with the CVM's columns (no index), by
    `connections` sessions at once, each its share; the rows are read out beforehand (not timed)."""
    from visit_conflicts.columns import PAIR_COLUMNS

    cols = sql.SQL(", ").join(map(sql.Identifier, PAIR_COLUMNS))
    shares: list[bytes] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS harness_copy_floor")
        conn.execute(
            sql.SQL("CREATE TABLE harness_copy_floor (LIKE {} INCLUDING DEFAULTS INCLUDING IDENTITY)").format(
                sql.Identifier(SCHEMA, "conflictvisitmaps")
            )
        )
        for share in range(connections):
            query = sql.SQL(
                'COPY (SELECT {} FROM {} WHERE "InServiceFlag" = {} AND "ID" % {} = {}) '
                "TO STDOUT (FORMAT binary)"
            ).format(
                cols,
                sql.Identifier(STREAM_SCHEMA, "conflictvisitmaps"),
                sql.Literal("N"),
                sql.Literal(connections),
                sql.Literal(share),
            )
            with conn.cursor().copy(query) as copy:
                shares.append(b"".join(bytes(block) for block in copy))
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE \"InServiceFlag\" = 'N'").format(
                sql.Identifier(STREAM_SCHEMA, "conflictvisitmaps")
            )
        ).fetchone()
    rows = int(row[0]) if row else 0
    errors: list[BaseException] = []

    def load(data: bytes) -> None:
        try:
            with psycopg.connect(dsn) as conn:
                statement = sql.SQL("COPY harness_copy_floor ({}) FROM STDIN (FORMAT binary)").format(cols)
                with conn.cursor().copy(statement) as copy:
                    copy.write(data)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(data,)) for data in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE harness_copy_floor")
    return {
        "seconds": round(seconds, 3),
        "rows": rows,
        "connections": connections,
        "rows_per_second": round(rows / seconds) if seconds > 0 else None,
    }


def one_scale(dsn: str, scale: float, opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    prefix = opts.db_prefix
    base = f"{prefix}_base"
    source = work / f"sf{scale:g}" / "source"
    shutil.rmtree(source.parent, ignore_errors=True)
    source.parent.mkdir(parents=True)
    _drop_db(dsn, base)
    with _admin(dsn) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(base)))
    base_dsn = _dsn(dsn, base)
    from visit_conflicts.store.migrate import migrate

    with psycopg.connect(base_dsn) as conn:
        migrate(conn, SCHEMA)
    common = {"dsn": base_dsn, "source_dir": str(source), "seed": opts.seed, "workers": opts.workers}
    result: dict[str, Any] = {"scale": scale}
    try:
        print(f"== SF {scale:g}: generate", flush=True)
        result["generate"] = run_phase("generate", {**common, "scale": scale}, work)
        print(f"   {result['generate']['visits']:,} visits in {result['generate']['seconds']} s", flush=True)
        first_chunks = opts.first_load_chunks or max(1, min(64, round(scale * 100)))
        print(f"== SF {scale:g}: first load ({first_chunks} chunks)", flush=True)
        result["first_load"] = run_phase(
            "run",
            {
                **common,
                "now": ANCHOR.isoformat(),
                "since": result["generate"]["first_load_since"],
                "chunks": first_chunks,
            },
            work,
        )
        print(f"   {result['first_load']['seconds']} s, {result['first_load']['volumes']}", flush=True)
        # Warm-up nights (untimed against the legacy): the night right after the first load is not a
        # steady state. Its watermark cutoff reaches back before the first load, so status's delta scope
        # holds every pair the load wrote, and staging applies the load's whole change log. From the
        # second night on, the scope is the previous night's writes plus this night's, as in production.
        last_start = ANCHOR
        result["warmup"] = []
        for night in range(1, opts.warm_nights + 1):
            last_start = ANCHOR + timedelta(days=night)
            print(f"== SF {scale:g}: warm-up night {night}/{opts.warm_nights} (mutate and run)", flush=True)
            warm = run_phase(
                "night",
                {
                    **common,
                    "now": last_start.isoformat(),
                    "profile": opts.profile,
                    "mutate_seed": opts.seed + 100 + night,
                    "chunks": opts.chunks,
                },
                work,
            )
            result["warmup"].append(warm)
            print(f"   {warm['seconds']} s", flush=True)
        now = last_start + timedelta(days=1)
        # The incremental run's cutoff (D2): min(now - lookback, the watermark = the last run's start).
        cutoff = min(now - timedelta(hours=36), last_start)
        reads_file = work / f"sf{scale:g}" / "legacy-reads.json"
        print(f"== SF {scale:g}: mutate ({opts.profile}) and capture the stream", flush=True)
        result["prepare"] = run_phase(
            "prepare",
            {
                **common,
                "now": now.isoformat(),
                "cutoff": cutoff.isoformat(),
                "profile": opts.profile,
                "mutate_seed": opts.seed + 1,
                "reads_file": str(reads_file),
                "chunks": opts.chunks,
            },
            work,
        )
        print(f"   {result['prepare']['stream_pairs']:,} pairs in the stream", flush=True)
        reads = json.loads(reads_file.read_text())
        result["disk"] = {"source_bytes": _dir_bytes(source), "base_database_bytes": _db_bytes(base_dsn)}
        result["incremental"], result["legacy"], result["floor"] = [], [], []
        # The measured night's run, on a copy of the base database each time (its "dsn").
        incremental = {**common, "now": now.isoformat(), "chunks": opts.chunks}
        for rep in range(opts.repetitions):
            print(f"== SF {scale:g}: incremental run {rep + 1}/{opts.repetitions}", flush=True)
            with database_copy(dsn, base, f"{prefix}_run") as run_dsn:
                run = run_phase("run", {**incremental, "dsn": run_dsn}, work)
                result["disk"]["copy_after_run_bytes"] = _db_bytes(run_dsn)
            if run["cutoff"] and datetime.fromisoformat(run["cutoff"]) != cutoff:
                run["note"] = (
                    f"cutoff {run['cutoff']} differs from the captured stream's {cutoff.isoformat()}"
                )
            result["incremental"].append(run)
            print(f"   {run['seconds']} s", flush=True)
            print(
                f"== SF {scale:g}: legacy algorithm and COPY floor {rep + 1}/{opts.repetitions}", flush=True
            )
            with database_copy(dsn, base, f"{prefix}_legacy") as legacy_dsn:
                result["legacy"].append(legacy_run(legacy_dsn, reads))
                result["floor"].append(copy_floor(legacy_dsn, opts.workers))
            print(
                f"   legacy {[(k, v['seconds']) for k, v in result['legacy'][-1].items() if 'seconds' in v]}",
                flush=True,
            )
        if opts.statement_profile:
            print(f"== SF {scale:g}: statement profile (one more incremental run, untimed)", flush=True)
            name = f"{prefix}_profile"
            with database_copy(dsn, base, name) as profile_dsn:
                with _admin(dsn) as conn:
                    # This database only: the measured runs and the legacy are never logged.
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = 0").format(
                            sql.Identifier(name)
                        )
                    )
                profiled = run_phase(
                    "run", {**incremental, "dsn": profile_dsn, "statement_profile": True}, work
                )
            result["statement_profile"] = {
                "seconds": profiled["seconds"],
                **profiled["statement_profile"],
            }
        result["ratios"] = ratios(result)
        result["disk"]["peak_bytes"] = (
            result["disk"]["source_bytes"]
            + result["disk"]["base_database_bytes"]
            + result["disk"]["copy_after_run_bytes"]
        )
    finally:
        if not opts.keep:
            _drop_db(dsn, base)
            shutil.rmtree(source.parent, ignore_errors=True)
    return result


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Legacy seconds over ours, per compared step (medians over the repetitions)."""
    out: dict[str, Any] = {}
    for part, (step, measure) in COMPARED.items():
        ours = _median([r["steps"].get(step, {}).get(measure) for r in result["incremental"]])
        legacy = _median([r[part]["seconds"] for r in result["legacy"]])
        out[part] = {
            "ours_step": step,
            "ours_measure": measure,
            "ours_seconds": ours,
            "legacy_seconds": legacy,
            "speedup": round(legacy / ours, 1) if ours and legacy else None,
        }
    floor = _median([f["seconds"] for f in result["floor"]])
    merge_ours = out["merge"]["ours_seconds"]
    out["merge"]["copy_floor_seconds"] = floor
    out["merge"]["floor_over_ours"] = round(floor / merge_ours, 2) if floor and merge_ours else None
    return out


def _git_head() -> str | None:
    """The commit measured (with '+dirty' when tracked files differ from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024**2, 1),
        "postgresql": row[0] if row else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["_phase"]:
        name, payload, out = args_in[1], json.loads(args_in[2]), Path(args_in[3])
        out.write_text(json.dumps(PHASES[name](payload), default=str))
        return 0
    ap = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scales", default=DEFAULT_SCALES, help=f"comma-separated scale factors (default {DEFAULT_SCALES})"
    )
    ap.add_argument("--repetitions", type=int, default=1, help="incremental runs (and legacy runs) per scale")
    ap.add_argument(
        "--pg-dsn", help="a server where we may create databases (default: the project's bench server)"
    )
    ap.add_argument("--db-prefix", default="vc_harness", help="names of the databases the harness creates")
    ap.add_argument("--work-dir", default=str(LOCAL_DIR / "bench-harness"), help="source emulations go here")
    ap.add_argument("--results-dir", default=str(RESULTS_DIR), help="the JSON result goes here")
    ap.add_argument(
        "--charts-dir", default=None, help="charts (default: the results dir; bench/charts with --publish)"
    )
    ap.add_argument(
        "--report",
        default=None,
        help="the Markdown table (default: results dir; bench/RESULTS.md with --publish)",
    )
    ap.add_argument(
        "--publish", action="store_true", help="write bench/RESULTS.md and bench/charts/ (committed)"
    )
    ap.add_argument("--profile", choices=("nightly", "bulk"), default="nightly", help="the night's changes")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--chunks", type=int, default=None, help="chunks of the incremental run (default: config)"
    )
    ap.add_argument("--first-load-chunks", type=int, default=None, help="default: 100 x scale, 1-64")
    ap.add_argument(
        "--warm-nights",
        type=int,
        default=2,
        help="nightly runs between the first load and the measured night (0: measure the first night)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the base database and the source")
    ap.add_argument(
        "--statement-profile",
        action="store_true",
        help="one more incremental run per scale, untimed, with every statement logged: the server's "
        "seconds per step and statement (bench/statement_profile.py)",
    )
    opts = ap.parse_args(args_in)
    scales = [float(s) for s in opts.scales.split(",") if s.strip()]
    results_dir = Path(opts.results_dir)
    charts_dir = Path(opts.charts_dir or (PROJECT_ROOT / "bench" / "charts" if opts.publish else results_dir))
    report = Path(
        opts.report or (PROJECT_ROOT / "bench" / "RESULTS.md" if opts.publish else results_dir / "RESULTS.md")
    )
    work = Path(opts.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    command = "python -m bench.harness " + " ".join(args_in)
    with pg_server(opts.pg_dsn) as dsn:
        data: dict[str, Any] = {
            "harness": "production-volume",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "git": _git_head(),
            "machine": machine(dsn),
            "options": {k: v for k, v in vars(opts).items() if k != "pg_dsn"},
            "scales": [],
            "skipped": [],
        }
        for scale in scales:
            free = shutil.disk_usage(work).free
            need = GB_PER_SCALE * scale * 1024**3
            if free < need:
                data["skipped"].append(
                    {
                        "scale": scale,
                        "reason": f"needs ~{need / 1024**3:.0f} GB, {free / 1024**3:.0f} GB free",
                    }
                )
                print(f"== SF {scale:g} skipped: {data['skipped'][-1]['reason']}", flush=True)
                continue
            try:
                data["scales"].append(one_scale(dsn, scale, opts, work))
            except PhaseFailed as failed:
                data["skipped"].append({"scale": scale, "reason": f"failed: {failed.reason}"})
                print(f"== SF {scale:g} not measured: {failed}", flush=True)
        data["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    json_path = results_dir / f"harness-{stamp}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    from bench.harness_report import write_charts, write_markdown

    charts = write_charts(data, charts_dir)
    write_markdown(data, report, charts, json_path)
    print(json.dumps({"json": str(json_path), "report": str(report), "charts": [str(c) for c in charts]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
