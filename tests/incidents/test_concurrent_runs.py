"""Incident: two runs writing the same date at once (LESSONS #8, R8.3; lesson 5).

    "DELETE+INSERT races (34,728 duplicate rows)."  "[Runs] in quick succession interleaved."
    R8.3: "At most one active execution per (season) and per (date, step). Use Firestore
    create-if-absent leases. Daily and backfill runs never write the same date at the same
    time."

Guarded here with real threads on one embedded home (one SQLite status file, one DuckDB file):
a ``backcourt backfill`` (the local runner) and the daily path (plan → ``process_message``,
``mode=daily``) start on the same game date at the same time, in both orders. One run holds each
(processor, date) lease, the other skips it (or waits for it); every table is written once for
the date, every partition has one attempt, and the result equals a run done alone — also for
player_game_summary, which must not be computed while the other run is still writing the
team_offense rows it reads.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faults import faulty_on, services_on

from backcourt.domain.errors import TransientError
from backcourt.domain.messages import make_message
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import State
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAY = date(2024, 10, 22)  # the opener: no earlier history to read
WINDOW = Window(DAY, DAY)
PHASE3 = of_phase(Phase.ANALYTICS)
TEAM = "team_offense_game_summary"


def _pgs(s: Services) -> list[tuple[Any, ...]]:
    got = s.warehouse.query("SELECT * FROM nba_analytics.player_game_summary WHERE game_date = "
                            "@d ORDER BY player_lookup", {"d": DAY})
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r.values()) for r in got]


def _running(s: Services, name: str) -> bool:
    st = s.status.get(name, DAY)
    return st is not None and st.state is State.RUNNING


@pytest.fixture
def clean_pgs(make_home: Callable[..., Path]) -> list[tuple[Any, ...]]:
    """player_game_summary of DAY from phases 2–3 run alone."""
    s = services_on(make_home([DAY], "clean"))
    try:
        Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)
        st = s.status.get("player_game_summary", DAY)  # reads no earlier dates: it runs
        assert st is not None and st.state is State.SUCCEEDED, st
        rows = _pgs(s)
        assert rows
        return rows
    finally:
        s.close()


@pytest.mark.parametrize("first", ["daily", "backfill"])
def test_backfill_and_daily_on_the_same_date_never_both_write(
        make_home: Callable[..., Path], clean_pgs: list[tuple[Any, ...]], first: str) -> None:
    home = make_home([DAY])
    loader = services_on(home)
    try:
        Runner(loader).backfill([SEASON], [Phase.RAW], WINDOW)
    finally:
        loader.close()
    daily, daily_wh = faulty_on(home)
    backfill, backfill_wh = faulty_on(home)
    holder = daily_wh if first == "daily" else backfill_wh
    holder.delay_table, holder.delay_s = TEAM, 1.0  # holds the TEAM lease for a while
    out: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run_daily() -> None:
        try:
            protocol.plan_phase(daily, "3", start=DAY, end=DAY, run_id="daily")
            msg = make_message("daily", "3", [p.name for p in PHASE3], DAY, DAY, mode="daily")
            for attempt in range(1, protocol.MAX_DELIVERIES + 1):  # Pub/Sub redelivers
                try:
                    out["daily"] = protocol.process_message(
                        daily, msg, execution_id="daily-tick",
                        delivery=protocol.Delivery(attempt))
                    break
                except TransientError:
                    time.sleep(0.5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def run_backfill() -> None:
        try:
            out["backfill"] = Runner(backfill).backfill([SEASON], [Phase.ANALYTICS], WINDOW)
        except BaseException as exc:
            errors.append(exc)

    starts = {"daily": run_daily, "backfill": run_backfill}
    leader = threading.Thread(target=starts[first], name=first)
    second = "backfill" if first == "daily" else "daily"
    follower = threading.Thread(target=starts[second], name=second)
    try:
        leader.start()
        deadline = time.monotonic() + 60
        while not _running(daily, TEAM) and time.monotonic() < deadline and leader.is_alive():
            time.sleep(0.005)
        assert _running(daily, TEAM), "the first run never took the lease"
        follower.start()  # while the first run is inside its TEAM write
        leader.join(timeout=120)
        follower.join(timeout=120)
        assert errors == []
        assert not leader.is_alive() and not follower.is_alive()

        # Every table was written once for the date: never both runs.
        writes = Counter((w.table, d) for wh in (daily_wh, backfill_wh)
                         for w in wh.writes for d in w.days)
        assert writes == Counter({(p.table.name, DAY): 1 for p in PHASE3}), writes
        assert [w.table for w in holder.writes].count(TEAM) == 1
        assert TEAM not in [w.table for w in (backfill_wh if holder is daily_wh
                                              else daily_wh).writes]
        for p in PHASE3:
            st = daily.status.get(p.name, DAY)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 1), st
        leased = {name: n["leased"] for name, n in out["daily"]["processors"].items()}
        assert leased[TEAM] == (1 if first == "daily" else 0), out["daily"]
        # The result is the one a lone run gives, usage rates and all.
        assert _pgs(daily) == clean_pgs
    finally:
        daily.close()
        backfill.close()
