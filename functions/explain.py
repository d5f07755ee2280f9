"""Lambda: explain (not a pipeline step; invoked by an operator, see docs/explain.md).

Input: {"visit": ID} or {"pair": [VISIT, CONVISIT]}, optionally "params" (overrides of the environment's
config, as an execution input's). Output: the explanation of `visit_conflicts.explain` as JSON (the same
document as `visit-conflicts explain --format json`), or {"error": ...} for a request that cannot be
explained (not a uuid, an unknown visit). Reads Snowflake and PostgreSQL, writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from visit_conflicts.adapters import params_from_event, resources
from visit_conflicts.errors import is_refusal
from visit_conflicts.explain import explain
from visit_conflicts.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    visit, pair = event.get("visit"), event.get("pair")
    if (visit is None) == (pair is None) or (pair is not None and len(pair) != 2):
        return {"error": 'give {"visit": ID} or {"pair": [VISIT, CONVISIT]}'}
    try:
        params = params_from_event(event)
        result = explain(
            resources(params),
            params,
            visit=str(visit) if visit is not None else None,
            pair=(str(pair[0]), str(pair[1])) if pair is not None else None,
        )
    except Exception as exc:
        if is_refusal(exc):
            return {"error": str(exc)}
        raise
    # Dates and times as text, exactly as the command line prints them.
    return json.loads(json.dumps(result, default=str))
