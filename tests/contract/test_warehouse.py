"""Warehouse contract: DuckDB (a tmp file) and BigQuery (bqemulator) behave the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain.schema import Table, col
from backcourt.ports import RowsSource, SqlSource

SRC = Table("nba_raw", "box", (col("game_date", "DATE", required=True),
                               col("player_id", "INT64", required=True),
                               col("pts", "INT64"), col("fga", "INT64")),
            key=("game_date", "player_id"), cluster=("player_id",))
OUT = Table("nba_analytics", "pts", (col("game_date", "DATE", "game day", required=True),
                                     col("player_id", "INT64", required=True),
                                     col("pts", "INT64")),
            key=("game_date", "player_id"), cluster=("player_id",))
D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)
SELECT_SRC = ("SELECT game_date, player_id, pts FROM nba_raw.box "
              "WHERE game_date BETWEEN @start_date AND @end_date")


def _rows(day: date, n: int, pts: int = 10) -> list[dict[str, Any]]:
    return [{"game_date": day, "player_id": i, "pts": pts + i, "fga": 5} for i in range(n)]


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.emulator)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "duckdb":
        wh: Any = DuckDBWarehouse(tmp_path / "wh.duckdb")
    else:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse

        endpoint = request.getfixturevalue("bqemulator")
        wh = BigQueryWarehouse(
            "demo", "US", f"t{uuid.uuid4().hex[:8]}_", max_bytes_billed=10**10,
            job_timeout_s=30, script_dates="literal",
            client_factory=lambda: bigquery.Client(
                project="demo", credentials=AnonymousCredentials(), location="US",
                client_options=ClientOptions(api_endpoint=endpoint)),
        )
    wh.ensure_tables([SRC, OUT])
    yield wh
    wh.close()


def _counts(wh: Any) -> dict[date, int]:
    got = wh.query("SELECT game_date, COUNT(*) AS n FROM nba_analytics.pts GROUP BY game_date")
    return {r["game_date"]: int(r["n"]) for r in got}


def _load_src(wh: Any, rows: list[dict[str, Any]], days: list[date]) -> None:
    wh.replace(SRC, days, RowsSource(rows), max_shrink=1.0)


def test_ensure_tables_is_idempotent(warehouse: Any) -> None:
    warehouse.ensure_tables([SRC, OUT])
    assert warehouse.query("SELECT COUNT(*) AS n FROM nba_analytics.pts") == [{"n": 0}]


def test_replace_writes_exactly_the_given_days(warehouse: Any) -> None:
    _load_src(warehouse, _rows(D1, 3) + _rows(D2, 2) + _rows(D3, 4), [D1, D2, D3])
    res = warehouse.replace(OUT, [D1, D2], SqlSource(SELECT_SRC), max_shrink=0.5)
    assert res.rows_by_date == {D1: 3, D2: 2}
    assert res.previous_by_date == {D1: 0, D2: 0}
    assert _counts(warehouse) == {D1: 3, D2: 2}  # D3 is in the source but not owned


def test_rows_source_ignores_other_dates(warehouse: Any) -> None:
    res = warehouse.replace(SRC, [D2], RowsSource(_rows(D1, 2) + _rows(D2, 3)), max_shrink=0.5)
    assert res.rows_by_date == {D2: 3}
    got = warehouse.query("SELECT game_date, COUNT(*) AS n FROM nba_raw.box GROUP BY game_date")
    assert got == [{"game_date": D2, "n": 3}]


def test_replace_again_is_idempotent(warehouse: Any) -> None:
    _load_src(warehouse, _rows(D1, 3), [D1])
    first = warehouse.query("SELECT 1 AS x")  # warm-up: a plain query works
    assert first == [{"x": 1}]
    warehouse.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5)
    again = warehouse.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5)
    assert again.previous_by_date == {D1: 3} and again.rows_by_date == {D1: 3}
    got = warehouse.query("SELECT player_id, pts FROM nba_analytics.pts ORDER BY player_id")
    assert got == [{"player_id": 0, "pts": 10}, {"player_id": 1, "pts": 11},
                   {"player_id": 2, "pts": 12}]


def test_shrink_beyond_guard_is_refused_then_forced(warehouse: Any) -> None:
    _load_src(warehouse, _rows(D1, 4) + _rows(D2, 4), [D1, D2])
    warehouse.replace(OUT, [D1, D2], SqlSource(SELECT_SRC), max_shrink=0.5)
    # D1 falls from 4 rows to 1 (75 % drop > 50 %); D2 falls to 3 (25 %, allowed).
    _load_src(warehouse, _rows(D1, 1, pts=50) + _rows(D2, 3, pts=50), [D1, D2])
    res = warehouse.replace(OUT, [D1, D2], SqlSource(SELECT_SRC), max_shrink=0.5)
    assert res.refused == {D1: (4, 1)}
    assert res.rows_by_date == {D1: 4, D2: 3}
    assert _counts(warehouse) == {D1: 4, D2: 3}
    old = warehouse.query("SELECT MIN(pts) AS p FROM nba_analytics.pts WHERE game_date = @d",
                          {"d": D1})
    assert old == [{"p": 10}]  # the old rows were kept
    forced = warehouse.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, force=True)
    assert forced.refused == {} and forced.rows_by_date == {D1: 1}
    assert _counts(warehouse) == {D1: 1, D2: 3}


def test_query_parameters_safe_divide_qualify_window(warehouse: Any) -> None:
    rows = [{"game_date": D1, "player_id": 1, "pts": 20, "fga": 10},
            {"game_date": D1, "player_id": 2, "pts": 9, "fga": 0},
            {"game_date": D2, "player_id": 1, "pts": 30, "fga": 12}]
    _load_src(warehouse, rows, [D1, D2])
    got = warehouse.query(
        "SELECT player_id, game_date, SAFE_DIVIDE(pts, fga) AS ppa, "
        "SUM(pts) OVER (PARTITION BY player_id ORDER BY game_date "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
        "FROM nba_raw.box WHERE game_date >= @start "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY game_date DESC) = 1 "
        "ORDER BY player_id", {"start": D1})
    assert got == [
        {"player_id": 1, "game_date": D2, "ppa": 2.5, "running": 50},
        {"player_id": 2, "game_date": D1, "ppa": None, "running": 9},
    ]


def test_query_arrow_returns_the_rows_of_query(warehouse: Any) -> None:
    """``query_arrow`` is ``query`` as one Arrow table: the same columns in the same order, the
    same values (NULL as null), the same parameters. BigQuery: "RowIterator.to_arrow: Create a
    class:`pyarrow.Table` by loading all pages of a table or query"
    (https://cloud.google.com/python/docs/reference/bigquery/latest/google.cloud.bigquery.table.RowIterator#google_cloud_bigquery_table_RowIterator_to_arrow);
    the adapter reads the REST pages (``create_bqstorage_client=False``), as ``query`` does."""
    rows = _rows(D1, 3) + _rows(D2, 2) + _rows(D3, 1)
    rows[1]["pts"] = None
    _load_src(warehouse, rows, [D1, D2, D3])
    sql = ("SELECT game_date, player_id, pts, CAST(pts AS FLOAT64) / 4 AS quarter, "
           "CAST(player_id AS STRING) AS name FROM nba_raw.box "
           "WHERE game_date BETWEEN @s AND @e ORDER BY game_date, player_id")
    params = {"s": D1, "e": D2}
    table = warehouse.query_arrow(sql, params)
    assert table.column_names == ["game_date", "player_id", "pts", "quarter", "name"]
    assert table.num_rows == 5
    assert table.to_pylist() == warehouse.query(sql, params)
    assert table.column("pts").null_count == 1
    assert warehouse.query_arrow(sql, {"s": D3, "e": D1}).num_rows == 0
