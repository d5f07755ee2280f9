"""staging: payer dimension sync, atomic conflictlog_staging refresh, InProgressFlag = 1 (D17).

Guarantees, in this order:

1. `payer_provider_reminders` holds one row per (PayerID, ProviderID) pair of the Snowflake join
   DIMPROVIDER x DIMPAYERPROVIDER x DIMPAYER: new pairs are inserted, "Contract"/"ProviderName" of
   existing pairs are updated when they differ, nothing is duplicated (unique index) and pairs that
   left the source are kept. Rows with a non-uuid payer or provider id are skipped and counted (D23).
2. `payers` (the active/demo source of the payer materialized view) holds every DIMPAYER payer,
   inserted or updated by "PayerID" when a column differs.
3. `conflictlog_staging` holds, after one transaction, the CVM rows of the run's window joined to their
   parent conflict (B.2: "StatusFlag" is the parent's, "ConStatusFlag" the pair's own, and the same for
   FlagForReview*); a concurrent reader sees the old complete content until the commit and the new
   complete content after it, never an empty or partial table (see `visit_conflicts.store.staging`).
   `staging_mode = "delta"` (the default) applies the changes logged since the last refresh (the
   previous run's writes and users' changes since, D17 amended); `"rebuild"` rebuilds it (repair; also
   what delta does when the change log has not followed the content yet). Both give the same table.
4. `settings."InProgressFlag"` = 1, committed together with the swap: after it, before any conflict
   table changes (D17). The restore step sets it back to the idle value.

Writes: payer_provider_reminders, payers, conflictlog_staging, settings. Each part commits on its
own; a failure leaves the parts not yet committed untouched (the staging table and the flag as they
were). Rerun safety: the syncs write only differences and the rebuild starts from the current conflict
tables, so rerunning converges. Counts are measured (D13).
"""

from __future__ import annotations

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.progress import task as progress_task
from visit_conflicts.source.staging import iter_payer_providers, iter_payers
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.staging import (
    PhaseHook,
    refresh_conflictlog_staging,
    sync_payer_provider_reminders,
    sync_payers,
)


def run(res: Resources, ctx: RunContext, params: Params, *, on_phase: PhaseHook | None = None) -> StepResult:
    counts: dict[str, int] = {}
    # A bar on a terminal only (visit_conflicts.progress): one unit per phase.
    with res.pg_conn() as pg, progress_task("staging", total=3, unit="phase") as bar:
        with res.source_conn() as sf:
            bar.phase("payer-provider sync")
            ppr = sync_payer_provider_reminders(
                pg, iter_payer_providers(sf, params.batch_size), now=ctx.now_local
            )
            bar.advance()
            check_cancelled(res.cancel)
            bar.phase("payer sync")
            payers = sync_payers(pg, iter_payers(sf, params.batch_size), now=ctx.now_local)
            bar.advance()
        counts.update({f"ppr_{k}": v for k, v in ppr.items()})
        counts.update({f"payers_{k}": v for k, v in payers.items()})
        check_cancelled(res.cancel)
        bar.phase("conflictlog_staging refresh")
        rebuild = refresh_conflictlog_staging(
            pg,
            mode=params.staging_mode,
            window_start=ctx.window_start,
            window_end=ctx.window_end,
            now=ctx.now_local,
            on_phase=on_phase,
        )
        bar.advance()
    counts.update(
        {
            "staging_rows": rebuild.rows,
            "staging_rows_removed": rebuild.deleted,
            "staging_changes": rebuild.changes,
            "staging_lock_attempts": rebuild.lock_attempts,
            "in_progress_flag_rows": rebuild.in_progress_rows,
        }
    )
    notes = [f"conflictlog_staging refreshed by {rebuild.strategy}", *rebuild.notes]
    if rebuild.blockers:
        notes.append("rename swap not possible: " + "; ".join(rebuild.blockers))
    return StepResult(counts=counts, notes=notes)
