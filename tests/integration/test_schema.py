"""The PostgreSQL target schema (migrations 0001-0003) checked against the spec.

The expected columns, types, defaults and index names are parsed from `legacy/data-model.md` at test time,
so a drift between the migrations and the spec fails here. The only allowed deviation is a documented
widening (data-model.md section 6 item 10): such a column must be wider than the spec, never narrower, and
must carry a column comment that says why.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from visit_conflicts.paths import PG_MIGRATIONS_DIR
from visit_conflicts.store.migrate import discover, migrate

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "legacy" / "data-model.md"
OUR_MIGRATIONS = ("0001_conflict_tables", "0002_indexes", "0003_payer_conflicts_mv")

# Widenings that section 6 item 10 does not name but that follow from the same fact (payer names up to 200
# characters): the reminders table stores DIMPAYER."Payer Name" too.
EXTRA_WIDENED = {("payer_provider_reminders", "Contract")}

_TYPE_RE = re.compile(r"\b(int8|int4|int2|uuid|real|bool|date|timestamp|text|varchar\(\d+\))(?![\w(])")
_NAME_RE = re.compile(r"`([^`]+)`")
_UDT = {"real": "float4"}
REGULAR_PAIR_DATES = (
    "InserviceStartDate",
    "InserviceEndDate",
    "ConInserviceStartDate",
    "ConInserviceEndDate",
    "PTOStartDate",
    "PTOEndDate",
    "ConPTOStartDate",
    "ConPTOEndDate",
)


# ---------------------------------------------------------------------------------------------------------
# Spec parsing
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecColumn:
    name: str
    type: str | None  # e.g. "int8", "varchar(50)"; None when the spec gives no type
    default: str | None = None
    identity: bool = False
    not_null: bool = False
    pk: bool = False


@cache
def _spec_text() -> str:
    if not SPEC_PATH.exists():
        pytest.fail(f"spec not found at {SPEC_PATH}: the shared/ directory must sit beside the repository")
    return SPEC_PATH.read_text()


def _section(number: str) -> str:
    """The body of `### <number> ...` up to the next heading of level 2 or 3."""
    text = _spec_text()
    m = re.search(rf"^### {re.escape(number)} .*$", text, re.MULTILINE)
    assert m, f"section {number} not found in {SPEC_PATH.name}"
    end = re.search(r"^#{2,3} ", text[m.end() :], re.MULTILINE)
    return text[m.end() : m.end() + end.start()] if end else text[m.end() :]


def _tables(section: str) -> list[tuple[list[str], list[list[str]]]]:
    """Markdown tables of a section as (header cells, body rows)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in section.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    return [(cells(b[0]), [cells(row) for row in b[2:]]) for b in blocks if len(b) >= 2]


def _type_of(text: str) -> str | None:
    m = _TYPE_RE.search(text)
    return m.group(1) if m else None


def _attrs(type_cell: str) -> dict[str, Any]:
    default = re.search(r"DEFAULT\s+('[^']*'|[A-Za-z_0-9.]+)", type_cell)
    return {
        "default": default.group(1) if default else None,
        "identity": "identity" in type_cell.lower(),
        "not_null": "NOT NULL" in type_cell,
        "pk": re.search(r"\bPK\b", type_cell) is not None,
    }


def _names_with_inline_types(cell: str) -> list[tuple[str, str | None]]:
    """Names of a cell (`A` / `ConA`, `A`, `B`, `A` varchar(10) / `ConA` varchar(100)), each with the type
    written right after it, if any."""
    matches = list(_NAME_RE.finditer(cell))
    out = []
    for i, m in enumerate(matches):
        tail = cell[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(cell)]
        out.append((m.group(1), _type_of(tail)))
    return out


def _column_tables(section: str) -> dict[str | None, list[SpecColumn]]:
    """Columns of every `... | PG type | ...` table of a section, keyed by table name when the spec table
    has a `Table` column (section 1.8), else None. Two name columns (section 1.2 (g)) imply `Con` columns."""
    result: dict[str | None, list[SpecColumn]] = {}
    for header, rows in _tables(section):
        if "PG type" not in header:
            continue
        type_at = header.index("PG type")
        has_table = header[0] == "Table"
        name_cells = range(1, type_at) if has_table else range(type_at)
        implied_con = not has_table and len(name_cells) == 2
        table: str | None = None
        for row in rows:
            if has_table and row[0]:
                table = row[0].strip("`")
            type_cell = row[type_at]
            for i in name_cells:
                named = _names_with_inline_types(row[i])
                names = {n for n, _ in named}
                for name, inline in named:
                    col = SpecColumn(name, inline or _type_of(type_cell), **_attrs(type_cell))
                    result.setdefault(table, []).append(col)
                    is_con_side = any(name == f"Con{other}" for other in names)
                    if implied_con and not is_con_side and f"Con{name}" not in names:
                        result[table].append(SpecColumn(f"Con{name}", col.type, col.default))
    return result


def spec_columns(number: str, table: str | None = None) -> list[SpecColumn]:
    cols = _column_tables(_section(number)).get(table, [])
    assert cols, f"no column table found in spec section {number} ({table or 'untitled'})"
    names = [c.name for c in cols]
    assert len(names) == len(set(names)), f"spec section {number} lists a column twice"
    return cols


def spec_too_small_names() -> set[str]:
    """The CVM columns section 6 item 10 calls too small (primary side names)."""
    m = re.search(r"look too small for real data:(.*?)Widen them", _spec_text(), re.DOTALL)
    assert m, "section 6 item 10 (too-small varchar columns) not found"
    names = set(_NAME_RE.findall(m.group(1)))
    assert names, "section 6 item 10 names no column"
    return names


def spec_widened_names() -> set[str]:
    """Columns that may be wider than the spec: the too-small ones and their `Con` counterparts."""
    return {p + n for n in spec_too_small_names() for p in ("", "Con")}


def spec_staging_columns() -> list[SpecColumn]:
    """Section 1.4: the recommended column list, typed like CVM except for the stated exceptions."""
    body = _section("1.4")
    listed = re.search(r"The column list is:\s*`([^`]+)`", body)
    assert listed, "section 1.4 column list not found"
    names = [n.strip() for n in listed.group(1).split(",")]
    exceptions_text = re.search(r"three exceptions:(.*?)The column list is", body, re.DOTALL)
    assert exceptions_text, "section 1.4 type exceptions not found"
    exceptions: dict[str, SpecColumn] = {}
    for clause in exceptions_text.group(1).split(", "):
        typ = _type_of(_NAME_RE.sub("", clause))
        for name in _NAME_RE.findall(clause):
            exceptions[name] = SpecColumn(name, typ, **_attrs(clause))
    assert len(exceptions) == 4, f"expected 4 typed exceptions in section 1.4, got {sorted(exceptions)}"
    cvm = {c.name: c for c in spec_columns("1.2")}
    return [exceptions.get(n) or SpecColumn(n, cvm[n].type) for n in names]


def spec_other_tables() -> dict[str, list[SpecColumn]]:
    """Section 1.10 tables whose `Columns (PG type)` cell is a full column list."""
    out: dict[str, list[SpecColumn]] = {}
    for header, rows in _tables(_section("1.10")):
        if not header or not header[0].startswith("Table"):
            continue
        for row in rows:
            tables = _NAME_RE.findall(row[0])
            if len(tables) != 1:
                continue
            cols = []
            for clause in row[1].split(", "):
                typ = _type_of(_NAME_RE.sub("", clause))
                cols += [SpecColumn(n, typ, **_attrs(clause)) for n in _NAME_RE.findall(clause)]
            out[tables[0]] = cols
    return out


def spec_mv_columns() -> list[str]:
    m = re.search(r"Output columns:\s*`([^`]+)`", _section("1.9"))
    assert m, "section 1.9 output column list not found"
    return [n.strip() for n in m.group(1).split(",")]


def spec_named_indexes() -> dict[str, tuple[bool, list[str], bool]]:
    """Section 1.12 indexes with an exact name: name -> (unique, key columns, partial)."""
    out = {}
    for header, rows in _tables(_section("1.12")):
        if header[:2] != ["Index", "Definition"]:
            continue
        for row in rows:
            m = re.fullmatch(r"`([a-z_]+)`", row[0])
            if not m:
                continue
            definition = row[1]
            keys = re.search(r"\(([^)]*)\)", definition)
            assert keys, f"no column list in the definition of {m.group(1)}"
            columns = re.findall(r'"([^"]+)"', keys.group(1))
            unique = "UNIQUE" in definition or definition.startswith("PK")
            partial = "partial" in definition or "WHERE" in definition
            out[m.group(1)] = (unique, columns, partial)
    assert out, "no named index found in section 1.12"
    return out


# ---------------------------------------------------------------------------------------------------------
# Catalog helpers
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualColumn:
    name: str
    udt: str
    length: int | None
    default: str | None
    identity: bool
    not_null: bool
    comment: str | None


def actual_columns(pg: psycopg.Connection, schema: str, relation: str) -> list[ActualColumn]:
    rows = pg.execute(
        """
        SELECT a.attname, t.typname,
               CASE WHEN t.typname = 'varchar' AND a.atttypmod > 0 THEN a.atttypmod - 4 END,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '', a.attnotnull,
               col_description(a.attrelid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (schema, relation),
    ).fetchall()
    assert rows, f"{schema}.{relation} does not exist"
    return [ActualColumn(*row) for row in rows]


def primary_key(pg: psycopg.Connection, schema: str, table: str) -> tuple[str, list[str]] | None:
    row = pg.execute(
        """
        SELECT con.conname,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                     ORDER BY k.ord)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = %s AND con.contype = 'p'
        """,
        (schema, table),
    ).fetchone()
    return (row[0], list(row[1])) if row else None


@dataclass(frozen=True)
class IndexInfo:
    table: str
    unique: bool
    primary: bool
    columns: list[str]
    predicate: str | None


def indexes(pg: psycopg.Connection, schema: str) -> dict[str, IndexInfo]:
    rows = pg.execute(
        """
        SELECT ic.relname, tc.relname, i.indisunique, i.indisprimary,
               ARRAY(SELECT a.attname FROM generate_series(0, i.indnkeyatts - 1) AS s(k)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[s.k]
                     ORDER BY s.k),
               pg_get_expr(i.indpred, i.indrelid)
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = %s
        """,
        (schema,),
    ).fetchall()
    return {r[0]: IndexInfo(r[1], r[2], r[3], list(r[4]), r[5]) for r in rows}


def _normalise_default(expr: str | None) -> str | None:
    return re.sub(r"::[a-z ]+(\(\d+\))?", "", expr) if expr else None


def _spec_type_parts(spec_type: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"varchar\((\d+)\)", spec_type)
    return ("varchar", int(m.group(1))) if m else (_UDT.get(spec_type, spec_type), None)


def assert_columns_match(
    pg: psycopg.Connection,
    schema: str,
    table: str,
    expected: list[SpecColumn],
    *,
    widened: Collection[str] = (),
    must_widen: Collection[str] = (),
    check_keys: bool = True,
) -> None:
    """Same column names (nothing missing, nothing extra), same types; a column named in `widened` may be a
    wider varchar (and then needs a comment), one in `must_widen` has to be. With `check_keys`, identity,
    NOT NULL, DEFAULT and the primary key are compared too."""
    actual = {c.name: c for c in actual_columns(pg, schema, table)}
    expected_names = [c.name for c in expected]
    missing = [n for n in expected_names if n not in actual]
    extra = [n for n in actual if n not in expected_names]
    assert not missing and not extra, f"{table}: missing {missing}, not in spec {extra}"

    problems = []
    for col in expected:
        got = actual[col.name]
        if col.type is not None:
            udt, length = _spec_type_parts(col.type)
            if got.udt != udt:
                problems.append(f'"{col.name}": {got.udt} but the spec says {col.type}')
            elif length is not None and got.length != length:
                if got.length is not None and got.length > length and col.name in widened:
                    if not (got.comment and "Widened" in got.comment):
                        problems.append(f'"{col.name}" is widened without a comment saying why')
                else:
                    problems.append(f'"{col.name}": varchar({got.length}) but the spec says {col.type}')
                    continue
            if col.name in must_widen and not (got.length and length and got.length > length):
                problems.append(f'"{col.name}" is listed as too small (section 6) but was not widened')
        if check_keys:
            if col.identity != got.identity:
                problems.append(f'"{col.name}": identity {got.identity}, spec {col.identity}')
            if (col.not_null or col.identity or col.pk) and not got.not_null:
                problems.append(f'"{col.name}" should be NOT NULL')
            if col.default is not None and _normalise_default(got.default) != col.default:
                problems.append(f'"{col.name}": default {got.default!r}, spec {col.default}')
    assert not problems, f"{table} differs from the spec:\n  " + "\n  ".join(problems)

    if check_keys:
        spec_pk = [c.name for c in expected if c.pk]
        pk = primary_key(pg, schema, table)
        assert (pk[1] if pk else []) == spec_pk, f"{table}: primary key {pk}, spec {spec_pk}"
        if pk:
            assert pk[0] == f"{table}_pkey", f"{table}: primary key is named {pk[0]}"


# ---------------------------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------------------------


def test_migrations_apply_once_then_nothing(pg_server_dsn: str) -> None:
    name = f"t_mig_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(pg_server_dsn) as conn:
            first = migrate(conn, name)
            second = migrate(conn, name)
        assert first == [f"{m.version:04d}_{m.name}" for m in discover()]
        assert set(OUR_MIGRATIONS) <= set(first)
        assert second == []
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.mark.parametrize("migration", OUR_MIGRATIONS)
def test_migration_uses_unqualified_names_and_has_a_header(migration: str) -> None:
    text = (PG_MIGRATIONS_DIR / f"{migration}.sql").read_text()
    assert text.startswith("-- "), f"{migration}.sql should open with a comment saying what it creates"
    assert not re.search(r"\bconflict_dev\b|\bpublic\.", text), f"{migration}.sql hard-codes a schema"


# ---------------------------------------------------------------------------------------------------------
# Tables against the spec
# ---------------------------------------------------------------------------------------------------------


def test_conflictvisitmaps_has_the_248_spec_columns(pg: psycopg.Connection, schema: str) -> None:
    expected = spec_columns("1.2")
    assert len(expected) == 248, f"parsed {len(expected)} CVM columns from the spec, expected 248"
    assert_columns_match(
        pg,
        schema,
        "conflictvisitmaps",
        expected,
        widened=spec_widened_names(),
        must_widen=spec_too_small_names(),
    )
    assert len(actual_columns(pg, schema, "conflictvisitmaps")) == 248


@pytest.mark.parametrize(
    ("section", "table", "spec_table"),
    [
        ("1.3", "conflicts", None),
        ("1.5", "payer_provider_reminders", None),
        ("1.6", "settings", None),
        ("1.7", "mph", None),
        ("1.8", "excluded_ssn", "excluded_ssn"),
        ("1.8", "excluded_agency", "excluded_agency"),
    ],
)
def test_reference_table_matches_spec(
    pg: psycopg.Connection, schema: str, section: str, table: str, spec_table: str | None
) -> None:
    widened = {n for t, n in EXTRA_WIDENED if t == table}
    assert_columns_match(
        pg, schema, table, spec_columns(section, spec_table), widened=widened, must_widen=widened
    )


def test_staging_has_the_125_spec_columns_plus_created_date(pg: psycopg.Connection, schema: str) -> None:
    expected = spec_staging_columns()
    assert len(expected) == 125, f"parsed {len(expected)} staging columns from section 1.4, expected 125"
    cvm_created = next(c for c in spec_columns("1.2") if c.name == "CreatedDate")
    assert_columns_match(
        pg,
        schema,
        "conflictlog_staging",
        [*expected, cvm_created],
        widened=spec_widened_names(),
        check_keys=False,
    )
    actual = actual_columns(pg, schema, "conflictlog_staging")
    assert [c.name for c in actual] == [c.name for c in expected] + ["CreatedDate"]
    by_name = {c.name: c for c in actual}
    assert _normalise_default(by_name["ConStatusFlag"].default) == "'U'"
    assert primary_key(pg, schema, "conflictlog_staging") is None


def test_log_and_ui_tables_match_spec(pg: psycopg.Connection, schema: str) -> None:
    spec = spec_other_tables()
    wanted = [
        "log_history",
        "log_history_values",
        "log_history_values_temp",
        "log_fields",
        "conflict_commu_inters",
        "notifications",
        "noresponsereasons",
        "contact_maintenance",
    ]
    assert set(wanted) <= set(spec), f"section 1.10 lacks {set(wanted) - set(spec)}"
    for table in wanted:
        # Section 1.10 states types and identity, not defaults or NOT NULL: compare names, types, identity.
        assert_columns_match(pg, schema, table, spec[table], check_keys=False)
        actual = {c.name: c for c in actual_columns(pg, schema, table)}
        for col in spec[table]:
            if col.identity:  # where the spec is silent (contact_maintenance "ID") either is fine
                assert actual[col.name].identity, f'{table}."{col.name}" should be an identity column'


def test_settings_is_seeded_with_one_idle_row(pg: psycopg.Connection) -> None:
    """D7: a missing ExtraDistancePer means 1.0; the single row ("ID" = 0) starts with InProgressFlag 0."""
    assert pg.execute('SELECT "ID", "ExtraDistancePer", "InProgressFlag" FROM settings').fetchall() == [
        (0, 1.0, 0)
    ]


# ---------------------------------------------------------------------------------------------------------
# Keys and indexes
# ---------------------------------------------------------------------------------------------------------


def test_named_indexes_of_the_spec_exist(pg: psycopg.Connection, schema: str) -> None:
    found = indexes(pg, schema)
    for name, (unique, columns, partial) in spec_named_indexes().items():
        assert name in found, f"index {name} (data-model.md 1.12) is missing"
        info = found[name]
        assert info.table == "conflictvisitmaps", f"{name} is on {info.table}"
        assert info.unique == unique, f"{name}: unique={info.unique}, spec unique={unique}"
        assert info.columns == columns, f"{name}: columns {info.columns}, spec {columns}"
        assert (info.predicate is not None) == partial, f"{name}: predicate {info.predicate!r}"
    stale = found["idx_cvm_visitdate_ssn"].predicate or ""
    for column in ("CONFLICTID", *REGULAR_PAIR_DATES):
        assert f'"{column}" IS NULL' in stale or f'"{column}" IS NOT NULL' in stale, column


def test_primary_keys_and_identity_sequence(pg: psycopg.Connection, schema: str) -> None:
    assert primary_key(pg, schema, "conflictvisitmaps") == ("conflictvisitmaps_pkey", ["ID"])
    assert primary_key(pg, schema, "conflicts") == ("conflicts_pkey", ["CONFLICTID"])
    # The sequence re-sync (setval(pg_get_serial_sequence(...), MAX("ID"))) needs the identity sequence.
    seq = pg.execute("SELECT pg_get_serial_sequence(%s, 'ID')", (f"{schema}.conflictvisitmaps",)).fetchone()
    assert seq and seq[0]


def test_recommended_indexes_exist(pg: psycopg.Connection, schema: str) -> None:
    found = indexes(pg, schema).values()

    def has(table: str, columns: list[str], *, unique: bool = False) -> bool:
        return any(i.table == table and i.columns == columns and (i.unique or not unique) for i in found)

    assert has("conflictvisitmaps", ["ConVisitID"])
    assert has("conflictvisitmaps", ["CONFLICTID"])
    assert has("payer_provider_reminders", ["PayerID", "ProviderID"], unique=True)
    assert has("mv_payer_conflicts_common", ["ID"], unique=True)


_KEY = {"conflicts": "CONFLICTID", "payers": "PayerID"}


def _insert(pg: psycopg.Connection, table: str, **values: Any) -> Any:
    """Insert one row; returns its key."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
        sql.Identifier(_KEY.get(table, "ID")),
    )
    row = pg.execute(query, list(values.values())).fetchone()
    assert row
    return row[0]


def _inservice_visit_id(inservice_app_id: int) -> uuid.UUID:
    # other-actions.md section C: md5('I' || id), 32 hex characters, stored in a uuid column.
    import hashlib

    return uuid.UUID(hashlib.md5(f"I{inservice_app_id}".encode()).hexdigest())


def test_duplicate_regular_pair_is_rejected(pg: psycopg.Connection) -> None:
    """D9: the database refuses a second regular row for the same (VisitID, ConVisitID); the reverse
    orientation is a different pair and is accepted."""
    a, b = uuid.uuid4(), uuid.uuid4()
    _insert(pg, "conflictvisitmaps", VisitID=a, ConVisitID=b, CONFLICTID=1, StatusFlag="N")
    _insert(pg, "conflictvisitmaps", VisitID=b, ConVisitID=a, CONFLICTID=2, StatusFlag="N")
    with pytest.raises(psycopg.errors.UniqueViolation) as err:
        _insert(pg, "conflictvisitmaps", VisitID=a, ConVisitID=b, CONFLICTID=1, StatusFlag="N")
    assert err.value.diag.constraint_name == "idx_cvm_visitids_unique"


def test_duplicate_inservice_pair_is_rejected(pg: psycopg.Connection) -> None:
    """D9 / D14: an InService pair (one side an md5-derived event id) is unique too, in both directions."""
    visit, event = uuid.uuid4(), _inservice_visit_id(4711)
    start, end = datetime(2024, 3, 1, 9), datetime(2024, 3, 1, 11)
    leg1 = {"VisitID": visit, "ConVisitID": event, "ConInserviceStartDate": start, "ConInserviceEndDate": end}
    leg2 = {"VisitID": event, "ConVisitID": visit, "InserviceStartDate": start, "InserviceEndDate": end}
    _insert(pg, "conflictvisitmaps", InServiceFlag="Y", **leg1)
    _insert(pg, "conflictvisitmaps", InServiceFlag="Y", **leg2)
    for leg in (leg1, leg2):
        with pytest.raises(psycopg.errors.UniqueViolation):
            _insert(pg, "conflictvisitmaps", InServiceFlag="Y", **leg)


def test_regular_pair_upsert_infers_the_unique_index(pg: psycopg.Connection) -> None:
    """D9: writers can upsert regular pairs set-based with ON CONFLICT on the pair key (with the regular-pair
    predicate), and the second write updates the one existing row."""
    a, b = uuid.uuid4(), uuid.uuid4()
    regular = sql.SQL(" AND ").join(
        sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in REGULAR_PAIR_DATES
    )
    upsert = sql.SQL(
        'INSERT INTO conflictvisitmaps ("VisitID", "ConVisitID", "StatusFlag") VALUES (%s, %s, %s) '
        'ON CONFLICT ("VisitID", "ConVisitID") WHERE {} DO UPDATE SET "StatusFlag" = EXCLUDED."StatusFlag"'
    ).format(regular)
    pg.execute(upsert, (a, b, "N"))
    pg.execute(upsert, (a, b, "U"))
    rows = pg.execute(
        'SELECT "StatusFlag" FROM conflictvisitmaps WHERE "VisitID" = %s AND "ConVisitID" = %s', (a, b)
    ).fetchall()
    assert rows == [("U",)]


def test_duplicate_payer_provider_reminder_is_rejected(pg: psycopg.Connection) -> None:
    payer, provider = uuid.uuid4(), uuid.uuid4()
    _insert(pg, "payer_provider_reminders", PayerID=payer, ProviderID=provider)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _insert(pg, "payer_provider_reminders", PayerID=payer, ProviderID=provider)


# ---------------------------------------------------------------------------------------------------------
# Materialized view
# ---------------------------------------------------------------------------------------------------------


def test_mv_has_the_spec_output_columns_and_is_populated(pg: psycopg.Connection, schema: str) -> None:
    assert [c.name for c in actual_columns(pg, schema, "mv_payer_conflicts_common")] == spec_mv_columns()
    populated = pg.execute(
        "SELECT ispopulated FROM pg_matviews WHERE schemaname = %s AND matviewname = %s",
        (schema, "mv_payer_conflicts_common"),
    ).fetchone()
    assert populated == (True,)


def _cvm_pair(pg: psycopg.Connection, **values: Any) -> int:
    """A CVM pair with all nine flags 'N' unless given."""
    flags = {
        f: "N"
        for f in (
            "SameSchTimeFlag",
            "SameVisitTimeFlag",
            "SchAndVisitTimeSameFlag",
            "SchOverAnotherSchTimeFlag",
            "VisitTimeOverAnotherVisitTimeFlag",
            "SchTimeOverVisitTimeFlag",
            "DistanceFlag",
            "InServiceFlag",
            "PTOFlag",
        )
    }
    return int(
        _insert(pg, "conflictvisitmaps", VisitID=uuid.uuid4(), ConVisitID=uuid.uuid4(), **{**flags, **values})
    )


def _mv_rows(pg: psycopg.Connection) -> dict[int, dict[str, Any]]:
    cur = pg.execute('SELECT * FROM mv_payer_conflicts_common ORDER BY "ID"')
    names = [d.name for d in cur.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def test_mv_keeps_active_payer_conflicts_once_and_computes_amounts(pg: psycopg.Connection) -> None:
    """Section 1.9: active non-demo payers only, no PTO-only or flagless rows, one row per (CONFLICTID,
    VISIT_KEY) with the lowest ID, parent status joined, minutes/amounts/classes computed; a concurrent
    refresh picks up changes."""
    active, inactive, demo = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for payer, is_active, is_demo in ((active, True, False), (inactive, False, False), (demo, True, True)):
        _insert(pg, "payers", PayerID=payer, AppPayerID=1, PayerName="P", IsActive=is_active, IsDemo=is_demo)
    c1 = _insert(pg, "conflicts", StatusFlag="N", NoResponseFlag="Yes")
    c2 = _insert(pg, "conflicts", StatusFlag="U")
    day = datetime(2024, 5, 6)
    timed = {
        "ShVTSTTime": day.replace(hour=8, second=30),
        "ShVTENTime": day.replace(hour=12, second=10),
        "CShVTSTTime": day.replace(hour=11),
        "CShVTENTime": day.replace(hour=15),
        "VisitStartTime": day.replace(hour=8),
        "BilledRateMinute": 0.5,
        "Billed": "yes",
        "StatusFlag": "R",
        "P_PCounty": "Kings",
        "GroupID": 7,
    }
    kept = _cvm_pair(
        pg, CONFLICTID=c1, PayerID=active, AppVisitID=20, ConAppVisitID=10, SameSchTimeFlag="Y", **timed
    )
    _cvm_pair(
        pg, CONFLICTID=c1, PayerID=active, AppVisitID=10, ConAppVisitID=20, SameSchTimeFlag="Y", **timed
    )
    other = _cvm_pair(
        pg,
        CONFLICTID=c2,
        PayerID=active,
        AppVisitID=30,
        ConAppVisitID=40,
        DistanceFlag="Y",
        InServiceFlag="Y",
        BILLABLEMINUTESOVERLAP=45.0,
        BilledRateMinute=1.0,
        PA_PCounty="Queens",
        P_PCounty="Kings",
        GroupID=7,
    )
    _cvm_pair(pg, CONFLICTID=c1, PayerID=inactive, AppVisitID=50, ConAppVisitID=60, SameSchTimeFlag="Y")
    _cvm_pair(pg, CONFLICTID=c1, PayerID=demo, AppVisitID=51, ConAppVisitID=61, SameSchTimeFlag="Y")
    _cvm_pair(pg, CONFLICTID=c1, PayerID=active, AppVisitID=52, ConAppVisitID=62, PTOFlag="Y")
    _cvm_pair(pg, CONFLICTID=c1, PayerID=active, AppVisitID=53, ConAppVisitID=63)

    pg.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_payer_conflicts_common")
    rows = _mv_rows(pg)
    assert sorted(rows) == [kept, other]

    first = rows[kept]
    assert first["VISIT_KEY"] == "10|20"
    assert (first["CONTYPE"], first["CONTYPEOLD"], first["HAS_TIME_OVERLAP"]) == ("only_to", "100", 1)
    assert (first["OrgParentStatusFlag"], first["NoResponseFlag"]) == ("N", "Yes")
    assert first["GROUP_SIZE"] == 2
    assert first["COUNTY"] == "Kings"
    assert (first["FULL_SHIFT_MIN"], first["OVERLAP_MIN"]) == (240, 60)
    assert (first["FULL_SHIFT_AMOUNT"], first["OVERLAP_AMOUNT"], first["FINAL_AMOUNT"]) == (120, 30, 30)
    assert (first["COSTTYPE"], first["VISITTYPE"]) == ("Recovery", "Billed")

    second = rows[other]
    assert (second["CONTYPE"], second["CONTYPEOLD"]) == ("both_td_is", "7")
    assert second["COUNTY"] == "Queens"
    assert (second["OVERLAP_MIN"], second["OVERLAP_AMOUNT"], second["FINAL_AMOUNT"]) == (45, 45, 0)
    assert (second["COSTTYPE"], second["VISITTYPE"]) == ("Avoidance", "Scheduled")

    pg.execute('UPDATE payers SET "IsActive" = false WHERE "PayerID" = %s', (active,))
    pg.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv_payer_conflicts_common")
    assert _mv_rows(pg) == {}
