"""The PostgreSQL target schema (migrations 0001-0003) checked against the project's column contract.

The contract is the project's own data file `tests/contract/postgres_schema.toml`: the tables, columns,
types, defaults, keys and index names of the target schema, restated from the legacy system's data model
(see `tests/contract/README.md`). A drift between the migrations and that file fails here. The only
allowed deviation is a documented widening of the columns the contract lists as too small: such a column
must be wider than the contract says, never narrower, and must carry a column comment that says why.
"""

from __future__ import annotations

import re
import tomllib
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

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "contract" / "postgres_schema.toml"
OUR_MIGRATIONS = ("0001_conflict_tables", "0002_indexes", "0003_payer_conflicts_mv")

# Widenings the contract's too-small list does not name but that follow from the same fact (payer names up
# to 200 characters): the reminders table stores DIMPAYER."Payer Name" too.
EXTRA_WIDENED = {("payer_provider_reminders", "Contract")}

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
# The contract (tests/contract/postgres_schema.toml)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractColumn:
    name: str
    type: str | None = None  # e.g. "int8", "varchar(50)"; None when the contract gives no type
    default: str | None = None
    identity: bool = False
    not_null: bool = False
    pk: bool = False


@cache
def _contract() -> dict[str, Any]:
    with CONTRACT_PATH.open("rb") as f:
        return tomllib.load(f)


def _columns(group: str, table: str) -> list[ContractColumn]:
    entry = _contract()[group].get(table)
    assert entry and entry["columns"], f"no columns for {table} in {CONTRACT_PATH.name} [{group}]"
    cols = [ContractColumn(**c) for c in entry["columns"]]
    names = [c.name for c in cols]
    assert len(names) == len(set(names)), f"{CONTRACT_PATH.name} lists a column of {table} twice"
    return cols


def contract_columns(table: str) -> list[ContractColumn]:
    """A table whose types, defaults, identity, NOT NULL and primary key are all in the contract."""
    return _columns("tables", table)


def contract_pipeline_columns(table: str) -> list[ContractColumn]:
    """Columns the pipeline adds to a contract table for its own use (after the legacy columns)."""
    return [ContractColumn(**c) for c in _contract().get("pipeline_columns", {}).get(table, [])]


def contract_too_small_names() -> set[str]:
    """The CVM columns the contract calls too small (primary side names)."""
    names = set(_contract()["too_small_columns"])
    assert names, "the contract names no too-small column"
    return names


def contract_widened_names() -> set[str]:
    """Columns that may be wider than the contract: the too-small ones and their `Con` counterparts."""
    return {p + n for n in contract_too_small_names() for p in ("", "Con")}


def contract_staging_columns() -> list[ContractColumn]:
    """conflictlog_staging: the legacy staging column list, in order, typed like CVM except where stated."""
    return _columns("staging_tables", "conflictlog_staging")


def contract_other_tables() -> dict[str, list[ContractColumn]]:
    """Log-history and UI tables, with a full column list each (names, types, identity)."""
    return {table: _columns("log_and_ui_tables", table) for table in _contract()["log_and_ui_tables"]}


def contract_mv_columns() -> list[str]:
    return list(_contract()["materialized_views"]["mv_payer_conflicts_common"]["columns"])


def contract_named_indexes() -> dict[str, tuple[bool, list[str], bool]]:
    """Indexes with an exact name: name -> (unique, key columns, partial)."""
    out = {
        name: (index["unique"], list(index["columns"]), index["partial"])
        for name, index in _contract()["indexes"].items()
    }
    assert out, "no named index in the contract"
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


def _contract_type_parts(contract_type: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"varchar\((\d+)\)", contract_type)
    return ("varchar", int(m.group(1))) if m else (_UDT.get(contract_type, contract_type), None)


def assert_columns_match(
    pg: psycopg.Connection,
    schema: str,
    table: str,
    expected: list[ContractColumn],
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
    assert not missing and not extra, f"{table}: missing {missing}, not in the contract {extra}"

    problems = []
    for col in expected:
        got = actual[col.name]
        if col.type is not None:
            udt, length = _contract_type_parts(col.type)
            if got.udt != udt:
                problems.append(f'"{col.name}": {got.udt} but the contract says {col.type}')
            elif length is not None and got.length != length:
                if got.length is not None and got.length > length and col.name in widened:
                    if not (got.comment and "Widened" in got.comment):
                        problems.append(f'"{col.name}" is widened without a comment saying why')
                else:
                    problems.append(f'"{col.name}": varchar({got.length}) but the contract says {col.type}')
                    continue
            if col.name in must_widen and not (got.length and length and got.length > length):
                problems.append(f'"{col.name}" is listed as too small in the contract but was not widened')
        if check_keys:
            if col.identity != got.identity:
                problems.append(f'"{col.name}": identity {got.identity}, contract {col.identity}')
            if (col.not_null or col.identity or col.pk) and not got.not_null:
                problems.append(f'"{col.name}" should be NOT NULL')
            if col.default is not None and _normalise_default(got.default) != col.default:
                problems.append(f'"{col.name}": default {got.default!r}, contract {col.default}')
    assert not problems, f"{table} differs from the contract:\n  " + "\n  ".join(problems)

    if check_keys:
        contract_pk = [c.name for c in expected if c.pk]
        pk = primary_key(pg, schema, table)
        assert (pk[1] if pk else []) == contract_pk, f"{table}: primary key {pk}, contract {contract_pk}"
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
# Tables against the contract
# ---------------------------------------------------------------------------------------------------------


def test_conflictvisitmaps_has_the_248_contract_columns(pg: psycopg.Connection, schema: str) -> None:
    """The 248 legacy columns, then only the pipeline's own declared columns (each commented)."""
    expected = contract_columns("conflictvisitmaps")
    assert len(expected) == 248, f"the contract lists {len(expected)} CVM columns, expected 248"
    pipeline = contract_pipeline_columns("conflictvisitmaps")
    assert_columns_match(
        pg,
        schema,
        "conflictvisitmaps",
        [*expected, *pipeline],
        widened=contract_widened_names(),
        must_widen=contract_too_small_names(),
    )
    legacy = {c.name for c in expected}
    own = [c for c in actual_columns(pg, schema, "conflictvisitmaps") if c.name not in legacy]
    assert [c.name for c in own] == [c.name for c in pipeline]
    for column in own:
        assert column.comment and column.comment.startswith("Pipeline-owned"), column.name


@pytest.mark.parametrize(
    "table",
    ["conflicts", "payer_provider_reminders", "settings", "mph", "excluded_ssn", "excluded_agency"],
)
def test_reference_table_matches_contract(pg: psycopg.Connection, schema: str, table: str) -> None:
    widened = {n for t, n in EXTRA_WIDENED if t == table}
    assert_columns_match(pg, schema, table, contract_columns(table), widened=widened, must_widen=widened)


def test_staging_has_the_125_contract_columns_plus_created_date(pg: psycopg.Connection, schema: str) -> None:
    expected = contract_staging_columns()
    assert len(expected) == 125, f"the contract lists {len(expected)} staging columns, expected 125"
    cvm_created = next(c for c in contract_columns("conflictvisitmaps") if c.name == "CreatedDate")
    assert_columns_match(
        pg,
        schema,
        "conflictlog_staging",
        [*expected, cvm_created],
        widened=contract_widened_names(),
        check_keys=False,
    )
    actual = actual_columns(pg, schema, "conflictlog_staging")
    assert [c.name for c in actual] == [c.name for c in expected] + ["CreatedDate"]
    by_name = {c.name: c for c in actual}
    assert _normalise_default(by_name["ConStatusFlag"].default) == "'U'"
    assert primary_key(pg, schema, "conflictlog_staging") is None


def test_log_and_ui_tables_match_contract(pg: psycopg.Connection, schema: str) -> None:
    contract = contract_other_tables()
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
    assert set(wanted) <= set(contract), f"the contract lacks {set(wanted) - set(contract)}"
    for table in wanted:
        # The contract states types and identity, not defaults or NOT NULL: compare names, types, identity.
        assert_columns_match(pg, schema, table, contract[table], check_keys=False)
        actual = {c.name: c for c in actual_columns(pg, schema, table)}
        for col in contract[table]:
            if col.identity:  # where the contract is silent (contact_maintenance "ID") either is fine
                assert actual[col.name].identity, f'{table}."{col.name}" should be an identity column'


def test_settings_is_seeded_with_one_idle_row(pg: psycopg.Connection) -> None:
    """D7: a missing ExtraDistancePer means 1.0; the single row ("ID" = 0) starts with InProgressFlag 0."""
    assert pg.execute('SELECT "ID", "ExtraDistancePer", "InProgressFlag" FROM settings').fetchall() == [
        (0, 1.0, 0)
    ]


# ---------------------------------------------------------------------------------------------------------
# Keys and indexes
# ---------------------------------------------------------------------------------------------------------


def test_named_indexes_of_the_contract_exist(pg: psycopg.Connection, schema: str) -> None:
    found = indexes(pg, schema)
    for name, (unique, columns, partial) in contract_named_indexes().items():
        assert name in found, f"index {name} (named in the contract) is missing"
        info = found[name]
        assert info.table == "conflictvisitmaps", f"{name} is on {info.table}"
        assert info.unique == unique, f"{name}: unique={info.unique}, contract unique={unique}"
        assert info.columns == columns, f"{name}: columns {info.columns}, contract {columns}"
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
    # The legacy InService rule: md5('I' || id), 32 hex characters, stored in a uuid column.
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


def test_mv_has_the_contract_output_columns_and_is_populated(pg: psycopg.Connection, schema: str) -> None:
    assert [c.name for c in actual_columns(pg, schema, "mv_payer_conflicts_common")] == contract_mv_columns()
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
    """The legacy payer view: active non-demo payers only, no PTO-only or flagless rows, one row per
    (CONFLICTID, VISIT_KEY) with the lowest ID, parent status joined, minutes/amounts/classes computed; a
    concurrent refresh picks up changes."""
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
