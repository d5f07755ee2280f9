"""detect: regular conflicts of one chunk (D4-D11, D13, D23).

Guarantees: Snowflake evaluates every ordered pair of every group of the chunk (both orientations) and
returns one row per conflicting pair; the rows stream out in batches of `batch_size` and each batch is
merged into `conflictvisitmaps`/`conflicts` in its own transaction (insert new pairs with conflict ids,
update changed ones, never write unchanged ones), and its keys are recorded in `run_seen_pair` for
finalize. The next batch is read and converted while the current one is written. Memory is bounded by
the batch size (measured by bench/bench_chunk_memory.py). Written timestamps are the run's start (D1).
The chunk count is the run's chunk plan (plan's decision in the ledger, or the fixed `chunks`); a chunk
outside it is skipped.

The chunk's groups are the ones plan recorded for this run (`run_scope_group`), loaded into the chunk's
Snowflake session: detect evaluates exactly the scope finalize will clean up, and plan has counted the
unusable source rows of the run once (D23). In a run without plan (`steps` without it, which needs a
fixed `chunks`) the chunk computes its groups in Snowflake and counts its own unusable rows, as a whole
run would.

Rerunning a chunk converges to the same state: its seen keys are rebuilt and unchanged pairs are not
written again.
"""

from __future__ import annotations

from visit_conflicts.columns import PAIR_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import SourceScope, pair_arrow_schema
from visit_conflicts.source.detect import iter_pair_tables, load_delta_groups, prepare_scope_rows
from visit_conflicts.source.plan import count_skipped_rows, iter_delta_groups, skip_counters
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store import ledger
from visit_conflicts.store.detect import PairWriter, forget_seen_pairs
from visit_conflicts.store.plan import chunk_plan, iter_chunk_groups
from visit_conflicts.store.reference import load_reference_data

# Groups per fetch from run_scope_group (two narrow columns).
_GROUP_FETCH = 50_000


def run(res: Resources, ctx: RunContext, params: Params, *, chunk: int | None = None) -> StepResult:
    if chunk is None:
        raise ValueError("detect runs for one chunk; pass chunk=N")
    with res.pg_conn() as pg:
        plan = chunk_plan(pg, ctx.run_id, params)
    if chunk not in plan.chunks:
        # The state machine may map over more chunks than plan decided (up to max_chunks).
        note = f"chunk {chunk} is not among the run's chunks {plan.chunks} (chunk count {plan.count})"
        return StepResult(status="skipped", notes=[note])
    scope = SourceScope.of(ctx, params, chunk, chunks=plan.count)
    counts: dict[str, int] = {}
    notes: list[str] = []
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        planned = ledger.step_status(pg, ctx.run_id, "plan").get(ledger.NOT_CHUNKED) == "succeeded"
        pg.commit()
        if planned:
            load_delta_groups(sf, scope, ref, iter_chunk_groups(pg, ctx.run_id, chunk, _GROUP_FETCH))
        else:
            days = sorted(
                {d for batch in iter_delta_groups(sf, scope, ref, _GROUP_FETCH) for d, _, _ in batch}
            )
            prepare_scope_rows(sf, scope, days)
            skipped = count_skipped_rows(sf, scope, days, chunks={chunk}, rows_ready=True)
            counts.update(skip_counters(skipped))
            notes.append(
                "plan did not run in this run: the chunk computed its groups and counted its unusable rows"
            )
        with pg.transaction():
            forget_seen_pairs(pg, ctx.run_id, chunk)
        writer = PairWriter(
            pg,
            PAIR_COLUMNS,
            run_id=ctx.run_id,
            chunk=chunk,
            insert_enabled=params.enable_insert,
            compare=params.merge_compare,
            window=(ctx.window_start, ctx.window_end),
        )
        # Every batch in the writer's column types' source form, so result chunks always join, with the
        # fingerprint Snowflake computes per pair: an unchanged pair is settled by it and never converted.
        schema = pair_arrow_schema(writer.column_types, fingerprint=True)
        total = writer.write_batches(
            iter_pair_tables(sf, scope, params.batch_size, schema),
            now=ctx.now_local,
            on_batch=lambda: check_cancelled(res.cancel),
        )
    return StepResult(counts={**total.as_dict(), **counts}, notes=notes)
