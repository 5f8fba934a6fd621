"""Every write of a unit carries its idempotency key (issue 13 item 14).

BigQuery: "If the BigQuery REST API receives a jobs.insert request for a job with the same ID,
the REST API fails because the job already exists."
(https://googleapis.dev/python/bigquery/latest/design/query-retries.html). The BigQuery
warehouse names its jobs after the key, so a retry of the same write finds the jobs it already
ran (tests/gcp_semantics/test_bq_concurrency.py shows the reuse on bqemulator). Before this,
``run_unit`` never passed a key and every job id was random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.schema import Table
from backcourt.ports import RowsSource, SqlSource, Warehouse, WriteResult
from backcourt.services.process import run_unit

pytestmark = pytest.mark.local
D1, D2 = date(2024, 10, 22), date(2024, 10, 23)


class KeyRecorder:
    """The real warehouse; the ``job_key`` of every replace is kept, and the first replace
    fails with a transient error (so the unit is retried as its next attempt)."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.keys: list[str | None] = []

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False,
                job_key: str | None = None) -> WriteResult:
        self.keys.append(job_key)
        if len(self.keys) == 1:
            raise TransientError("injected: the first write fails")
        return self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                  job_key=job_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("name", ["team_offense_game_summary", "team_boxscores"])
def test_a_unit_writes_under_the_key_of_its_run_dates_and_attempt(name: str,
                                                                  tmp_path: Path) -> None:
    """A SQL processor and a phase-2 loader: the key is
    ``{run_id}_{processor}_{start}_{end}_{attempt}``; the unit's next attempt gets a new one."""
    s = build(load_settings(tmp_path / "home", env={}))
    try:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        spy = KeyRecorder(s.warehouse)
        services = replace(s, warehouse=spy)
        s.status.seed(name, [D1, D2], [])
        proc = registry.get(name)
        run_unit(services, proc, [D2, D1], run_id="run7", owner="test")
        doc = s.status.get(name, D1)
        assert doc is not None and doc.attempts == 1 and doc.state.value == "pending"
        run_unit(services, proc, [D1, D2], run_id="run7", owner="test")
    finally:
        s.close()
    key = f"run7_{name}_2024-10-22_2024-10-23"
    assert spy.keys == [f"{key}_1", f"{key}_2"]
