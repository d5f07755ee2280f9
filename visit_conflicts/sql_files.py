"""Reading the project's SQL files (`sql/<engine>/<step>/<statement>.sql`), with shared blocks included.

A line `-- @include <path>` (relative to `sql/`) is replaced by that file's text, so statements of
different steps can share a block written once (`sql/snowflake/common/`). Includes nest; a cycle or a
missing file is an error. Texts are cached: the files do not change while the process runs.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from visit_conflicts import paths

# The one statement of a valid uuid text (any case), bound as %(uuid_pattern)s by every statement that
# validates ids: PostgreSQL's `~` and Snowflake's REGEXP_LIKE (a full match there; the anchors make the
# two engines agree).
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# A usable application id: the trimmed text of an integer of at most 18 digits (it fits int8 everywhere),
# bound as %(app_id_pattern)s and tested before every TRY_CAST(... AS BIGINT) of an id. TRY_CAST alone
# gives different answers on the two engines: the emulation reads hex ('0x1F'), digit groups ('1_000'),
# exponents and fractions that Snowflake rejects or rounds, and Snowflake's BIGINT (NUMBER(38,0)) holds
# 19- and 20-digit values the emulation's does not. PostgreSQL's staging applies the same rule.
APP_ID_PATTERN = "^[0-9]{1,18}$"
# A usable GPS coordinate text (D6): plain decimal notation, bound as %(decimal_pattern)s and tested
# before TRY_CAST(... AS DOUBLE), which on the emulation also reads digit groups ('4_0.7') that Snowflake
# rejects.
DECIMAL_PATTERN = "^[+-]?[0-9]+([.][0-9]+)?$"

_INCLUDE = re.compile(r"^[ \t]*-- @include[ \t]+(\S+)[ \t]*$", re.MULTILINE)


def read_sql(relative: str) -> str:
    """The text of `sql/<relative>` with its includes expanded; a missing file is a packaging error."""
    return _expanded(paths.SQL_DIR, relative)


@cache
def _expanded(root: Path, relative: str) -> str:
    return _read_sql(root, relative, ())


def _read_sql(root: Path, relative: str, including: tuple[str, ...]) -> str:
    if relative in including:
        raise ValueError(f"SQL include cycle: {' -> '.join((*including, relative))}")
    path = root / relative
    if not path.exists():
        raise FileNotFoundError(f"SQL file {path} is missing from the project")
    text = path.read_text()
    return _INCLUDE.sub(lambda m: _read_sql(root, m.group(1), (*including, relative)).rstrip("\n"), text)
