"""DuckDB warehouse: BigQuery-dialect SQL transpiled with sqlglot, atomic per-date replace
with a shrink guard, query timeouts by interrupt."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from backcourt.domain.errors import TerminalError, TransientError, WarehouseTimeout
from backcourt.domain.schema import ColumnType, Table
from backcourt.ports import ArrowRows, RowsSource, SqlSource, WriteResult

log = logging.getLogger(__name__)

_DUCK_TYPES: dict[ColumnType, str] = {
    "STRING": "VARCHAR", "INT64": "BIGINT", "FLOAT64": "DOUBLE", "NUMERIC": "DOUBLE",
    "BOOL": "BOOLEAN", "DATE": "DATE", "TIMESTAMP": "TIMESTAMPTZ", "JSON": "VARCHAR",
}
_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
    "NUMERIC": pa.float64(), "BOOL": pa.bool_(), "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"), "JSON": pa.string(),
}
_stage_ids = itertools.count()


@lru_cache(maxsize=256)
def to_duckdb(sql: str) -> str:
    """Translate one BigQuery statement to DuckDB (``@param`` becomes ``$param``)."""
    try:
        out = sqlglot.transpile(sql, read="bigquery", write="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise TerminalError(f"SQL does not parse as BigQuery: {exc}") from exc
    if len(out) != 1:
        raise TerminalError(f"expected one SQL statement, got {len(out)}")
    return str(out[0])


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a table declaration."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in table.columns])


CLOSE_WAIT_S = 30.0
"""How long ``close`` waits for a call still running on another thread."""


class DuckDBWarehouse:
    """Warehouse port on one DuckDB file (or ``:memory:``); datasets become schemas."""

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, path: Path | str, *, query_timeout_s: float = 300.0) -> None:
        self.path = str(path)
        self.query_timeout_s = query_timeout_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._local = threading.local()
        self._lock = threading.Lock()

    # -- connections ---------------------------------------------------------------------
    def _root(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._con = duckdb.connect(self.path)
                except duckdb.IOException as exc:
                    raise TransientError(
                        f"warehouse {self.path} is in use by another process: {exc}"
                    ) from exc
            return self._con

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._root().cursor()
            self._local.cur = cur
        return cur

    def close(self) -> None:
        """Close the connection; a call still running on another thread (a late delivery of
        a unit) is waited for, at most ``CLOSE_WAIT_S``, instead of failing the close."""
        with self._lock:
            if self._con is not None:
                waited = 0.0
                while True:
                    try:
                        self._con.close()
                        break
                    except duckdb.Error as exc:
                        if "busy" not in str(exc) or waited >= CLOSE_WAIT_S:
                            raise
                        time.sleep(0.1)
                        waited += 0.1
                self._con = None
        self._local = threading.local()

    # -- DDL -----------------------------------------------------------------------------
    def ensure_tables(self, tables: Sequence[Table]) -> None:
        cur = self._cursor()
        for table in tables:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{table.dataset}"')
            existing = cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [table.dataset, table.name],
            ).fetchall()
            wanted = [(c.name, _DUCK_TYPES[c.type]) for c in table.columns]
            if existing and [(n, t.split("(")[0]) for n, t in existing] != [
                (n, "TIMESTAMP WITH TIME ZONE" if t == "TIMESTAMPTZ" else t) for n, t in wanted
            ]:
                log.warning("schema of %s changed: recreating it (derived data)", table.fqn)
                cur.execute(f"DROP TABLE {self._name(table)}")
                existing = []
            if not existing:
                cols = ", ".join(f'"{n}" {t}' for n, t in wanted)
                cur.execute(f"CREATE TABLE {self._name(table)} ({cols})")

    @staticmethod
    def _name(table: Table) -> str:
        return f'"{table.dataset}"."{table.name}"'

    # -- writes --------------------------------------------------------------------------
    def replace(
        self,
        table: Table,
        days: Sequence[date],
        source: SqlSource | RowsSource,
        *,
        max_shrink: float,
        force: bool = False,
        job_key: str | None = None,
    ) -> WriteResult:
        wanted = sorted(set(days))
        if not wanted:
            return WriteResult({}, {})
        cur = self._cursor()
        stage = f"stage_{table.name}_{next(_stage_ids)}"
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                result = self._replace_in_tx(cur, table, wanted, source, stage, max_shrink, force)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                if isinstance(source, RowsSource) and isinstance(source.rows, ArrowRows):
                    cur.unregister(stage)
                else:
                    cur.execute(f'DROP TABLE IF EXISTS "{stage}"')
        except duckdb.Error as exc:
            raise self._map_error(exc, table.name) from exc
        return result

    def _replace_in_tx(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: Table,
        days: list[date],
        source: SqlSource | RowsSource,
        stage: str,
        max_shrink: float,
        force: bool,
    ) -> WriteResult:
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        self._stage(cur, table, days, source, stage, cols)
        new = self._counts(cur, f'"{stage}"', days)
        old = self._counts(cur, self._name(table), days)
        refused = {
            d: (old[d], new.get(d, 0))
            for d in days
            if not force and old.get(d, 0) > 0 and new.get(d, 0) < old[d] * (1 - max_shrink)
        }
        keep = [d for d in days if d not in refused]
        if keep:
            cur.execute(
                f"DELETE FROM {self._name(table)} WHERE list_contains($days, game_date)",
                {"days": keep},
            )
            cur.execute(
                f'INSERT INTO {self._name(table)} ({cols}) SELECT {cols} FROM "{stage}" '
                "WHERE list_contains($days, game_date)",
                {"days": keep},
            )
        rows = {d: (new.get(d, 0) if d in keep else old.get(d, 0)) for d in days}
        return WriteResult(rows, {d: old.get(d, 0) for d in days}, refused)

    def _stage(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: Table,
        days: list[date],
        source: SqlSource | RowsSource,
        stage: str,
        cols: str,
    ) -> None:
        if isinstance(source, RowsSource):
            if isinstance(source.rows, ArrowRows):
                # built column by column: DuckDB reads the Arrow table where it is (the stage
                # is a view of it, no copy; unregistered after the transaction)
                cur.register(stage, source.rows.table.select(list(table.column_names)).cast(
                    arrow_schema(table)))
                return
            # pyarrow takes the schema's columns from each row (a missing key is NULL, extra
            # keys are ignored): no per-row copy of the rows
            data = pa.Table.from_pylist(list(source.rows), schema=arrow_schema(table))
            cur.register(f"{stage}_arrow", data)
            cur.execute(f'CREATE TEMP TABLE "{stage}" AS SELECT {cols} FROM "{stage}_arrow"')
            cur.unregister(f"{stage}_arrow")
            return
        params = {"start_date": days[0], "end_date": days[-1], **source.params}
        sql = to_duckdb(source.sql)
        self._run_with_timeout(
            cur,
            f'CREATE TEMP TABLE "{stage}" AS SELECT {cols} FROM ({sql}) AS q',
            self._used(sql, params),
        )

    @staticmethod
    def _counts(cur: duckdb.DuckDBPyConnection, name: str, days: list[date]) -> dict[date, int]:
        got = cur.execute(
            f"SELECT game_date, count(*) FROM {name} WHERE list_contains($days, game_date) "
            "GROUP BY game_date",
            {"days": days},
        ).fetchall()
        return {d: int(n) for d, n in got}

    # -- reads ---------------------------------------------------------------------------
    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        cur = self._cursor()
        translated = to_duckdb(sql)
        try:
            self._run_with_timeout(cur, translated, self._used(translated, params or {}),
                                   timeout_s)
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except duckdb.Error as exc:
            raise self._map_error(exc, "query") from exc

    def query_arrow(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> pa.Table:
        cur = self._cursor()
        translated = to_duckdb(sql)
        used = self._used(translated, params or {})
        limit = timeout_s if timeout_s is not None else self.query_timeout_s
        timer = threading.Timer(limit, cur.interrupt)
        timer.start()
        try:  # a relation's Arrow output (a DB-API result's makes an extra copy of the rows)
            rel = cur.sql(translated, params=used or None)
            return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        except duckdb.InterruptException as exc:
            raise WarehouseTimeout(f"query cancelled after {limit:g} s") from exc
        except duckdb.Error as exc:
            raise self._map_error(exc, "query") from exc
        finally:
            timer.cancel()

    @staticmethod
    def _used(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if f"${k}" in sql}

    def _run_with_timeout(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        params: Mapping[str, Any],
        timeout_s: float | None = None,
    ) -> None:
        limit = timeout_s if timeout_s is not None else self.query_timeout_s
        timer = threading.Timer(limit, cur.interrupt)
        timer.start()
        try:
            cur.execute(sql, dict(params) if params else None)
        except duckdb.InterruptException as exc:
            raise WarehouseTimeout(f"query cancelled after {limit:g} s") from exc
        finally:
            timer.cancel()

    @staticmethod
    def _map_error(exc: duckdb.Error, what: str) -> Exception:
        if isinstance(exc, duckdb.InterruptException):
            return WarehouseTimeout(f"{what}: query cancelled after its timeout")
        if isinstance(exc, duckdb.TransactionException | duckdb.IOException):
            return TransientError(f"{what}: {exc}")
        return TerminalError(f"{what}: {type(exc).__name__}: {exc}")
