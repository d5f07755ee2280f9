"""`visit-conflicts explain` for a terminal: the explanation dict of `visit_conflicts.explain` as aligned
text. Every value comes from that dict (the JSON output is the same dict), nothing is computed here."""

from __future__ import annotations

from typing import Any

_STATUS = {
    "N": "new/open",
    "U": "updated/open",
    "R": "resolved",
    "D": "deleted",
    "W": "whitelisted",
    "I": "ignored",
}


def render_text(explanation: dict[str, Any]) -> str:
    ctx = explanation["context"]
    ref = explanation["reference"]
    bands = ", ".join(f"[{lo:g}, {hi:g}) {mph:g} mph" for lo, hi, mph in ref["mph_bands"]) or "none"
    lines = [
        f"Window {ctx['window'][0]}..{ctx['window'][1]}, delta cutoff {ctx['cutoff']} ({ctx['time_zone']}), "
        f"from {ctx['source']}",
        f"Reference: ExtraDistancePer {ref['extra_distance_per']:g}; MPH bands {bands}",
    ]
    pairs = explanation["pairs"]
    if "visit" in explanation["request"]:
        lines += ["", f"Visit {explanation['request']['visit']}: {len(pairs)} pair(s), both orientations"]
        for p in pairs:
            lines.append(f"  {p['visit_id']} -> {p['con_visit_id']}  {_short(p)}")
        if not pairs:
            lines.append("  none: no other visit of its group is at another provider, and nothing is stored")
    for p in pairs:
        lines += ["", *_pair_lines(p, explanation["visits"])]
    return "\n".join(lines)


def _short(p: dict[str, Any]) -> str:
    stored = p["stored"]
    now = "conflict now" if p["conflict_now"] else "no conflict now"
    kept = "not stored" if stored is None else f"stored {stored['status']}"
    return f"{now:<16} {kept}"


def _pair_lines(p: dict[str, Any], visits: dict[str, dict[str, Any]]) -> list[str]:
    v1, v2 = visits[p["visit_id"]], visits[p["con_visit_id"]]
    out = [
        f"Pair {p['visit_id']} -> {p['con_visit_id']}  (VisitID -> ConVisitID)",
        f"  verdict   {p['verdict']}",
        f"  delta     the last run's delta {'covered' if p['group_in_last_delta'] else 'did not cover'} "
        "this group (a visit of it updated since the cutoff, D4)",
    ]
    out += _visit_table(v1, v2)
    failed = [c for c in p["checks"] if not c["ok"]]
    out.append("  checks    " + ("all pass" if not failed else f"{len(failed)} fail:"))
    for c in failed:
        out.append(f"    {c['check']:<42} FAILS  {c['detail']}")
    evaluation = p["evaluation"]
    if evaluation is not None:
        out.append(f"  rules     (V1 {evaluation['states'][0]}, V2 {evaluation['states'][1]})")
        for r in evaluation["rules"]:
            out.append(f"    {r['rule']} {r['flag']:<34} {r['value']}  {r['why']}")
        overlap = evaluation["overlap_minutes"]
        out.append(
            "  overlap   minutes: schedules {}, actual times {}, V1 schedule vs V2 actual {}".format(
                *(_num(overlap[k]) for k in ("schedules", "actual_times", "v1_schedule_v2_actual"))
            )
        )
        d = evaluation["distance"]
        band = "-" if d["band"] is None else "[{:g}, {:g}) {:g} mph".format(*d["band"])
        if d["beyond_last_band"]:
            band += " (beyond the last band)"
        out.append(
            f"  distance  {_num(d['miles'])} mi (x{d['extra_distance_per']:g}), band {band}, "
            f"ETA {_num(d['eta_minutes'])} min, gap {_num(d['gap_minutes'])} min"
        )
        c = evaluation["cross_state"]
        out.append(f"  states    {'kept' if c['kept'] else 'DROPPED'}: {c['why']}")
    stored = p["stored"]
    if stored is None:
        out.append("  stored    no conflictvisitmaps row")
    else:
        yes = [f for f, v in stored["flags"].items() if v == "Y"]
        out.append(
            f"  stored    pair ID {stored['id']}, status {_status(stored['status'])}, "
            f"conflict {stored['conflict_id']}; flags Y: {', '.join(yes) or 'none'}"
        )
        out.append(
            f"            created {stored['created']}, updated {stored['updated'] or '-'}, "
            f"resolved {stored['resolved'] or '-'} by {stored['resolved_by'] or '-'}"
        )
        out.append(
            f"            stored metrics: {_num(stored['distance_miles'])} mi, {_num(stored['mph'])} mph, "
            f"ETA {_num(stored['eta_minutes'])} min, gap {_num(stored['gap_minutes'])} min"
        )
        if stored["inservice_window"]:
            out.append(f"            InService event {stored['inservice_window']}")
        for d in p["differences"]:
            out.append(f"            differs: {d}")
        if not p["differences"] and not stored["inservice"]:
            out.append("            agrees with the evaluation")
    conflict = p["conflict"]
    if conflict is not None:
        out.append(
            f"  conflict  {conflict['conflict_id']}: status {_status(conflict['status'])}, "
            f"{conflict['open_pairs']} of {conflict['pairs']} pair(s) "
            f"open, created {conflict['created']}, resolved {conflict['resolved'] or '-'}"
        )
    history = p["history"]
    out.append(f"  history   {history['note']}")
    for e in history["events"]:
        out.append(
            f"    {e['at']}  {e['change']:<8} {e['reason']:<28} {e['step']:<12} {e['run_id']} ({e['scope']})"
        )
    return out


def _visit_table(v1: dict[str, Any], v2: dict[str, Any]) -> list[str]:
    a1, a2 = v1.get("attributes") or {}, v2.get("attributes") or {}
    names = list(dict.fromkeys([*a1, *a2]))
    width = max([len("V1 (VisitID)"), len(v1["visit_id"]), *(len(str(a1.get(n, "-"))) for n in names)]) + 2
    out = [
        f"  {'':<30} {'V1 (VisitID)':<{width}} V2 (ConVisitID)",
        f"  {'visit id':<30} {v1['visit_id']:<{width}} {v2['visit_id']}",
    ]
    for name in names:
        out.append(f"  {name:<30} {a1.get(name, '-'):<{width}} {a2.get(name, '-')}")
    for side, v in (("V1", v1), ("V2", v2)):
        if not v["found"]:
            out.append(f"  {side} is not in FACTVISITCALLPERFORMANCE_CR")
        if v.get("deleted"):
            d = v["deleted"]
            out.append(
                f"  {side} is in FACTVISITCALLPERFORMANCE_DELETED_CR ({d['source_rows']} row(s), last update "
                f"{d['last_updated']}): status Phase B marks its pairs 'D' (D15)"
            )
    return out


def _status(code: str | None) -> str:
    return f"{code} ({_STATUS.get(code or '', 'unknown')})"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
