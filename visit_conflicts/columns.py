"""Column vocabulary of `conflictvisitmaps` shared by the Snowflake queries and the PostgreSQL writes."""

from __future__ import annotations

# The seven rule flags, in conflictvisitmaps column order (rules 1-7).
FLAG_COLUMNS: tuple[str, ...] = (
    "SameSchTimeFlag",
    "SameVisitTimeFlag",
    "SchAndVisitTimeSameFlag",
    "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag",
    "SchTimeOverVisitTimeFlag",
    "DistanceFlag",
)

# A regular pair has all eight InService/PTO window columns NULL.
INSERVICE_PTO_COLUMNS: tuple[str, ...] = (
    "InserviceStartDate",
    "InserviceEndDate",
    "ConInserviceStartDate",
    "ConInserviceEndDate",
    "PTOStartDate",
    "PTOEndDate",
    "ConPTOStartDate",
    "ConPTOEndDate",
)
