"""Column vocabulary of `conflictvisitmaps` shared by the Snowflake queries and the PostgreSQL writes."""

from __future__ import annotations

import re

from visit_conflicts.sql_files import read_sql


def _aliases(text: str) -> tuple[str, ...]:
    """The output names (`... AS "Name"`) of a projection, in order."""
    return tuple(re.findall(r'\bAS "([^"]+)",?\s*$', text, re.MULTILINE))


# The columns of a pair row as both pair queries produce them (detect, InService), in the legacy output
# order: the conflictvisitmaps columns written from the source, without CONFLICTID. Read from the one
# statement of that projection, so the list cannot drift from the SQL.
PAIR_COLUMNS: tuple[str, ...] = _aliases(read_sql("snowflake/common/pair_columns.sql"))

# The InService window of the event side (the visit side's are NULL): these mark an InService pair.
INSERVICE_DATE_COLUMNS: tuple[str, ...] = (
    "InserviceStartDate",
    "InserviceEndDate",
    "ConInserviceStartDate",
    "ConInserviceEndDate",
)
# Output columns of the InService pair query: the pair columns plus the InService window (legacy
# INSERVICE_INSERT_COLUMN_MAP without CONFLICTID, which PostgreSQL assigns).
INSERVICE_PAIR_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, *INSERVICE_DATE_COLUMNS)

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
    *INSERVICE_DATE_COLUMNS,
    "PTOStartDate",
    "PTOEndDate",
    "ConPTOStartDate",
    "ConPTOEndDate",
)

# The pipeline-owned column of conflictvisitmaps holding the fingerprint of a pair's written columns as
# last received (migration 0030, store/fingerprint.py), and the last column of a pair stream whose query
# computes it at the source (source/common.py `with_fingerprint`).
PAIR_FINGERPRINT = "PairFingerprint"
# Mixed into the source's HASH: changing the construction changes it, so old values never match.
SOURCE_FINGERPRINT_LABEL = "visit-conflicts pair fingerprint v1"
