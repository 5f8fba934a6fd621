"""Incident: phase 4 computed from an incomplete phase-3 history (LESSONS #8/lesson 10, R8.1/R8.2).

    "Phase 4 needs about 30 days of Phase 3 lookback."  "Five calendar-year Phase 4 jobs ran in
    parallel, so early-January dates depended on December dates from another job."  "The
    "backfill never ran" dates (Dec 23 and 31, 2021) had 0 ML rows."  Acceptance (§5): "Phase 4
    on a date whose 30-day Phase 3 lookback is incomplete → blocked with reason
    `lookback_incomplete`."

Guarded here: player_game_summary fails (terminally) on the second game date of the season.
Readiness is per input: phase 4 on D reads player_game_summary only on earlier game dates, so on
the failed date itself phase 4 still runs (its inputs that day are complete); on every later
date whose lookback reads the hole, a processor reading it is ``blocked`` with reason
``lookback_incomplete`` naming ``player_game_summary 2024-10-23``, and those built on it are
blocked ``upstream_incomplete``, with no phase-4 row written — in the local runner and on the
cloud path (``process_message``, as the daily pre-game chain runs phase 4 on its own). A
processor that does not read the hole (team defence zones) runs everywhere. Nothing latches:
once the hole is filled the same dates run. Within phase 3, upcoming_player_game_context reads
earlier player_game_summary dates: on the cloud path, where the spans of a phase run in
parallel, a later span waits (redelivery) until the earlier ones are written, and ends equal to
an in-order run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from faults import faulty_on, rows, services_on

from backcourt.domain import registry
from backcourt.domain.dates import date_range
from backcourt.domain.errors import TerminalError, TransientError
from backcourt.domain.messages import make_message, parse_message
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
FIRST, HOLE, LAST = date(2024, 10, 22), date(2024, 10, 23), date(2024, 10, 27)
WINDOW = Window(FIRST, LAST)
AFTER = [d for d in date_range(HOLE, LAST) if d != HOLE]
PGS = "player_game_summary"
PHASE4 = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)]
# The hole: player_game_summary failed, so upcoming_player_game_context (which reads it) is
# blocked that day too. Phase-4 processors reading either of them in their lookback:
READS_THE_HOLE = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)
                  if p.reads & {PGS, "upcoming_player_game_context"}]
SEASON_TO_DATE = "player_daily_cache"  # reads every earlier player_game_summary date
BUILT_ON_IT = ("player_composite_factors", "ml_feature_store")
ENV = {"BACKCOURT_CHUNK_DAYS": "1"}  # one unit per date, so the fault hits one date only


def test_phase_4_is_blocked_where_the_phase_3_lookback_has_a_hole(
        make_home: Callable[..., Path]) -> None:
    s, wh = faulty_on(make_home(list(date_range(FIRST, LAST))), env=ENV)
    try:
        wh.fail_table, wh.fail_days = PGS, frozenset({HOLE})
        wh.failures_left, wh.error = -1, TerminalError
        result = Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS, Phase.PRECOMPUTE],
                                    WINDOW)
        hole = s.status.get(PGS, HOLE)
        assert hole is not None and (hole.state, hole.error_kind) == (State.FAILED, "terminal")
        assert [p.phase for p in result.phases] == [Phase.RAW, Phase.ANALYTICS,
                                                    Phase.PRECOMPUTE]

        first = s.status.get("ml_feature_store", FIRST)
        assert first is not None and first.state in (State.SUCCEEDED, State.DEGRADED), first
        assert rows(wh, "ml_feature_store", FIRST) > 0
        assert set(READS_THE_HOLE) < set(PHASE4)
        for name in PHASE4:  # on the hole's own date phase 4 reads only earlier games
            st = s.status.get(name, HOLE)
            assert st is not None and st.state in (State.SUCCEEDED, State.DEGRADED), (name, st)
        for day in AFTER:
            st = s.status.get(SEASON_TO_DATE, day)
            assert st is not None and st.state is State.BLOCKED, (day, st)
            assert st.reason and st.reason.startswith("lookback_incomplete:"), st
            assert f"{PGS} {HOLE.isoformat()} failed" in st.reason, st.reason
            assert rows(wh, SEASON_TO_DATE, day) == 0, day
            for name in BUILT_ON_IT:
                st = s.status.get(name, day)
                assert st is not None and st.state is State.BLOCKED, (name, day, st)
                assert st.reason and st.reason.startswith("upstream_incomplete:"), st
                assert f"{SEASON_TO_DATE} {day.isoformat()} blocked" in st.reason
                assert rows(wh, name, day) == 0, (name, day)
            st = s.status.get("team_defense_zone_analysis", day)  # does not read the hole
            assert st is not None and st.state in (State.SUCCEEDED, State.DEGRADED), (day, st)
        assert "team_defense_zone_analysis" not in READS_THE_HOLE

        # The hole is filled (the operator re-arms it, the source is fixed): the same command
        # runs the blocked dates — nothing latched.
        wh.failures_left = 0
        assert s.status.reset(PGS, [HOLE], [State.FAILED]) == 1
        Runner(s).backfill([SEASON], [Phase.ANALYTICS, Phase.PRECOMPUTE], WINDOW)
        for name in PHASE4:
            for day in [HOLE, *AFTER]:
                st = s.status.get(name, day)
                assert st is not None and st.state in (State.SUCCEEDED, State.DEGRADED), (
                    name, day, st)
                assert st.reason in (None, "bootstrap"), st
            assert rows(wh, name, LAST) > 0
    finally:
        s.close()


def test_the_cloud_path_blocks_phase_4_on_an_incomplete_lookback(
        make_home: Callable[..., Path]) -> None:
    """The daily pre-game chain runs phase 4 for one date in its own execution: the message
    itself must refuse a date whose lookback is incomplete."""
    s, wh = faulty_on(make_home(list(date_range(FIRST, LAST))), env=ENV)
    try:
        wh.fail_table, wh.fail_days = PGS, frozenset({HOLE})
        wh.failures_left, wh.error = -1, TerminalError
        Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)
        protocol.plan_phase(s, "4", start=LAST, end=LAST)  # seeds the date's phase-4 documents
        names = [SEASON_TO_DATE, *BUILT_ON_IT]
        msg = make_message("pregame", "4", names, LAST, LAST, mode="daily")
        done = protocol.process_message(s, msg, execution_id="pregame")
        assert all(p["leased"] == 0 for p in done["processors"].values()), done
        assert not any(wh.calls[registry.get(n).table.name] for n in names)
        st = s.status.get(SEASON_TO_DATE, LAST)
        assert st is not None and st.state is State.BLOCKED, st
        assert st.reason and st.reason.startswith("lookback_incomplete:"), st
        assert f"{PGS} {HOLE.isoformat()}" in st.reason
        for name in BUILT_ON_IT:  # blocked through it (same phase, same date)
            st = s.status.get(name, LAST)
            assert st is not None and st.state is State.BLOCKED, (name, st)
            assert st.reason and st.reason.startswith("upstream_incomplete:"), st
    finally:
        s.close()


def _context(s: object, start: date, end: date) -> list[tuple[object, ...]]:
    got = s.warehouse.query(  # type: ignore[attr-defined]
        "SELECT * FROM nba_analytics.upcoming_player_game_context WHERE game_date BETWEEN @s "
        "AND @e ORDER BY game_date, player_lookup", {"s": start, "e": end})
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r.values()) for r in got]


def test_a_later_span_waits_for_the_history_an_earlier_span_writes(
        make_home: Callable[..., Path]) -> None:
    """Two phase-3 messages of one plan delivered out of order (parallel function instances
    do that): the later span's upcoming_player_game_context does not read a history the
    earlier span has not written yet."""
    days = list(date_range(date(2024, 10, 22), date(2024, 10, 25)))  # from the season opener
    env = {"BACKCOURT_CHUNK_DAYS": "2"}
    clean = services_on(make_home(days, "in-order"), env=env)
    try:
        Runner(clean).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], Window(days[0], days[-1]))
        want = _context(clean, days[0], days[-1])
        assert want
    finally:
        clean.close()
    s = services_on(make_home(days, "parallel"), env=env)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(days[0], days[-1]))
        early, late = [u for wave in protocol.plan_phase(s, "3", start=days[0], end=days[-1])[
            "waves"] for u in wave]
        assert (early["end_date"], late["start_date"]) == ("2024-10-23", "2024-10-24")
        with pytest.raises(TransientError, match="wait for their inputs"):
            protocol.process_message(s, parse_message(_body(late)), execution_id="late-1")
        for day in days[2:]:
            st = s.status.get("upcoming_player_game_context", day)
            assert st is not None and (st.state, st.attempts) == (State.PENDING, 0), st
            pgs = s.status.get(PGS, day)  # the rest of the late span is done
            assert pgs is not None and pgs.state is State.SUCCEEDED
        protocol.process_message(s, parse_message(_body(early)), execution_id="early")
        protocol.process_message(s, parse_message(_body(late)), execution_id="late-2")
        assert protocol.progress(s, "3", days[0], days[-1])["finished"] is True
        assert _context(s, days[0], days[-1]) == want
    finally:
        s.close()


def _body(unit: dict[str, object]) -> bytes:
    import json

    return json.dumps(unit).encode()
