"""Incident: dates without games reported as failures (LESSONS #11, R11.1/R11.2/R11.3).

    "The All-Star break (Feb 16–20) "failed" in every backfill (SESSION125)."  "MLFS had 90
    "failed" dates that were playoff dates."  R11.2: "No-game and exhibition dates are EMPTY_OK,
    never FAILED."  Acceptance (§5): "All-Star break dates → EMPTY_OK."

Guarded here with the real 2024-25 NBA.com schedule (``backcourt/data``, see
tests/fixtures/nba/README.md): election day (2024-11-05), Thanksgiving (2024-11-28) and the
All-Star break (2025-02-14 … 2025-02-18: exhibitions on the 14th and 16th, nothing on the 15th,
17th and 18th) are ``not_expected`` for every processor that does not apply to them — in the
calendar, after a backfill across them (runner), through the daily message path, in the plan
and in the coverage matrix — and never ``failed``, ``blocked`` or ``pending``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
from faults import services_on

from backcourt.domain import registry
from backcourt.domain.calendar import SeasonCalendar, build_calendar
from backcourt.domain.dates import date_range
from backcourt.domain.messages import make_message
from backcourt.domain.registry import DateType, Phase
from backcourt.domain.status import State, Verdict
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.calendar import season_calendar
from backcourt.services.plan import Window
from backcourt.services.report import matrix
from backcourt.sources import nbacom_schedule

pytestmark = pytest.mark.local

SEASON = "2024-25"
ELECTION, THANKSGIVING = date(2024, 11, 5), date(2024, 11, 28)
ALL_STAR_GAMES = [date(2025, 2, 14), date(2025, 2, 16)]  # Rising Stars, All-Star Game
NO_GAMES = [ELECTION, THANKSGIVING, date(2025, 2, 15), date(2025, 2, 17), date(2025, 2, 18)]
BREAK = sorted(NO_GAMES[2:] + ALL_STAR_GAMES)
WINDOWS = [Window(date(2024, 11, 4), date(2024, 11, 6)),
           Window(date(2024, 11, 27), date(2024, 11, 29)),
           Window(date(2025, 2, 13), date(2025, 2, 20))]
PHASES = [Phase.RAW, Phase.ANALYTICS]


def _real_calendar() -> SeasonCalendar:
    blob = files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz").read_bytes()
    rows = nbacom_schedule.parse(json.loads(gzip.decompress(blob)), "nbacom-schedule-2024-25")
    return build_calendar(SEASON, [nbacom_schedule.scheduled_game(r) for r in rows])


def test_the_real_schedule_types_these_dates_and_nothing_expects_them() -> None:
    cal = _real_calendar()
    for day in NO_GAMES:
        assert (cal.day(day).date_type, cal.day(day).games) == (DateType.NO_GAMES, ()), day
    for day in ALL_STAR_GAMES:
        assert cal.day(day).date_type is DateType.ALL_STAR
        assert cal.day(day).games and all(g.game_id for g in cal.day(day).games)
    for proc in registry.PROCESSORS:
        expected = set(cal.expected_dates(proc))
        not_expected = set(cal.not_expected_dates(proc))
        assert set(NO_GAMES) <= not_expected and not set(NO_GAMES) & expected, proc.name
        if proc.name == "schedule":  # the schedule records the exhibitions it lists
            assert set(ALL_STAR_GAMES) <= expected
        else:
            assert set(ALL_STAR_GAMES) <= not_expected, proc.name
    # The nights around them are ordinary game nights.
    for day in (date(2024, 11, 4), date(2024, 11, 6), date(2024, 11, 27), date(2024, 11, 29),
                date(2025, 2, 13), date(2025, 2, 19), date(2025, 2, 20)):
        assert cal.day(day).date_type is DateType.REGULAR, day


def test_a_backfill_across_them_records_not_expected_never_failed(
        make_home: Callable[..., Path]) -> None:
    days = [d for w in WINDOWS for d in date_range(w.start, w.end)]  # type: ignore[arg-type]
    s = services_on(make_home(days))
    try:
        results = [Runner(s).backfill([SEASON], PHASES, w) for w in WINDOWS]
        # Phase 2 passes on every game night of the windows (phase 3 may be blocked on
        # dates whose earlier games the windows leave out: that is readiness, not the break).
        assert all(v.verdict is not Verdict.BLOCK for r in results
                   for v in r.phases[0].verdicts.values())
        names = [p.name for p in registry.PROCESSORS if p.phase in PHASES]
        for day in NO_GAMES + ALL_STAR_GAMES:
            for name in names:
                st = s.status.get(name, day)
                if name == "schedule" and day in ALL_STAR_GAMES:
                    assert st is not None and st.state is State.SUCCEEDED, st
                    continue
                assert st is not None, (name, day)
                assert (st.state, st.reason) == (State.NOT_EXPECTED, "no_games"), (name, day, st)
                assert st.error is None and st.error_kind is None
                # only the schedule loads these dates (once), to learn they have no games
                assert st.attempts == (1 if name == "schedule" else 0), st
        for r in results:
            for ph in r.phases:
                assert not set(ph.verdicts) & set(NO_GAMES)  # nothing to validate there
        # The game nights around them did run.
        for day in (date(2024, 11, 4), date(2024, 11, 27), date(2025, 2, 13), date(2025, 2, 19)):
            st = s.status.get("player_game_summary", day)
            assert st is not None and st.state is State.SUCCEEDED, (day, st)

        # The coverage matrix counts none of them as failed, and no reason is "no_games"
        # (upcoming contexts may be blocked on the windows' first dates: their earlier games
        # were never computed — readiness, not the break).
        cells = matrix(s.status, s.warehouse, [season_calendar(s.warehouse, SEASON)])
        for cell in cells:
            if registry.get(cell.processor).phase in PHASES:
                assert cell.states.get(State.FAILED.value, 0) == 0, cell.as_dict()
                if cell.processor != "upcoming_player_game_context":
                    assert cell.states.get(State.BLOCKED.value, 0) == 0, cell.as_dict()
                assert "no_games" not in cell.reasons, cell.as_dict()

        # The daily path: a message for Thanksgiving leases nothing and fails nothing, the plan
        # has nothing for the break, and the gate has nothing to block.
        msg = make_message("daily-tg", "3", [p.name for p in registry.of_phase(
            Phase.ANALYTICS)], THANKSGIVING, THANKSGIVING, mode="daily")
        done = protocol.process_message(s, msg, execution_id="tick")
        assert all(p["leased"] == 0 and not p["states"] for p in done["processors"].values())
        for phase in ("2", "3", "4", "5A", "5B", "6"):
            plan = protocol.plan_phase(s, phase, start=BREAK[0], end=BREAK[-1])
            if phase == "2":  # only the schedule's exhibition dates, already loaded
                assert plan["units"] == 0, plan
            assert plan["dates"] == 0, (phase, plan)
        gate = protocol.validate(s, "3", THANKSGIVING, THANKSGIVING)
        assert (gate["verdict"], gate["dates"]) == ("PASS", 0)
        st = s.status.get("player_game_summary", THANKSGIVING)
        assert st is not None and st.state is State.NOT_EXPECTED
    finally:
        s.close()
