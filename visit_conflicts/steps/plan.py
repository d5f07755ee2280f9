"""plan: the run's delta scope and its split into chunks.

Guarantees: the groups (VisitDate, trimmed SSN) that have at least one visit updated since the cutoff,
inside the window, with exclusions applied, are computed in Snowflake from the run context's literal
values (D1, D2) and recorded in `run_scope_group` with their chunk (a stable hash of the SSN, the same
in Snowflake and Python), keyed by run id. Only the chunks this run will detect are recorded (all, or
the requested `chunk_subset`), so stale cleanup never reaches groups no chunk looked at. Rerunning the
step replaces the run's scope with the same content.
"""

from __future__ import annotations

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.execution import check_cancelled
from visit_conflicts.source.detection import DetectionScope, iter_delta_groups, load_reference_data
from visit_conflicts.steps import Resources, StepResult


def scope_of(ctx: RunContext, params: Params, chunk: int | None) -> DetectionScope:
    return DetectionScope(
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        cutoff=ctx.cutoff,
        chunk=chunk,
        chunks=params.chunks,
        time_zone=params.business_timezone,
    )


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    wanted = set(params.planned_chunks())
    with res.pg_conn() as pg, res.source_conn() as sf:
        ref = load_reference_data(pg)
        pg.commit()
        with pg.transaction():
            pg.execute("DELETE FROM run_scope_group WHERE run_id = %s", (ctx.run_id,))
            with (
                pg.cursor() as cur,
                cur.copy('COPY run_scope_group (run_id, chunk, "VisitDate", "SSN") FROM STDIN') as copy,
            ):
                for batch in iter_delta_groups(sf, scope_of(ctx, params, None), ref, params.batch_size * 20):
                    check_cancelled(res.cancel)
                    for visit_date, ssn, chunk in batch:
                        if chunk in wanted:
                            copy.write_row((ctx.run_id, chunk, visit_date, ssn))
        pg.execute("ANALYZE run_scope_group")
        row = pg.execute(
            """SELECT count(*), count(DISTINCT "SSN"), count(DISTINCT "VisitDate")
               FROM run_scope_group WHERE run_id = %s""",
            (ctx.run_id,),
        ).fetchone()
        pg.commit()
    assert row is not None
    return StepResult(
        counts={
            "groups": int(row[0]),
            "ssns": int(row[1]),
            "dates": int(row[2]),
            "chunks": len(wanted),
        }
    )
