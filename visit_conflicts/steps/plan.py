"""plan: the run's delta scope and its split into chunks.

Guarantees: the groups (VisitDate, trimmed SSN) that have at least one visit updated since the cutoff,
inside the window, with exclusions applied, are computed in Snowflake from the run context's literal
values (D1, D2) and recorded in `run_scope_group` with their chunk (a stable hash of the SSN, the same
in Snowflake and Python), keyed by run id. Only the chunks this run will detect are recorded (all, or
the requested `chunk_subset`), so stale cleanup never reaches groups no chunk looked at. Rerunning the
step replaces the run's scope with the same content.

The unusable source rows of the planned chunks' scope are counted here, once per run, per reason
(`skipped_<reason>`, `noted_<name>`; D23): the detect chunks read the stored scope and count nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import SourceScope
from visit_conflicts.source.plan import count_skipped_rows, iter_delta_groups, skip_counters
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.plan import count_scope_groups, replace_scope_groups
from visit_conflicts.store.reference import load_reference_data

# Scope rows per streamed batch: three narrow columns, far more per batch than pairs.
_BATCHES_PER_SCOPE_BATCH = 20


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    wanted = set(params.planned_chunks())
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        scope = SourceScope.of(ctx, params, None)
        groups = iter_delta_groups(sf, scope, ref, params.batch_size * _BATCHES_PER_SCOPE_BATCH)
        days: set[date] = set()
        replace_scope_groups(
            pg,
            ctx.run_id,
            _noting_days(groups, wanted, days),
            chunks=wanted,
            on_batch=lambda: check_cancelled(res.cancel),
        )
        counts = count_scope_groups(pg, ctx.run_id)
        check_cancelled(res.cancel)
        skipped = skip_counters(count_skipped_rows(sf, scope, days, chunks=wanted))
    return StepResult(counts={**counts, "chunks": len(wanted), **skipped})


def _noting_days(
    batches: Iterable[list[tuple[date, str, int]]], chunks: set[int], days: set[date]
) -> Iterator[list[tuple[date, str, int]]]:
    """`batches` as they are, adding the visit dates of the groups of `chunks` to `days` (the skip
    counts read those days' source rows)."""
    for batch in batches:
        days.update(visit_date for visit_date, _, chunk in batch if chunk in chunks)
        yield batch
