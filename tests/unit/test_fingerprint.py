"""The pair fingerprint (store/fingerprint.py): a function of the row's values alone (not of its batch,
its neighbours or the Arrow width carrying them), and any single change of a written value changes it
(D11: the fingerprint may only ever say "certainly unchanged")."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS
from visit_conflicts.paths import PG_SQL_DIR
from visit_conflicts.store.arrow_copy import ArrowCopy
from visit_conflicts.store.fingerprint import FINGERPRINT_COLUMN, fingerprints

TYPES = {
    "VisitID": "uuid",
    "SSN": "varchar",
    "ProviderName": "varchar",
    "AppVisitID": "int8",
    "ETATravelMinutes": "int4",
    "UpdateFlag": "int2",
    "DistanceMilesFromLatLng": "float4",
    "Lat": "float8",
    "VisitDate": "date",
    "SchStartTime": "timestamp",
    "IsMissed": "bool",
}
COLUMNS = tuple(TYPES)


def base_row(i: int = 0) -> dict[str, Any]:
    return {
        "VisitID": f"{i:08x}-1111-2222-3333-444455556666",
        "SSN": f"123-45-{i:04d}",
        "ProviderName": "Sunrise Home Care of Brooklyn, Long Island and Queens " * (1 + i % 3),
        "AppVisitID": 10_000_000_000 + i,
        "ETATravelMinutes": 31,
        "UpdateFlag": None,
        "DistanceMilesFromLatLng": 1.25,
        "Lat": 40.6782,
        "VisitDate": date(2026, 11, 20),
        "SchStartTime": datetime(2026, 11, 20, 9, 0),
        "IsMissed": False,
    }


def table(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows as they arrive: Arrow types inferred from the values."""
    return pa.table({c: pa.array([r[c] for r in rows]) for c in COLUMNS})


def fp(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> list[int]:
    return fingerprints(table(rows), columns).to_pylist()


def test_a_row_has_the_same_fingerprint_in_any_batch() -> None:
    """The fingerprint depends on the row only: not on its neighbours, its position, the longest string
    of the batch, or whether the column is a slice or several chunks."""
    rows = [base_row(i) for i in range(7)]
    alone = [fp([r])[0] for r in rows]
    together = fp(rows)
    assert together == alone
    assert fp(list(reversed(rows))) == list(reversed(alone))
    converted = table(rows)
    assert fingerprints(converted.slice(3, 2), COLUMNS).to_pylist() == alone[3:5]
    chunked = pa.concat_tables([converted.slice(0, 4), converted.slice(4)])
    assert fingerprints(chunked, COLUMNS).to_pylist() == alone
    assert len(set(alone)) == len(alone)


CHANGES: list[tuple[str, Any]] = [
    ("VisitID", "00000000-1111-2222-3333-444455556667"),
    ("VisitID", None),
    ("SSN", "123-45-0001"),
    ("SSN", ""),
    ("SSN", None),
    ("SSN", "123-45-0000 "),
    ("ProviderName", "Sunrise Home Care of Brooklyn, Long Island and Queens " + "x"),
    ("ProviderName", "sunrise Home Care of Brooklyn, Long Island and Queens "),
    ("AppVisitID", 10_000_000_001),
    ("AppVisitID", None),
    ("ETATravelMinutes", 0),
    ("UpdateFlag", 0),
    ("UpdateFlag", 1),
    ("DistanceMilesFromLatLng", 1.26),
    ("Lat", 40.67820000001),
    ("VisitDate", date(2026, 11, 21)),
    ("SchStartTime", datetime(2026, 11, 20, 9, 0, 0, 1)),
    ("SchStartTime", None),
    ("IsMissed", True),
    ("IsMissed", None),
]


@pytest.mark.parametrize(("column", "value"), CHANGES)
def test_any_single_change_changes_the_fingerprint(column: str, value: Any) -> None:
    """D11 safety: a pair whose written values differ in one column is never taken for unchanged."""
    changed = {**base_row(), column: value}
    assert fp([base_row()]) != fp([changed])


def test_random_rows_differ_and_string_words_are_position_sensitive() -> None:
    """Strings that differ only by swapped 8-byte words, or by trailing bytes, differ; so do many random
    rows."""
    a, b = base_row(), base_row()
    a["ProviderName"], b["ProviderName"] = "AAAAAAAABBBBBBBB", "BBBBBBBBAAAAAAAA"
    assert fp([a]) != fp([b])
    rng = random.Random(11)
    rows = []
    for i in range(2000):
        r = base_row(i)
        r["ProviderName"] = "".join(rng.choice("abc ") for _ in range(rng.randint(0, 40)))
        r["SchStartTime"] = datetime(2026, 1, 1) + timedelta(minutes=rng.randint(0, 10**6))
        rows.append(r)
    assert len(set(fp(rows))) == len(rows)


def test_the_arrow_width_or_type_of_a_null_does_not_matter() -> None:
    """The same values carried by other Arrow widths (int32/int64, string/large_string, timestamp as it
    arrives), a column of NULLs typed or not, a dictionary: the same fingerprint. A value of another
    kind (the text "31" for the number 31) is not the same value."""
    rows = [base_row(i) for i in range(3)]
    plain = table(rows)
    assert fingerprints(plain, COLUMNS).to_pylist() == fp(rows)
    widths = plain.set_column(
        COLUMNS.index("ETATravelMinutes"),
        "ETATravelMinutes",
        plain.column("ETATravelMinutes").cast(pa.int32()),
    )
    widths = widths.set_column(COLUMNS.index("SSN"), "SSN", widths.column("SSN").cast(pa.large_string()))
    widths = widths.set_column(
        COLUMNS.index("ProviderName"), "ProviderName", widths.column("ProviderName").dictionary_encode()
    )
    assert fingerprints(widths, COLUMNS).to_pylist() == fp(rows)
    typed_nulls = plain.set_column(COLUMNS.index("UpdateFlag"), "UpdateFlag", pa.nulls(3, pa.int16()))
    assert plain.column("UpdateFlag").type == pa.null()
    assert fingerprints(typed_nulls, COLUMNS).to_pylist() == fp(rows)
    as_text = plain.set_column(
        COLUMNS.index("ETATravelMinutes"),
        "ETATravelMinutes",
        plain.column("ETATravelMinutes").cast(pa.string()),
    )
    assert set(fingerprints(as_text, COLUMNS).to_pylist()).isdisjoint(fp(rows))


def test_converted_batches_have_stable_fingerprints_too() -> None:
    """The CVM column types of arrow_copy (16-byte uuids, float32, ...) are fingerprinted like any other
    Arrow data: a converted row gets one fingerprint whatever its batch."""
    converter = ArrowCopy(relation=None, types=TYPES)  # type: ignore[arg-type]  # conversion only
    rows = [base_row(i) for i in range(4)]
    converted = converter.convert(table(rows))
    alone = [fingerprints(converter.convert(table([r])), COLUMNS).to_pylist()[0] for r in rows]
    assert fingerprints(converted, COLUMNS).to_pylist() == alone
    changed = converter.convert(table([{**rows[0], "VisitID": "00000000-1111-2222-3333-444455556667"}]))
    assert fingerprints(changed, COLUMNS).to_pylist()[0] != alone[0]


def test_the_column_list_is_part_of_the_fingerprint() -> None:
    """A writer with other columns never matches a stored fingerprint of this one (only costs a compare)."""
    assert fp([base_row()]) != fp([base_row()], COLUMNS[:-1])


def test_fingerprint_is_stable_across_processes_and_versions() -> None:
    """Stored fingerprints must keep matching after a restart or an upgrade of numpy/pyarrow: a change
    here needs a new fingerprint VERSION (then every stored pair takes the full compare once)."""
    assert fp([base_row()]) == [GOLDEN]


GOLDEN = -2371449285299001106


def test_outside_the_pair_writer_no_statement_writes_a_fingerprinted_column() -> None:
    """Migration 0030: a stored fingerprint stays valid only while the pair writer alone writes the pair
    columns (status management writes computed and status columns, never a source column). A statement
    elsewhere that assigns a pair column must also clear "PairFingerprint"; this names it."""
    assignment = re.compile(r'(?:^|,)\s*"(\w+)"\s*=', re.MULTILINE)
    update = re.compile(
        r"UPDATE\s+conflictvisitmaps\b.*?\bSET\b(.*?)(?:\bFROM\b|\bWHERE\b|\bRETURNING\b|$)", re.S
    )
    offenders = []
    for path in sorted(PG_SQL_DIR.rglob("*.sql")):
        if path.parent.name in ("detect", "migrations"):
            continue
        for set_clause in update.findall(path.read_text()):
            written = set(assignment.findall(set_clause)) & set(INSERVICE_PAIR_COLUMNS)
            if written and FINGERPRINT_COLUMN not in assignment.findall(set_clause):
                offenders.append(f"{path.relative_to(PG_SQL_DIR)}: {sorted(written)}")
    assert offenders == []
    assert update.search((PG_SQL_DIR / "status" / "computed_time_columns.sql").read_text())
