"""finalize: stale cleanup over the whole run scope (D12), only after every chunk succeeded.

Guarantees: refuses (raises, writes nothing) unless every planned chunk of this run's detect step is
recorded as succeeded in the ledger. Then every regular pair of a scoped group that the run did not
produce and whose status is 'N' or 'U' becomes 'R' (ResolveDate kept if already set); 'W', 'I', 'D' and
'R' rows are never touched. The count is measured (D13). Rerunning finalize is harmless: the resolved
rows are no longer 'N'/'U'.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.paths import read_sql
from visit_conflicts.steps import Resources, StepResult
from visit_conflicts.store import ledger
from visit_conflicts.store.pairs import regular_pair


class FinalizeRefused(RuntimeError):
    """Stale cleanup would run after a partial detection (D12)."""


def run(res: Resources, ctx: RunContext, params: Params) -> StepResult:
    if not params.enable_stale_cleanup:
        return StepResult(counts={"resolved": 0}, status="skipped", notes=["enable_stale_cleanup is false"])
    with res.pg_conn() as pg:
        statuses = ledger.step_status(pg, ctx.run_id, "detect")
        planned = params.planned_chunks()
        not_done = {c: statuses.get(c, "missing") for c in planned if statuses.get(c) != "succeeded"}
        if not_done:
            detail = ", ".join(f"chunk {c}: {s}" for c, s in sorted(not_done.items()))
            raise FinalizeRefused(
                f"stale cleanup refused for run {ctx.run_id}: not every chunk succeeded ({detail}); "
                "rerun the failed chunks of this run, then finalize"
            )
        scoped = pg.execute(
            "SELECT count(*) FROM run_scope_group WHERE run_id = %s", (ctx.run_id,)
        ).fetchone()
        pg.execute("ANALYZE run_scope_group")
        pg.execute("ANALYZE run_seen_pair")
        pg.commit()
        now = datetime.now(params.zone).replace(tzinfo=None)
        candidates, stale, resolve = (
            sql.SQL(read_sql(f"postgres/detect/{name}.sql")).format(regular=regular_pair("c"))
            for name in ("stale_candidates", "stale_pairs", "resolve_stale_pairs")
        )
        with pg.transaction():
            # Memory for the hash anti-join of ~1M candidates against the seen set, for this
            # transaction only (the default spills it to disk in batches).
            pg.execute("SET LOCAL work_mem = '256MB'")
            # Each intermediate result is analysed before the next statement is planned (see the SQL).
            pg.execute(candidates, {"run_id": ctx.run_id})
            pg.execute("ANALYZE _stale_candidates")
            pg.execute(stale, {"run_id": ctx.run_id})
            pg.execute("ANALYZE _stale_pairs")
            cur = pg.execute(resolve, {"run_id": ctx.run_id, "now": now})
            resolved = len(cur.fetchall())
    return StepResult(counts={"scope_groups": int(scoped[0]) if scoped else 0, "resolved": resolved})
