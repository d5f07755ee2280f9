"""finalize: stale cleanup over the whole run scope (D12), only after every chunk succeeded.

Guarantees: refuses (raises, writes nothing) unless every planned chunk of this run's detect step (the
run's chunk plan: plan's decided count in the ledger, or the fixed `chunks`) is recorded as succeeded in
the ledger. Then every regular pair of a scoped group that the run did not
produce and whose status is 'N' or 'U' becomes 'R' (ResolveDate kept if already set, else the run's
start); 'W', 'I', 'D' and 'R' rows are never touched. The count is measured (D13). Rerunning finalize is
harmless: the resolved rows are no longer 'N'/'U'.
"""

from __future__ import annotations

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.errors import Refusal
from visit_conflicts.step_api import Resources, StepResult
from visit_conflicts.store import ledger
from visit_conflicts.store.finalize import count_scope_groups, resolve_stale_pairs
from visit_conflicts.store.plan import chunk_plan


class FinalizeRefused(Refusal):
    """Stale cleanup would run after a partial detection (D12)."""


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    if not params.enable_stale_cleanup:
        return StepResult(counts={"resolved": 0}, status="skipped", notes=["enable_stale_cleanup is false"])
    with res.pg_conn() as pg:
        statuses = ledger.step_status(pg, ctx.run_id, "detect")
        planned = chunk_plan(pg, ctx.run_id, params).chunks
        not_done = {c: statuses.get(c, "missing") for c in planned if statuses.get(c) != "succeeded"}
        if not_done:
            detail = ", ".join(f"chunk {c}: {s}" for c, s in sorted(not_done.items()))
            raise FinalizeRefused(
                f"stale cleanup refused for run {ctx.run_id}: not every chunk succeeded ({detail}); "
                "rerun the failed chunks of this run, then finalize"
            )
        scoped = count_scope_groups(pg, ctx.run_id)
        resolved = resolve_stale_pairs(pg, ctx.run_id, now=ctx.now_local)
    return StepResult(counts={"scope_groups": scoped, "resolved": resolved})
