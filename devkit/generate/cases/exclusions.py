"""Exclusion lists and agency filters: what never reaches detection although the visits overlap.

An SSN listed in `excluded_ssn` (also when the dimension stores it padded: TRIM), an agency in
`excluded_agency`, inactive and demo agencies (inner joins); and the converse, pairs that must survive: a
padded SSN matching its clean twin, and inactive or unknown optional dimensions (left joins).
The excluded SSNs are added to `Planted.excluded_ssns`; the excluded agencies were listed by the Planter.
"""

from __future__ import annotations

from devkit.generate.cases.planter import DONE, LATE, R5, Planter, both


def plant_exclusion_cases(p: Planter) -> None:
    """Exclusions, agency filters and the left-joined dimensions."""
    p.scenario(
        "excluded_ssn",
        "A rule-5 conflict of an SSN listed in excluded_ssn.",
        ["excluded_ssn"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {},
    )
    p.out.excluded_ssns.append(p.out.cases["excluded_ssn"]["ssn"])
    p.scenario(
        "excluded_ssn_padded_in_dimension",
        "The caregiver records store the excluded SSN with surrounding blanks; TRIM still excludes it.",
        ["excluded_ssn", "TRIM(SSN)"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {},
        stored_ssn=lambda ssn, key: f"  {ssn} ",
    )
    p.out.excluded_ssns.append(p.out.cases["excluded_ssn_padded_in_dimension"]["ssn"])
    p.scenario(
        "padded_ssn_matches_trimmed",
        "One record stores the SSN padded, the other clean: one person.",
        ["TRIM(SSN)", "rule 5"],
        p.past,
        [("v1", "A", DONE), ("v2", "B", LATE)],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
        stored_ssn=lambda ssn, key: f" {ssn}  " if key == "A" else ssn,
    )
    p.scenario(
        "excluded_agency",
        "A conflict with a visit of an agency listed in excluded_agency.",
        ["excluded_agency"],
        p.past,
        [("v1", "EXCLUDED_1", DONE), ("v2", "B", LATE)],
        lambda v: {},
    )
    p.scenario(
        "inactive_agency",
        "A conflict with a visit of an inactive agency (dropped by the inner join).",
        ["DIMPROVIDER Is Active"],
        p.past,
        [("v1", "INACTIVE", DONE), ("v2", "B", LATE)],
        lambda v: {},
    )
    p.scenario(
        "demo_agency",
        "A conflict with a visit of a demo agency (dropped by the inner join).",
        ["DIMPROVIDER Is Demo"],
        p.past,
        [("v1", "DEMO", DONE), ("v2", "B", LATE)],
        lambda v: {},
    )
    inactive_office = p.office(p.providers["A"], active=False, name="Planted Closed Office")
    p.scenario(
        "inactive_dimensions_left_join",
        "Inactive office, payer and contract, unknown service code and user: left joins keep the pair.",
        ["left joins"],
        p.past,
        [
            (
                "v1",
                "A",
                DONE
                | {
                    "office": inactive_office,
                    "payer": "inactive",
                    "service_id": p.uuid(),
                    "user_id": p.uuid(),
                },
            ),
            ("v2", "B", LATE),
        ],
        lambda v: {"pairs": both(v["v1"], v["v2"], R5)},
    )
