"""D8-D11, D13 on the PostgreSQL side: the set-based pair merge of the detect step (store/detect.py), on
the real server. Every test that writes through `writer()` runs twice: with Python rows (the writer
converts and fingerprints every row) and with Arrow batches carrying the source's fingerprint (only the
rows the probe does not settle are converted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest

from tests.support import pairs
from tests.support.pairs import COLUMNS, NOW, pair, row, vid, writer
from visit_conflicts.store.detect import PairWriter


@pytest.fixture(autouse=True, params=["rows", "source"])
def feed(request: pytest.FixtureRequest) -> Iterator[str]:
    pairs.FEED["mode"] = request.param
    try:
        yield request.param
    finally:
        pairs.FEED["mode"] = "rows"


def test_new_pairs_get_status_n_and_one_conflict_per_primary_visit(pg: psycopg.Connection) -> None:
    """D10: new pairs are 'N'; pairs sharing a VisitID share one new parent conflict; never NULL."""
    a, b, c = vid(), vid(), vid()
    counts = writer(pg).write_batch([pair(a, b), pair(a, c), pair(b, a)], now=NOW)
    assert (counts.inserted, counts.new_conflicts, counts.updated) == (3, 2, 0)
    ab, ac, ba = row(pg, a, b), row(pg, a, c), row(pg, b, a)
    assert ab["CONFLICTID"] == ac["CONFLICTID"] != ba["CONFLICTID"]
    assert {ab["StatusFlag"], ba["StatusFlag"]} == {"N"}
    parents = pg.execute('SELECT "CONFLICTID", "StatusFlag" FROM conflicts ORDER BY 1').fetchall()
    assert sorted(p[0] for p in parents) == sorted({ab["CONFLICTID"], ba["CONFLICTID"]})
    assert {p[1] for p in parents} == {"N"}
    assert pg.execute('SELECT count(*) FROM conflictvisitmaps WHERE "CONFLICTID" IS NULL').fetchone() == (0,)


def test_new_pair_inherits_conflict_id_of_existing_visit_row(pg: psycopg.Connection) -> None:
    """D10: a new pair takes the CONFLICTID of an existing CVM row with the same VisitID; CRDATEUNIQUE
    is the earliest CreatedDate of the conflict."""
    a, b, c = vid(), vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    later = datetime(2026, 11, 28, 9, 0)
    counts = w.write_batch([pair(a, b), pair(a, c)], now=later)
    assert (counts.inserted, counts.new_conflicts) == (1, 0)
    ab, ac = row(pg, a, b), row(pg, a, c)
    assert ac["CONFLICTID"] == ab["CONFLICTID"]
    assert ac["CreatedDate"] == later and ac["CRDATEUNIQUE"] == NOW


def test_identical_rerun_writes_nothing(pg: psycopg.Connection) -> None:
    """D11: unchanged rows are not written at all (row versions unchanged, no UpdatedDate bump)."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b), pair(b, a)], now=NOW)
    before = row(pg, a, b)
    counts = w.write_batch([pair(a, b), pair(b, a)], now=datetime(2026, 11, 28))
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 2)
    after = row(pg, a, b)
    assert after["xmin"] == before["xmin"] and after["UpdatedDate"] is None


def test_changed_pair_is_updated_and_status_becomes_u(pg: psycopg.Connection) -> None:
    """D11: a differing written column updates the row, StatusFlag 'U', CONFLICTID/CreatedDate kept."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    before = row(pg, a, b)
    later = datetime(2026, 11, 28)
    counts = w.write_batch([pair(a, b, start=datetime(2026, 11, 20, 10, 0))], now=later)
    assert counts.updated == 1
    after = row(pg, a, b)
    assert after["SchStartTime"] == datetime(2026, 11, 20, 10, 0)
    assert (after["StatusFlag"], after["UpdatedDate"]) == ("U", later)
    assert (after["CONFLICTID"], after["CreatedDate"]) == (before["CONFLICTID"], before["CreatedDate"])


def test_real_column_compared_after_type_normalisation(pg: psycopg.Connection) -> None:
    """D11: 1.1 arrives as a float64 but is stored as real; the same value must not count as a change."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b, miles=1.1)], now=NOW)
    assert w.write_batch([pair(a, b, miles=1.1)], now=NOW).updated == 0


def test_flags_never_go_back_from_y_to_n(pg: psycopg.Connection) -> None:
    """D11: rule flags only move N -> Y."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b, flags="YNNNNNN")], now=NOW)
    counts = w.write_batch([pair(a, b, flags="NYNNNNN")], now=NOW)
    assert counts.updated == 1
    r = row(pg, a, b)
    assert (r["SameSchTimeFlag"], r["SameVisitTimeFlag"]) == ("Y", "Y")
    # Losing a flag alone is no change at all.
    assert w.write_batch([pair(a, b, flags="NNNNNNN")], now=NOW).updated == 0


@pytest.mark.parametrize("status", ["W", "I", "D"])
def test_user_and_deleted_statuses_survive_updates(pg: psycopg.Connection, status: str) -> None:
    """D11: StatusFlag becomes 'U' unless it is 'W', 'I' or 'D'."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    pg.execute('UPDATE conflictvisitmaps SET "StatusFlag" = %s', (status,))
    pg.commit()
    assert w.write_batch([pair(a, b, start=datetime(2026, 11, 20, 11))], now=NOW).updated == 1
    assert row(pg, a, b)["StatusFlag"] == status


def test_resolved_pair_reopens_even_when_unchanged(pg: psycopg.Connection) -> None:
    """D11: a re-detected 'R' row reopens as 'U' with ResolveDate and ResolvedBy cleared."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    pg.execute(
        """UPDATE conflictvisitmaps SET "StatusFlag" = 'R', "ResolveDate" = now(), "ResolvedBy" = 'x'"""
    )
    pg.commit()
    counts = w.write_batch([pair(a, b)], now=NOW)
    assert (counts.updated, counts.reopened) == (1, 1)
    r = row(pg, a, b)
    assert (r["StatusFlag"], r["ResolveDate"], r["ResolvedBy"]) == ("U", None, None)


def test_agency_contact_is_kept_when_source_sends_null(pg: psycopg.Connection) -> None:
    """D11: user-owned AgencyContact is preserved when the source sends NULL."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    pg.execute("""UPDATE conflictvisitmaps SET "AgencyContact" = 'Jane'""")
    pg.commit()
    assert w.write_batch([pair(a, b, contact=None)], now=NOW).updated == 0
    assert row(pg, a, b)["AgencyContact"] == "Jane"


def test_duplicate_key_in_batch_is_written_once(pg: psycopg.Connection) -> None:
    """D8/D9: one row per pair key, whatever arrives."""
    a, b = vid(), vid()
    counts = writer(pg).write_batch([pair(a, b), pair(a, b)], now=NOW)
    assert (counts.inserted, counts.duplicates_dropped) == (1, 1)


def test_duplicate_key_keeps_the_first_row_and_mixed_batches_split_correctly(pg: psycopg.Connection) -> None:
    """D8 keeps the first occurrence; one batch mixing stored, changed and new pairs is split into
    updates and inserts by key, whatever the row order."""
    a, b, c, d = vid(), vid(), vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b), pair(c, d)], now=NOW)
    counts = w.write_batch(
        [pair(b, c, miles=2.0), pair(c, d, miles=9.0), pair(b, c, miles=3.0), pair(a, b)], now=NOW
    )
    assert (counts.inserted, counts.updated, counts.unchanged, counts.duplicates_dropped) == (1, 1, 1, 1)
    assert row(pg, b, c)["DistanceMilesFromLatLng"] == 2.0
    assert row(pg, c, d)["DistanceMilesFromLatLng"] == 9.0


def test_insert_disabled_updates_stored_pairs_but_inserts_nothing(pg: psycopg.Connection) -> None:
    """enable_insert = false (D3): new pairs are counted as not inserted, no parent is created, and
    stored pairs are still kept up to date."""
    a, b, c = vid(), vid(), vid()
    writer(pg).write_batch([pair(a, b)], now=NOW)
    parents_before = pg.execute("SELECT count(*) FROM conflicts").fetchone()
    pg.commit()
    w = PairWriter(pg, COLUMNS, run_id="run-2", chunk=0, insert_enabled=False)
    counts = w.write_batch([pair(a, b, miles=7.5), pair(a, c)], now=NOW)
    assert (counts.inserted, counts.updated, counts.extra["not_inserted"]) == (0, 1, 1)
    assert row(pg, a, b)["DistanceMilesFromLatLng"] == 7.5
    assert pg.execute(
        'SELECT count(*) FROM conflictvisitmaps WHERE "VisitID" = %s AND "ConVisitID" = %s', (a, c)
    ).fetchone() == (0,)
    assert pg.execute("SELECT count(*) FROM conflicts").fetchone() == parents_before


def test_malformed_key_fails_the_batch_before_anything_is_written(pg: psycopg.Connection) -> None:
    """D23: a batch that cannot be stored is refused with the column named, and nothing of it lands."""
    a, b = vid(), vid()
    with pytest.raises(ValueError, match="ConVisitID"):
        writer(pg).write_batch([pair(a, b), pair(a, "not-a-uuid")], now=NOW)
    pg.rollback()
    assert pg.execute("SELECT count(*) FROM conflictvisitmaps").fetchone() == (0,)
    assert pg.execute("SELECT count(*) FROM run_seen_pair").fetchone() == (0,)


def test_fractional_value_for_integer_column_is_rounded_like_postgres(pg: psycopg.Connection) -> None:
    """The ETA arrives with two decimals; the int4 column gets it rounded half away from zero, and the
    same value again is no change (D11 after type normalisation)."""
    columns = (*COLUMNS, "ETATravelMinutes")
    a, b, c, d = vid(), vid(), vid(), vid()
    pg.autocommit = False
    w = PairWriter(pg, columns, run_id="r", chunk=0)
    assert w.write_batch([(*pair(a, b), 30.5), (*pair(c, d), 30.49)], now=NOW).inserted == 2
    assert row(pg, a, b)["ETATravelMinutes"] == 31
    assert row(pg, c, d)["ETATravelMinutes"] == 30
    assert w.write_batch([(*pair(a, b), 30.5)], now=NOW).updated == 0


def test_metadata_only_change_refreshes_the_columns_but_keeps_the_status(pg: psycopg.Connection) -> None:
    """D11 amended: a re-detected pair whose only differences are LastUpdatedDate/LastUpdatedBy (and the
    Con* twins) gets them refreshed, but its StatusFlag, UpdateFlag and UpdatedDate stay: a touched visit
    with no business change must not flood agencies with 'U' conflicts. A business change alongside still
    makes it 'U'; a resolved pair still reopens."""
    columns = (*COLUMNS, "LastUpdatedDate", "LastUpdatedBy", "ConLastUpdatedDate", "ConLastUpdatedBy")
    a, b, c, d = vid(), vid(), vid(), vid()
    pg.autocommit = False
    w = PairWriter(pg, columns, run_id="r", chunk=0)
    touched = datetime(2026, 11, 21, 8, 0)
    first = datetime(2026, 11, 20, 8, 0)
    w.write_batch([(*pair(a, b), first, "u1", first, "u2"), (*pair(c, d), first, "u1", first, "u2")], now=NOW)
    pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'R' WHERE "VisitID" = %s""", (c,))
    pg.commit()

    later = datetime(2026, 11, 28, 9, 0)
    counts = w.write_batch(
        [(*pair(a, b), touched, "u9", touched, "u8"), (*pair(c, d), touched, "u9", first, "u2")], now=later
    )
    assert (counts.updated, counts.refreshed, counts.unchanged, counts.reopened) == (1, 1, 0, 1)
    refreshed = row(pg, a, b)
    assert refreshed["LastUpdatedDate"] == touched and refreshed["ConLastUpdatedBy"] == "u8"
    assert refreshed["StatusFlag"] == "N" and refreshed["UpdatedDate"] is None
    assert row(pg, c, d)["StatusFlag"] == "U"  # 'R' reopens whatever changed

    business = w.write_batch([(*pair(a, b, miles=2.5), touched, "u9", touched, "u8")], now=later)
    assert (business.updated, business.refreshed) == (1, 0)
    assert row(pg, a, b)["StatusFlag"] == "U" and row(pg, a, b)["UpdatedDate"] == later
    again = w.write_batch([(*pair(a, b, miles=2.5), touched, "u9", touched, "u8")], now=later)
    assert (again.updated, again.refreshed, again.unchanged) == (0, 0, 1)


def test_pair_with_a_text_too_long_for_its_column_is_skipped_and_counted(pg: psycopg.Connection) -> None:
    """D23: a value PostgreSQL cannot store whole (here an SSN longer than varchar(20)) skips its pair and
    is counted; the rest of the batch is written, nothing partial, and the run goes on."""
    a, b, c, d = vid(), vid(), vid(), vid()
    counts = writer(pg).write_batch([pair(a, b), pair(c, d, ssn="9" * 25), pair(d, c, ssn="9" * 25)], now=NOW)
    assert (counts.inserted, counts.skipped_oversized_text, counts.unchanged) == (1, 2, 0)
    assert pg.execute(
        'SELECT count(*) FROM conflictvisitmaps WHERE "VisitID" IN (%s, %s)', (c, d)
    ).fetchone() == (0,)
    pg.commit()
    only_bad = writer(pg).write_batch([pair(c, d, ssn="9" * 25)], now=NOW)
    assert (only_bad.pairs_read, only_bad.skipped_oversized_text, only_bad.inserted) == (1, 1, 0)


def test_identical_resend_is_recognised_by_its_fingerprint_alone(pg: psycopg.Connection) -> None:
    """D11 through the fingerprint: an identical re-send of open pairs is matched by the key probe, never
    compared in full and never written; a changed pair still is."""
    a, b, c, d = vid(), vid(), vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b), pair(c, d)], now=NOW)
    stored = row(pg, a, b)
    assert stored["PairFingerprint"] is not None
    counts = w.write_batch([pair(a, b), pair(c, d, miles=4.5)], now=datetime(2026, 11, 28))
    assert (counts.fingerprint_matched, counts.updated, counts.unchanged) == (1, 1, 1)
    assert row(pg, a, b)["xmin"] == stored["xmin"]
    changed = row(pg, c, d)
    assert changed["DistanceMilesFromLatLng"] == 4.5 and changed["StatusFlag"] == "U"
    assert changed["PairFingerprint"] != stored["PairFingerprint"]
    again = w.write_batch([pair(c, d, miles=4.5)], now=datetime(2026, 11, 29))
    assert (again.fingerprint_matched, again.updated) == (1, 0)


def test_pair_stored_without_fingerprint_is_compared_once_then_matched(pg: psycopg.Connection) -> None:
    """Migration 0030: a pair stored before the fingerprint existed (NULL) is compared in full once,
    unchanged (no status or UpdatedDate change, D11), and gets the incoming fingerprint."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    pg.execute('UPDATE conflictvisitmaps SET "PairFingerprint" = NULL')
    pg.commit()
    first = w.write_batch([pair(a, b)], now=datetime(2026, 11, 28))
    assert (first.fingerprint_matched, first.updated, first.fingerprints_recorded, first.unchanged) == (
        0,
        0,
        1,
        1,
    )
    r = row(pg, a, b)
    assert (r["StatusFlag"], r["UpdatedDate"]) == ("N", None) and r["PairFingerprint"] is not None
    second = w.write_batch([pair(a, b)], now=datetime(2026, 11, 29))
    assert (second.fingerprint_matched, second.fingerprints_recorded) == (1, 0)


def test_fingerprint_is_the_incoming_rows_so_kept_values_still_match(pg: psycopg.Connection) -> None:
    """D11 keeps a flag at 'Y' and AgencyContact when the source sends NULL, so the stored row differs
    from the incoming one while the compare says unchanged: the incoming fingerprint is recorded, and
    the identical re-send is then matched (still unchanged, values kept)."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b, flags="YNNNNNN", contact="Jane")], now=NOW)
    lost = w.write_batch([pair(a, b, flags="NYNNNNN", contact=None)], now=NOW)
    assert lost.updated == 1  # the new 'Y' flag
    resend = w.write_batch([pair(a, b, flags="NYNNNNN", contact=None)], now=NOW)
    assert (resend.fingerprint_matched, resend.updated) == (1, 0)
    r = row(pg, a, b)
    assert (r["SameSchTimeFlag"], r["SameVisitTimeFlag"], r["AgencyContact"]) == ("Y", "Y", "Jane")


def test_resolved_pair_with_the_same_fingerprint_still_reopens(pg: psycopg.Connection) -> None:
    """D11: a re-detected 'R' pair reopens even when nothing changed; the fingerprint never skips it."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b)], now=NOW)
    pg.execute("""UPDATE conflictvisitmaps SET "StatusFlag" = 'R', "ResolveDate" = now()""")
    pg.commit()
    counts = w.write_batch([pair(a, b)], now=NOW)
    assert (counts.fingerprint_matched, counts.updated, counts.reopened) == (0, 1, 1)
    assert row(pg, a, b)["StatusFlag"] == "U"


def test_full_compare_ignores_the_fingerprint(pg: psycopg.Connection) -> None:
    """merge_compare = "full" (repair): every stored pair of the writer's kind is compared in SQL, and
    the fingerprint is still recorded, so the two modes can alternate."""
    a, b = vid(), vid()
    writer(pg).write_batch([pair(a, b)], now=NOW)
    full = PairWriter(pg, COLUMNS, run_id="run-2", chunk=0, compare="full")
    counts = full.write_batch([pair(a, b), pair(b, a)], now=NOW)
    assert (counts.fingerprint_matched, counts.unchanged, counts.inserted) == (0, 1, 1)
    assert row(pg, b, a)["PairFingerprint"] is not None


def test_user_filled_contact_is_replaced_when_the_source_sends_another(pg: psycopg.Connection) -> None:
    """D11 for KEEP_WHEN_NULL columns through the probe: a value users filled is kept while the source
    sends NULL, but a different value from the source replaces it, even though the incoming row (and so
    its fingerprint) is the one stored last time."""
    a, b = vid(), vid()
    w = writer(pg)
    w.write_batch([pair(a, b, contact="Desk")], now=NOW)
    pg.execute("""UPDATE conflictvisitmaps SET "AgencyContact" = 'Jane'""")
    pg.commit()
    counts = w.write_batch([pair(a, b, contact="Desk")], now=NOW)
    assert (counts.fingerprint_matched, counts.updated) == (0, 1)
    assert row(pg, a, b)["AgencyContact"] == "Desk"


def test_a_batch_with_the_source_fingerprint_converts_only_the_rows_that_travel(
    pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: with the fingerprint computed by the source, an unchanged pair is settled by its key and
    fingerprint alone: of a batch of three unchanged, one changed and one new pair, only the changed and
    the new one are converted to the column types (and sent in full)."""
    a, b, c, d, e = vid(), vid(), vid(), vid(), vid()
    w = pairs.SourceFedWriter(pg, COLUMNS, run_id="run-1", chunk=0)
    pg.autocommit = False
    w.write_batch([pair(a, b), pair(b, a), pair(a, c), pair(c, a)], now=NOW)
    converted: list[int] = []
    written = w._written
    original = type(written).convert

    def counting(self: Any, table: Any) -> Any:
        if self is written:
            converted.append(table.num_rows)
        return original(self, table)

    monkeypatch.setattr(type(written), "convert", counting)
    batch = [pair(a, b), pair(b, a), pair(a, c), pair(c, a, miles=9.5), pair(d, e)]
    counts = w.write_batch(batch, now=datetime(2026, 11, 28))
    assert (counts.fingerprint_matched, counts.updated, counts.inserted, counts.unchanged) == (3, 1, 1, 3)
    assert converted == [2]
    assert row(pg, c, a)["DistanceMilesFromLatLng"] == 9.5
