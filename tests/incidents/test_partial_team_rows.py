"""Incident: "complete" measured the wrong way (LESSONS #1, R1.1/R1.2/R10.4; lesson 1).

    "A later backfill reported "613/613 dates OK" while some dates held 2 of 16 team rows."
    "An overnight backfill reported 613/613 dates successful, but usage_rate coverage was 36%
    because team_offense wrote 2 of 16 teams on some dates."  Acceptance (§5): "A date with 2
    of 16 team rows → DEGRADED or BLOCK, never COMPLETE."  R10.4: "A date with some incomplete
    games becomes DEGRADED with a list of the missing game_ids."

Guarded here, on 2025-01-08 (8 games on the real schedule, so 16 team rows): when the raw box
scores of 7 games are missing, and when a phase-3 processor writes only 2 of the 16 team rows,
the gate measures the warehouse against the schedule, BLOCKs the date naming every missing
game, the processor's date is recorded ``degraded`` (never succeeded) and the coverage matrix
does not count it complete. Also one game with only one team's players (the moved original).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from faults import FIXTURES_NBA, faulty_on, rows, services_on

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.backfill import Runner
from backcourt.services.calendar import games_between, season_calendar
from backcourt.services.plan import Window
from backcourt.services.report import matrix
from backcourt.sources.layout import raw_path, raw_prefix

pytestmark = pytest.mark.local

SEASON = "2024-25"
PHASES = [Phase.RAW, Phase.ANALYTICS]
EIGHT = date(2025, 1, 8)  # 8 games on the real 2024-25 schedule, no balldontlie file that day


def _complete(s: Services, processor: str) -> int:
    cal = season_calendar(s.warehouse, SEASON)
    cells = {c.processor: c for c in matrix(s.status, s.warehouse, [cal])}
    return cells[processor].complete


def _games(s: Services) -> list[ScheduledGame]:
    games = games_between(s.warehouse, EIGHT, EIGHT)[EIGHT]
    assert len(games) == 8
    return games


def test_two_of_sixteen_raw_team_rows_block_and_name_the_seven_missing_games(
        make_home: Callable[..., Path]) -> None:
    s = services_on(make_home([EIGHT]))
    try:
        box = s.bucket.list(raw_prefix("nbacom_boxscore", EIGHT))
        assert len(box) == 8
        for path in box[1:]:  # the scraper got one box score of eight
            s.bucket.move(path, "lost/" + path)
        result = Runner(s).backfill([SEASON], PHASES, Window(EIGHT, EIGHT))
        kept, *gone = sorted(_games(s), key=lambda g: g.nba_game_id not in box[0])

        assert rows(s.warehouse, "team_boxscores", EIGHT) == 2
        raw = result.phases[0].verdicts[EIGHT]
        assert raw.verdict is Verdict.BLOCK
        text = " | ".join(raw.reasons)
        assert "team_boxscores: 2/16 expected rows" in text
        for g in gone:
            assert f"game {g.nba_game_id} {g.away}@{g.home} missing" in text, g
        assert kept.nba_game_id not in text
        team = s.status.get("team_boxscores", EIGHT)
        assert team is not None and team.state is State.DEGRADED, team
        assert team.reason and "missing" in team.reason
        assert _complete(s, "team_boxscores") == 0  # never counted complete
        pgs = s.status.get("player_game_summary", EIGHT)  # phase 3 does not build on it
        assert pgs is not None and pgs.state is State.BLOCKED, pgs
        assert rows(s.warehouse, "player_game_summary", EIGHT) == 0
    finally:
        s.close()


def test_a_processor_writing_two_of_sixteen_team_rows_is_never_complete(
        make_home: Callable[..., Path]) -> None:
    """The legacy team_offense bug: the raw data is complete, the processor drops 14 teams."""
    s, wh = faulty_on(make_home([EIGHT]))
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(EIGHT, EIGHT))
        kept, *gone = _games(s)
        wh.teams_table = "team_offense_game_summary"
        wh.keep_teams = (kept.home, kept.away)
        result = Runner(s).backfill([SEASON], PHASES, Window(EIGHT, EIGHT))

        assert rows(s.warehouse, "team_offense_game_summary", EIGHT) == 2
        assert result.phases[0].verdicts[EIGHT].verdict is Verdict.PASS  # raw data is fine
        verdict = result.phases[1].verdicts[EIGHT]
        assert verdict.verdict is Verdict.BLOCK
        assert result.stopped_at is Phase.ANALYTICS
        offense = [r for r in verdict.reasons if r.startswith("team_offense_game_summary:")]
        assert any("2/16 expected rows" in r for r in offense), offense
        for g in gone:
            assert any(f"game {g.nba_game_id} " in r for r in offense), (g, offense)
        assert not any(kept.nba_game_id in r for r in offense)
        st = s.status.get("team_offense_game_summary", EIGHT)
        assert st is not None and st.state is State.DEGRADED, st  # the processor said success
        assert st.reason and st.reason.startswith("gate:") and "missing" in st.reason
        assert verdict.metrics["team_offense_game_summary"]["expected"] == 16
        assert verdict.metrics["team_offense_game_summary"]["actual"] == 2
        assert _complete(s, "team_offense_game_summary") == 0
        assert _complete(s, "team_defense_game_summary") == 1  # the healthy one is complete
    finally:
        s.close()


def test_missing_team_box_score_blocks_and_names_the_game(make_home: Callable[..., Path]
                                                          ) -> None:
    """NYK@PHI on 2025-01-15 is covered only by a leaguegamelog that lists NYK's players:
    PHI's box score is missing. The date must not be complete and the gate names the game."""
    day = date(2025, 1, 15)
    services = services_on(make_home([day]))
    try:
        services.bucket.move(raw_path("nbacom_boxscore", day, "0022400561.json"),
                             "removed.json")
        log = json.loads((FIXTURES_NBA / "nbacom-leaguegamelog-2025-01-15.json").read_text())
        rs = log["resultSets"][0]
        team = rs["headers"].index("TEAM_ABBREVIATION")
        rs["rowSet"] = [r for r in rs["rowSet"] if r[team] == "NYK"]
        services.bucket.write(raw_path("nbacom_leaguegamelog", day, "leaguegamelog.json"),
                              json.dumps(log).encode())

        result = Runner(services).backfill([SEASON], PHASES, Window(day, day))

        raw = result.phases[0].verdicts[day]
        assert raw.verdict is Verdict.BLOCK
        named = [r for r in raw.reasons if "0022400561" in r]
        assert named and all("PHI" in r and "NYK (" not in r for r in named), raw.reasons
        team_status = services.status.get("team_boxscores", day)
        assert team_status is not None and team_status.state is State.DEGRADED
        assert team_status.reason and "0022400561 NYK@PHI missing: PHI" in team_status.reason
        pgs = services.status.get("player_game_summary", day)
        assert pgs is not None and pgs.state is State.BLOCKED
        assert pgs.reason and "0022400561" in pgs.reason
        assert _complete(services, "team_boxscores") == 0  # the only date run is not complete
    finally:
        services.close()
