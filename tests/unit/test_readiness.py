"""Readiness (``domain.readiness``): which dates each input is read on, and the decision with
its reason from the status and verdict of exactly those inputs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backcourt.domain import registry
from backcourt.domain.calendar import ScheduledGame, SeasonCalendar, build_calendar
from backcourt.domain.ids import system_game_id
from backcourt.domain.readiness import Decision, InputDoc, Reads, decide, waited_too_long
from backcourt.domain.registry import DateType, Input
from backcourt.domain.status import State, Verdict

OPENER = date(2024, 10, 22)
# NYK@PHI every other day; BOS@MIA on the odd days in between; a gap (no games) in the middle.
PHI_DAYS = [OPENER + timedelta(days=2 * i) for i in range(20) if i not in (9, 10)]
MIA_DAYS = [d + timedelta(days=1) for d in PHI_DAYS[:6]]


def _cal(season: str = "2024-25", shift: int = 0) -> SeasonCalendar:
    games = [ScheduledGame(f"00224{i:05d}", system_game_id(d, "NYK", "PHI"), d, season,
                           DateType.REGULAR, "PHI", "NYK") for i, d in enumerate(PHI_DAYS)]
    games += [ScheduledGame(f"00225{i:05d}", system_game_id(d, "BOS", "MIA"), d, season,
                            DateType.REGULAR, "MIA", "BOS") for i, d in enumerate(MIA_DAYS)]
    if shift:
        games = [ScheduledGame(g.nba_game_id, g.game_id, g.game_date - timedelta(days=shift),
                               season, g.game_type, g.home, g.away) for g in games]
    return build_calendar(season, games)


CAL = _cal()
READS = Reads([CAL])
OK = InputDoc(State.SUCCEEDED, Verdict.PASS)


def _all_ok(proc: registry.Processor, day: date) -> dict[tuple[str, date], InputDoc]:
    return {(i.processor, d): OK for i, ds in READS.needed(proc, day).items() for d in ds}


def test_same_date_input_is_read_on_that_date_only() -> None:
    day = PHI_DAYS[4]
    assert READS.dates(Input("team_boxscores"), day) == [day]
    gap = PHI_DAYS[8] + timedelta(days=2)  # no games: nothing is read
    assert READS.dates(Input("team_boxscores"), gap) == []


def test_previous_games_are_each_playing_teams_last_n_game_dates() -> None:
    day = PHI_DAYS[5]
    assert READS.dates(Input("player_game_summary", games=3), day) == PHI_DAYS[2:5]
    # BOS@MIA games on other days are not read for a day when only PHI/NYK play.
    assert not set(MIA_DAYS) & set(READS.dates(Input("player_game_summary", games=10), day))
    assert READS.dates(Input("player_game_summary", games=3), PHI_DAYS[0]) == []


def test_season_to_date_and_days_spans() -> None:
    day = PHI_DAYS[6]
    assert READS.dates(Input("player_game_summary", season=True), day) == sorted(
        d for d in PHI_DAYS + MIA_DAYS if d < day)
    assert READS.dates(Input("player_game_summary", days=4), day) == [
        d for d in sorted(PHI_DAYS + MIA_DAYS) if day - timedelta(days=4) <= d < day]


def test_a_days_span_reaches_into_the_previous_season() -> None:
    previous = _cal("2023-24", shift=365)
    reads = Reads([previous, CAL])
    got = reads.dates(Input("ml_feature_store", days=400), PHI_DAYS[1])
    assert set(previous.expected_dates(registry.get("ml_feature_store"))) <= set(got)
    assert PHI_DAYS[0] in got and PHI_DAYS[1] not in got


def test_every_input_passed_or_warned_runs() -> None:
    proc = registry.get("player_game_summary")
    day = PHI_DAYS[3]
    docs = _all_ok(proc, day)
    docs[("player_props", day)] = InputDoc(State.DEGRADED, Verdict.WARN, "no rows",
                                           "empty_output")
    assert decide(proc, day, READS, docs).decision is Decision.RUN


@pytest.mark.parametrize("reason", ["shrink_refused", "gate: 2 of 16 team rows"])
def test_degraded_output_other_than_warned_gaps_is_not_read(reason: str) -> None:
    proc = registry.get("player_game_summary")
    day = PHI_DAYS[3]
    docs = {**_all_ok(proc, day),
            ("team_offense_game_summary", day): InputDoc(State.DEGRADED, Verdict.PASS, None,
                                                         reason)}
    got = decide(proc, day, READS, docs)
    assert got.decision is Decision.BLOCK and got.reason is not None
    assert f"team_offense_game_summary {day.isoformat()} degraded ({reason})" in got.reason


def test_a_date_without_games_is_not_expected() -> None:
    proc = registry.get("player_game_summary")
    gap = PHI_DAYS[8] + timedelta(days=2)
    assert decide(proc, gap, READS, {}).decision is Decision.NOT_EXPECTED


def test_a_gate_block_blocks_only_what_reads_it() -> None:
    day = PHI_DAYS[3]
    chart = InputDoc(State.SUCCEEDED, Verdict.BLOCK, "game 0022400003 NYK@PHI missing: PHI")
    for name in ("player_game_summary", "team_offense_game_summary"):  # do not read shots
        proc = registry.get(name)
        docs = {**_all_ok(proc, day), ("shot_chart", day): chart}
        assert decide(proc, day, READS, docs).decision is Decision.RUN, name
    tdza = registry.get("team_defense_zone_analysis")
    later = PHI_DAYS[5]
    docs = {**_all_ok(tdza, later), ("shot_chart", day): chart}
    got = decide(tdza, later, READS, docs)
    assert got.decision is Decision.BLOCK
    assert got.reason is not None and got.reason.startswith("lookback_incomplete: ")
    assert f"shot_chart {day.isoformat()} gate BLOCK (game 0022400003 NYK@PHI" in got.reason


@pytest.mark.parametrize(("input_state", "verdict", "decision", "words"), [
    (State.RUNNING, None, Decision.WAIT, "running"),
    (State.PENDING, None, Decision.WAIT, "pending"),  # same phase: this run computes it
    (State.SUCCEEDED, None, Decision.WAIT, "not validated"),  # written, not measured yet
    (State.FAILED, None, Decision.BLOCK, "failed"),
    (State.BLOCKED, None, Decision.BLOCK, "blocked"),
    (State.CANCELLED, None, Decision.BLOCK, "cancelled"),
    (None, None, Decision.BLOCK, "not computed"),
])
def test_same_phase_input_states(input_state: State | None, verdict: Verdict | None,
                                 decision: Decision, words: str) -> None:
    proc = registry.get("player_game_summary")
    day = PHI_DAYS[3]
    docs = _all_ok(proc, day)
    if input_state is None:
        del docs[("team_offense_game_summary", day)]
    else:
        docs[("team_offense_game_summary", day)] = InputDoc(input_state, verdict)
    got = decide(proc, day, READS, docs)
    assert got.decision is decision
    assert got.reason is not None
    assert f"team_offense_game_summary {day.isoformat()} {words}" in got.reason
    if decision is Decision.BLOCK:
        assert got.reason.startswith("upstream_incomplete: ")
    else:
        assert got.reason.startswith("waiting for ")


@pytest.mark.parametrize(("input_state", "decision"), [
    (State.PENDING, Decision.BLOCK),  # an earlier phase is over: nothing will compute it
    (State.RUNNING, Decision.WAIT),   # another run is writing it
])
def test_earlier_phase_inputs_that_are_not_done(input_state: State,
                                                decision: Decision) -> None:
    proc = registry.get("player_game_summary")
    day = PHI_DAYS[3]
    docs = {**_all_ok(proc, day), ("player_boxscores", day): InputDoc(input_state)}
    assert decide(proc, day, READS, docs).decision is decision


def test_the_reason_names_every_blocking_input_and_counts_the_rest() -> None:
    proc = registry.get("player_shot_zone_analysis")
    day = PHI_DAYS[-1]
    docs = _all_ok(proc, day)
    for d in READS.dates(Input("shot_chart", games=20), day):
        del docs[("shot_chart", d)]
    docs[("upcoming_player_game_context", day)] = InputDoc(State.BLOCKED)
    got = decide(proc, day, READS, docs)
    assert got.decision is Decision.BLOCK and got.reason is not None
    assert "shot_chart" in got.reason and "not computed" in got.reason
    assert f"upcoming_player_game_context {day.isoformat()} blocked" in got.reason
    earlier = len(READS.dates(Input("shot_chart", games=20), day))
    assert f"(+{earlier - 3} more)" in got.reason


def test_a_bounded_wait_becomes_a_block_naming_the_deliveries() -> None:
    assert waited_too_long("waiting for x 2024-10-22 running", 5) == (
        "upstream_incomplete: still waiting for x 2024-10-22 running after 5 deliveries")


def test_levels_are_derived_from_the_inputs() -> None:
    for proc in registry.PROCESSORS:
        same = [registry.get(i.processor) for i in proc.inputs
                if registry.get(i.processor).phase is proc.phase]
        assert proc.level == (1 + max(u.level for u in same) if same else 0), proc.name


def test_inputs_never_read_a_later_phase() -> None:
    order = registry.PHASE_ORDER
    for proc in registry.PROCESSORS:
        for inp in proc.inputs:
            assert order.index(registry.get(inp.processor).phase) <= order.index(proc.phase)


def test_deciding_many_dates_with_one_readable_memo_gives_each_dates_own_decision() -> None:
    """The runner decides a unit's dates against one set of input documents and shares what it
    found readable between them (``readable``): every decision, and its reason, is the one the
    date gets alone — a problem date is never taken for readable, in any order."""
    proc = registry.get("upcoming_player_game_context")
    days = PHI_DAYS[1:] + MIA_DAYS
    docs: dict[tuple[str, date], InputDoc] = {}
    for day in days:
        docs.update(_all_ok(proc, day))
    docs[("player_game_summary", PHI_DAYS[3])] = InputDoc(State.SUCCEEDED, Verdict.BLOCK,
                                                          "2 duplicate key(s)")
    docs[("player_props", PHI_DAYS[2])] = InputDoc(State.RUNNING)
    del docs[("team_offense_game_summary", PHI_DAYS[5])]
    alone = {d: decide(proc, d, READS, docs) for d in days}
    for order in (days, days[::-1]):
        readable: dict[str, set[date]] = {}
        assert {d: decide(proc, d, READS, docs, readable) for d in order} == alone
    assert {v.decision for v in alone.values()} == {Decision.RUN, Decision.BLOCK, Decision.WAIT}
