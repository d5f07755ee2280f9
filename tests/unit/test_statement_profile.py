"""The harness's statement profile (bench/statement_profile.py): log parsing, labels, per-step sums."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.statement_profile import SQL_DIR, Entry, label, parse, sql_file_labels, summarise

LOG = """\
2026-12-06 21:30:49.352 UTC [3755] LOG:  duration: 60.468 ms  execute <unnamed>: -- Which keys of the batch
\tare stored already
2026-12-06 21:30:49.400 UTC [3755] LOG:  checkpoint starting: time
2026-12-06 21:30:49.742 UTC [3755] LOG:  duration: 178.881 ms  statement: COPY "cvm" ("SSN") FROM STDIN
2026-12-06 21:30:50.000 UTC [3756] LOG:  duration: 1.5 ms  parse <unnamed>: SELECT 1
2026-12-06 21:30:51.000 +01:00 [3756] LOG:  duration: 2.5 ms  bind <unnamed>: SELECT 1
2026-12-06 21:30:52.000 CET [3756] LOG:  duration: 4 ms  statement: SELECT 2
2026-12-06 21:30:53.000 UTC [3756] LOG:  duration: 9.000 ms  plan:
\tSeq Scan on t
"""


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_parse_takes_durations_with_their_time_and_whole_text() -> None:
    entries = parse(LOG)
    # The checkpoint line ends the first entry; auto_explain's "plan:" entries are not statements.
    assert [round(e.seconds, 6) for e in entries] == [0.060468, 0.178881, 0.0015, 0.0025, 0.004]
    assert entries[0].statement == "-- Which keys of the batch\n\tare stored already"
    assert entries[0].at == _epoch("2026-12-06 21:30:49.352")
    assert entries[3].at == _epoch("2026-12-06 20:30:51")  # +01:00
    assert entries[4].at is None  # a zone abbreviation other than UTC/GMT is not guessed


def test_label_names_the_sql_file_or_the_first_words() -> None:
    labels = sql_file_labels()
    first_line = (SQL_DIR / "detect" / "probe_batch_keys.sql").read_text().splitlines()[0]
    assert label(f"{first_line}\nWITH probed AS (...)", labels) == "detect/probe_batch_keys.sql"
    assert label('COPY "conflictvisitmaps" ("SSN") FROM STDIN', labels) == 'COPY "conflictvisitmaps"'
    assert label("ANALYZE   run_scope_group", labels) == "ANALYZE run_scope_group"
    assert label("SELECT " + "x, " * 40, labels).endswith("...")


def test_first_lines_of_the_statements_are_unique() -> None:
    """The profile tells statements apart by their file's first line: two files sharing one would be
    summed under the first."""
    files = [p for p in SQL_DIR.rglob("*.sql") if "migrations" not in p.parts]
    assert len(sql_file_labels()) == len(files)


def test_summarise_sums_per_step_and_statement() -> None:
    entries = [
        Entry(10.0, 0.5, "COPY a FROM STDIN"),
        Entry(11.0, 0.25, "COPY a FROM STDIN"),
        Entry(11.5, 1.0, "SELECT 1"),
        Entry(20.0, 0.125, "SELECT 1"),
        Entry(99.0, 2.0, "SELECT 3"),
        Entry(None, 0.5, "SELECT 4"),
    ]
    out = summarise(entries, {"detect": (9.0, 12.0), "status": (19.0, 21.0)}, top=1, labels={})
    assert out["detect"] == {
        "logged_seconds": 1.75,
        "statements": [{"statement": "SELECT 1", "calls": 1, "seconds": 1.0}],
    }
    assert out["status"]["logged_seconds"] == 0.125
    assert out["outside steps"]["statements"][0]["statement"] == "SELECT 3"
    assert out["unknown (log time zone)"]["logged_seconds"] == 0.5
