"""SQL lint: every packaged .sql is one BigQuery SELECT that is correct on BigQuery AND on DuckDB
through sqlglot (TOOLING.md "BigQuery SQL on DuckDB with sqlglot").

The checks walk sqlglot's AST (read="bigquery"), not the text, and ban:
- silently wrong on DuckDB: EXTRACT(DAYOFWEEK|WEEK|ISOWEEK), UNNEST … WITH OFFSET, FORMAT(),
  CAST/SAFE_CAST to an integer type, DATE_SUB / DATE_ADD / DATE_TRUNC other than WEEK,
  INTERVAL arithmetic, and DIV inside an arithmetic expression or over a compound operand
  (sqlglot renders DIV(a - b, c) as ``a - b // c`` and 2 * DIV(a, b) as ``2 * a // b``);
- loud failures: ARRAY_AGG … LIMIT, IEEE_DIVIDE, FARM_FINGERPRINT, INFORMATION_SCHEMA,
  DECLARE / scripting / several statements, QUALIFY without WHERE/GROUP BY/HAVING (BigQuery),
  LEFT/RIGHT/FULL JOIN without an equality between two columns (BigQuery);
- tables other than the registry's ``dataset.table`` names (no project, no bare names except
  CTEs), parameters other than @start_date/@end_date, and output columns that differ from the
  output table's columns (names and order).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlglot
from sqlglot import exp

from backcourt.domain import registry
from backcourt.domain.schema import Table
from backcourt.domain.tables_analytics import ANALYTICS_TABLES
from backcourt.domain.tables_raw import RAW_TABLES
from backcourt.sql import available_sql, load_sql

PHASE3 = tuple(t.name for t in ANALYTICS_TABLES)
KNOWN: dict[str, Table] = {
    t.fqn: t for t in (*RAW_TABLES, *ANALYTICS_TABLES, *(p.table for p in registry.PROCESSORS))
}
PARAMS = frozenset({"start_date", "end_date"})
_BANNED_EXTRACT = frozenset({"DAYOFWEEK", "WEEK", "ISOWEEK"})
_OPERAND_OK = (exp.Column, exp.Literal, exp.Paren)

Check = Callable[[exp.Expression], "str | None"]


def _extract(node: exp.Expression) -> str | None:
    if not isinstance(node, exp.Extract):
        return None
    unit = node.this
    name = "WEEK" if isinstance(unit, exp.WeekStart) else unit.name.upper()
    return f"EXTRACT({name}) differs on DuckDB" if name in _BANNED_EXTRACT else None


def _unnest_offset(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Unnest) and node.args.get("offset"):
        return "UNNEST … WITH OFFSET is 1-based on DuckDB"
    return None


def _format(node: exp.Expression) -> str | None:
    return "FORMAT() returns its pattern on DuckDB" if isinstance(node, exp.Format) else None


def _int_cast(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.INTEGER_TYPES):
        return "CAST(… AS INT64) rounds half-even on DuckDB"
    return None


def _date_arith(node: exp.Expression) -> str | None:
    if isinstance(node, exp.DateSub | exp.DateAdd):
        return f"{node.key.upper()} returns TIMESTAMP on DuckDB: compare with DATE_DIFF"
    if isinstance(node, exp.Interval):
        return "INTERVAL arithmetic returns TIMESTAMP on DuckDB: compare with DATE_DIFF"
    if isinstance(node, exp.DateTrunc):
        unit = node.args.get("unit")
        if not isinstance(unit, exp.WeekStart) and (unit is None or unit.name.upper() != "WEEK"):
            return "DATE_TRUNC other than WEEK returns TIMESTAMP on DuckDB"
    return None


def _int_div(node: exp.Expression) -> str | None:
    if not isinstance(node, exp.IntDiv):
        return None
    operands = (node.this, node.expression)
    in_operator = isinstance(node.parent, exp.Binary | exp.Unary) and not isinstance(
        node.parent, exp.Paren)
    if in_operator or not all(isinstance(o, _OPERAND_OK) for o in operands):
        return "DIV inside an expression or over a compound operand loses parentheses on DuckDB"
    return None


def _array_agg_limit(node: exp.Expression) -> str | None:
    if isinstance(node, exp.ArrayAgg) and node.find(exp.Limit):
        return "ARRAY_AGG … LIMIT fails on DuckDB: use QUALIFY ROW_NUMBER()"
    return None


def _unsupported_function(node: exp.Expression) -> str | None:
    if isinstance(node, exp.FarmFingerprint):
        return "FARM_FINGERPRINT fails on DuckDB"
    if isinstance(node, exp.Anonymous) and node.name.upper() == "IEEE_DIVIDE":
        return "IEEE_DIVIDE fails on DuckDB"
    return None


def _qualify(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Select) and node.args.get("qualify"):
        if not any(node.args.get(k) for k in ("where", "group", "having")):
            return "QUALIFY needs WHERE, GROUP BY or HAVING on BigQuery"
    return None


def _outer_join(node: exp.Expression) -> str | None:
    if not isinstance(node, exp.Join) or node.side.upper() not in ("LEFT", "RIGHT", "FULL"):
        return None
    on = node.args.get("on")
    equalities = list(on.find_all(exp.EQ)) if on else []
    if not any(isinstance(e.this, exp.Column) and isinstance(e.expression, exp.Column)
               for e in equalities):
        return "an outer JOIN needs an equality between two columns on BigQuery"
    return None


CHECKS: tuple[Check, ...] = (
    _extract, _unnest_offset, _format, _int_cast, _date_arith, _int_div, _array_agg_limit,
    _unsupported_function, _qualify, _outer_join,
)


def _table_problems(tree: exp.Expression) -> list[str]:
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    problems = []
    for table in tree.find_all(exp.Table):
        parts = [p for p in (table.catalog, table.db, table.name) if p]
        if any("information_schema" in p.lower() for p in parts):
            problems.append("INFORMATION_SCHEMA fails on DuckDB")
        elif table.catalog:
            problems.append(f"table {'.'.join(parts)} names a project: use dataset.table")
        elif not table.db:
            if table.name not in ctes:
                problems.append(f"bare table name {table.name}: use dataset.table")
        elif f"{table.db}.{table.name}" not in KNOWN:
            problems.append(f"unknown table {table.db}.{table.name}")
    return problems


def _param_problems(tree: exp.Expression) -> list[str]:
    used = {p.name for p in tree.find_all(exp.Parameter)}
    problems = [f"unknown parameter @{p}" for p in sorted(used - PARAMS)]
    problems += [f"parameter @{p} is never used" for p in sorted(PARAMS - used)]
    return problems


def lint(sql: str) -> list[str]:
    """Every problem found in one SQL file (empty = clean)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        return [f"does not parse as BigQuery: {exc}"]
    if len(statements) != 1:
        return [f"expected one statement, got {len(statements)}"]
    tree = statements[0]
    if not isinstance(tree, exp.Select):
        return [f"the statement is a {tree.key.upper()}, not one SELECT"]
    problems = [msg for node in tree.walk() for check in CHECKS if (msg := check(node))]
    return problems + _table_problems(tree) + _param_problems(tree)


def output_columns(sql: str) -> list[str]:
    """Names of the top-level SELECT's columns; AssertionError on SELECT *."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    assert isinstance(tree, exp.Select), "not a SELECT"
    assert not any(isinstance(e, exp.Star) for e in tree.expressions), "SELECT * at top level"
    return list(tree.named_selects)


# -- the packaged SQL ----------------------------------------------------------------------------


def test_every_phase3_table_has_its_sql_file() -> None:
    assert set(PHASE3) <= set(available_sql())
    for proc in registry.of_phase(registry.Phase.ANALYTICS):
        assert proc.sql_file and proc.sql_file[:-4] in available_sql(), proc.name


@pytest.mark.parametrize("name", PHASE3)
def test_phase3_sql_is_clean(name: str) -> None:
    assert lint(load_sql(name)) == []


@pytest.mark.parametrize("name", PHASE3)
def test_phase3_sql_returns_its_table_columns_in_order(name: str) -> None:
    table = KNOWN[f"nba_analytics.{name}"]
    assert output_columns(load_sql(name)) == list(table.column_names)


@pytest.mark.parametrize("name", PHASE3)
def test_phase3_sql_reads_the_requested_dates(name: str) -> None:
    tree = sqlglot.parse_one(load_sql(name), read="bigquery")
    bounded = [
        b for b in tree.find_all(exp.Between)
        if isinstance(b.args["low"], exp.Parameter) and b.args["low"].name == "start_date"
        and isinstance(b.args["high"], exp.Parameter) and b.args["high"].name == "end_date"
        and isinstance(b.this, exp.Column) and b.this.name == "game_date"
    ]
    assert bounded, "no game_date BETWEEN @start_date AND @end_date"


def test_phase3_sql_transpiles_to_duckdb() -> None:
    for name in PHASE3:
        out = sqlglot.transpile(load_sql(name), read="bigquery", write="duckdb")
        assert len(out) == 1 and "$start_date" in out[0], name


def test_other_packaged_sql_is_clean() -> None:
    """Later phases' files get the same construct, table and parameter checks."""
    for name in sorted(set(available_sql()) - set(PHASE3)):
        assert lint(load_sql(name)) == [], name
        table = next((t for t in KNOWN.values() if t.name == name), None)
        if table is not None:
            assert output_columns(load_sql(name)) == list(table.column_names), name


# -- the linter itself ---------------------------------------------------------------------------

_CLEAN = "SELECT game_date FROM nba_raw.schedule WHERE game_date BETWEEN @start_date AND @end_date"


def _with(expr: str) -> str:
    return _CLEAN.replace("SELECT game_date", f"SELECT game_date, {expr} AS x")


BAD: dict[str, tuple[str, str]] = {
    "extract_dayofweek": (_with("EXTRACT(DAYOFWEEK FROM game_date)"), "EXTRACT(DAYOFWEEK)"),
    "extract_week": (_with("EXTRACT(WEEK FROM game_date)"), "EXTRACT(WEEK)"),
    "extract_week_monday": (_with("EXTRACT(WEEK(MONDAY) FROM game_date)"), "EXTRACT(WEEK)"),
    "extract_isoweek": (_with("EXTRACT(ISOWEEK FROM game_date)"), "EXTRACT(ISOWEEK)"),
    "unnest_offset": (
        _CLEAN.replace("FROM nba_raw.schedule",
                       "FROM nba_raw.schedule CROSS JOIN UNNEST([1, 2]) AS v WITH OFFSET AS i"),
        "WITH OFFSET"),
    "format": (_with("FORMAT('%d', season_year)"), "FORMAT()"),
    "cast_int64": (_with("CAST(home_team_score / 2 AS INT64)"), "CAST"),
    "safe_cast_int64": (_with("SAFE_CAST(home_team_score / 2 AS INT64)"), "CAST"),
    "date_sub": (_with("DATE_SUB(game_date, INTERVAL 1 DAY)"), "DATESUB"),
    "date_add": (_with("DATE_ADD(game_date, INTERVAL 1 DAY)"), "DATEADD"),
    "date_trunc_month": (_with("DATE_TRUNC(game_date, MONTH)"), "DATE_TRUNC"),
    "interval_plus": (_with("game_date + INTERVAL 1 DAY"), "INTERVAL"),
    "div_compound_operand": (_with("DIV(home_team_score - 240, 25)"), "DIV"),
    "div_in_product": (_with("2 * DIV(home_team_score, 25)"), "DIV"),
    "div_negated": (_with("-DIV(home_team_score, 25)"), "DIV"),
    "array_agg_limit": (
        "SELECT game_date, ARRAY_AGG(game_id ORDER BY game_id LIMIT 1)[OFFSET(0)] AS x "
        "FROM nba_raw.schedule WHERE game_date BETWEEN @start_date AND @end_date "
        "GROUP BY game_date", "ARRAY_AGG"),
    "ieee_divide": (_with("IEEE_DIVIDE(home_team_score, 0)"), "IEEE_DIVIDE"),
    "farm_fingerprint": (_with("FARM_FINGERPRINT(game_id)"), "FARM_FINGERPRINT"),
    "information_schema": (
        _CLEAN.replace("nba_raw.schedule", "nba_raw.INFORMATION_SCHEMA.TABLES"),
        "INFORMATION_SCHEMA"),
    "declare": ("DECLARE d DATE DEFAULT CURRENT_DATE()", "not one SELECT"),
    "two_statements": (f"DECLARE d DATE DEFAULT CURRENT_DATE(); {_CLEAN}", "one statement"),
    "not_a_select": ("DELETE FROM nba_raw.schedule WHERE game_date = @start_date",
                     "not one SELECT"),
    "qualify_without_where": (
        "WITH s AS (SELECT game_date, game_id FROM nba_raw.schedule "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY game_date ORDER BY game_id) = 1) "
        "SELECT game_date FROM s WHERE game_date BETWEEN @start_date AND @end_date",
        "QUALIFY"),
    "left_join_without_equality": (
        "SELECT s.game_date FROM nba_raw.schedule AS s LEFT JOIN nba_raw.game_lines AS l "
        "ON l.game_date < s.game_date WHERE s.game_date BETWEEN @start_date AND @end_date",
        "outer JOIN"),
    "unknown_table": (_CLEAN.replace("nba_raw.schedule", "nba_raw.schedules"), "unknown table"),
    "project_table": (_CLEAN.replace("nba_raw.schedule", "proj.nba_raw.schedule"), "project"),
    "bare_table": (_CLEAN.replace("nba_raw.schedule", "schedule"), "bare table"),
    "unknown_param": (_CLEAN + " AND season_year = @season", "unknown parameter @season"),
    "missing_param": (_CLEAN.replace("BETWEEN @start_date AND @end_date", "= @start_date"),
                      "@end_date is never used"),
}


def test_the_clean_example_is_clean() -> None:
    assert lint(_CLEAN) == []
    assert lint(_with("DIV(home_team_score, 25)")) == []  # DIV over bare operands is fine
    assert lint(_with("DATE_TRUNC(game_date, WEEK)")) == []
    assert lint(_with("CAST(home_team_score AS FLOAT64)")) == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_linter_catches(case: str) -> None:
    sql, fragment = BAD[case]
    problems = lint(sql)
    assert len(problems) == 1, problems
    assert fragment in problems[0], problems


def test_the_div_rule_is_needed() -> None:
    """The reason for the DIV rule: sqlglot drops the parentheses of compound DIV operands."""
    out = sqlglot.transpile("SELECT DIV(m - 240, 25)", read="bigquery", write="duckdb")[0]
    safe = sqlglot.transpile("SELECT DIV(m, 25)", read="bigquery", write="duckdb")[0]
    assert safe == "SELECT m // 25"
    if out != "SELECT (m - 240) // 25":  # the day sqlglot fixes it, this documents the reason
        assert out == "SELECT m - 240 // 25"


def test_output_columns_rejects_select_star() -> None:
    with pytest.raises(AssertionError, match=r"SELECT \*"):
        output_columns("SELECT * FROM nba_raw.schedule")
    assert output_columns("WITH a AS (SELECT 1 AS y) SELECT y AS z, y FROM a") == ["z", "y"]
