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
