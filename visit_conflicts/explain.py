"""`visit-conflicts explain`: why a visit is in conflict, why it is not, or why it no longer is.

For a pair (`--pair VISIT CONVISIT`) or every pair of a visit (`--visit ID`: each other visit of its
group, same caregiver SSN on the same date at another provider, in both orientations, plus any stored
pair of it), one explanation says:

- both visits' source attributes, read from Snowflake with detection's own attribute blocks
  (`source/explain.py`), and the checks that decide whether a visit can be paired at all (usable row,
  caregiver SSN, exclusions, active provider, window; D23);
- each rule's evaluation with its numbers (`explain_rules`: overlap minutes, distance, MPH band, ETA,
  gap) and the cross-state filter;
- the stored conflictvisitmaps row and its parent conflict (`store/explain.py`), and whether they agree
  with the evaluation;
- the pair's recorded history, when the schema keeps one (table conflict_event), else "no history
  recorded".

The window and delta cutoff are those of the last run in the ledger (what the pipeline last saw), or,
before any run, those a run would compute now. The result is one JSON-able dict; `render_text` prints
it for a terminal. The explain Lambda (`functions/explain.py`) returns the same dict. Read only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from visit_conflicts import explain_rules
from visit_conflicts.config import Params
from visit_conflicts.context import RunContext
from visit_conflicts.errors import Refusal
from visit_conflicts.explain_rules import FLAG_NAMES, RuleVisit
from visit_conflicts.source.common import SourceScope
from visit_conflicts.source.explain import read_deleted_visits, read_visits
from visit_conflicts.step_api import Resources
from visit_conflicts.store import explain as store
from visit_conflicts.store import ledger
from visit_conflicts.store.reference import ReferenceData, load_reference_data

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NO_HISTORY = "no history recorded (this schema has no conflict_event table)"
# The stored metrics and what they are compared with (int4 and real columns: see `_differences`).
_METRICS = (
    ("DistanceMilesFromLatLng", "miles"),
    ("AverageMilesPerHour", "mph"),
    ("ETATravelMinutes", "eta_minutes"),
    ("MinuteDiffBetweenSch", "gap_minutes"),
)


_TIMES = ("sch_start", "sch_end", "visit_start", "visit_end")


class ExplainRefused(Refusal):
    """The request cannot be explained as given (not a visit id, an unknown visit)."""


def visit_id(text: str) -> str:
    """A visit id as the conflict tables hold it (lower-case uuid text), or a refusal saying why."""
    value = text.strip().lower()
    if not _UUID.match(value):
        raise ExplainRefused(
            f"{text!r} is not a visit id (a uuid, e.g. 281188a2-a373-43d2-9fd6-67e25274aa02)"
        )
    return value


def explain(
    res: Resources,
    params: Params,
    *,
    visit: str | None = None,
    pair: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The explanation of one pair, or of every pair of one visit (see the module docstring)."""
    if (visit is None) == (pair is None):
        raise ExplainRefused("give a visit (--visit ID) or a pair (--pair VISIT CONVISIT), not both")
    if visit is not None:
        result = explain_visits(res, params, [visit], now=now)
        result["request"] = {"visit": result["request"]["visits"][0]}
        return result
    assert pair is not None
    requested = [visit_id(v) for v in pair]
    if requested[0] == requested[1]:
        raise ExplainRefused("a pair needs two different visits")
    return _explain(res, params, requested, [(requested[0], requested[1])], now)


def explain_visits(
    res: Resources, params: Params, visits: Sequence[str], *, now: datetime | None = None
) -> dict[str, Any]:
    """Every pair of each of `visits` in one pass (one query per database and statement): what
    `explain(visit=...)` says of each, merged (pairs listed once)."""
    requested = list(dict.fromkeys(visit_id(v) for v in visits))
    return _explain(res, params, requested, None, now)


def _explain(
    res: Resources,
    params: Params,
    requested: list[str],
    pair_keys: list[tuple[str, str]] | None,
    now: datetime | None,
) -> dict[str, Any]:
    with res.pg_conn(autocommit=True) as pg:
        ref = load_reference_data(pg)
        context, context_source = _context(pg, params, now)
        stored_rows = store.read_pairs(pg, requested)
    scope = SourceScope(
        window_start=context.window_start,
        window_end=context.window_end,
        cutoff=context.cutoff,
        chunk=None,
        chunks=1,
        time_zone=context.business_timezone,
    )
    with res.source_conn() as sf:
        # The whole group even for a pair: it says whether the last run's delta covered it (D4).
        rows = read_visits(sf, scope, ref, requested, with_group=True)
        stored_ids = {str(r["ConVisitID"]) for r in stored_rows} | {str(r["VisitID"]) for r in stored_rows}
        all_ids = sorted({*requested, *(str(r["visit_id"]) for r in rows), *stored_ids})
        deleted = read_deleted_visits(sf, scope, all_ids)
    by_id = {str(r["visit_id"]): r for r in rows}
    missing = [v for v in requested if v not in by_id and v not in deleted]
    if missing and not stored_rows:
        raise ExplainRefused(
            f"visit {', '.join(missing)} is in neither FACTVISITCALLPERFORMANCE_CR nor its deleted table, "
            "and no stored pair has it; check the id"
        )
    if pair_keys is not None:
        keys = pair_keys
    else:
        keys = list(dict.fromkeys(k for v in requested for k in _pairs_of_visit(v, by_id, stored_rows)))
    with res.pg_conn(autocommit=True) as pg:
        conflict_ids = sorted({int(r["CONFLICTID"]) for r in stored_rows if r["CONFLICTID"] is not None})
        conflicts = store.read_conflicts(pg, conflict_ids) if conflict_ids else {}
        stored = {(str(r["VisitID"]), str(r["ConVisitID"])): r for r in stored_rows}
        pair_ids = sorted({int(stored[k]["ID"]) for k in keys if k in stored})
        history = store.read_history(pg, pair_ids, conflict_ids)
    visits = {vid: _visit(vid, by_id.get(vid), deleted.get(vid), context) for vid in _ids(keys)}
    pairs = [_pair(key, visits, by_id, stored.get(key), conflicts, history, ref, context) for key in keys]
    return {
        "request": {"pair": requested} if pair_keys is not None else {"visits": requested},
        "context": {
            "source": context_source,
            "window": [context.window_start.isoformat(), context.window_end.isoformat()],
            "cutoff": _iso(context.cutoff_local),
            "time_zone": context.business_timezone,
        },
        "reference": {
            "extra_distance_per": ref.extra_distance_per,
            "mph_bands": [list(b) for b in sorted(ref.mph_bands)],
        },
        "visits": visits,
        "pairs": pairs,
        "history_recorded": history is not None,
    }


def _context(pg: psycopg.Connection, params: Params, now: datetime | None) -> tuple[RunContext, str]:
    try:
        run = ledger.get_run(pg)
    except psycopg.errors.UndefinedTable:
        run = None
    if run is not None and run.get("context"):
        return RunContext.from_json(run["context"]), f"the last run, {run['run_id']} ({run['status']})"
    ctx = RunContext.create(params, now=now or datetime.now(UTC), run_id="explain")
    return ctx, "no run yet: the window and cutoff a run would compute now"


def _pairs_of_visit(
    vid: str, by_id: dict[str, dict[str, Any]], stored_rows: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Both orientations with every other visit of the group at another provider, then the stored
    pairs not among them (InService pairs, or a counterpart that left the group)."""
    keys: list[tuple[str, str]] = []
    me = by_id.get(vid)
    if me is not None:
        for other_id, other in sorted(by_id.items()):
            if other_id == vid or other["provider_id"] == me["provider_id"]:
                continue
            if other["ssn"] != me["ssn"] or other["visit_date"] != me["visit_date"]:
                continue
            keys += [(vid, other_id), (other_id, vid)]
    for r in stored_rows:
        key = (str(r["VisitID"]), str(r["ConVisitID"]))
        if key not in keys:
            keys.append(key)
    return keys


def _ids(keys: Iterable[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(v for k in keys for v in k))


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return value.isoformat()


def _rule_visit(vid: str, row: dict[str, Any]) -> RuleVisit:
    return RuleVisit(
        visit_id=vid,
        provider_id=row["provider_id"],
        sch_start=row["sch_start"],
        sch_end=row["sch_end"],
        visit_start=row["visit_start"],
        visit_end=row["visit_end"],
        latitude=_float(row["latitude"]),
        longitude=_float(row["longitude"]),
        p_final_state=row["p_final_state"],
        pa_final_state=row["pa_final_state"],
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _coordinate_source(row: dict[str, Any]) -> str:
    """Which D6 source gave the coordinates (detection's SQL chose them; this names the choice)."""

    def usable(lat: Any, lon: Any) -> bool:
        return lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180

    if usable(row["out_lat"], row["out_lon"]):
        return "call-out GPS"
    if usable(row["in_lat"], row["in_lon"]):
        return "call-in GPS"
    if usable(row["addr_lat"], row["addr_lon"]):
        return "the patient's GPS address"
    return "none usable"


def _visit(
    vid: str, row: dict[str, Any] | None, deleted: dict[str, Any] | None, ctx: RunContext
) -> dict[str, Any]:
    deleted_info = (
        {"source_rows": int(deleted["source_rows"]), "last_updated": _iso(deleted["last_updated"])}
        if deleted
        else None
    )
    if row is None:
        return {
            "visit_id": vid,
            "found": False,
            "deleted": deleted_info,
            "checks": [_check("in FACTVISITCALLPERFORMANCE_CR", False, "no row with this visit id")],
        }
    state = _rule_visit(vid, row).state
    in_window = (
        row["visit_date"] is not None and ctx.window_start <= _date(row["visit_date"]) <= ctx.window_end
    )
    last_updated = row["last_updated"]
    attributes = {
        "provider": f"{row['provider_name'] or '-'} ({row['provider_id']})",
        "caregiver": f"{row['caregiver_name'] or '-'} (SSN {row['ssn'] or 'not usable'})",
        "visit date": _iso(row["visit_date"]),
        "scheduled": f"{_iso(row['sch_start']) or '-'} .. {_iso(row['sch_end']) or '-'}",
        "actual": f"{_iso(row['visit_start']) or '-'} .. {_iso(row['visit_end']) or '-'}",
        "state": state,
        "missed": "yes" if row["is_missed"] else "no",
        "call-out GPS": row["call_out_gps"] or "-",
        "call-in GPS": row["call_in_gps"] or "-",
        "coordinates": (
            f"{row['latitude']}, {row['longitude']} ({_coordinate_source(row)})"
            if row["latitude"] is not None
            else "unknown (no usable GPS text and no patient GPS address)"
        ),
        "patient states (P / PA)": f"{row['patient_state'] or '-'} / {row['payer_patient_state'] or '-'}",
        "provider state": row["provider_state"] or "-",
        "cross-state sides": f"{row['p_final_state'] or '-'} / {row['pa_final_state'] or '-'}",
        "office": row["office"] or "-",
        "patient": row["patient_name"] or "-",
        "payer / contract": row["contract"] or "-",
        "last updated": f"{_iso(last_updated) or '-'} by {row['last_updated_by'] or '-'}",
        "source rows": str(row["source_rows"])
        + (" (D8: the latest update is used)" if int(row["source_rows"]) > 1 else ""),
    }
    provider_detail = (
        "active, not a demo"
        if row["provider_in_scope"]
        else ("a demo agency" if row["provider_demo"] else "inactive or unknown")
    )
    checks = [
        _check("usable source row (D23)", row["skip_reason"] is None, row["skip_reason"] or "ok"),
        _check(
            "caregiver SSN usable",
            bool(row["caregiver_usable"]),
            "9 digits" if row["caregiver_usable"] else "blank, malformed or unknown caregiver",
        ),
        _check(
            "SSN not excluded", not row["ssn_excluded"], "in excluded_ssn" if row["ssn_excluded"] else "ok"
        ),
        _check("provider active, not a demo", bool(row["provider_in_scope"]), provider_detail),
        _check(
            "provider not excluded",
            not row["provider_excluded"],
            "in excluded_agency" if row["provider_excluded"] else "ok",
        ),
        _check(
            "visit date in the window",
            in_window,
            f"{_iso(row['visit_date'])} in {ctx.window_start}..{ctx.window_end}",
        ),
    ]
    # The rule inputs as values (JSON consumers, tests): times in full precision.
    values = {
        "provider_id": row["provider_id"],
        "ssn": row["ssn"],
        "visit_date": _iso(row["visit_date"]),
        **{k: row[k].isoformat() if row[k] is not None else None for k in _TIMES},
        **{k: _float(row[k]) for k in ("latitude", "longitude", "addr_lat", "addr_lon")},
        **{k: row[k] for k in ("call_out_gps", "call_in_gps", "patient_state", "payer_patient_state")},
        "provider_state": row["provider_state"],
    }
    return {
        "visit_id": vid,
        "found": True,
        "requested": bool(row["requested"]),
        "attributes": attributes,
        "values": values,
        "checks": checks,
        "deleted": deleted_info,
        "updated_since_cutoff": last_updated is not None and last_updated >= ctx.cutoff_local,
    }


def _date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"check": name, "ok": ok, "detail": detail}


def _pair(
    key: tuple[str, str],
    visits: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    stored: dict[str, Any] | None,
    conflicts: dict[int, dict[str, Any]],
    history: list[dict[str, Any]] | None,
    ref: ReferenceData,
    ctx: RunContext,
) -> dict[str, Any]:
    """One ordered pair: checks, evaluation, verdict, stored row and conflict, history. `rows` holds
    the source rows of the visits read (the pair's group among them)."""
    v1, v2 = key
    r1, r2 = rows.get(v1), rows.get(v2)
    inservice = stored is not None and stored["InServiceFlag"] == "Y"
    checks: list[dict[str, Any]] = []
    evaluation = None
    if r1 is not None and r2 is not None:
        checks = [
            _check(
                "same caregiver SSN",
                r1["ssn"] is not None and r1["ssn"] == r2["ssn"],
                f"{r1['ssn']} / {r2['ssn']}",
            ),
            _check(
                "same visit date",
                r1["visit_date"] == r2["visit_date"],
                f"{_iso(r1['visit_date'])} / {_iso(r2['visit_date'])}",
            ),
            _check(
                "different providers",
                r1["provider_id"] != r2["provider_id"],
                "ok" if r1["provider_id"] != r2["provider_id"] else "same agency: never a pair",
            ),
        ]
        for side, vid in (("V1", v1), ("V2", v2)):
            checks += [{**c, "check": f"{side}: {c['check']}"} for c in visits[vid]["checks"]]
        evaluation = explain_rules.evaluate(
            _rule_visit(v1, r1), _rule_visit(v2, r2), ref.mph_bands, ref.extra_distance_per
        )
    else:
        for side, vid in (("V1", v1), ("V2", v2)):
            if rows.get(vid) is None:
                checks.append(
                    _check(f"{side}: in FACTVISITCALLPERFORMANCE_CR", False, "no row with this visit id")
                )
    pairable = all(c["ok"] for c in checks) and evaluation is not None
    conflict_now = pairable and bool(evaluation and evaluation["rules_conflict"])
    in_delta = _group_in_delta(r1, rows, ctx) if r1 is not None else False
    conflict = None
    if stored is not None and stored["CONFLICTID"] is not None:
        conflict = _conflict(conflicts.get(int(stored["CONFLICTID"])))
    return {
        "visit_id": v1,
        "con_visit_id": v2,
        "checks": checks,
        "evaluation": evaluation,
        "conflict_now": conflict_now,
        "group_in_last_delta": in_delta,
        "verdict": _verdict(
            checks,
            evaluation,
            stored,
            conflict_now,
            in_delta,
            inservice,
            [side for side, vid in (("V1", v1), ("V2", v2)) if visits[vid].get("deleted")],
        ),
        "stored": _stored(stored) if stored is not None else None,
        "differences": _differences(stored, evaluation) if stored is not None and not inservice else [],
        "conflict": conflict,
        "history": _history(key, stored, history),
    }


def _group_in_delta(row: dict[str, Any], group: dict[str, dict[str, Any]], ctx: RunContext) -> bool:
    """D4: the last run evaluated the group when one of its visits (of a provider in scope, not
    excluded) was updated since its cutoff."""
    return any(
        g["ssn"] == row["ssn"]
        and g["visit_date"] == row["visit_date"]
        and g["last_updated"] is not None
        and g["last_updated"] >= ctx.cutoff_local
        and g["provider_in_scope"]
        and not g["provider_excluded"]
        and not g["ssn_excluded"]
        for g in group.values()
    )


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    flags = {f: row[f] for f in FLAG_NAMES}
    return {
        "id": int(row["ID"]),
        "conflict_id": None if row["CONFLICTID"] is None else int(row["CONFLICTID"]),
        "status": row["StatusFlag"],
        "inservice": row["InServiceFlag"] == "Y",
        "flags": flags,
        "distance_miles": _float(row["DistanceMilesFromLatLng"]),
        "mph": _float(row["AverageMilesPerHour"]),
        "eta_minutes": row["ETATravelMinutes"],
        "gap_minutes": row["MinuteDiffBetweenSch"],
        "created": _iso(row["CreatedDate"]),
        "updated": _iso(row["UpdatedDate"]),
        "resolved": _iso(row["ResolveDate"]),
        "resolved_by": row["ResolvedBy"],
        "inservice_window": (
            f"{_iso(row['InserviceStartDate'] or row['ConInserviceStartDate'])} .. "
            f"{_iso(row['InserviceEndDate'] or row['ConInserviceEndDate'])}"
            if row["InServiceFlag"] == "Y"
            else None
        ),
    }


def _differences(stored: dict[str, Any], evaluation: dict[str, Any] | None) -> list[str]:
    """Where the stored row and the evaluation disagree. A flag stored 'Y' that the rules now give 'N'
    is expected after a change (D11: flags only move N -> Y); anything else means the source changed
    since the last run, or a defect."""
    if evaluation is None:
        return ["the visits are not in the source any more: nothing to compare"]
    out = []
    for flag in FLAG_NAMES:
        now, kept = evaluation["flags"][flag], stored[flag]
        if now != kept:
            note = " (D11: flags only move N -> Y)" if kept == "Y" else ""
            out.append(f"{flag}: stored {kept}, now {now}{note}")
    metrics = evaluation["distance"]
    for column, name in _METRICS:
        kept, now = stored[column], metrics[name]
        if kept is None and now is None:
            continue
        # real columns hold float4 (about 7 digits); int4 columns hold ETA rounded by the write cast.
        tolerance = 0.5 if column == "ETATravelMinutes" else 1e-3 * max(1.0, abs(float(now or 0)))
        if kept is None or now is None or abs(float(kept) - float(now)) > tolerance:
            out.append(f"{column}: stored {kept}, now {now}")
    return out


def _conflict(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "conflict_id": int(row["CONFLICTID"]),
        "status": row["StatusFlag"],
        "created": _iso(row["CreatedDate"]),
        "resolved": _iso(row["ResolveDate"]),
        "resolved_by": row["ResolvedBy"],
        "pairs": int(row["pairs"]),
        "open_pairs": int(row["open_pairs"]),
        "no_response": row["NoResponseFlag"],
    }


def _history(
    key: tuple[str, str], stored: dict[str, Any] | None, history: list[dict[str, Any]] | None
) -> dict[str, Any]:
    if history is None:
        return {"recorded": False, "note": NO_HISTORY, "events": []}
    conflict_id = stored["CONFLICTID"] if stored is not None else None
    events = [
        {
            "at": _iso(e["at"]),
            "run_id": e["run_id"],
            "step": e["step"],
            "change": f"{e['old_status'] or '-'} -> {e['new_status'] or '-'}",
            "reason": e["reason"],
            "scope": "pair" if e["ConVisitID"] is not None else "conflict",
        }
        for e in history
        if (e["VisitID"], e["ConVisitID"]) == key
        or (e["ConVisitID"] is None and conflict_id is not None and e["CONFLICTID"] == conflict_id)
    ]
    note = f"{len(events)} recorded event(s)" if events else "no event recorded for this pair"
    return {"recorded": True, "note": note, "events": events}


def _verdict(
    checks: list[dict[str, Any]],
    evaluation: dict[str, Any] | None,
    stored: dict[str, Any] | None,
    conflict_now: bool,
    in_delta: bool,
    inservice: bool,
    deleted: list[str],
) -> str:
    stored_text = (
        "not stored"
        if stored is None
        else f"stored as pair {stored['ID']} with status {stored['StatusFlag']}"
        + (f" (resolved {_iso(stored['ResolveDate'])})" if stored["ResolveDate"] else "")
    )
    if inservice:
        return f"an InService pair (D14: a visit against a training event), {stored_text}"
    if conflict_now:
        assert evaluation is not None
        fired = ", ".join(f"rule {r['rule']} {r['flag']}" for r in evaluation["rules"] if r["value"] == "Y")
        now = f"CONFLICT by {fired}"
        if stored is None:
            why = (
                "the last run's delta did not cover this group" if not in_delta else "the last run missed it"
            )
            return f"{now}; {stored_text}: {why}"
        if deleted:
            return f"{now}; {stored_text}: {' and '.join(deleted)} deleted in the source (Phase B: 'D', D15)"
        return f"{now}; {stored_text}"
    failed = [c for c in checks if not c["ok"]]
    if failed:
        reason = f"{failed[0]['check']} fails ({failed[0]['detail']})"
    elif evaluation is not None and not any(r["value"] == "Y" for r in evaluation["rules"]):
        reason = "no rule fires"
    elif evaluation is not None:
        reason = "dropped by the cross-state filter"
    else:
        reason = "a visit is missing from the source"
    now = f"NOT a conflict: {reason}"
    if stored is not None and stored["StatusFlag"] in ("N", "U"):
        return f"{now}; {stored_text}: the next run whose delta covers the group resolves it (D12)"
    return f"{now}; {stored_text}"
