"""detect: regular conflicts of one chunk (D4-D11, D13, D23).

Guarantees: Snowflake evaluates every ordered pair of every group of the chunk (both orientations) and
returns one row per conflicting pair; the rows stream out in batches of `batch_size` and each batch is
merged into `conflictvisitmaps`/`conflicts` in its own transaction (insert new pairs with conflict ids,
update changed ones, never write unchanged ones), and its keys are recorded in `run_seen_pair` for
finalize. The next batch is read and converted while the current one is written. Memory is bounded by
the batch size (measured by bench/bench_chunk_memory.py). Written timestamps are the run's start (D1).
Source rows that cannot be used are skipped and counted per reason (D23). The chunk count is the run's
chunk plan (plan's decision in the ledger, or the fixed `chunks`); a chunk outside it is skipped.
Rerunning a chunk converges to the same state: its seen keys are rebuilt and unchanged pairs are not
written again.
"""

from __future__ import annotations

from visit_conflicts.columns import PAIR_COLUMNS
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.source.common import SourceScope, pair_arrow_schema
from visit_conflicts.source.detect import NOTE_PREFIX, count_skipped_rows, iter_pair_tables
from visit_conflicts.step_api import Resources, StepResult, check_cancelled
from visit_conflicts.store.detect import PairWriter, forget_seen_pairs
from visit_conflicts.store.plan import chunk_plan
from visit_conflicts.store.reference import load_reference_data


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
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        with pg.transaction():
            forget_seen_pairs(pg, ctx.run_id, chunk)
        writer = PairWriter(
            pg,
            PAIR_COLUMNS,
            run_id=ctx.run_id,
            chunk=chunk,
            insert_enabled=params.enable_insert,
            compare=params.merge_compare,
        )
        # Every batch in the writer's column types' source form, so result chunks always join.
        schema = pair_arrow_schema(writer.column_types)
        total = writer.write_batches(
            iter_pair_tables(sf, scope, ref, params.batch_size, schema),
            now=ctx.now_local,
            on_batch=lambda: check_cancelled(res.cancel),
        )
        # The pairs were just read on this connection: its session tables serve the counts as well.
        skipped = count_skipped_rows(sf, scope, ref, session_ready=True)
    counts: dict[str, int] = total.as_dict()
    counts.update({_counter(reason): n for reason, n in sorted(skipped.items())})
    return StepResult(counts=counts)


def _counter(reason: str) -> str:
    """`skipped_<reason>` for a skipped row, `noted_<name>` for an ignored value of a used row."""
    if reason.startswith(NOTE_PREFIX):
        return "noted_" + reason.removeprefix(NOTE_PREFIX)
    return f"skipped_{reason}"
