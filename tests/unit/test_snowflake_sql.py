"""Static compatibility test of the Snowflake SQL (no database, a few seconds): every statement under
sql/snowflake/ parses with sqlglot's Snowflake dialect (includes expanded, literals bound as the
connector binds them) and, in pipeline order, resolves against the schema contract sql/snowflake/schema/
with each session table registered as it is created. It fails on an unknown column, a duplicate column
of a CREATE TABLE AS, a star over a source view or in a CREATE TABLE AS, a stray '%', and on the
time-zone constructs that give different answers on Snowflake and on the emulation.

Why it exists: the tests run the SQL on the emulation (DuckDB), which renames a duplicate column,
expands a star over its own tables and converts time zones its own way; production runs the same text
on Snowflake, which no other test reaches (issue 12, docs/source-check.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from visit_conflicts.paths import SF_SQL_DIR
from visit_conflicts.source.check import OPERATOR_STATEMENTS, PIPELINE_STATEMENTS, PROBES
from visit_conflicts.source.common import mph_band_rows
from visit_conflicts.source.inservice import InServiceScope
from visit_conflicts.source.schema import SOURCE_TABLES, source_columns
from visit_conflicts.sql_files import read_sql

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
INCLUDE = re.compile(r"^[ \t]*-- @include[ \t]+snowflake/(\S+)\.sql[ \t]*$", re.MULTILINE)

# Every parameter a statement may bind, with the values the modules bind (the run parameters of a scope,
# the loaders' lists and bands).
_SCOPE = InServiceScope.of(date(2024, 1, 1), date(2024, 2, 1), datetime(2024, 1, 15, 6, tzinfo=UTC))
PARAMS: dict[str, Any] = {
    **_SCOPE.params(),
    "chunk": 0,
    "chunks": 4,
    "values": json.dumps(["123-45-6789", "O'Brien"]),
    **mph_band_rows([(0.0, 2.0, 2.0)])[0],
    "extra_distance_per": 1.0,
    # `visit-conflicts explain`: the visit ids asked about (JSON) and whether to read their groups too.
    "visit_ids": json.dumps(["00000000-0000-4000-8000-000000000001"]),
    "with_group": True,
}
# The pipeline's statements in order, then the operator statements that read its session tables.
ALL_STATEMENTS = (*PIPELINE_STATEMENTS, *OPERATOR_STATEMENTS)
TZ_TYPES = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}
WALL_CLOCK_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMP}


def _literal(value: Any) -> str:
    """A bound value as the connector's client-side (pyformat) binding writes it into the text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def bound(text: str) -> str:
    """`text` with its parameters bound and the identifier placeholder of probe_table filled."""
    text = PLACEHOLDER.sub(lambda m: _literal(PARAMS[m.group(1)]), text)
    return text.replace("{table}", '"FACTVISITCALLPERFORMANCE_CR"')


def _relative(path: Any) -> str:
    return str(path.relative_to(SF_SQL_DIR).with_suffix(""))


def _files(under: str | None = None) -> list[str]:
    root = SF_SQL_DIR / under if under else SF_SQL_DIR
    return sorted(_relative(p) for p in root.rglob("*.sql"))


@cache
def _blocks() -> frozenset[str]:
    """Files that other files include (shared blocks, not statements)."""
    return frozenset(
        name for f in _files() for name in INCLUDE.findall((SF_SQL_DIR / f"{f}.sql").read_text())
    )


# -- inventory -----------------------------------------------------------------------------------------


def test_pipeline_order_lists_every_statement_once() -> None:
    """Every file under sql/snowflake/ is the emulation's DDL (schema/), one of the source check's
    statements (check/), a block other files include, a pipeline statement in PIPELINE_STATEMENTS or an
    operator statement in OPERATOR_STATEMENTS, which list each once; so the resolution below and
    `source check` see every statement."""
    statements = {f for f in _files() if not f.startswith(("schema/", "check/")) and f not in _blocks()}
    assert len(ALL_STATEMENTS) == len(set(ALL_STATEMENTS))
    assert set(ALL_STATEMENTS) == statements
    probes = {f"check/probe_{p.name}" for p in PROBES}
    assert set(_files("check")) == probes | {"check/describe_view", "check/describe_table"}


def test_no_stray_percent_and_every_parameter_is_bound() -> None:
    """The connector binds %(name)s client-side with Python's % operator, so any other '%' anywhere in a
    statement (a LIKE pattern, a comment) breaks or changes it: none anywhere under sql/snowflake/, and
    every placeholder is a parameter the modules bind (D1: run values are bound literals)."""
    for name in _files():
        text = (SF_SQL_DIR / f"{name}.sql").read_text()
        assert "%" not in PLACEHOLDER.sub("", text), f"sql/snowflake/{name}.sql holds a stray %"
        assert set(PLACEHOLDER.findall(text)) <= set(PARAMS), name


def test_source_sql_reads_no_clock() -> None:
    """D1: no statement decides scope from the clock."""
    for name in ALL_STATEMENTS:
        code = re.sub(r"--[^\n]*", "", read_sql(f"snowflake/{name}.sql"))
        assert not re.search(r"GETDATE|CURRENT_TIMESTAMP|CURRENT_DATE|SYSDATE|\bNOW\(", code, re.I), name


@pytest.mark.parametrize("name", _files(), ids=_files())
def test_every_file_parses_with_the_snowflake_dialect(name: str) -> None:
    """Each statement (and each block inside its statements) is one statement of Snowflake SQL."""
    if name in _blocks():
        return  # parsed as part of the statements that include it
    text = bound(read_sql(f"snowflake/{name}.sql"))
    parsed = sqlglot.parse(text, read="snowflake")
    assert len([p for p in parsed if p is not None]) == 1, name


# -- resolution ----------------------------------------------------------------------------------------


def _column_name(identifier: exp.Identifier) -> str:
    """Snowflake's name of a column: quoted as written, unquoted upper-cased."""
    return identifier.name if identifier.quoted else identifier.name.upper()


def contract_schema() -> MappingSchema:
    """The source tables as sql/snowflake/schema/*.sql declares them, parsed by sqlglot."""
    tables: dict[str, object] = {}
    for table in SOURCE_TABLES:
        ddl = sqlglot.parse_one(read_sql(f"snowflake/schema/{table.lower()}.sql"), read="snowflake")
        assert isinstance(ddl, exp.Create) and isinstance(ddl.this, exp.Schema), table
        tables[table] = {_column_name(c.this): c.args["kind"].sql("snowflake") for c in ddl.this.expressions}
    return MappingSchema(tables, dialect="snowflake", normalize=False)


@dataclass
class Resolution:
    """Statements resolved in order against one schema that grows with each session table."""

    schema: MappingSchema = field(default_factory=contract_schema)
    problems: list[str] = field(default_factory=list)

    def statement(self, name: str, text: str) -> None:
        tree = sqlglot.parse_one(bound(text), read="snowflake")
        if isinstance(tree, exp.Alter | exp.Describe | exp.Command):
            return  # session settings and catalog reads: nothing to resolve
        self._stars(name, tree)
        if isinstance(tree, exp.Create):
            table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            if isinstance(tree.this, exp.Schema):  # CREATE TABLE t (columns)
                columns = {
                    _column_name(c.this): c.args["kind"].sql("snowflake") for c in tree.this.expressions
                }
            else:  # CREATE TABLE t AS SELECT
                columns = self._resolve(name, tree.expression, create_as=True)
            self.schema.add_table(table.name.upper(), columns, dialect="snowflake", normalize=False)
        else:
            self._resolve(name, tree)

    def _resolve(self, name: str, tree: exp.Expr, *, create_as: bool = False) -> dict[str, str]:
        try:
            resolved = qualify(
                tree.copy(), schema=self.schema, dialect="snowflake", validate_qualify_columns=True
            )
        except OptimizeError as exc:
            self.problems.append(f"{name}: {exc}")
            return {}
        annotated = annotate_types(resolved, schema=self.schema, dialect="snowflake")
        self.problems.extend(f"{name}: {p}" for p in time_zone_problems(annotated))
        if not create_as or not isinstance(annotated, exp.Query):
            return {}
        names = annotated.named_selects
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            self.problems.append(f"{name}: CREATE TABLE AS with duplicate columns {duplicates}")
        selects = annotated.selects
        return {
            s.alias_or_name: (
                s.type.sql("snowflake") if s.type and s.type.this != exp.DataType.Type.UNKNOWN else "VARCHAR"
            )
            for s in selects
        }

    def _stars(self, name: str, tree: exp.Expr) -> None:
        """No star over a source view (its production column list is unknown); in a CREATE TABLE AS, no
        star in its own projection and none over any table: its columns are listed in its text."""
        create_as = isinstance(tree, exp.Create) and not isinstance(tree.this, exp.Schema)
        ctes = {cte.alias.upper() for cte in tree.find_all(exp.CTE)}
        if create_as:
            body = tree.expression
            tops = body.selects if isinstance(body, exp.Query) else []
            if any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star) for s in tops):
                self.problems.append(f"{name}: SELECT * in the projection of a CREATE TABLE AS")
        for select in tree.find_all(exp.Select):
            sources = {
                (t.alias_or_name).upper(): t.name.upper()
                for t in [
                    select.args.get("from_") and select.args["from_"].this,
                    *[j.this for j in select.args.get("joins") or []],
                ]
                if isinstance(t, exp.Table)
            }
            for projection in select.expressions:
                if isinstance(projection, exp.Star):
                    over = set(sources.values())
                elif isinstance(projection, exp.Column) and projection.is_star:
                    over = {sources.get(projection.table.upper(), projection.table.upper())}
                else:
                    continue
                for table in over - ctes:
                    if table in SOURCE_TABLES:
                        self.problems.append(f"{name}: a star over the source view {table}")
                    elif create_as:
                        self.problems.append(f"{name}: a star over the table {table} in a CREATE TABLE AS")


def _type(node: exp.Expr) -> Any:
    """The annotated type of `node` (a DataType.Type member), None when unknown."""
    return node.type.this if isinstance(node.type, exp.DataType) else None


def time_zone_problems(tree: exp.Expr) -> Iterable[str]:
    """The constructs that depend on the session zone or differ between the engines (each probed in
    sql/snowflake/check/): a 2-argument CONVERT_TIMEZONE of anything but an explicit CAST(... AS
    TIMESTAMP_TZ), a 3-argument one of a TIMESTAMP_TZ, a TIMESTAMP_TZ cast to a date or wall-clock time
    other than through CONVERT_TIMEZONE, a TIMESTAMP_TZ compared with a DATE, NTZ or text value, and a
    text cast to TIMESTAMP_TZ without an explicit offset."""
    for node in tree.find_all(exp.ConvertTimezone):
        value = node.args["timestamp"]
        if node.args.get("source_tz") is None:
            if not (isinstance(value, exp.Cast) and value.to.this == exp.DataType.Type.TIMESTAMPTZ):
                yield f"CONVERT_TIMEZONE of {value.sql('snowflake')} without CAST(... AS TIMESTAMP_TZ)"
        elif _type(value) in TZ_TYPES:
            yield f"3-argument CONVERT_TIMEZONE of the TIMESTAMP_TZ {value.sql('snowflake')}"
    for cast in tree.find_all(exp.Cast):
        operand = cast.this
        if (
            cast.to.this in WALL_CLOCK_TYPES | {exp.DataType.Type.TIME}
            and _type(operand) in TZ_TYPES
            and not isinstance(operand, exp.ConvertTimezone)
        ):
            yield f"{cast.sql('snowflake')}: a TIMESTAMP_TZ cast without CONVERT_TIMEZONE"
        if (
            cast.to.this == exp.DataType.Type.TIMESTAMPTZ
            and isinstance(operand, exp.Literal)
            and operand.is_string
            and not re.search(r"([+-]\d\d:?\d\d|Z)$", operand.this)
        ):
            yield f"{cast.sql('snowflake')}: a TIMESTAMP_TZ literal without an offset"
    for comparison in tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between):
        operands = [
            comparison.this,
            comparison.args.get("expression"),
            comparison.args.get("low"),
            comparison.args.get("high"),
        ]
        kinds = {_type(o) for o in operands if isinstance(o, exp.Expr)}
        if kinds & TZ_TYPES and kinds & (
            WALL_CLOCK_TYPES | {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT}
        ):
            yield f"{comparison.sql('snowflake')}: a TIMESTAMP_TZ compared with a value of another kind"


def test_every_statement_resolves_in_pipeline_order() -> None:
    """Every pipeline statement resolves against the schema contract and the session tables created
    before it: no unknown column, no duplicate column in a CREATE TABLE AS, no star over a source view
    or in a CREATE TABLE AS, and no session-zone-dependent time-zone construct (D1)."""
    resolution = Resolution()
    for name in ALL_STATEMENTS:
        resolution.statement(name, read_sql(f"snowflake/{name}.sql"))
    assert resolution.problems == []
    for table in ("VC_DELTA_GROUP", "VC_INSERVICE_CANDIDATE", "VC_INSERVICE_EVENT", "VC_INSERVICE_VISIT"):
        assert resolution.schema.column_names(table), table


def test_the_schema_contract_parses_as_the_emulation_reads_it() -> None:
    """sqlglot's reading of sql/snowflake/schema/ and source.schema.source_columns (what the emulation
    and the source check use) agree on every column name."""
    schema = contract_schema()
    for table in SOURCE_TABLES:
        assert schema.column_names(table) == [name for name, _ in source_columns(table)], table


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ('SELECT cr."No Such Column" FROM FACTVISITCALLPERFORMANCE_CR cr', "No Such Column"),
        ("CREATE TEMPORARY TABLE T1 AS SELECT cr.* FROM FACTVISITCALLPERFORMANCE_CR cr", "SELECT *"),
        ("SELECT x.* FROM (SELECT 1 AS a) s JOIN DIMUSER x ON x.\"User Id\" = 'a'", "source view DIMUSER"),
        (
            'CREATE TEMPORARY TABLE T2 AS SELECT d."User Id" AS ssn, d."User Fullname" AS "SSN" '
            "FROM DIMUSER d",
            "duplicate columns ['SSN']",
        ),
        (
            "CREATE TEMPORARY TABLE T3 AS WITH u AS (SELECT * FROM VC_SESSION) SELECT u.a AS a FROM u",
            "table VC_SESSION",
        ),
        (
            "SELECT CONVERT_TIMEZONE('America/New_York', cr.\"Visit Date\") "
            "FROM FACTVISITCALLPERFORMANCE_CR cr",
            "without CAST",
        ),
        (
            'SELECT CAST(cr."Visit Date" AS DATE) FROM FACTVISITCALLPERFORMANCE_CR cr',
            "without CONVERT_TIMEZONE",
        ),
        (
            "SELECT 1 FROM FACTVISITCALLPERFORMANCE_CR cr "
            "WHERE cr.\"Visit Date\" >= DATEADD(day, -1, CAST('2024-01-01' AS DATE))",
            "another kind",
        ),
        ("SELECT CAST('2024-01-01 00:00:00' AS TIMESTAMP_TZ)", "without an offset"),
    ],
)
def test_the_checks_catch_what_they_forbid(statement: str, problem: str) -> None:
    """Each rule of the resolution fails on an example of what it forbids."""
    resolution = Resolution()
    resolution.schema.add_table("VC_SESSION", {"A": "INT"}, dialect="snowflake", normalize=False)
    resolution.statement("example", statement)
    assert any(problem in p for p in resolution.problems), resolution.problems
