"""Incident: hangs and silent timeouts (LESSONS #4, R4.1/R4.2; lesson 6 of the top ten).

    "367 BigQuery calls had no timeout. Backfills had to be killed and restarted by hand."
    ""Backfills can hang on BigQuery queries – monitor and restart"; player_game_summary 2022-23
    was "restarted 4x"."  R4.1: "Every BigQuery job has an explicit job timeout."

Guarded here with a genuinely slow query (a 4·10¹⁰-row cross join) on the real DuckDB adapter,
never a simulated exception: the adapter's own query timeout interrupts it — for a read and
inside a write's transaction, which rolls back and leaves the table as it was — the error is a
transient ``WarehouseTimeout``, and the retry succeeds: in the local runner (next retry round,
attempt 2) and on the cloud path (``process`` answers 5xx so Pub/Sub redelivers; the
redelivery succeeds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from faults import SLOW_SQL, deliver, faulty_on, functions_main, rows, services_on, slow

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import registry
from backcourt.domain.errors import TransientError, WarehouseTimeout
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import RowsSource, SqlSource
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAY = date(2024, 10, 22)  # the opener: no earlier history to read
TEAM = "team_offense_game_summary"
TIMEOUT = {"BACKCOURT_QUERY_TIMEOUT_S": "3"}


def test_the_adapter_interrupts_a_slow_read_and_a_slow_write(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb", query_timeout_s=0.5)
    try:
        with pytest.raises(WarehouseTimeout, match="cancelled after 0.5 s") as info:
            wh.query(SLOW_SQL)
        assert isinstance(info.value, TransientError) and info.value.kind == "transient"
        with pytest.raises(WarehouseTimeout, match="cancelled after 0.2 s"):
            wh.query(SLOW_SQL, timeout_s=0.2)  # a per-call deadline
        assert wh.query("SELECT 1 AS one") == [{"one": 1}]  # the connection is still usable
        with pytest.raises(WarehouseTimeout, match="cancelled after 0.2 s"):
            wh.query_arrow(SLOW_SQL, timeout_s=0.2)  # the columnar read has the same deadline
        assert wh.query_arrow("SELECT 1 AS one").to_pylist() == [{"one": 1}]

        table = registry.get("player_boxscores").table
        wh.ensure_tables([table])
        before = [{"game_date": DAY, "game_id": "g", "team_abbr": "NYK", "player_lookup": f"p{i}",
                   "player_status": "active", "points": i} for i in range(5)]
        wh.replace(table, [DAY], RowsSource(before), max_shrink=0.5)
        same = SqlSource(f"SELECT * FROM {table.fqn} WHERE game_date BETWEEN @start_date AND "
                         "@end_date")
        with pytest.raises(WarehouseTimeout):
            wh.replace(table, [DAY], slow(same), max_shrink=0.5, force=True)
        kept = wh.query(f"SELECT player_lookup FROM {table.fqn} ORDER BY player_lookup")
        assert [r["player_lookup"] for r in kept] == [f"p{i}" for i in range(5)]  # rolled back
        assert wh.replace(table, [DAY], same, max_shrink=0.5).rows_by_date == {DAY: 5}
    finally:
        wh.close()


def _loaded(make_home: Callable[..., Path]) -> Path:
    home = make_home([DAY])
    s = services_on(home)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(DAY, DAY))
    finally:
        s.close()
    return home


def test_runner_retries_a_hung_write_and_succeeds(make_home: Callable[..., Path]) -> None:
    s, wh = faulty_on(_loaded(make_home), env=TIMEOUT)
    try:
        wh.hang_table, wh.hangs_left = TEAM, 1
        result = Runner(s).backfill([SEASON], [Phase.ANALYTICS], Window(DAY, DAY))
        assert wh.calls[TEAM] == 2  # the hung attempt, then the retry round
        st = s.status.get(TEAM, DAY)
        assert st is not None and (st.state, st.attempts, st.error) == (State.SUCCEEDED, 2, None)
        assert rows(wh, TEAM, DAY) > 0
        assert result.phases[0].verdicts[DAY].verdict is Verdict.PASS
        other = s.status.get("team_defense_game_summary", DAY)
        assert other is not None and (other.state, other.attempts) == (State.SUCCEEDED, 1)
    finally:
        s.close()


def test_a_hung_write_on_the_cloud_path_is_redelivered_and_succeeds(
        make_home: Callable[..., Path]) -> None:
    s, wh = faulty_on(_loaded(make_home), env=TIMEOUT)
    main = functions_main()
    main.set_services(s)
    try:
        (unit,), = protocol.plan_phase(s, "3", start=DAY, end=DAY)["waves"]
        wh.hang_table, wh.hangs_left = TEAM, 1
        body = json.dumps(unit).encode()
        assert deliver(body, "hung-1") >= 500  # transient: not acknowledged
        st = s.status.get(TEAM, DAY)
        assert st is not None and (st.state, st.attempts, st.error_kind) == (
            State.PENDING, 1, "transient")
        assert st.error and "cancelled after 3 s" in st.error
        assert rows(wh, TEAM, DAY) == 0
        assert deliver(body, "hung-1-redelivered") == 200
        st = s.status.get(TEAM, DAY)
        assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 2)
        assert rows(wh, TEAM, DAY) > 0
        assert protocol.progress(s, "3", DAY, DAY)["finished"] is True
    finally:
        main.set_services(None)
        s.close()
