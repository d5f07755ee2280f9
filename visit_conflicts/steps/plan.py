"""plan: the run's delta scope and its split into chunks.

Guarantees: the groups (VisitDate, trimmed SSN) that have at least one visit updated since the cutoff,
inside the window, with exclusions applied, are computed in Snowflake from the run context's literal
values (D1, D2) and recorded in `run_scope_group` with their chunk (a stable hash of the SSN, the same
in Snowflake and Python), keyed by run id. The chunk count follows the delta: one chunk per
`target_groups_per_chunk` groups, at most `max_chunks` (the state machine's Map concurrency), unless
`chunks` fixes it; it is the step result `chunk_count`, which detect, finalize and the engines read from
the ledger (`store.plan.chunk_plan`). Only the chunks this run will detect are recorded (all, or the
requested `chunk_subset`, which needs a fixed count), so stale cleanup never reaches groups no chunk
looked at. Rerunning the step replaces the run's scope with the same content.
"""

from __future__ import annotations

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import HASH_BUCKETS, SourceScope
from visit_conflicts.source.plan import iter_delta_groups
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.plan import count_scope_groups, replace_scope_groups
from visit_conflicts.store.reference import load_reference_data

# Scope rows per streamed batch: three narrow columns, far more per batch than pairs.
_BATCHES_PER_SCOPE_BATCH = 20


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    # A fixed count chunks the groups in Snowflake; otherwise they come with their hash bucket and get
    # their chunk once their number is known.
    fixed = params.chunks
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        scope = SourceScope.of(ctx, params, None, chunks=fixed or HASH_BUCKETS)
        groups = iter_delta_groups(sf, scope, ref, params.batch_size * _BATCHES_PER_SCOPE_BATCH)
        chunk_count = replace_scope_groups(
            pg,
            ctx.run_id,
            groups,
            wanted=set(params.planned_chunks()) if fixed else None,
            chunk_count=params.chunk_count,
            on_batch=lambda: check_cancelled(res.cancel),
        )
        counts = count_scope_groups(pg, ctx.run_id)
    planned = sorted(params.chunk_subset) if params.chunk_subset is not None else range(chunk_count)
    return StepResult(counts={**counts, "chunks": len(planned), "chunk_count": chunk_count})
