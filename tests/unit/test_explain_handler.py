"""The explain Lambda's event contract (functions/explain.py), without a database: which events it
accepts (a visit, or an ordered pair, plus optional parameter overrides), which it refuses with an
`{"error"}` result (unknown keys, neither or both forms, a malformed pair, bad overrides, a refusal
of the explanation), and that its result is the JSON document of `explain --format json`.

The explanation itself runs against the databases in tests/integration/test_explain.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from functions import explain as explain_fn
from visit_conflicts.config import Params
from visit_conflicts.errors import Refusal

VISIT = "281188a2-a373-43d2-9fd6-67e25274aa02"
CONVISIT = "ca427e5c-8363-49b6-9cf4-8b60dfe14e59"
CONTEXT = SimpleNamespace(
    function_name="explain",
    memory_limit_in_mb=1024,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:explain",
    aws_request_id="request",
)


@dataclass
class Calls:
    """What the handler asked `explain` for, and what the stub answers."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=lambda: {"pairs": []})
    raises: Exception | None = None


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded = Calls()

    def fake_explain(
        res: Any, params: Params, *, visit: str | None = None, pair: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        recorded.seen.append({"res": res, "params": params, "visit": visit, "pair": pair})
        if recorded.raises is not None:
            raise recorded.raises
        return recorded.answer

    monkeypatch.delenv("VC_ENVIRONMENT", raising=False)  # config/local.toml
    monkeypatch.setattr(explain_fn, "explain", fake_explain)
    monkeypatch.setattr(explain_fn, "resources", lambda params: "resources")
    return recorded


def test_a_visit_is_explained_with_the_environments_config(calls: Calls) -> None:
    assert explain_fn.handler({"visit": VISIT}, CONTEXT) == {"pairs": []}
    (call,) = calls.seen
    assert (call["visit"], call["pair"], call["res"]) == (VISIT, None, "resources")
    assert call["params"].environment == "local"


def test_a_pair_is_explained_in_its_order_with_the_overrides(calls: Calls) -> None:
    event = {"pair": [VISIT, CONVISIT], "params": {"target": {"schema": "conflict_backfill"}}}
    explain_fn.handler(event, CONTEXT)
    (call,) = calls.seen
    assert (call["visit"], call["pair"]) == (None, (VISIT, CONVISIT))
    assert call["params"].target.schema_name == "conflict_backfill"


def test_the_result_is_the_json_document_dates_as_text(calls: Calls) -> None:
    """What `explain --format json` prints: dates and times as text, nothing a JSON encoder refuses."""
    at = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    calls.answer = {"context": {"cutoff": at, "window": [date(2026, 11, 1), date(2026, 11, 27)]}}
    out = explain_fn.handler({"visit": VISIT}, CONTEXT)
    assert out == {"context": {"cutoff": str(at), "window": ["2026-11-01", "2026-11-27"]}}
    assert json.loads(json.dumps(out)) == out


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"visit": VISIT, "parms": {}}, r"unknown top-level key\(s\) \['parms'\]"),
        ({"visits": [VISIT]}, r"unknown top-level key\(s\) \['visits'\]"),
        ({}, r'give \{"visit": ID\} or \{"pair"'),
        ({"visit": VISIT, "pair": [VISIT, CONVISIT]}, r'give \{"visit": ID\} or \{"pair"'),
        ({"pair": [VISIT]}, "pair: a list of two visit ids"),
        ({"pair": [VISIT, CONVISIT, VISIT]}, "pair: a list of two visit ids"),
        ({"pair": "ab"}, "pair: a list of two visit ids"),  # two characters are not two ids
        ({"visit": VISIT, "params": {"lookback_hourz": 3}}, "lookback_hourz"),
        ({"visit": VISIT, "params": ["target"]}, "must be a JSON object"),
    ],
)
def test_a_request_it_cannot_take_is_refused_before_any_query(
    calls: Calls, event: dict[str, Any], message: str
) -> None:
    out = explain_fn.handler(event, CONTEXT)
    assert set(out) == {"error"}
    assert re.search(message, out["error"]), out["error"]
    assert calls.seen == []  # nothing was asked of the databases


def test_an_event_that_is_not_an_object_is_refused(calls: Calls) -> None:
    out = explain_fn.handler(["visit", VISIT], CONTEXT)  # type: ignore[arg-type]
    assert "must be a JSON object" in out["error"] and calls.seen == []


def test_a_refused_explanation_is_an_error_result_and_a_fault_is_raised(calls: Calls) -> None:
    """A bad or unknown id is the operator's to fix (an `{"error"}` result); anything else is a failed
    invocation, with its trace in the function's log."""
    calls.raises = Refusal("visit 'nope' is not a uuid")
    assert explain_fn.handler({"visit": "nope"}, CONTEXT) == {"error": "visit 'nope' is not a uuid"}
    calls.raises = RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        explain_fn.handler({"visit": VISIT}, CONTEXT)
