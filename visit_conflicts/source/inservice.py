"""InService conflicts on the Snowflake side (D14).

Snowflake (or its emulation) finds the pairs, so only pairs leave it. On one connection (session temp
tables live in the session):

1. `InServiceSource.prepare` loads the exclusion lists (the detection's reference data) and computes
   the scope. In delta mode (the default) it is a set of sides whose pairs are re-evaluated and whose
   stored pairs the stale cleanup may resolve: the visits updated since the cutoff and the visits of a
   changed event's caregiver record (`VC_INSERVICE_SCOPE_VISIT`: the own-provider exclusion may have
   changed for them), and the changed events' synthetic ids
   (`VC_INSERVICE_SCOPE_EVENT`); a caregiver's other visits and events are not re-evaluated. The SSNs
   of that scope (`VC_INSERVICE_SCOPE_SSN`; in window mode every SSN with an event) decide which
   events are loaded. Then it builds the two sides: `VC_INSERVICE_EVENT`, the usable InService events
   of the scoped SSNs, and `VC_INSERVICE_VISIT`, the eligible visits (not missed, actual times, no
   overlapping event at their own provider) among the candidates that overlap an event at another
   provider (`VC_INSERVICE_CANDIDATE`; the source rows are first found with cheap predicates,
   `VC_INSERVICE_SCOPE_ROW`), each with its dimension rows (same columns, same order);
2. `scope_visits` / `scope_events` stream the scope's sides to PostgreSQL for the stale cleanup;
3. `pair_tables` streams every overlapping (visit, event) pair of the scope in both directions
   (`INSERVICE_PAIR_COLUMNS`), as Arrow batches of one fixed schema;
4. `skipped_rows` counts the unusable source rows of the scope per reason (D23).

The statements live in `sql/snowflake/inservice/`, one per file, and run unchanged on Snowflake and on
the emulation. Run parameters are bound literals (D1); nothing reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS, PAIR_FINGERPRINT
from visit_conflicts.source.common import (
    SourceScope,
    check_batch_size,
    load_exclusions,
    pair_query,
    run_params,
    stream_tables,
)
from visit_conflicts.sql_files import read_sql

if TYPE_CHECKING:
    from visit_conflicts.config import Params
    from visit_conflicts.context import RunContext
    from visit_conflicts.store.reference import ReferenceData

# D23 reasons per side, in the order a row is classified (each skipped row counts once).
EVENT_SKIP_REASONS: tuple[str, ...] = (
    "invalid_event_id",
    "blank_ssn",
    "invalid_provider_id",
    "missing_time",
    "end_before_start",
    "outside_window",
)
VISIT_SKIP_REASONS: tuple[str, ...] = ("invalid_visit_id", "invalid_provider_id", "end_before_start")

_SQL = "snowflake/inservice/{}.sql"


class InServiceSourceError(RuntimeError):
    """The InService source query cannot run as configured; the message says what to fix."""


@dataclass(frozen=True)
class InServiceScope:
    """What one InService evaluation covers (D1, D2, D14).

    `window`: the run's inclusive window dates, delta cutoff and business time zone, validated and
    bound exactly as for detection (a source scope over all chunks). `whole_window` False (delta,
    the default): the pairs of the visits and events updated since the cutoff (and of the visits whose
    own-provider exclusion a changed event may have changed); True: every pair of the window.
    """

    window: SourceScope
    whole_window: bool = False

    @classmethod
    def of(
        cls,
        window_start: date,
        window_end: date,
        cutoff: datetime,
        *,
        whole_window: bool = False,
        time_zone: str = "America/New_York",
    ) -> InServiceScope:
        window = SourceScope(window_start, window_end, cutoff, chunk=None, chunks=1, time_zone=time_zone)
        return cls(window, whole_window)

    @classmethod
    def of_run(cls, ctx: RunContext, params: Params) -> InServiceScope:
        """The scope of a run: its window and cutoff, delta or whole-window per `inservice_scope`."""
        return cls.of(
            ctx.window_start,
            ctx.window_end,
            ctx.cutoff,
            whole_window=params.inservice_scope == "window",
            time_zone=params.business_timezone,
        )

    def params(self) -> dict[str, Any]:
        """Bound parameters of every statement (literals computed once by the caller, D1)."""
        return {**run_params(self.window), "whole_window": self.whole_window}


class InServiceSource:
    """The session-side InService evaluation of one scope on one Snowflake connection."""

    def __init__(self, sf_conn: Any, scope: InServiceScope, ref: ReferenceData) -> None:
        self.conn = sf_conn
        self.scope = scope
        self.ref = ref
        self._prepared = False

    def prepare(self) -> None:
        """(Re)build the session tables: exclusions, scope, then events and eligible visits."""
        params = self.scope.params()
        cur = self.conn.cursor()
        try:
            load_exclusions(cur, self.ref)
            # Caregivers and providers resolved once for every statement of the session; the scope's
            # sides before the SSNs whose events are loaded.
            for name in (
                "create_caregiver",
                "create_provider",
                "create_scope_visit",
                "create_scope_ssn",
                "create_scope_event",
            ):
                cur.execute(read_sql(_SQL.format(name)), params)
            # Events first: only visits that overlap one of them are candidates, and only usable
            # candidates are enriched.
            for name in ("create_events", "create_scope_row", "create_candidates", "create_visits"):
                cur.execute(read_sql(_SQL.format(name)), params)
        finally:
            cur.close()
        self._prepared = True

    def scope_visits(self, batch_size: int) -> Iterator[list[str]]:
        """The scoped visits' ids (lower-case uuid text), in batches; empty in window mode."""
        for rows in self._select("select_scope_visits", batch_size):
            yield [str(r[0]) for r in rows]

    def scope_events(self, batch_size: int) -> Iterator[list[str]]:
        """The changed events' synthetic VisitIDs (32 hex digits), in batches; empty in window mode."""
        for rows in self._select("select_scope_events", batch_size):
            yield [str(r[0]) for r in rows]

    def present_events(self, batch_size: int) -> Iterator[list[str]]:
        """The synthetic VisitIDs (32 hex digits) of the events still in the source that may have stored
        pairs in the window, in batches: PostgreSQL finds the hard-deleted ones among its stored events
        (delta mode; `store.inservice.add_deleted_events`)."""
        for rows in self._select("select_present_events", batch_size):
            yield [str(r[0]) for r in rows]

    def pair_tables(self, batch_size: int, schema: Any) -> Iterator[Any]:
        """Every InService pair of the scope, both directions, once each, as Arrow tables of at most
        `batch_size` rows with exactly `schema` (`common.pair_arrow_schema` of INSERVICE_PAIR_COLUMNS,
        the writer's column types, with the source's fingerprint last when the schema has it), whatever
        widths and units the result chunks come in. Ids are
        lower-case text (the synthetic ids 32 hex digits), times wall-clock timestamps, the seven flags
        'N'."""
        self._require_prepared()
        check_batch_size(batch_size)
        names = tuple(schema.names)
        if names not in (INSERVICE_PAIR_COLUMNS, (*INSERVICE_PAIR_COLUMNS, PAIR_FINGERPRINT)):
            raise InServiceSourceError(
                "the InService pair schema must have INSERVICE_PAIR_COLUMNS, in order (then optionally "
                "PairFingerprint)"
            )
        cur = self.conn.cursor()
        try:
            cur.execute(pair_query(read_sql(_SQL.format("select_pairs")), schema), self.scope.params())
            yield from stream_tables(cur, batch_size, schema)
        finally:
            cur.close()

    def skipped_rows(self) -> dict[str, int]:
        """Unusable source rows of the scope per side and reason (D23), every reason present:
        keys `event_<reason>` and `visit_<reason>`."""
        self._require_prepared()
        counts = {f"event_{r}": 0 for r in EVENT_SKIP_REASONS}
        counts.update({f"visit_{r}": 0 for r in VISIT_SKIP_REASONS})
        cur = self.conn.cursor()
        try:
            cur.execute(read_sql(_SQL.format("count_skipped_rows")), self.scope.params())
            for side, reason, n in cur.fetchall():
                counts[f"{side}_{reason}"] = int(n)
        finally:
            cur.close()
        return counts

    # -- internals ---------------------------------------------------------------------------------

    def _require_prepared(self) -> None:
        if not self._prepared:
            raise InServiceSourceError("InServiceSource.prepare() must run before reading its results")

    def _select(self, name: str, batch_size: int) -> Iterator[list[Any]]:
        self._require_prepared()
        cur = self.conn.cursor()
        try:
            cur.execute(read_sql(_SQL.format(name)), self.scope.params())
            while rows := cur.fetchmany(batch_size):
                yield list(rows)
        finally:
            cur.close()
