"""Command line: `python -m visit_conflicts` or `visit-conflicts`.

Commands (stable contract, listed in README.md): `local up|down`, `db migrate`, `generate`, `run`,
`report`; plus `unlock` to release the lock of a run whose process died, `explain` to say why a visit
or a pair is (not, or no longer) in conflict, and `source check`, the smoke test of the Snowflake SQL on a
real account (docs/source-check.md).

The PostgreSQL DSN comes from `--pg-dsn`, else `VC_PG_DSN`, else the local stack started by
`local up`. Exit codes: 0 success, 1 the run failed or was cancelled, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from visit_conflicts import progress
from visit_conflicts.history import HISTORY_RUNS
from visit_conflicts.paths import LOCAL_DIR

PG_DIR = LOCAL_DIR / "pg"
DEFAULT_SOURCE_DIR = LOCAL_DIR / "snowflake"
DEFAULT_REPORT_DIR = LOCAL_DIR / "reports"


class UsageError(Exception):
    pass


def _devkit(module: str) -> Any:
    """A module of the development kit, which only development installs carry (not the images)."""
    import importlib

    try:
        return importlib.import_module(f"devkit.{module}")
    except ImportError:
        raise UsageError(
            "this is a development command and needs the development kit (devkit/ and "
            "requirements-dev.txt, installed by `make venv`)"
        ) from None


def _local_dsn() -> str | None:
    state = PG_DIR / "server.json"
    if not state.exists():
        return None
    return str(_devkit("local_postgres").PgServer.load_or_create(PG_DIR).dsn)


def _pg_dsn(args: argparse.Namespace) -> str:
    dsn = getattr(args, "pg_dsn", None) or os.environ.get("VC_PG_DSN") or _local_dsn()
    if not dsn:
        raise UsageError("no PostgreSQL given: pass --pg-dsn, set VC_PG_DSN, or start one with `local up`")
    return str(dsn)


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone offset, e.g. 2026-11-27T06:00:00+00:00")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text: str) -> list[int]:
    try:
        return [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated chunk numbers: {text!r}") from None


# -- commands ------------------------------------------------------------------------------------------


def cmd_local(args: argparse.Namespace) -> int:
    PgServer = _devkit("local_postgres").PgServer

    if args.action == "up":
        started = time.perf_counter()
        server = PgServer.load_or_create(PG_DIR, require_cron=args.with_cron)
        server.start()
        print(
            f"PostgreSQL running ({server.bin_dir.parent.name}, data in {server.data_dir}) "
            f"in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        print(server.dsn)
    elif args.action == "down":
        if not (PG_DIR / "server.json").exists():
            print("no local PostgreSQL to stop", file=sys.stderr)
            return 0
        server = PgServer.load_or_create(PG_DIR)
        if args.destroy:
            server.destroy()
            print(f"stopped and removed {PG_DIR}", file=sys.stderr)
        else:
            server.stop()
            print("stopped", file=sys.stderr)
    else:
        dsn = _local_dsn()
        running = dsn is not None and PgServer.load_or_create(PG_DIR).is_running()
        print(f"{'running' if running else 'stopped'} {dsn or ''}".strip())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    import psycopg

    from visit_conflicts.store.migrate import migrate

    with psycopg.connect(_pg_dsn(args)) as conn:
        applied = migrate(conn, args.schema)
    print(
        f"schema {args.schema}: {len(applied)} migration(s) applied"
        + (": " + ", ".join(applied) if applied else "")
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from visit_conflicts.store.db import connect

    generate, mutate = _devkit("generate").generate, _devkit("generate").mutate

    anchor = args.now or datetime.now(UTC)
    started = time.perf_counter()
    if args.mutate:
        summary = mutate(
            Path(args.source_dir), seed=args.seed, anchor=anchor, fraction=args.fraction, profile=args.profile
        )
        print(
            json.dumps(
                {"seconds": round(time.perf_counter() - started, 2), "mutation": summary},
                indent=2,
                default=str,
            )
        )
        return 0
    with (
        connect(_pg_dsn(args), args.schema) as conn,
        progress.showing(progress.wanted(force=args.progress, off=args.no_progress)),
    ):
        manifest = generate(
            Path(args.source_dir),
            conn,
            scale=args.scale,
            seed=args.seed,
            anchor=anchor,
            bad_input=args.bad_input,
        )
    elapsed = time.perf_counter() - started
    counts = manifest.counts
    visits = counts.get("FACTVISITCALLPERFORMANCE_CR", 0)
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 2),
                "counts": counts,
                "visits_per_second": round(visits / elapsed) if elapsed and visits else None,
            },
            indent=2,
        )
    )
    return 0


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key in ("lookback_hours", "chunks", "workers", "batch_size", "status_scope", "inservice_scope"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    if args.since is not None:
        overrides["since"] = args.since.isoformat()
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.chunk_subset is not None:
        overrides["chunk_subset"] = args.chunk_subset
    if getattr(args, "dry_run", False):
        overrides["dry_run"] = True
    if args.params:
        try:
            extra = json.loads(args.params)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--params is not valid JSON: {exc.msg}") from None
        if not isinstance(extra, dict):
            raise UsageError("--params must be a JSON object")
        overrides.update(extra)
    overrides["target"] = {"schema": args.schema}
    return overrides


def cmd_run(args: argparse.Namespace) -> int:
    from visit_conflicts.config import load_params
    from visit_conflicts.local_runner import run_pipeline
    from visit_conflicts.step_api import Resources

    params = load_params(args.env, _overrides(args))
    source_dir = Path(args.source_dir) if args.source_dir else None
    if source_dir is not None and not (source_dir / "ANALYTICS.db").exists():
        raise UsageError(
            f"--source-dir {source_dir} holds no Snowflake emulation (ANALYTICS.db); run `generate`"
        )
    res = Resources(pg_dsn=_pg_dsn(args), schema=params.target.schema_name, source_dir=source_dir)
    if source_dir is None:
        from visit_conflicts.secrets import EnvSecrets

        secret_name = params.source.secret_name
        res.credentials_loader = lambda: EnvSecrets().get(secret_name)
    outcome = run_pipeline(
        res,
        params,
        now=args.now,
        run_date=args.run_date,
        run_id=args.run_id,
        report_dir=Path(args.report_dir),
        progress=progress.wanted(force=args.progress, off=args.no_progress),
    )
    if outcome.refused:
        # Nothing was opened or written: one line says why and what to fix.
        print(f"error: run refused: {outcome.error}", file=sys.stderr)
        return 2
    print(outcome.text)
    if outcome.html_path:
        print(f"HTML report: {outcome.html_path}")
    if outcome.history_path:
        print(f"History page: {outcome.history_path}")
    if source_dir is not None:
        example = _planted_example(source_dir)
        if example:
            print(example)
    return 0 if outcome.ok else 1


def _planted_example(source_dir: Path) -> str | None:
    """For a run on generated data: a planted conflict to try `explain` on (from the generator's
    manifest.json, which only development data has)."""
    try:
        cases = json.loads((source_dir / "manifest.json").read_text())["cases"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    preferred = ("rule7_distance_just_above_eta", "rule5_visit_overlap", "rule1_same_schedule")
    for name in (*preferred, *sorted(cases)):
        pairs = (cases.get(name) or {}).get("expect", {}).get("pairs") or []
        if pairs:
            first = pairs[0]
            return (
                f"Explain a planted case ({name}): visit-conflicts explain --source-dir {source_dir} "
                f"--pair {first['visit']} {first['con_visit']}"
            )
    return None


def cmd_report(args: argparse.Namespace) -> int:
    from visit_conflicts.report import build_report, render_html, render_text
    from visit_conflicts.store.db import connect

    if args.history < 0:
        raise UsageError(f"--history must be 0 or more runs, got {args.history}")
    with connect(_pg_dsn(args), args.schema, autocommit=True) as conn:
        try:
            report = build_report(conn, args.schema, args.run_id, history=args.history)
        except LookupError as exc:
            raise UsageError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    elif args.format == "html":
        print(render_html(report))
    else:
        print(render_text(report))
    return 0


def _source_resources(args: argparse.Namespace, params: Any) -> Any:
    """Resources for a command that reads the source: the emulation at --source-dir, else real Snowflake
    with the credentials `run` uses."""
    from visit_conflicts.step_api import Resources

    source_dir = Path(args.source_dir) if args.source_dir else None
    if source_dir is not None and not (source_dir / "ANALYTICS.db").exists():
        raise UsageError(
            f"--source-dir {source_dir} holds no Snowflake emulation (ANALYTICS.db); run `generate`"
        )
    res = Resources(pg_dsn=_pg_dsn(args), schema=params.target.schema_name, source_dir=source_dir)
    if source_dir is None:
        from visit_conflicts.secrets import EnvSecrets

        secret_name = params.source.secret_name
        res.credentials_loader = lambda: EnvSecrets().get(secret_name)
    return res


def cmd_explain(args: argparse.Namespace) -> int:
    from visit_conflicts.config import load_params
    from visit_conflicts.explain import explain
    from visit_conflicts.explain_text import render_text

    params = load_params(args.env, {"target": {"schema": args.schema}})
    res = _source_resources(args, params)
    pair = (args.pair[0], args.pair[1]) if args.pair else None
    result = explain(res, params, visit=args.visit, pair=pair)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(render_text(result))
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """Release a run whose owner is gone: its cleanup (pg_cron, InProgressFlag, report) is performed with
    its own parameters and it is marked 'abandoned', as a takeover would (D20)."""
    from visit_conflicts.config import params_of_run
    from visit_conflicts.ownership import RunOwner, alive_reason
    from visit_conflicts.step_api import Resources
    from visit_conflicts.step_runner import close_run
    from visit_conflicts.store import ledger
    from visit_conflicts.store.db import connect

    dsn = _pg_dsn(args)
    with connect(dsn, args.schema, autocommit=True) as conn:
        run = ledger.get_run(conn, args.run_id)
        if run is None or run["status"] != "running":
            raise UsageError(f"run {args.run_id} is not active; nothing to release")
        owner = RunOwner.from_json(run["owner"]) if run.get("owner") else None
        alive = alive_reason(conn, owner)
    if alive and not args.force:
        raise UsageError(f"run {args.run_id} is alive ({alive}); stop it first, or pass --force")
    result = close_run(
        Resources(pg_dsn=dsn, schema=args.schema),
        params_of_run(run["params"]),
        args.run_id,
        outcome="abandoned",
        error="released by an operator (`visit-conflicts unlock`)",
    )
    restored = {k: v for k, v in result.counts.items() if k in ("pg_cron", "in_progress_flag")}
    print(f"run {args.run_id} released and marked abandoned; restored: {restored or 'nothing'}")
    return 0


def cmd_source(args: argparse.Namespace) -> int:
    from visit_conflicts.config import load_params
    from visit_conflicts.environment import environment_name
    from visit_conflicts.source.check import (
        DEFAULT_REFERENCE,
        default_cutoff,
        default_day,
        run_source_check,
    )
    from visit_conflicts.source.connection import connect_source

    params = load_params(args.env or environment_name(), {})
    zone = params.business_timezone
    day = args.day or default_day(zone)
    cutoff = args.since or default_cutoff(day, zone)
    # Plan sizes a run's chunks from its delta; the check needs a count to hash by: the one given, the
    # configured fixed count, else the largest a plan may choose.
    chunks = args.chunks or params.chunks or params.max_chunks
    if not 0 <= args.chunk < chunks:
        raise UsageError(f"--chunk {args.chunk} is outside 0..{chunks - 1} (--chunks {chunks})")
    source_dir = Path(args.source_dir) if args.source_dir else None
    if source_dir is not None:
        if not (source_dir / "ANALYTICS.db").exists():
            raise UsageError(f"--source-dir {source_dir} holds no Snowflake emulation (ANALYTICS.db)")
        engine = "emulation"
        credentials = None
    else:
        from visit_conflicts.adapters import secrets_provider

        engine = "snowflake"
        try:
            credentials = secrets_provider().get(params.source.secret_name)
        except Exception as exc:
            raise UsageError(
                f"the source check runs only when Snowflake credentials are given ({exc}); "
                "or pass --source-dir to check the emulation"
            ) from None
    ref, cvm_types = DEFAULT_REFERENCE, None
    if args.target:
        ref, cvm_types = _target_reference(args, params)
    conn = connect_source(
        source_dir,
        database=params.source.database,
        schema=params.source.schema_name,
        credentials=credentials,
    )
    try:
        report = run_source_check(
            conn,
            engine=engine,
            day=day,
            time_zone=zone,
            cutoff=cutoff,
            chunks=chunks,
            chunk=args.chunk,
            batch_size=args.batch_size,
            ref=ref,
            cvm_types=cvm_types,
            progress=lambda message: print(f"... {message}", file=sys.stderr),
        )
    finally:
        conn.close()
    report.facts["reference_data"] = (
        "the target's" if args.target else "built-in (no exclusions, the legacy fixture's speed bands)"
    )
    print(report.text())
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    return 0 if report.ok else 1


def _target_reference(args: argparse.Namespace, params: Any) -> tuple[Any, dict[str, str]]:
    """Reference data and the pair columns' conflictvisitmaps types (InService's too) from the target
    (read only)."""
    from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS
    from visit_conflicts.store.arrow_copy import column_types
    from visit_conflicts.store.db import connect
    from visit_conflicts.store.reference import load_reference_data

    dsn = getattr(args, "pg_dsn", None) or os.environ.get("VC_PG_DSN")
    if not dsn:
        from visit_conflicts.adapters import secrets_provider
        from visit_conflicts.secrets import postgres_dsn

        dsn = postgres_dsn(secrets_provider().get(params.target.secret_name))
    schema = args.schema or params.target.schema_name
    with connect(dsn, schema, autocommit=True) as conn:
        return load_reference_data(conn), column_types(conn, "conflictvisitmaps", INSERVICE_PAIR_COLUMNS)


# -- parser --------------------------------------------------------------------------------------------


def _add_pg(p: argparse.ArgumentParser, *, schema: bool = True) -> None:
    p.add_argument("--pg-dsn", help="PostgreSQL DSN (default: $VC_PG_DSN, else the local stack)")
    if schema:
        p.add_argument("--schema", default="conflict_dev", help="target schema (default conflict_dev)")


SOURCE_CHECK_HELP = """\
Smoke test of the pipeline's Snowflake SQL on a real account, before the first deployment and after
any change to sql/snowflake/ (docs/source-check.md). It runs only when Snowflake credentials are given
(locally VC_SECRET_SNOWFLAKE or VC_SNOWFLAKE_* variables, in AWS the environment's snowflake secret),
or against the emulation with --source-dir. It reads only; its temp tables live in its own session.

On one day (--day) and one chunk (--chunk of --chunks), in one session, it:
  1. describes every source view (DESCRIBE VIEW, else DESCRIBE TABLE) and compares names and types
     with sql/snowflake/schema/ (a missing column or another type fails);
  2. runs every statement of the pipeline in pipeline order, through the steps' own functions,
     including detect's pair stream with a small batch size so that several result chunks are joined;
  3. runs the compatibility probes (sql/snowflake/check/probe_*.sql) and compares the answers with
     the emulation's recorded ones (or Snowflake's documented ones where the two are known to differ).

Exit code 0 when everything passed, 1 when a check failed (the report says which), 2 on bad usage.
In AWS: a one-off run of the Fargate image with the command
  python -m visit_conflicts source check --env <environment> --target
"""


def _add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress", action="store_true", help="progress bars on stderr even when it is not a terminal"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default off in AWS)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visit-conflicts",
        description="Find caregivers booked at two agencies at once and maintain the conflict tables.",
    )
    parser.add_argument("--log-level", default=None, help="log level of the logs on stderr (default WARNING)")
    parser.add_argument(
        "--log-format",
        choices=["human", "json"],
        default=None,
        help="logs on stderr as human-readable lines (default on a terminal) or JSON with tracebacks "
        "(the default in AWS)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "local",
        help="start/stop the project's own PostgreSQL server (prints the DSN)",
        description="Manage the local PostgreSQL server (data under .local/pg, loopback only).",
    )
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument(
        "--with-cron",
        action="store_true",
        help="use the distribution's PostgreSQL with pg_cron (apt package postgresql-15-cron)",
    )
    p.add_argument("--destroy", action="store_true", help="with `down`: also delete the data folder")
    p.set_defaults(func=cmd_local)

    p = sub.add_parser(
        "db",
        help="database administration: `db migrate`",
        description="Create or upgrade the target schema (idempotent, records versions).",
    )
    p.add_argument("action", choices=["migrate"])
    _add_pg(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "generate",
        help="write synthetic source data and reference tables",
        description="Write deterministic synthetic visits into the Snowflake emulation at "
        "--source-dir and the reference tables (settings, mph, excluded_*) into PostgreSQL; "
        "writes manifest.json (planted cases) next to the data.",
    )
    p.add_argument("--source-dir", default=str(DEFAULT_SOURCE_DIR), help="Snowflake emulation directory")
    _add_pg(p)
    p.add_argument("--scale", type=float, default=0.001, help="scale factor; 1 = production volume")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed -> same data)")
    p.add_argument(
        "--now",
        type=_timestamp,
        default=None,
        help="anchor 'now' of the data (ISO with offset; default: current time)",
    )
    p.add_argument(
        "--mutate",
        action="store_true",
        help="instead of regenerating, change a small fraction of visits (next day's delta)",
    )
    p.add_argument(
        "--fraction",
        type=float,
        default=None,
        help="with --mutate: share of the window's visits re-saved (default: the profile's)",
    )
    p.add_argument(
        "--profile",
        choices=["nightly", "bulk"],
        default="nightly",
        help="with --mutate: one night's changes like production's (default), or a bulk refresh that "
        "touches most groups of the window",
    )
    p.add_argument(
        "--bad-input",
        action="store_true",
        help="also plant the bad-input catalogue: one group per kind of bad source data (D23), listed "
        "with the counter it moves in manifest.json",
    )
    _add_progress(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "run",
        help="run the pipeline (all steps by default)",
        description="Run preflight, the steps and the closing steps (restore, report) against the given "
        "parts. Exit code 0 only when every step succeeded.",
    )
    p.add_argument("--source-dir", default=None, help="Snowflake emulation directory (else real Snowflake)")
    _add_pg(p)
    p.add_argument("--env", default="local", help="environment config file config/<env>.toml")
    p.add_argument(
        "--now", type=_timestamp, default=None, help="fix 'now' (ISO with offset) for reproducible runs"
    )
    p.add_argument("--run-date", type=_date, default=None, help="override the run date (YYYY-MM-DD)")
    p.add_argument("--run-id", default=None, help="run id (default: generated)")
    p.add_argument(
        "--steps", type=_csv, default=None, help="comma-separated subset of steps, e.g. plan,detect"
    )
    p.add_argument("--lookback-hours", type=int, default=None, help="delta lookback in hours (D2)")
    p.add_argument("--since", type=_timestamp, default=None, help="explicit delta cutoff (ISO with offset)")
    p.add_argument("--chunks", type=int, default=None, help="number of detection chunks")
    p.add_argument("--chunk-subset", type=_ints, default=None, help="only these chunks, e.g. 0,3")
    p.add_argument("--workers", type=int, default=None, help="chunks detected in parallel")
    p.add_argument("--batch-size", type=int, default=None, help="rows per streamed batch")
    p.add_argument("--status-scope", choices=["delta", "window"], default=None)
    p.add_argument("--inservice-scope", choices=["delta", "window"], default=None)
    p.add_argument("--params", default=None, help="more parameter overrides as a JSON object")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="compute everything, report what would change (counts per step and reason, samples of "
        "pairs), then roll it all back; the ledger keeps the run, marked as a dry run",
    )
    p.add_argument(
        "--report-dir", default=str(DEFAULT_REPORT_DIR), help="where the HTML/JSON/text report goes"
    )
    _add_progress(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "source",
        help="`source check`: smoke test of the Snowflake SQL on a real account (or the emulation)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=SOURCE_CHECK_HELP,
    )
    p.add_argument("action", choices=["check"])
    p.add_argument(
        "--source-dir", default=None, help="check the Snowflake emulation in DIR instead of real Snowflake"
    )
    p.add_argument(
        "--env",
        default=None,
        help="environment config file config/<env>.toml (default: $VC_ENVIRONMENT or local)",
    )
    p.add_argument(
        "--day", type=_date, default=None, help="the visit date checked (default: yesterday, business zone)"
    )
    p.add_argument(
        "--since",
        type=_timestamp,
        default=None,
        help="delta cutoff (ISO with offset; default: a week before --day)",
    )
    p.add_argument(
        "--chunks",
        type=int,
        default=None,
        help="chunk count (default: the environment's `chunks`, else `max_chunks`)",
    )
    p.add_argument("--chunk", type=int, default=0, help="the chunk checked (default 0)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=997,
        help="pair batch size, small so batches straddle result chunks (default 997)",
    )
    p.add_argument(
        "--target",
        action="store_true",
        help="read reference data and conflictvisitmaps column types from the target PostgreSQL "
        "(--pg-dsn, $VC_PG_DSN, else the environment's postgres secret); read only",
    )
    p.add_argument("--pg-dsn", help="with --target: the PostgreSQL DSN")
    p.add_argument(
        "--schema", default=None, help="with --target: the target schema (default: the environment's)"
    )
    p.add_argument("--json", default=None, help="also write the report as JSON to this file")
    p.set_defaults(func=cmd_source)

    p = sub.add_parser(
        "report",
        help="print the report of the last (or a given) run",
        description="Print a run's report from the ledger.",
    )
    _add_pg(p)
    p.add_argument("--run-id", default=None)
    p.add_argument("--format", choices=["text", "html", "json"], default="text")
    p.add_argument(
        "--history",
        type=int,
        default=HISTORY_RUNS,
        metavar="N",
        help=f"also the history of the last N runs up to it: timeline, durations, pairs, skipped rows, "
        f"takeovers and retries (default {HISTORY_RUNS}, as in the report email; 0: none)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "explain",
        help="why a visit or a pair is (or is not, or no longer) in conflict",
        description="Explain a pair (--pair VISIT CONVISIT) or every pair of a visit (--visit ID, both "
        "orientations): both visits' source attributes and the checks that decide whether they pair, each "
        "rule with its numbers (overlap minutes, distance, MPH band, ETA, gap), the cross-state filter, "
        "the stored conflictvisitmaps row and its conflict, and the recorded history. Reads only.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--visit", metavar="ID", help="a visit id: every pair of it")
    target.add_argument("--pair", nargs=2, metavar=("VISIT", "CONVISIT"), help="one ordered pair")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--source-dir", default=None, help="Snowflake emulation directory (else real Snowflake)")
    _add_pg(p)
    p.add_argument("--env", default="local", help="environment config file config/<env>.toml")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "unlock",
        help="release a run whose owner is gone (cleanup performed, marked abandoned)",
        description="Perform the cleanup of an active run whose process or execution is gone (pg_cron, "
        "InProgressFlag, its report) and mark it abandoned. The next run does this by itself when the "
        "owner is provably gone; this is for operators. Refused while the owner is provably alive.",
    )
    p.add_argument("run_id")
    p.add_argument("--force", action="store_true", help="release even a run whose owner looks alive")
    _add_pg(p)
    p.set_defaults(func=cmd_unlock)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from visit_conflicts import observability
    from visit_conflicts.errors import is_refusal

    if args.log_format:
        observability.set_format(args.log_format)
    if args.log_level:
        observability.set_level(args.log_level)
    try:
        return int(args.func(args))
    except Exception as exc:
        if isinstance(exc, UsageError) or is_refusal(exc):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if observability.log_format() == "json":
            raise
        # An unexpected failure: one line here; the traceback is for the JSON logs.
        print(
            f"error: {type(exc).__name__}: {exc} (rerun with --log-format json for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
