"""Lambda: explain (not a pipeline step; invoked by an operator, see docs/explain.md).

Input: {"visit": ID} or {"pair": [VISIT, CONVISIT]}, optionally "params" (overrides of the environment's
config, as an execution input's). Any other key is refused: a misspelt "params" must not silently
explain against the environment's defaults. Output: the explanation of `visit_conflicts.explain` as JSON
(the same document as `visit-conflicts explain --format json`), or {"error": ...} for a request that
cannot be explained (unknown keys, not a uuid, an unknown visit). Reads Snowflake and PostgreSQL,
writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from visit_conflicts.adapters import check_keys, params_from_event, resources
from visit_conflicts.config import ConfigError
from visit_conflicts.errors import is_refusal
from visit_conflicts.explain import explain
from visit_conflicts.observability import logger

EVENT_KEYS = ("visit", "pair", "params")
USAGE = 'give {"visit": ID} or {"pair": [VISIT, CONVISIT]}'


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        visit, pair = _request(event)
        params = params_from_event(event)
        result = explain(resources(params), params, visit=visit, pair=pair)
    except Exception as exc:
        if is_refusal(exc):
            return {"error": str(exc)}
        raise
    # Dates and times as text, exactly as the command line prints them.
    return json.loads(json.dumps(result, default=str))


def _request(event: Any) -> tuple[str | None, tuple[str, str] | None]:
    """The visit or the pair of the event, its keys checked first (an operator's typo is named)."""
    if not isinstance(event, dict):
        raise ConfigError(f"the explain event must be a JSON object: {USAGE}")
    check_keys("the explain event", event, EVENT_KEYS)
    visit, pair = event.get("visit"), event.get("pair")
    if (visit is None) == (pair is None):
        raise ConfigError(USAGE)
    if pair is None:
        return str(visit), None
    # A list of two ids: a two-character string must not pass as a "pair".
    if not isinstance(pair, list) or len(pair) != 2:
        raise ConfigError(f"pair: a list of two visit ids; {USAGE}")
    return None, (str(pair[0]), str(pair[1]))
