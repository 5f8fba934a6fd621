"""The scenarios, driver-agnostic: each builds a fresh home, runs it with the driver it is given
and returns a :class:`Result` (the outcome and what the store and the warehouse hold), and has a
``check_*`` function asserting its own facts. ``tests/scenarios/`` runs them with the ``local``
and ``functions`` drivers, ``tests/cloud/test_scenarios_cloud.py`` with the ``emulators`` one.

Windows are the first six game dates of the 2024-25 sample season (a game every day): every
scenario runs in seconds. Phase 4 is degraded ``bootstrap`` on all of them (fewer than 7 earlier
game dates), which counts as done.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "incidents"))  # faults.py

from faults import FaultyWarehouse, faulty_on, services_on  # noqa: E402
from scenario_kit import (  # noqa: E402
    Outcome,
    StateMap,
    attempts_map,
    final_map,
    names,
    phase_verdicts,
    processor_verdicts,
    row_counts,
    table_rows,
)

from backcourt.config import load_settings  # noqa: E402
from backcourt.domain import registry  # noqa: E402
from backcourt.domain.dates import date_range  # noqa: E402
from backcourt.domain.errors import TerminalError, TransientError  # noqa: E402
from backcourt.domain.registry import Phase  # noqa: E402
from backcourt.domain.status import State  # noqa: E402
from backcourt.ports import Services, StatusStore  # noqa: E402
from backcourt.services.calendar import calendars  # noqa: E402
from backcourt.services.plan import Window  # noqa: E402
from backcourt.sources.layout import RAW  # noqa: E402

FIRST, LAST = date(2024, 10, 22), date(2024, 10, 27)
DAYS = list(date_range(FIRST, LAST))
WINDOW = Window(FIRST, LAST)
D = date(2024, 10, 23)  # the day something goes wrong (10 games, the day after the opener)
LATER = [d for d in DAYS if d > D]
ALL_PHASES = [Phase.RAW, Phase.ANALYTICS, Phase.PRECOMPUTE, Phase.PREDICTIONS, Phase.GRADING,
              Phase.EXPORTS]
TO_PHASE_4 = [Phase.RAW, Phase.ANALYTICS, Phase.PRECOMPUTE]
ONE_DATE_UNITS = {"BACKCOURT_CHUNK_DAYS": "1"}  # one unit (local) / span (cloud) per date
DONE = (State.SUCCEEDED.value, State.DEGRADED.value)

PHASE3 = names(Phase.ANALYTICS)
PHASE4 = names(Phase.PRECOMPUTE)
READS_SHOT_CHART = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)
                    if "shot_chart" in p.reads]
SHOT_ZONE_CONSUMERS = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)
                       if p.reads & set(READS_SHOT_CHART)]
POINT_IN_TIME = {"player_props": "oddsapi_player_props", "game_lines": "oddsapi_game_lines",
                 "injury_report": "nbacom_injury_report"}
"""Point-in-time processors and the raw source folder each loads."""
PGS = "player_game_summary"
TEAM_OFFENSE = "team_offense_game_summary"

Driver = Any
"""``scenario_kit.LocalDriver``, ``FunctionsDriver`` or the cloud suite's ``EmulatorDriver``."""
MakeHome = Callable[..., Path]


@dataclass
class Result:
    """A scenario's run: the driver's outcome and what the store and the warehouse hold."""

    outcome: Outcome
    states: StateMap
    verdicts: dict[tuple[str, str], tuple[str, tuple[str, ...]]]
    """The newest phase verdict per (phase, date) and its reasons."""
    compare: dict[str, Mapping[Any, Any]] = field(default_factory=dict)
    """What must be equal between drivers (always includes ``states`` and ``verdicts``)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Scenario-specific measurements (shot-chart verdicts, attempts, rows …)."""

    def state(self, processor: str, day: date) -> tuple[str, str | None]:
        """(state, reason) of one (processor, date); ("absent", None) when not there."""
        return self.states.get((processor, day.isoformat()), ("absent", None))


def _bucket(home: Path) -> Path:
    return load_settings(home, env={}).local.bucket_path


def _services(home: Path, status: StatusStore | None, env: dict[str, str] | None = None,
              faulty: bool = False) -> tuple[Services, FaultyWarehouse | None]:
    if faulty:
        return faulty_on(home, status=status, env=env)
    return services_on(home, status=status, env=env), None


def _result(outcome: Outcome, s: Services, phases: Sequence[Phase]) -> Result:
    states = final_map(s, phases, FIRST, LAST)
    verdicts = phase_verdicts(s, phases, FIRST, LAST)
    return Result(outcome, states, verdicts, {"states": states, "verdicts": verdicts})


def expected_keys(phases: Sequence[Phase]) -> set[tuple[str, str]]:
    """Every (processor, date) of the phases in the window (every date is a game date)."""
    return {(n, d.isoformat()) for n in names(*phases) for d in DAYS}


# -- a. clean window, phases 2 → 6 -----------------------------------------------------------

ROWS_COMPARED = PGS  # full rows compared between drivers


def clean(make_home: MakeHome, driver: Driver, *, status: StatusStore | None = None,
          name: str = "home", phases: Sequence[Phase] = tuple(ALL_PHASES)) -> Result:
    s, _ = _services(make_home(DAYS, name), status)
    try:
        outcome = driver.run(s, WINDOW, phases)
        r = _result(outcome, s, phases)
        r.compare["rows"] = row_counts(s, names(*phases), FIRST, LAST)
        r.compare[ROWS_COMPARED] = dict(enumerate(table_rows(s, ROWS_COMPARED, FIRST, LAST)))
        return r
    finally:
        s.close()


CLEAN_VERDICTS = {"2": "PASS", "3": "PASS", "4": "WARN", "5A": "PASS", "5B": "PASS",
                  "6": "PASS"}
"""Phase 4 WARNs: its dates are bootstrap dates (fewer than 7 earlier game dates)."""


def check_clean(r: Result, phases: Sequence[Phase] = tuple(ALL_PHASES)) -> None:
    assert set(r.states) == expected_keys(phases)
    bad = {k: v for k, v in r.states.items() if v[0] not in DONE}
    assert not bad, bad
    for name in PHASE4:  # degraded only because the window opens the season
        if Phase.PRECOMPUTE in phases:
            assert {r.state(name, d) for d in DAYS} == {("degraded", "bootstrap")}, name
    want = {p.value: CLEAN_VERDICTS[p.value] for p in phases}
    assert r.outcome.verdicts == want
    assert {(ph, d.isoformat()): CLEAN_VERDICTS[ph] for ph in want for d in DAYS} == {
        k: v[0] for k, v in r.verdicts.items()}
    rows = r.compare["rows"]
    assert all(rows.get((n, d.isoformat()), 0) > 0 for n in names(*phases) for d in DAYS), rows
    assert all(p.dead_lettered == 0 and p.in_flight_at_gate == 0 for p in r.outcome.phases)


# -- b. a shot chart missing for one game on D; e. fixed, then --force -----------------------


def _shot_chart_file(home: Path) -> Path:
    """The raw shot chart of D's first game."""
    return sorted((_bucket(home) / RAW / "nbacom_shotchart" / D.isoformat()).glob("*.json"))[0]


def _reading_d(s: Services) -> list[date]:
    """Later dates whose lookback reads D: the history SQL reads each team's and each player's
    last N games within 365 days (a traded player's old team, a player back from injury), so
    the declared reach is the 365 days before a date: every later date of the window."""
    (cal,) = calendars(s.warehouse, ["2024-25"])
    return [x for x in LATER if cal.day(x).games]


def shot_chart_missing(make_home: MakeHome, driver: Driver, *,
                       status: StatusStore | None = None, name: str = "home",
                       then_force: bool = False) -> Result:
    """Scenario b: D's first game has no shot chart file. With ``then_force``, scenario e: the
    file is put back and the same phases run again with ``force``; the result is the second
    run's, the first one's in ``facts["before"]``."""
    home = make_home(DAYS, name)
    missing = _shot_chart_file(home)
    content = missing.read_bytes()
    missing.unlink()
    s, _ = _services(home, status)
    try:
        outcome = driver.run(s, WINDOW, TO_PHASE_4)
        r = _result(outcome, s, TO_PHASE_4)
        r.facts.update(game=missing.stem, reading_d=_reading_d(s),
                       shot_chart=processor_verdicts(s, "shot_chart", FIRST, LAST))
        if not then_force:
            return r
        missing.write_bytes(content)  # the file arrives (re-ingested into the bucket)
        before = r
        r = _result(driver.run(s, WINDOW, TO_PHASE_4, force=True), s, TO_PHASE_4)
        r.facts.update(before=before, game=missing.stem,
                       shot_chart=processor_verdicts(s, "shot_chart", FIRST, LAST),
                       rows=row_counts(s, READS_SHOT_CHART + ["shot_chart"], FIRST, LAST))
        r.compare["rows"] = r.facts["rows"]
        return r
    finally:
        s.close()


def check_shot_chart_missing(r: Result) -> None:
    game, reading_d = r.facts["game"], r.facts["reading_d"]
    assert sorted(READS_SHOT_CHART) == ["player_shot_zone_analysis", "team_defense_zone_analysis"]
    assert reading_d == LATER, reading_d
    assert set(r.states) == expected_keys(TO_PHASE_4)
    # The gate BLOCKs the shot chart on D, naming the game; the status says degraded.
    verdict, problems = r.facts["shot_chart"][D.isoformat()]
    assert verdict == "BLOCK" and any(game in p for p in problems), (verdict, problems)
    state, reason = r.state("shot_chart", D)
    assert state == "degraded" and reason and game in reason, (state, reason)
    assert r.verdicts[("2", D.isoformat())][0] == "BLOCK"
    assert any(f"shot_chart: game {game}" in x for x in r.verdicts[("2", D.isoformat())][1])
    assert r.outcome.verdicts["2"] == "BLOCK"
    # Every phase ran (no stop on the phase-2 BLOCK); phase 3 reads no shot chart: all done.
    assert [p.phase for p in r.outcome.phases] == ["2", "3", "4"]
    for name in [*names(Phase.RAW), *PHASE3]:
        for d in DAYS:
            assert r.state(name, d)[0] in DONE or (name, d) == ("shot_chart", D), (
                name, d, r.state(name, d))
    # Phase 4: the processors reading shot charts run on D itself (their lookback is earlier
    # dates) and are blocked on every later date whose lookback holds D.
    for name in READS_SHOT_CHART:
        assert r.state(name, FIRST)[0] in DONE and r.state(name, D)[0] in DONE, name
        for x in reading_d:
            state, reason = r.state(name, x)
            assert state == "blocked", (name, x, state, reason)
            assert reason and reason.startswith("lookback_incomplete:"), reason
            assert f"shot_chart {D.isoformat()}" in reason and game in reason, reason
    # Processors built on them are blocked through them (same date), never by the shot chart
    # itself; the one that reads neither runs everywhere.
    assert sorted(SHOT_ZONE_CONSUMERS) == ["ml_feature_store", "player_composite_factors"]
    for name in SHOT_ZONE_CONSUMERS:
        for x in reading_d:
            state, reason = r.state(name, x)
            assert state == "blocked" and reason, (name, x, state)
            assert reason.startswith("upstream_incomplete:"), reason
            assert f"zone_analysis {x.isoformat()} blocked" in reason, reason
    others = [n for n in PHASE4 if n not in READS_SHOT_CHART + SHOT_ZONE_CONSUMERS]
    assert others == ["player_daily_cache"]
    for d in DAYS:
        assert r.state("player_daily_cache", d)[0] in DONE, d


def check_forced_after_fix(r: Result) -> None:
    before = r.facts["before"]
    blocked_before = {k for k, v in before.states.items() if v[0] == "blocked"}
    assert blocked_before, "scenario b blocked nothing"
    assert set(r.states) == expected_keys(TO_PHASE_4)
    bad = {k: v for k, v in r.states.items() if v[0] not in DONE}
    assert not bad, bad
    for key in blocked_before:  # recomputed, and degraded only as a bootstrap date
        assert r.states[key] in (("succeeded", None), ("degraded", "bootstrap")), (key,
                                                                                    r.states[key])
    assert r.state("shot_chart", D) == ("succeeded", None)
    assert r.facts["shot_chart"][D.isoformat()][0] == "PASS"
    assert r.verdicts[("2", D.isoformat())][0] == "PASS"
    assert r.outcome.verdicts == {"2": "PASS", "3": "PASS", "4": "WARN"}
    rows = r.facts["rows"]
    assert all(rows.get((n, d.isoformat()), 0) > 0 for n in READS_SHOT_CHART for d in DAYS)


# -- c. point-in-time sources missing on D ---------------------------------------------------


def point_in_time_missing(make_home: MakeHome, driver: Driver, *,
                          status: StatusStore | None = None, name: str = "home") -> Result:
    home = make_home(DAYS, name)
    for source in POINT_IN_TIME.values():
        shutil.rmtree(_bucket(home) / RAW / source / D.isoformat())
    s, _ = _services(home, status)
    try:
        r = _result(driver.run(s, WINDOW, TO_PHASE_4), s, TO_PHASE_4)
        r.facts["gate"] = {p: processor_verdicts(s, p, FIRST, LAST) for p in POINT_IN_TIME}
        r.facts["rows"] = row_counts(s, list(POINT_IN_TIME), FIRST, LAST)
        return r
    finally:
        s.close()


def check_point_in_time_missing(r: Result) -> None:
    assert set(r.states) == expected_keys(TO_PHASE_4)
    bad = {k: v for k, v in r.states.items() if v[0] not in DONE}
    assert not bad, bad  # nothing blocked, every phase-2/3/4 date done
    for name in POINT_IN_TIME:
        verdict, problems = r.facts["gate"][name][D.isoformat()]
        assert verdict == "WARN", (name, verdict, problems)
        assert any("point-in-time" in p for p in problems), problems
        assert r.facts["rows"].get((name, D.isoformat()), 0) == 0
        assert all(r.facts["gate"][name][d.isoformat()][0] == "PASS" for d in DAYS if d != D)
    assert r.verdicts[("2", D.isoformat())][0] == "WARN"
    assert {r.verdicts[("2", d.isoformat())][0] for d in DAYS if d != D} == {"PASS"}
    assert {r.verdicts[("3", d.isoformat())][0] for d in DAYS} == {"PASS"}
    assert r.outcome.verdicts == {"2": "WARN", "3": "PASS", "4": "WARN"}


# -- d. a lookback hole: player_game_summary fails terminally on D ---------------------------

SEASON_TO_DATE = "player_daily_cache"  # reads every earlier player_game_summary date
READS_PGS = [p.name for p in registry.of_phase(Phase.PRECOMPUTE)
             if p.reads & {PGS, "upcoming_player_game_context"}]


def lookback_hole(make_home: MakeHome, driver: Driver, *, status: StatusStore | None = None,
                  name: str = "home") -> Result:
    s, wh = _services(make_home(DAYS, name), status, ONE_DATE_UNITS, faulty=True)
    assert wh is not None
    try:
        wh.fail_table, wh.fail_days = registry.get(PGS).table.name, frozenset({D})
        wh.failures_left, wh.error = -1, TerminalError
        r = _result(driver.run(s, WINDOW, TO_PHASE_4), s, TO_PHASE_4)
        hole = s.status.get(PGS, D)
        r.facts["hole"] = (hole.state.value, hole.error_kind) if hole else None
        r.facts["rows"] = row_counts(s, PHASE4, FIRST, LAST)
        r.facts["reading_d"] = _reading_d(s)
        return r
    finally:
        s.close()


def check_lookback_hole(r: Result) -> None:
    assert r.facts["hole"] == ("failed", "terminal")
    assert set(r.states) == expected_keys(TO_PHASE_4)
    for name in PHASE4:  # on the hole's own date phase 4 reads only earlier games
        assert r.state(name, FIRST)[0] in DONE and r.state(name, D)[0] in DONE, name
    rows = r.facts["rows"]
    for x in LATER:
        state, reason = r.state(SEASON_TO_DATE, x)
        assert state == "blocked" and reason, (x, state)
        assert reason.startswith("lookback_incomplete:"), reason
        assert f"{PGS} {D.isoformat()} failed" in reason, reason
        assert rows.get((SEASON_TO_DATE, x.isoformat()), 0) == 0
        for name in ("player_composite_factors", "ml_feature_store"):
            state, reason = r.state(name, x)
            assert state == "blocked" and reason, (name, x, state)
            assert reason.startswith("upstream_incomplete:"), reason
            assert rows.get((name, x.isoformat()), 0) == 0
        assert r.state("team_defense_zone_analysis", x)[0] in DONE, x  # does not read it
    assert "team_defense_zone_analysis" not in READS_PGS
    # Phase 3: upcoming_player_game_context reads the 365 days before its date: every later
    # date reads the hole.
    reading_d = r.facts["reading_d"]
    assert reading_d == LATER, reading_d
    for x in LATER:
        state, reason = r.state("upcoming_player_game_context", x)
        if x in reading_d:
            assert state == "blocked" and reason, (x, state)
            assert reason.startswith(f"lookback_incomplete: {PGS} {D.isoformat()} failed"), (
                reason)
        else:
            assert state in DONE, (x, state, reason)


# -- f. a transient failure that succeeds on redelivery ------------------------------------

TRANSIENT_FAILURES = 2


def transient(make_home: MakeHome, driver: Driver, *, status: StatusStore | None = None,
              name: str = "home") -> Result:
    phases = [Phase.RAW, Phase.ANALYTICS]
    s, wh = _services(make_home(DAYS, name), status, ONE_DATE_UNITS, faulty=True)
    assert wh is not None
    try:
        table = registry.get(TEAM_OFFENSE).table.name
        wh.fail_table, wh.fail_days = table, frozenset({D})
        wh.failures_left, wh.error = TRANSIENT_FAILURES, TransientError
        r = _result(driver.run(s, WINDOW, phases), s, phases)
        r.facts["failures_left"] = wh.failures_left
        r.facts["calls"] = wh.calls[table]
        r.compare["attempts"] = attempts_map(s, phases, FIRST, LAST)
        r.compare["rows"] = row_counts(s, names(*phases), FIRST, LAST)
        return r
    finally:
        s.close()


def check_transient(r: Result) -> None:
    phases = [Phase.RAW, Phase.ANALYTICS]
    assert r.facts["failures_left"] == 0
    assert set(r.states) == expected_keys(phases)
    bad = {k: v for k, v in r.states.items() if v[0] not in DONE}
    assert not bad, bad
    attempts = r.compare["attempts"]
    assert attempts[(TEAM_OFFENSE, D.isoformat())] == TRANSIENT_FAILURES + 1
    others = {k: n for k, n in attempts.items() if k != (TEAM_OFFENSE, D.isoformat())}
    assert set(others.values()) == {1}, others
    assert r.outcome.verdicts == {"2": "PASS", "3": "PASS"}
    assert sum(p.redeliveries for p in r.outcome.phases) >= TRANSIENT_FAILURES


# -- g. an input held by a live lease: the readers wait, then are blocked on the last delivery

GHOST = "elsewhere:4242"  # another host's worker: its lease is live and never released here


def held_lease(make_home: MakeHome, driver: Driver, *, status: StatusStore | None = None,
               name: str = "home") -> Result:
    """player_game_summary on D is ``running`` under another worker's live lease (it hangs
    somewhere else) when phase 3 runs: the dates whose lookback reads it wait, are redelivered,
    and on the last delivery (``MAX_DELIVERIES``) are blocked with the wait as the reason."""
    from datetime import timedelta

    phases = [Phase.RAW, Phase.ANALYTICS]
    s, _ = _services(make_home(DAYS, name), status)
    try:
        first = driver.run(s, WINDOW, [Phase.RAW])
        s.status.seed(PGS, DAYS, [])
        held = s.status.acquire(PGS, D, owner=GHOST, run_id="ghost", ttl=timedelta(hours=1),
                                now=s.clock.now())
        assert held is not None
        second = driver.run(s, WINDOW, [Phase.ANALYTICS])
        second.phases[:0] = first.phases
        r = _result(second, s, phases)
        r.facts["reading_d"] = _reading_d(s)
        return r
    finally:
        s.close()


def check_held_lease(r: Result) -> None:
    from backcourt.services.protocol import MAX_DELIVERIES

    phases = [Phase.RAW, Phase.ANALYTICS]
    assert set(r.states) == expected_keys(phases)
    assert r.state(PGS, D) == ("running", None)
    reading_d = r.facts["reading_d"]
    for x in DAYS:
        state, reason = r.state("upcoming_player_game_context", x)
        if x not in reading_d:
            assert state in DONE, (x, state, reason)
            continue
        assert state == "blocked" and reason, (x, state, reason)
        assert reason == (f"upstream_incomplete: still waiting for {PGS} {D.isoformat()} "
                          f"running after {MAX_DELIVERIES} deliveries"), reason
    others = {k: v for k, v in r.states.items() if v[0] not in DONE
              and k != (PGS, D.isoformat()) and k[0] != "upcoming_player_game_context"}
    assert not others, others
    assert r.outcome.phases[-1].in_flight_at_gate in (0, 1)
