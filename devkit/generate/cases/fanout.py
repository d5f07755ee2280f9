"""Dimension fan-out (D8): duplicate dimension rows must not duplicate or change a pair.

Two DIMOFFICE rows for one office id, two DIMCAREGIVER rows for one caregiver id, two DIMPATIENT rows for
one provider patient id; and the patient address choice for rule 7 (D6): the newest primary GPS address
wins over older, non-primary and non-GPS ones, and among equally new ones the smallest id wins.
"""

from __future__ import annotations

from datetime import timedelta

from devkit.generate.cases.planter import (
    BASE_POINT,
    DONE,
    LATE,
    R5,
    R7,
    Planter,
    both,
    north_of,
    travel_metrics,
)


def plant_fanout_cases(p: Planter) -> None:
    """Duplicate dimension rows and the patient address choice (D8)."""
    dup_office = p.office(p.providers["A"], name="Planted Duplicate Office (1)")
    p.office(
        p.providers["A"], office_id=dup_office[0], app=dup_office[1], name="Planted Duplicate Office (2)"
    )
    p.scenario(
        "fanout_duplicate_office_rows",
        "The visit's office id has two DIMOFFICE rows.",
        ["D8"],
        p.past,
        [("v1", "A", DONE | {"office": dup_office}), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    ids = p.scenario(
        "fanout_duplicate_caregiver_rows",
        "The visit's caregiver id has two DIMCAREGIVER rows.",
        ["D8"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
    row = next(r for r in p.out.rows["FACTVISITCALLPERFORMANCE_CR"] if r["Visit Id"] == ids["v1"])
    twin = next(r for r in p.out.rows["DIMCAREGIVER"] if r["Caregiver Id"] == row["Caregiver Id"])
    p.out.rows["DIMCAREGIVER"].append(
        twin
        | {
            "Application Caregiver Id": twin["Application Caregiver Id"] + 500,
            "Caregiver Fullname": "Planted Worker Duplicate",
        }
    )
    dup_patient = p.patient(p.providers["A"])
    p.patient_record(dup_patient.p_id, dup_patient.p_app, name="Planted Patient Duplicate")
    p.scenario(
        "fanout_duplicate_patient_rows",
        "The visit's provider patient id has two DIMPATIENT rows.",
        ["D8"],
        p.past,
        [("v1", "A", DONE | {"patient": dup_patient}), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )

    yes_point, no_point = north_of(BASE_POINT, 12.75), north_of(BASE_POINT, 12.25)
    no_gps = {"sch": ("08:00", "12:00"), "actual": ("08:00", "12:00"), "gps_in": None, "gps_out": None}
    second = {"sch": ("12:30", "16:30"), "actual": ("12:30", "16:30")}

    newest = p.patient(p.providers["A"], point=yes_point)  # its primary GPS address, 400 days old
    p.address(
        newest.p_id, newest.p_app, state="NY", point=no_point, created=p.ctx.anchor - timedelta(days=900)
    )
    p.address(
        newest.p_id,
        newest.p_app,
        state="NY",
        point=no_point,
        primary=False,
        address_type="Home, GPS",
        created=p.ctx.anchor - timedelta(days=10),
    )
    p.address(
        newest.p_id,
        newest.p_app,
        state="NY",
        point=no_point,
        address_type="Billing",
        created=p.ctx.anchor - timedelta(days=5),
    )
    p.scenario(
        "fanout_patient_address_newest_wins",
        "Four addresses: the newest primary GPS one (12.75 mi, fires) must win over an older primary GPS, "
        "a newer non-primary GPS and a newer primary non-GPS address (12.25 mi, would not fire).",
        ["D8", "D6", "rule 7"],
        p.past,
        [("v1", "A", no_gps | {"patient": newest}), ("v2", "B", second)],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R7, **travel_metrics(yes_point, 30)),
            "coordinates": {v["v1"]: list(yes_point)},
        },
    )

    tie = p.patient(p.providers["A"], point=yes_point, gps_address=False)
    small, large = sorted([p.uuid(), p.uuid()])
    created = p.ctx.anchor - timedelta(days=30)
    p.address(
        tie.p_id, tie.p_app, state="NY", point=yes_point, created=created, address_id=small, app=99_900_001
    )
    p.address(
        tie.p_id, tie.p_app, state="NY", point=no_point, created=created, address_id=large, app=99_900_002
    )
    p.scenario(
        "fanout_patient_address_tie_smallest_id",
        "Two primary GPS addresses created at the same instant: the smallest id (also the smallest "
        "application id) wins (12.75 mi, fires; the other is 12.25 mi).",
        ["D8", "D6", "rule 7"],
        p.past,
        [("v1", "A", no_gps | {"patient": tie}), ("v2", "B", second)],
        lambda v: {
            "pairs": both(v["v1"], v["v2"], R7, **travel_metrics(yes_point, 30)),
            "coordinates": {v["v1"]: list(yes_point)},
        },
    )
