"""Where a run's PostgreSQL time goes: the server's statement log of one run, summed per step and statement.

The harness (`--statement-profile`) runs one more incremental run, untimed, on its own copy of the base
database with `log_min_duration_statement = 0` for that database only, then reads what the server wrote
to its log meanwhile. Each logged duration (a simple query, or the parse, bind and execute of an extended
query) is given to the step whose ledger interval holds its timestamp, and to its statement: the project's
SQL file it came from (matched on the file's first line, which every pipeline statement keeps through its
formatting), else the statement's first words (a COPY, an ANALYZE, a statement built in code).

Logging every statement costs time itself, which is why the profiled run is not one of the measured
ones. Durations are the server's own (time the backend spent on the statement, including a COPY's wait
for the client's data), not the client's.

The log is found through the backend's standard error (`/proc/<pid>/fd/2`): the project's servers (and
`pg_ctl -l`) write their log there. A server on another machine, or one whose log goes elsewhere, gives
no profile; the harness says so instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg

from visit_conflicts.paths import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql" / "postgres"
# One log entry: "<time> <zone> [<pid>] LOG:  duration: <ms> ms  <kind>: <text>", the text running on
# until the next line that starts with a time (log_line_prefix '%m [%p] ', the server default).
_ENTRY = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<zone>[A-Za-z0-9+:-]+) \[\d+\] LOG:  "
    r"duration: (?P<ms>[\d.]+) ms  (?P<kind>statement|parse [^:]*|bind [^:]*|execute [^:]*): (?P<text>.*)$"
)
_NEW_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_ZONES = {"UTC": UTC, "GMT": UTC}


@dataclass(frozen=True)
class Entry:
    """One logged duration."""

    at: float | None  # epoch seconds; None when the log's time zone is not understood
    seconds: float
    statement: str


def server_log(conn: psycopg.Connection[Any]) -> Path | None:
    """The file the server of `conn` logs to, when it is on this machine and readable, else None."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    if row is None:
        return None
    try:
        target = Path(os.readlink(f"/proc/{row[0]}/fd/2"))
    except OSError:  # another machine, another user's process, not Linux
        return None
    return target if target.is_file() and os.access(target, os.R_OK) else None


def _zone(name: str) -> timezone | None:
    if name in _ZONES:
        return _ZONES[name]
    match = re.fullmatch(r"([+-])(\d\d)(?::?(\d\d))?", name)
    if not match:
        return None
    offset = timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
    return timezone(-offset if match[1] == "-" else offset)


def parse(text: str) -> list[Entry]:
    """The duration entries of a stretch of server log (other lines are skipped)."""
    entries: list[Entry] = []
    current: tuple[float | None, float, list[str]] | None = None

    def close() -> None:
        if current is not None:
            entries.append(Entry(current[0], current[1] / 1000.0, "\n".join(current[2])))

    for line in text.splitlines():
        match = _ENTRY.match(line)
        if match:
            close()
            zone = _zone(match["zone"])
            at = (
                datetime.fromisoformat(match["ts"]).replace(tzinfo=zone).timestamp()
                if zone is not None
                else None
            )
            current = (at, float(match["ms"]), [match["text"]])
        elif _NEW_LINE.match(line):
            close()
            current = None
        elif current is not None:
            current[2].append(line)
    close()
    return entries


def sql_file_labels(root: Path = SQL_DIR) -> dict[str, str]:
    """First line of each of the project's PostgreSQL statements -> its file (relative to sql/postgres)."""
    labels: dict[str, str] = {}
    for path in sorted(root.rglob("*.sql")):
        if "migrations" in path.parts:
            continue
        for line in path.read_text().splitlines():
            if line.strip():
                labels.setdefault(line.strip(), str(path.relative_to(root)))
                break
    return labels


def label(statement: str, labels: Mapping[str, str]) -> str:
    """The statement's file, else its first words (a COPY names its table only)."""
    first = next((line.strip() for line in statement.splitlines() if line.strip()), "")
    if first in labels:
        return labels[first]
    words = " ".join(statement.split())
    copy = re.match(r"COPY (\S+)", words)
    if copy:
        return f"COPY {copy[1]}"
    return words[:70] + ("..." if len(words) > 70 else "")


def summarise(
    entries: Iterable[Entry],
    spans: Mapping[str, tuple[float, float]],
    *,
    top: int = 5,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Per step (its [start, end] in epoch seconds): the logged seconds and the `top` statements by
    seconds (calls, seconds); entries outside every step are summed under "outside steps"."""
    labels = sql_file_labels() if labels is None else labels
    per_step: dict[str, dict[str, list[float]]] = {}
    for entry in entries:
        step = "outside steps"
        if entry.at is not None:
            for name, (start, end) in spans.items():
                if start <= entry.at <= end:
                    step = name
                    break
        else:
            step = "unknown (log time zone)"
        stats = per_step.setdefault(step, {}).setdefault(label(entry.statement, labels), [0, 0.0])
        stats[0] += 1
        stats[1] += entry.seconds
    out: dict[str, Any] = {}
    for step, statements in per_step.items():
        ranked = sorted(statements.items(), key=lambda kv: -kv[1][1])
        out[step] = {
            "logged_seconds": round(sum(s for _, s in statements.values()), 3),
            "statements": [
                {"statement": name, "calls": int(calls), "seconds": round(seconds, 3)}
                for name, (calls, seconds) in ranked[:top]
            ],
        }
    return out
