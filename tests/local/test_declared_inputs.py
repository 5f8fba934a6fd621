"""What each processor reads is exactly what it declares (``registry.Processor.inputs``).

SQL processors: sqlglot lists the tables of the processor's SQL file. Python processors (the
phase-2 loaders, predictions, exports): one unit of each is run on a real, empty DuckDB home
through a warehouse that records every statement it is handed, and sqlglot lists the tables of
those statements. Either way the tables map back to processors through the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.schema import Table
from backcourt.ports import RowsSource, SqlSource, Warehouse, WriteResult
from backcourt.services.process import run_unit
from backcourt.sql import load_sql

BY_TABLE = {p.table.fqn: p.name for p in registry.PROCESSORS}
DAY = date(2024, 10, 22)


def _tables(sql: str) -> set[str]:
    """The base tables a BigQuery statement reads (CTE names excluded)."""
    out: set[str] = set()
    for tree in sqlglot.parse(sql, read="bigquery"):
        if tree is None:
            continue
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        out |= {f"{t.db}.{t.name}" if t.db else t.name for t in tree.find_all(exp.Table)
                if t.name not in ctes}
    return out


def _processors(tables: set[str]) -> set[str]:
    unknown = sorted(t for t in tables if t not in BY_TABLE)
    assert not unknown, f"tables no processor writes: {unknown}"
    return {BY_TABLE[t] for t in tables}


@pytest.mark.parametrize("proc", [p for p in registry.PROCESSORS if not p.python],
                         ids=lambda p: p.name)
def test_each_sql_file_reads_exactly_its_declared_inputs(proc: registry.Processor) -> None:
    read = _processors(_tables(load_sql(proc.table.name))) - {proc.name}
    assert read == proc.reads, (f"{proc.name}: reads {sorted(read)}, declares "
                                f"{sorted(proc.reads)}")


class RecordingWarehouse:
    """The real warehouse; every statement it is handed is kept (fault-free spy)."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.supports_transactions = inner.supports_transactions
        self.statements: list[str] = []

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        self.statements.append(sql)
        return self.inner.query(sql, params, timeout_s=timeout_s)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    timeout_s: float | None = None) -> Any:
        self.statements.append(sql)
        return self.inner.query_arrow(sql, params, timeout_s=timeout_s)

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False, job_key: str | None = None) -> WriteResult:
        if isinstance(source, SqlSource):
            self.statements.append(source.sql)
        return self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                  job_key=job_key)

    def __getattr__(self, name: str) -> Any:  # ensure_tables, close
        return getattr(self.inner, name)


@pytest.mark.local
@pytest.mark.parametrize("proc", [p for p in registry.PROCESSORS
                                  if p.python and p.name != "schedule"],
                         ids=lambda p: p.name)
def test_each_python_processor_queries_exactly_its_declared_inputs(
        proc: registry.Processor, tmp_path: Path) -> None:
    s = build(load_settings(tmp_path / "home", env={}))
    try:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        spy = RecordingWarehouse(s.warehouse)
        services = replace(s, warehouse=spy)
        s.status.seed(proc.name, [DAY], [])
        run_unit(services, proc, [DAY], run_id="inputs", owner="test")
        if proc.name == "player_prop_predictions":  # an empty home has nothing to train on:
            from backcourt.models import walkforward  # the training read, as train_iter does

            walkforward.training_rows(spy, walkforward.cutoff_for(DAY))
        read = _processors(set().union(*map(_tables, spy.statements))) - {proc.name}
    finally:
        s.close()
    assert read == proc.reads, f"{proc.name}: reads {sorted(read)}, declares {sorted(proc.reads)}"


def test_the_schedule_reads_nothing_but_its_season_file() -> None:
    assert registry.get("schedule").inputs == ()
