"""`visit-conflicts source check`: does the pipeline's Snowflake SQL run, and give the emulation's
answers, on this account?

Every test runs the Snowflake SQL on the emulation (fakesnow: sqlglot translating to DuckDB); only this
check reaches the real engine. It reads only (temp tables of its own session aside) and, on one day and
one chunk, in one session:

1. **schema**: DESCRIBE VIEW (or TABLE) of every source table, names and types compared with the schema
   contract `sql/snowflake/schema/*.sql` (a missing column or another type fails; extra columns are
   listed, the statements never read them);
2. **statements**: every statement of the pipeline in pipeline order (`PIPELINE_STATEMENTS`) through the
   same functions the steps call: preflight's probe, staging's reads, plan's delta groups and skip
   counts, detect's loading of those groups and its pair stream (with a small batch size, so that
   batches straddle the result chunks and chunks of different Arrow schemas are joined), InService's
   session tables, pairs and skip counts, status's deleted visits; it fails on any error and when a
   statement did not run;
3. **probes**: the constructs the statements rely on (`PROBES`, `sql/snowflake/check/probe_*.sql`),
   compared with the answers recorded from the emulation, or with Snowflake's documented answer where
   the two are known to differ.

Operators run it before the first deployment and after any change to the Snowflake SQL
(docs/source-check.md). The test suite runs it against the emulation, so its own code is exercised.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS, PAIR_COLUMNS
from visit_conflicts.sql_files import read_sql
from visit_conflicts.store.reference import ReferenceData

# Every statement under sql/snowflake/ (the emulation's DDL in schema/ and this check's own statements
# in check/ aside), in the order one run executes them. The blocks that statements include are not
# statements. tests/unit/test_snowflake_sql.py resolves each against the schema contract in this order,
# registering the session tables as they are created; `run_source_check` runs them in this order.
PIPELINE_STATEMENTS: tuple[str, ...] = (
    "connection/set_session_time_zone",
    "preflight/probe_table",
    "staging/select_payer_providers",
    "staging/select_payers",
    "common/create_excluded_ssn",
    "common/insert_excluded_ssn",
    "common/create_excluded_provider",
    "common/insert_excluded_provider",
    "common/create_mph_band",
    "common/insert_mph_band",
    "common/create_distance_setting",
    "common/insert_distance_setting",
    "plan/create_delta_group",
    "plan/select_delta_groups",
    "common/create_window_day",
    "common/insert_window_day",
    "common/create_scope_caregiver",
    "common/create_scope_row",
    "plan/count_skipped_rows",
    "detect/create_delta_group",
    "detect/insert_delta_group",
    "detect/select_conflict_pairs",
    "inservice/create_caregiver",
    "inservice/create_provider",
    "inservice/create_scope_visit",
    "inservice/create_scope_ssn",
    "inservice/create_scope_event",
    "inservice/create_events",
    "inservice/create_scope_row",
    "inservice/create_candidates",
    "inservice/create_visits",
    "inservice/select_scope_visits",
    "inservice/select_scope_events",
    "inservice/select_present_events",
    "inservice/select_pairs",
    "inservice/count_skipped_rows",
    "status/select_deleted_visits",
)

# The statements of an operator's question (`visit-conflicts explain`): not run by the pipeline or this
# check, but held to the same rules by tests/unit/test_snowflake_sql.py (resolved after the pipeline's,
# whose session tables they read).
OPERATOR_STATEMENTS: tuple[str, ...] = ("explain/select_visits", "explain/select_deleted_visits")

# Speed bands when no target database is given (the legacy test fixture's): enough to
# run the distance rule; no exclusions, multiplier 1.0.
DEFAULT_REFERENCE = ReferenceData(
    excluded_ssns=(),
    excluded_provider_ids=(),
    mph_bands=((0.0, 2.0, 2.0), (2.0, 5.0, 6.0), (5.0, 10.0, 15.0), (10.0, 25.0, 25.0)),
    extra_distance_per=1.0,
)

# Exclusion values that match nothing, added to whatever lists the check runs with, so that the
# statements loading the lists run even when the lists are empty.
_SENTINEL_SSN = "source-check: matches no SSN"
_SENTINEL_PROVIDER = "00000000-0000-0000-0000-000000000000"

# A batch size that is no divisor of a result chunk's size, so batches straddle result chunks.
DEFAULT_BATCH_SIZE = 997

Rows = tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Probe:
    """One construct the statements rely on: its statement (`sql/snowflake/check/probe_<name>.sql`),
    the rows the emulation returns (values normalised by `normalize`) and, where Snowflake is known to
    answer differently, Snowflake's documented answer (an expected difference; the SQL avoids the
    construct)."""

    name: str
    emulation: Rows
    snowflake: Rows | None = None

    @property
    def statement(self) -> str:
        return read_sql(f"snowflake/check/probe_{self.name}.sql")

    def expected(self, engine: str) -> Rows:
        return self.snowflake if engine == "snowflake" and self.snowflake is not None else self.emulation


PROBES: tuple[Probe, ...] = (
    Probe("regexp_like_anchoring", ((False, True, True, True, None),)),
    Probe("least_greatest_null", ((None, None, 1.0, "2024-01-01T10:00:00"),)),
    Probe(
        "convert_timezone_dst",
        (
            (
                "2024-03-10T01:59:59",
                "2024-03-10T03:00:00",
                "2024-03-10T03:00:00",
                "2024-03-09",
                "2024-11-03T01:30:00",
                "2024-11-03T01:30:00",
                "2024-11-03T01:30:00",
                "2024-11-02",
                "2024-03-10T01:30:00",
            ),
        ),
    ),
    Probe(
        "convert_timezone_ntz_input",
        (("2024-03-10T10:30:00",),),
        snowflake=(("2024-03-10T01:30:00",),),
    ),
    Probe(
        "timestamp_tz_cast",
        (("2024-03-11T04:30:00", "2024-03-11"),),
        snowflake=(("2024-03-10T23:30:00", "2024-03-10"),),
    ),
    Probe("session_time_zone", ((True, True),)),
    Probe("datediff_boundaries", ((1.0, 1.0, 1.0, 0.0, 1.0),)),
    Probe(
        "nulls_ordering",
        ((2.0, 1.0, 2.0, 2.0), (1.0, 2.0, 3.0, 1.0), (None, 3.0, 1.0, 3.0)),
    ),
    Probe("flatten", ((0.0, "b"), (1.0, "a"), (2.0, ""), (3.0, "O'Brien"))),
    Probe(
        "try_cast_integer",
        ((31.0, 1000.0, 12.0),),
        snowflake=((None, None, 12.0),),
    ),
    Probe(
        "guarded_ids",
        (
            (" 12 ", 12.0, 12.0),
            ("+7", None, 7.0),
            ("-73.99", None, -73.99),
            ("0x1F", None, None),
            ("12.0", None, 12.0),
            ("1_000", None, None),
            ("1e1", None, None),
            ("4_0.7", None, None),
            ("99999999999999999999", None, 1e20),
        ),
    ),
    Probe("round_double", ((2.67, 1.0, 0.13, -3.0),)),
    Probe(
        "md5_chunk_digest",
        (("1e87489a7ea3c3492ddaeee9c13f386d", 15.0, "e6bdc938c18ff88cc662275170fdb46e"),),
    ),
)


def normalize(value: Any) -> Any:
    """A probe value in a form both engines' connectors agree on: numbers as float (the emulation says
    1.0 where Snowflake says Decimal('1')), dates and times as ISO text, booleans, text and NULL as
    they are."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def run_probe(cur: Any, probe: Probe) -> Rows:
    cur.execute(probe.statement)
    return tuple(tuple(normalize(v) for v in row) for row in cur.fetchall())


# -- schema --------------------------------------------------------------------------------------------


def normalize_type(snowflake_type: str) -> str:
    """A column type as DESCRIBE states it, reduced to what the statements depend on: the kind of
    value (VARCHAR lengths and timestamp precisions do not matter; a NUMBER's scale does)."""
    t = snowflake_type.strip().upper()
    if t in ("DOUBLE", "DOUBLE PRECISION", "REAL", "FLOAT", "FLOAT4", "FLOAT8"):
        return "FLOAT"
    if t in ("INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"):
        return "NUMBER(38,0)"
    base = re.sub(r"\(.*\)$", "", t).strip()
    if base in ("VARCHAR", "STRING", "TEXT", "CHAR", "CHARACTER"):
        return "VARCHAR"
    if base in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ", "DATE", "BOOLEAN"):
        return base
    if base in ("NUMBER", "DECIMAL", "NUMERIC"):
        m = re.match(r"^\w+\((\d+)(?:,\s*(\d+))?\)$", t)
        precision, scale = (m.group(1), m.group(2) or "0") if m else ("38", "0")
        return f"NUMBER({precision},{scale})"
    return t


def describe_source_table(cur: Any, table: str) -> list[tuple[str, str]]:
    """(name, type) of a source table's columns: DESCRIBE VIEW, else DESCRIBE TABLE (the emulation's
    sources are tables)."""
    quoted = f'"{table}"'
    try:
        cur.execute(read_sql("snowflake/check/describe_view.sql").format(table=quoted))
    except Exception:
        cur.execute(read_sql("snowflake/check/describe_table.sql").format(table=quoted))
    return [(str(row[0]), str(row[1])) for row in cur.fetchall()]


# -- report --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One checked thing: its section (schema, statements, probes), what was checked, whether it
    passed, and what was seen."""

    section: str
    subject: str
    ok: bool
    detail: str


@dataclass
class CheckReport:
    engine: str
    day: date
    chunk: int
    chunks: int
    batch_size: int
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, section: str, subject: str, ok: bool, detail: str) -> None:
        self.findings.append(Finding(section, subject, ok, detail))

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "engine": self.engine,
            "day": self.day.isoformat(),
            "chunk": self.chunk,
            "chunks": self.chunks,
            "batch_size": self.batch_size,
            "facts": self.facts,
            "findings": [f.__dict__ for f in self.findings],
        }

    def text(self) -> str:
        failed = [f for f in self.findings if not f.ok]
        lines = [
            f"source check on {self.engine}: {'PASSED' if self.ok else 'FAILED'} "
            f"({len(self.findings) - len(failed)} of {len(self.findings)} checks passed)",
            f"day {self.day}, chunk {self.chunk} of {self.chunks}, batch size {self.batch_size}",
        ]
        for key, value in self.facts.items():
            lines.append(f"  {key}: {value}")
        for section in ("schema", "statements", "probes"):
            lines.append(f"{section}:")
            for f in self.findings:
                if f.section == section:
                    lines.append(f"  [{'ok' if f.ok else 'FAIL'}] {f.subject}: {f.detail}")
        return "\n".join(lines)


# -- statement recording -------------------------------------------------------------------------------


class _RecordingCursor:
    """A cursor that records every statement it executes and what the pair query's result chunks look
    like, and otherwise behaves as the cursor it wraps."""

    def __init__(self, cursor: Any, log: _Log) -> None:
        self._cursor = cursor
        self._log = log

    def execute(self, command: str, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(command)
        return self._cursor.execute(command, *args, **kwargs)

    def get_result_batches(self) -> list[Any] | None:
        batches = self._cursor.get_result_batches()
        if batches is None:
            return None
        return [_RecordingBatch(b, self._log) for b in batches]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _RecordingBatch:
    def __init__(self, batch: Any, log: _Log) -> None:
        self._batch = batch
        self._log = log

    def to_arrow(self, *args: Any, **kwargs: Any) -> Any:
        table = self._batch.to_arrow(*args, **kwargs)
        self._log.result_chunks.append((table.num_rows, str(table.schema)))
        return table


class _RecordingConnection:
    def __init__(self, conn: Any, log: _Log) -> None:
        self._conn = conn
        self._log = log

    def cursor(self, *args: Any, **kwargs: Any) -> _RecordingCursor:
        return _RecordingCursor(self._conn.cursor(*args, **kwargs), self._log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@dataclass
class _Log:
    statements: list[str] = field(default_factory=list)
    result_chunks: list[tuple[int, str]] = field(default_factory=list)


def _statement_names(texts: list[str]) -> list[str]:
    """The PIPELINE_STATEMENTS names of executed texts, in execution order (unknown texts left out)."""
    exact = {read_sql(f"snowflake/{name}.sql"): name for name in PIPELINE_STATEMENTS}
    templates = [
        (re.compile(re.escape(text).replace(re.escape("{table}"), ".+") + r"\Z", re.DOTALL), name)
        for text, name in exact.items()
        if "{table}" in text
    ]
    names = []
    for text in texts:
        name = exact.get(text) or next((n for pattern, n in templates if pattern.match(text)), None)
        if name is not None:
            names.append(name)
    return names


# -- the check -----------------------------------------------------------------------------------------


def _describe_pair_types(cur: Any, statement: str, params: dict[str, Any]) -> dict[str, str]:
    """conflictvisitmaps-like type names of the pair query's columns from the engine's own result
    metadata (used when no target database gives the real column types)."""
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    kinds = {
        "TEXT": "varchar",
        "REAL": "float8",
        "DATE": "date",
        "TIMESTAMP_NTZ": "timestamp",
        "TIMESTAMP_TZ": "timestamptz",
        "TIMESTAMP_LTZ": "timestamptz",
        "BOOLEAN": "bool",
    }
    types = {}
    for meta in cur.describe(statement, params):
        kind = FIELD_ID_TO_NAME[meta.type_code]
        types[meta.name] = ("int8" if not meta.scale else "float8") if kind == "FIXED" else kinds[kind]
    return types


def run_source_check(
    sf_conn: Any,
    *,
    engine: str,
    day: date,
    time_zone: str,
    cutoff: datetime,
    chunks: int,
    chunk: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    ref: ReferenceData = DEFAULT_REFERENCE,
    cvm_types: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CheckReport:
    """The smoke test on one connection (`engine` 'snowflake' or 'emulation'): schema, every statement
    in pipeline order, probes. `cvm_types`: the target's conflictvisitmaps types of the pair columns,
    InService's included (as the detect and inservice steps use them); without them, the pair
    queries' result metadata stands in."""
    from visit_conflicts.context import RunContext
    from visit_conflicts.source import detect, plan, preflight, staging, status
    from visit_conflicts.source.common import SourceQueryError, SourceScope, pair_arrow_schema, run_params
    from visit_conflicts.source.connection import set_session_time_zone
    from visit_conflicts.source.inservice import InServiceScope, InServiceSource
    from visit_conflicts.source.schema import SOURCE_TABLES, source_columns

    say = progress or (lambda message: None)
    # Every loading statement runs, whatever the lists hold: sentinels that match nothing, and the
    # default bands when the given reference data has none.
    ref = replace(
        ref,
        excluded_ssns=(*ref.excluded_ssns, _SENTINEL_SSN),
        excluded_provider_ids=(*ref.excluded_provider_ids, _SENTINEL_PROVIDER),
        mph_bands=ref.mph_bands or DEFAULT_REFERENCE.mph_bands,
    )
    report = CheckReport(engine=engine, day=day, chunk=chunk, chunks=chunks, batch_size=batch_size)
    log = _Log()
    conn = _RecordingConnection(sf_conn, log)
    scope = SourceScope(day, day, cutoff, chunk=chunk, chunks=chunks, time_zone=time_zone)
    report.facts["cutoff"] = cutoff.astimezone(UTC).isoformat()
    report.facts["time_zone"] = time_zone

    def attempt(section: str, subject: str, action: Callable[[], str]) -> None:
        say(f"{section}: {subject}")
        started = time.perf_counter()
        try:
            detail = action()
        except Exception as exc:  # every part is attempted; the report says what failed
            report.add(section, subject, False, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        else:
            report.add(section, subject, True, f"{detail} ({time.perf_counter() - started:.1f}s)")

    # The session first, so that everything below runs in UTC.
    def session() -> str:
        set_session_time_zone(conn)
        return "UTC"

    attempt("statements", "session time zone", session)

    # 1. schema
    cur = conn.cursor()
    try:
        for table in SOURCE_TABLES:
            say(f"schema: {table}")
            try:
                actual = describe_source_table(cur, table)
            except Exception as exc:
                report.add("schema", table, False, f"not describable: {str(exc).splitlines()[0]}")
                continue
            report.add("schema", table, *_compare_columns(source_columns(table), actual))
    finally:
        cur.close()

    # 2. statements, in pipeline order, through the functions the steps call
    def count(batches: Iterator[Any]) -> int:
        return sum(len(b) for b in batches)

    def preflight_probe() -> str:
        preflight.check_source_tables(conn)
        return "the required source tables answer"

    attempt("statements", "preflight", preflight_probe)
    attempt(
        "statements",
        "staging",
        lambda: (
            f"{count(staging.iter_payer_providers(conn, batch_size))} payer-provider rows, "
            f"{count(staging.iter_payers(conn, batch_size))} payers"
        ),
    )
    groups: list[tuple[date, str]] = []

    def plan_groups() -> str:
        for batch in plan.iter_delta_groups(conn, scope, ref, batch_size):
            groups.extend((visit_date, ssn) for visit_date, ssn, _ in batch)
        return f"{len(groups)} delta groups"

    attempt("statements", "plan", plan_groups)
    attempt(
        "statements",
        "plan skip counts",
        lambda: _counts(plan.count_skipped_rows(conn, scope, sorted({d for d, _ in groups}))),
    )

    def pair_stream() -> str:
        # The chunk's groups as plan found them, loaded as detect loads the ones plan stored.
        detect.load_delta_groups(conn, scope, ref, groups)
        types = cvm_types
        source = "the target's conflictvisitmaps types"
        if types is None:
            describe = conn.cursor()
            try:
                statement = read_sql("snowflake/detect/select_conflict_pairs.sql")
                types = _describe_pair_types(describe, statement, run_params(scope))
            finally:
                describe.close()
            source = "the pair query's result metadata"
        absent = [c for c in PAIR_COLUMNS if c not in types]
        if absent:
            raise SourceQueryError(
                f"the pair columns {absent[:3]}... are not among the pair query's columns; check "
                "sql/snowflake/common/pair_columns.sql and the session's QUOTED_IDENTIFIERS_IGNORE_CASE"
            )
        schema = pair_arrow_schema({c: types[c] for c in PAIR_COLUMNS})
        before = len(log.result_chunks)
        tables = list(detect.iter_pair_tables(conn, scope, batch_size, schema))
        chunks_seen = log.result_chunks[before:]
        if any(t.num_rows > batch_size or not t.schema.equals(schema) for t in tables):
            raise AssertionError("a batch exceeds the batch size or differs from the pair schema")
        pairs = sum(t.num_rows for t in tables)
        report.facts["pairs"] = pairs
        report.facts["pair_result_chunks"] = len(chunks_seen)
        report.facts["pair_result_chunk_schemas"] = len({s for _, s in chunks_seen})
        detail = (
            f"{pairs} pairs in {len(tables)} batches from {len(chunks_seen)} result chunks "
            f"({len({s for _, s in chunks_seen})} distinct Arrow schemas), cast to the schema of {source}"
        )
        if len([n for n, _ in chunks_seen if n]) < 2:
            detail += (
                "; fewer than two result chunks, so no join across chunks happened: "
                "use a busier --day or --chunks 1"
            )
        return detail

    attempt("statements", "detect pairs", pair_stream)

    inservice_scope = InServiceScope.of(day, day, cutoff, time_zone=time_zone)
    inservice = InServiceSource(conn, inservice_scope, ref)

    def inservice_run() -> str:
        inservice.prepare()
        visits = count(inservice.scope_visits(batch_size))
        events = count(inservice.scope_events(batch_size))
        present = count(inservice.present_events(batch_size))
        types = cvm_types
        if types is None or any(c not in types for c in INSERVICE_PAIR_COLUMNS):
            describe = conn.cursor()
            try:
                statement = read_sql("snowflake/inservice/select_pairs.sql")
                types = _describe_pair_types(describe, statement, inservice_scope.params())
            finally:
                describe.close()
        schema = pair_arrow_schema({c: types[c] for c in INSERVICE_PAIR_COLUMNS})
        pairs = count(inservice.pair_tables(batch_size, schema))
        return f"{visits} scoped visits, {events} changed events, {present} present events, {pairs} pairs"

    attempt("statements", "inservice", inservice_run)
    attempt("statements", "inservice skip counts", lambda: _counts(inservice.skipped_rows()))
    context = RunContext(
        run_id="source-check",
        now=datetime.now(UTC),
        run_date=day,
        window_start=day,
        window_end=day,
        cutoff=cutoff,
        watermark=None,
        business_timezone=time_zone,
    )
    attempt(
        "statements",
        "status",
        lambda: f"{sum(1 for _ in status.iter_deleted_visits(conn, context))} deleted visit ids",
    )

    ran = _statement_names(log.statements)
    missing = [n for n in PIPELINE_STATEMENTS if n not in ran]
    first = sorted(set(ran), key=ran.index)
    in_order = [n for n in PIPELINE_STATEMENTS if n in first] == first
    report.add(
        "statements",
        "every statement, in pipeline order",
        not missing and in_order,
        f"{len(set(ran))} of {len(PIPELINE_STATEMENTS)} ran"
        + (f"; not run: {', '.join(missing)}" if missing else "")
        + ("" if in_order else f"; first-run order: {', '.join(first)}"),
    )

    # 3. probes
    cur = conn.cursor()
    try:
        for probe in PROBES:
            say(f"probes: {probe.name}")
            try:
                got = run_probe(cur, probe)
            except Exception as exc:
                report.add("probes", probe.name, False, f"failed: {str(exc).splitlines()[0]}")
                continue
            expected = probe.expected(engine)
            if got == expected:
                known = engine == "snowflake" and probe.snowflake is not None
                detail = (
                    "the documented Snowflake answer (the emulation's differs)"
                    if known
                    else "as the emulation"
                )
                report.add("probes", probe.name, True, detail)
            else:
                report.add("probes", probe.name, False, f"got {list(got)}, expected {list(expected)}")
    finally:
        cur.close()
    return report


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items())


def _compare_columns(
    expected: tuple[tuple[str, str], ...], actual: list[tuple[str, str]]
) -> tuple[bool, str]:
    have = {name: normalize_type(t) for name, t in actual}
    missing = [name for name, _ in expected if name not in have]
    differ = [
        f"{name} is {have[name]}, the contract says {normalize_type(t)}"
        for name, t in expected
        if name in have and have[name] != normalize_type(t)
    ]
    extra = [name for name in have if name not in {n for n, _ in expected}]
    parts = [f"{len(expected) - len(missing) - len(differ)} of {len(expected)} columns as the contract"]
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if differ:
        parts.append(f"other types: {'; '.join(differ)}")
    if extra:
        parts.append(f"not read by the pipeline: {', '.join(extra)}")
    return not missing and not differ, "; ".join(parts)


def default_day(time_zone: str, now: datetime | None = None) -> date:
    """Yesterday in the business time zone: a whole day of visits."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1)


def default_cutoff(day: date, time_zone: str) -> datetime:
    """A week before the checked day's start: visits of that day updated since then are its delta."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone))
    return (start - timedelta(days=7)).astimezone(UTC)
