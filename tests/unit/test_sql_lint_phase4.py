"""SQL lint for the phase-4 files (TDZA, PSZA, PDC, PCF, MLFS), on top of test_sql_lint.py (which
already lints every packaged .sql and checks its output columns):

- every phase-4 processor has its SQL, clean, bounded to @start_date … @end_date;
- no LEAST/GREATEST: BigQuery returns NULL when an argument is NULL, DuckDB ignores the NULL
  (LEAST(NULL, 7) is NULL on BigQuery, 7 on DuckDB) — use IF/CASE;
- the feature store matches the catalog (backcourt.domain.features): one ``f_<name>`` per feature
  defined as COALESCE(v_<name>, <catalog default>), each v_<name> read from the catalog's source
  table, ``defaulted_features`` listing the names in catalog order and
  ``required_default_count`` counting exactly the required features.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from test_sql_lint import lint, output_columns

from backcourt.domain import registry
from backcourt.domain.features import FEATURES, REQUIRED
from backcourt.sql import available_sql, load_sql

PHASE4 = tuple(p.table.name for p in registry.of_phase(registry.Phase.PRECOMPUTE))
MLFS = "ml_feature_store"


def null_semantics(sql: str) -> list[str]:
    """LEAST/GREATEST calls: their NULL handling differs between BigQuery and DuckDB."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    return [f"{node.key.upper()} ignores NULLs on DuckDB but not on BigQuery: use IF/CASE"
            for node in tree.walk() if isinstance(node, exp.Least | exp.Greatest)]


def _tree(name: str) -> exp.Select:
    tree = sqlglot.parse_one(load_sql(name), read="bigquery")
    assert isinstance(tree, exp.Select)
    return tree


# -- every phase-4 file --------------------------------------------------------------------------


def test_every_phase4_processor_has_its_sql() -> None:
    assert set(PHASE4) == {"team_defense_zone_analysis", "player_shot_zone_analysis",
                           "player_daily_cache", "player_composite_factors", MLFS}
    assert set(PHASE4) <= set(available_sql())


@pytest.mark.parametrize("name", PHASE4)
def test_phase4_sql_is_clean(name: str) -> None:
    sql = load_sql(name)
    assert lint(sql) == []
    assert null_semantics(sql) == []
    table = next(p.table for p in registry.PROCESSORS if p.table.name == name)
    assert output_columns(sql) == list(table.column_names)


@pytest.mark.parametrize("name", PHASE4)
def test_phase4_sql_outputs_the_requested_dates_only(name: str) -> None:
    bounded = [
        b for b in _tree(name).find_all(exp.Between)
        if isinstance(b.args["low"], exp.Parameter) and b.args["low"].name == "start_date"
        and isinstance(b.args["high"], exp.Parameter) and b.args["high"].name == "end_date"
        and isinstance(b.this, exp.Column) and b.this.name == "game_date"
    ]
    assert bounded, "no game_date BETWEEN @start_date AND @end_date"


def test_the_null_semantics_rule_catches_least_and_greatest() -> None:
    assert len(null_semantics("SELECT LEAST(days_rest, 7) AS x FROM t")) == 1
    assert len(null_semantics("SELECT GREATEST(a, 0) AS x FROM t")) == 1
    assert null_semantics("SELECT IF(days_rest > 7, 7, days_rest) AS x FROM t") == []


# -- the feature store against the catalog -------------------------------------------------------


def _cte(tree: exp.Select, name: str) -> exp.Select:
    cte = next(c for c in tree.find_all(exp.CTE) if c.alias_or_name == name)
    assert isinstance(cte.this, exp.Select)
    return cte.this


def _projections(select: exp.Select) -> dict[str, exp.Expression]:
    out: dict[str, exp.Expression] = {}
    for e in select.expressions:
        out[e.alias_or_name] = e.this if isinstance(e, exp.Alias) else e
    return out


def _source_tables(tree: exp.Select) -> dict[str, set[str]]:
    """alias in the ``inputs`` CTE → names of the warehouse tables its CTE reads."""
    reads = {c.alias_or_name: {t.name for t in c.this.find_all(exp.Table) if t.db}
             for c in tree.find_all(exp.CTE)}
    inputs = _cte(tree, "inputs")
    return {t.alias_or_name: reads[t.name] for t in inputs.find_all(exp.Table)}


def test_every_feature_defaults_to_its_catalog_default() -> None:
    final = _projections(_tree(MLFS))
    for f in FEATURES:
        expr = final.get(f.column)
        assert isinstance(expr, exp.Coalesce), f.column
        assert isinstance(expr.this, exp.Column) and expr.this.name == f"v_{f.name}", f.column
        (default,) = expr.expressions
        assert isinstance(default, exp.Literal) and float(default.name) == f.default, f.column


def test_every_feature_reads_its_catalog_source() -> None:
    tree = _tree(MLFS)
    tables = _source_tables(tree)
    inputs = _projections(_cte(tree, "inputs"))
    for f in FEATURES:
        expr = inputs[f"v_{f.name}"]
        read = set().union(*(tables[c.table] for c in expr.find_all(exp.Column)))
        assert read == {f.source}, (f.name, read)


def _null_checks(expr: exp.Expression) -> list[str]:
    """Names ``x`` of the ``v_x IS NULL`` tests in an expression, in order."""
    return [node.this.name[2:] for node in expr.walk(bfs=False)
            if isinstance(node, exp.Is) and isinstance(node.this, exp.Column)]


def test_defaulted_features_and_required_count_follow_the_catalog() -> None:
    final = _projections(_tree(MLFS))
    assert _null_checks(final["defaulted_features"]) == [f.name for f in FEATURES]
    labels = [lit.name for lit in final["defaulted_features"].walk(bfs=False)
              if isinstance(lit, exp.Literal) and lit.is_string and lit.name not in ("", ",")]
    assert labels == [f"{f.name}," for f in FEATURES]
    assert _null_checks(final["required_default_count"]) == [f.name for f in REQUIRED]
