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

The unusable source rows of the planned chunks' scope are counted here, once per run, per reason
(`skipped_<reason>`, `noted_<name>`; D23): the detect chunks read the stored scope and count nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import HASH_BUCKETS, SourceScope
from visit_conflicts.source.plan import count_skipped_rows, iter_delta_groups, skip_counters
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.plan import count_scope_groups, replace_scope_groups
from visit_conflicts.store.reference import load_reference_data

# Scope rows per streamed batch: three narrow columns, far more per batch than pairs.
_BATCHES_PER_SCOPE_BATCH = 20


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    # A fixed count chunks the groups in Snowflake; otherwise they come with their hash bucket and get
    # their chunk once their number is known.
    fixed = params.chunks
    wanted = set(params.planned_chunks()) if fixed else None
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        scope = SourceScope.of(ctx, params, None, chunks=fixed or HASH_BUCKETS)
        groups = iter_delta_groups(sf, scope, ref, params.batch_size * _BATCHES_PER_SCOPE_BATCH)
        days: set[date] = set()
        chunk_count = replace_scope_groups(
            pg,
            ctx.run_id,
            _noting_days(groups, wanted, days),
            wanted=wanted,
            chunk_count=params.chunk_count,
            on_batch=lambda: check_cancelled(res.cancel),
        )
        counts = count_scope_groups(pg, ctx.run_id)
        check_cancelled(res.cancel)
        # Under a decided count the session's chunks are hash buckets: every one is planned.
        skipped = skip_counters(count_skipped_rows(sf, scope, days, chunks=wanted))
    planned = sorted(params.chunk_subset) if params.chunk_subset is not None else range(chunk_count)
    return StepResult(counts={**counts, "chunks": len(planned), "chunk_count": chunk_count, **skipped})


def _noting_days(
    batches: Iterable[list[tuple[date, str, int]]], chunks: set[int] | None, days: set[date]
) -> Iterator[list[tuple[date, str, int]]]:
    """`batches` as they are, adding the visit dates of the groups of `chunks` (None: all) to `days`
    (the skip counts read those days' source rows)."""
    for batch in batches:
        days.update(visit_date for visit_date, _, chunk in batch if chunks is None or chunk in chunks)
        yield batch
