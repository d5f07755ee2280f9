"""inservice: InService conflicts (D14).

Guarantees: a visit and an InService (training) event of the same caregiver SSN at DIFFERENT providers
whose intervals overlap (closed interval: touching endpoints count; the visit's actual times) form a
conflict stored in both directions (visit -> event and event -> visit), with the event's synthetic
VisitID md5('I' || "Application Caregiver Inservice Id") stored as a uuid, InServiceFlag 'Y', the seven
rule flags 'N' and the event window in the Inservice*/ConInservice* columns. A visit that overlaps an
event of the same caregiver at its OWN provider is not eligible at all, whichever other events overlap
it. Missed visits and visits without actual times are not eligible.

Writes `conflictvisitmaps` and `conflicts` through the shared pair writer (D9-D11): new pairs get
StatusFlag 'N' and the CONFLICTID of a stored row with the same VisitID or a new parent conflict (D10);
stored pairs are updated only when a written column differs or they are 'R' (CONFLICTID, CreatedDate
and user columns preserved; stored rows still without a CONFLICTID get one); unchanged pairs are not
written. After every batch succeeded, stale cleanup (D12) resolves the in-scope InService pairs that
the run did not produce and whose status is 'N' or 'U'; after a failure or cancellation nothing is
resolved.

Scope: delta mode (default) re-evaluates the pairs of the visits updated since the run's cutoff, of the
events updated since then (the stored ones too, whatever caregiver they were stored under), and of the
visits of a changed event's caregiver record (an event at a visit's own provider makes the visit
ineligible, so its change can end or free the visit's other pairs); those are the only pairs a change
can create, alter or end, so the stored result equals window mode's for the same changes, while a
caregiver's other pairs are neither read nor rewritten. A hard-deleted event leaves no row to be
changed: delta mode also compares the events of the open stored pairs in the window with the source's
event ids (one narrow query, `present_events`), and the missing ones join the scope
(`scope_deleted_events`), so the stale cleanup resolves their pairs. Window mode
(`inservice_scope = "window"`) re-evaluates every pair of the window; only it sees what no delta shows:
the visits an event no longer blocks after it moved to another caregiver record or was hard-deleted
(the visit's other pairs appear at its next change). Disabled by `enable_inservice = false` (status
'skipped', nothing written).

Rerun safety: the run's scope and seen keys (ledger-side scratch rows, removed when the step is done)
are rebuilt from scratch, unchanged pairs are not written again and resolved pairs are no longer
'N'/'U', so a rerun converges to the same state. Counts are
measured in the databases (D13); unusable source rows are skipped and counted per reason (D23).
"""

from __future__ import annotations

from visit_conflicts.columns import INSERVICE_PAIR_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import pair_arrow_schema
from visit_conflicts.source.inservice import InServiceScope, InServiceSource
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.detect import INSERVICE, PairWriter
from visit_conflicts.store.inservice import (
    INSERVICE_CHUNK,
    add_deleted_events,
    forget_scope,
    replace_scope,
    resolve_stale_pairs,
)
from visit_conflicts.store.reference import load_reference_data

# Scope rows per streamed batch (two narrow columns: far more per batch than pairs).
_SCOPE_BATCH = 50_000


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    if not params.enable_inservice:
        return StepResult(status="skipped", notes=["enable_inservice is false"])
    scope = InServiceScope.of_run(ctx, params)
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        source = InServiceSource(sf, scope, ref)
        source.prepare()
        check_cancelled(res.cancel)
        with pg.transaction():
            scope_visits, scope_events = replace_scope(
                pg, ctx.run_id, source.scope_visits(_SCOPE_BATCH), source.scope_events(_SCOPE_BATCH)
            )
            deleted_events = 0
            if not scope.whole_window:
                deleted_events = add_deleted_events(
                    pg,
                    ctx.run_id,
                    source.present_events(_SCOPE_BATCH),
                    window_start=ctx.window_start,
                    window_end=ctx.window_end,
                )
        writer = PairWriter(
            pg,
            INSERVICE_PAIR_COLUMNS,
            run_id=ctx.run_id,
            chunk=INSERVICE_CHUNK,
            insert_enabled=params.enable_insert,
            kind=INSERVICE,
            compare=params.merge_compare,
            window=(ctx.window_start, ctx.window_end),
        )
        total = writer.write_batches(
            source.pair_tables(params.batch_size, pair_arrow_schema(writer.column_types, fingerprint=True)),
            now=ctx.now_local,
            on_batch=lambda: check_cancelled(res.cancel),
        )
        skipped = source.skipped_rows()
        resolved = 0
        check_cancelled(res.cancel)
        with pg.transaction():
            if params.enable_stale_cleanup:
                resolved = resolve_stale_pairs(
                    pg,
                    run_id=ctx.run_id,
                    window_start=ctx.window_start,
                    window_end=ctx.window_end,
                    whole_window=scope.whole_window,
                    now=ctx.now_local,
                )
            forget_scope(pg, ctx.run_id)
    counts: dict[str, int] = {
        "scope_visits": scope_visits,
        "scope_events": scope_events,
        "scope_deleted_events": deleted_events,
        **total.as_dict(),
        "conflict_ids_assigned": total.extra.get("conflict_ids_assigned", 0),
        "resolved": resolved,
    }
    counts.update({f"skipped_{reason}": n for reason, n in sorted(skipped.items())})
    notes = [f"scope: {'window' if scope.whole_window else 'delta'}"]
    if not params.enable_stale_cleanup:
        notes.append("enable_stale_cleanup is false: no InService pair was resolved")
    return StepResult(counts=counts, notes=notes)
