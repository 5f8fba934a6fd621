"""Golden test: the phase-3 SQL on a REAL NBA.com box score, run through the DuckDB warehouse.

NYK @ PHI, 2025-01-15 (game 0022400561), one overtime: team minutes "265:00". Raw rows come from
the NBA.com box-score parser; the expected numbers below are worked out by hand from the JSON
file (tests/fixtures/nba/nbacom-boxscore-0022400561.json), with the arithmetic in comments.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import registry
from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.registry import DateType, Phase
from backcourt.domain.tables_analytics import ANALYTICS_TABLES
from backcourt.ports import RowsSource, SqlSource
from backcourt.sources import nbacom_boxscore
from backcourt.sql import load_sql

pytestmark = pytest.mark.local

FIXTURE = Path(__file__).parents[1] / "fixtures" / "nba" / "nbacom-boxscore-0022400561.json"
DAY = date(2025, 1, 15)
GAME = ScheduledGame("0022400561", "20250115_NYK_PHI", DAY, "2024-25", DateType.REGULAR,
                     home="PHI", away="NYK", status=3, home_score=119, away_score=125)
TIP = datetime(2025, 1, 16, 0, 0, tzinfo=UTC)  # 7:00 PM ET


def _schedule_row() -> dict[str, Any]:
    return {
        "game_date": DAY, "nba_game_id": GAME.nba_game_id, "game_id": GAME.game_id,
        "season": "2024-25", "season_year": 2024, "game_type": "regular", "game_label": None,
        "game_status": 3, "postponed": False, "tip_time_et": TIP, "home_team_abbr": "PHI",
        "away_team_abbr": "NYK", "home_team_score": 119, "away_team_score": 125,
        "is_neutral": False, "source": "test", "source_file": "test",
    }


def _prop(player: str, line: float, minutes_before: int) -> dict[str, Any]:
    return {
        "game_date": DAY, "event_id": "ev1", "game_id": GAME.game_id, "home_team_abbr": "PHI",
        "away_team_abbr": "NYK", "commence_time": TIP, "snapshot_timestamp": TIP,
        "minutes_before_tipoff": minutes_before, "bookmaker": "draftkings",
        "player_lookup": player, "points_line": line,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    doc = json.loads(FIXTURE.read_text())
    source = "raw/nbacom_boxscore/2025-01-15/0022400561.json"
    wh = DuckDBWarehouse(tmp_path_factory.mktemp("golden") / "warehouse.duckdb")
    wh.ensure_tables([*tr.RAW_TABLES, *ANALYTICS_TABLES])
    raw = {
        tr.SCHEDULE: [_schedule_row()],
        tr.PLAYER_BOXSCORES: nbacom_boxscore.parse_players(doc, source, DAY, [GAME]),
        tr.TEAM_BOXSCORES: nbacom_boxscore.parse_teams(doc, source, DAY, [GAME]),
        # Brunson scored 38 over a 27.5 line; Maxey scored 33 on a 33.0 line (a push)
        tr.PLAYER_PROPS: [_prop("jalenbrunson", 27.5, 60), _prop("tyresemaxey", 33.0, 60)],
    }
    for table, rows in raw.items():
        wh.replace(table, [DAY], RowsSource(rows), max_shrink=1.0)
    for level in registry.levels(Phase.ANALYTICS):  # level order: team tables, PGS, UPCG
        for proc in level:
            assert proc.sql_file
            wh.replace(proc.table, [DAY], SqlSource(load_sql(proc.sql_file)), max_shrink=1.0)
    yield wh
    wh.close()


def _team(wh: DuckDBWarehouse, team: str) -> dict[str, Any]:
    rows = wh.query("SELECT * FROM nba_analytics.team_offense_game_summary "
                    "WHERE team_abbr = @t", {"t": team})
    assert len(rows) == 1
    return rows[0]


def _player(wh: DuckDBWarehouse, lookup: str) -> dict[str, Any]:
    rows = wh.query("SELECT * FROM nba_analytics.player_game_summary "
                    "WHERE player_lookup = @p", {"p": lookup})
    assert len(rows) == 1
    return rows[0]


def test_row_counts_follow_the_box_score(warehouse: DuckDBWarehouse) -> None:
    # the file lists 13 NYK players (8 played, 5 DNP) and 12 PHI players (9 played, 3 DNP)
    counts = {
        t.name: warehouse.query(f"SELECT COUNT(*) AS n FROM {t.fqn}")[0]["n"]
        for t in ANALYTICS_TABLES
    }
    assert counts == {
        "team_offense_game_summary": 2, "team_defense_game_summary": 2,
        "player_game_summary": 25, "upcoming_team_game_context": 2,
        "upcoming_player_game_context": 25,
    }


def test_phi_offense(warehouse: DuckDBWarehouse) -> None:
    phi = _team(warehouse, "PHI")
    # PHI TeamStats: FGM 46, FGA 92, 3PM 13, FTA 14, OREB 11, TOV 12, PTS 119, MIN "265:00"
    # possessions = 92 + 0.44·14 + 12 − 11 = 92 + 6.16 + 1 = 99.16 → 99.2
    assert phi["possessions"] == pytest.approx(99.2)
    # pace = 99.16·48 / (265/5) = 4759.68 / 53 = 89.805… → 89.8
    assert phi["pace"] == pytest.approx(89.8)
    # offensive rating = 100·119 / 99.16 = 120.008… → 120.01
    assert phi["offensive_rating"] == pytest.approx(120.01)
    # TS% = 119 / (2·(92 + 6.16)) = 119 / 196.32 = 0.6061… → 0.606
    assert phi["ts_pct"] == pytest.approx(0.606)
    # eFG% = (46 + 0.5·13) / 92 = 52.5 / 92 = 0.5706… → 0.571
    assert phi["efg_pct"] == pytest.approx(0.571)
    # one overtime: (265 − 240) / 25 = 1; PHI lost 119–125
    assert (phi["overtime_periods"], phi["team_minutes"]) == (1, 265)
    assert (phi["win_flag"], phi["margin_of_victory"], phi["opponent_points"]) == (False, -6, 125)
    assert (phi["home_game"], phi["opponent_team_abbr"], phi["game_id"]) == (
        True, "NYK", "20250115_NYK_PHI")


def test_nyk_offense(warehouse: DuckDBWarehouse) -> None:
    nyk = _team(warehouse, "NYK")
    # NYK TeamStats: FGA 86, FTA 24, TOV 13, OREB 15, PTS 125
    # possessions = 86 + 0.44·24 + 13 − 15 = 86 + 10.56 − 2 = 94.56 → 94.6
    assert nyk["possessions"] == pytest.approx(94.6)
    # offensive rating = 100·125 / 94.56 = 132.191… → 132.19
    assert nyk["offensive_rating"] == pytest.approx(132.19)
    # pace = 94.56·48 / 53 = 4538.88 / 53 = 85.639… → 85.6
    assert nyk["pace"] == pytest.approx(85.6)
    assert (nyk["win_flag"], nyk["margin_of_victory"], nyk["home_game"]) == (True, 6, False)


def test_phi_defense_mirrors_nyk_offense(warehouse: DuckDBWarehouse) -> None:
    rows = warehouse.query("SELECT * FROM nba_analytics.team_defense_game_summary "
                           "WHERE defending_team_abbr = 'PHI'")
    assert len(rows) == 1
    phi = rows[0]
    # defensive rating = 100·NYK points / NYK possessions = 100·125 / 94.56 → 132.19
    assert phi["defensive_rating"] == pytest.approx(132.19)
    # opponent pace, minutes-normalised: 94.56·48 / 53 → 85.6 (not the raw 94.56)
    assert phi["opponent_pace"] == pytest.approx(85.6)
    assert phi["opponent_possessions"] == pytest.approx(94.6)
    # NYK: 125 points, 13 turnovers; PHI: 19 fouls, 8 steals, 24 defensive rebounds
    assert (phi["points_allowed"], phi["turnovers_forced"], phi["fouls_committed"],
            phi["steals"], phi["defensive_rebounds"]) == (125, 13, 19, 8, 24)
    assert (phi["win_flag"], phi["margin_of_victory"]) == (False, -6)


def test_team_points_are_the_sum_of_players(warehouse: DuckDBWarehouse) -> None:
    sums = warehouse.query(
        "SELECT team_abbr, SUM(points) AS pts FROM nba_analytics.player_game_summary "
        "GROUP BY team_abbr ORDER BY team_abbr")
    # NYK 10+17+8+23+38+10+13+6 = 125; PHI 26+16+9+14+33+10+7+2+2 = 119
    assert [(r["team_abbr"], r["pts"]) for r in sums] == [("NYK", 125), ("PHI", 119)]
    assert _team(warehouse, "NYK")["points_scored"] == 125
    assert _team(warehouse, "PHI")["points_scored"] == 119


def test_josh_hart_minutes_and_usage(warehouse: DuckDBWarehouse) -> None:
    hart = _player(warehouse, "joshhart")
    # MIN "49:25" = 49 + 25/60 = 49.4166… → 49.4
    assert hart["minutes_played"] == pytest.approx(49.4)
    # Hart: FGA 9, FTA 3, TOV 3 → 9 + 1.32 + 3 = 13.32; NYK: 86 + 10.56 + 13 = 109.56
    # usage = 100·13.32·(265/5) / (49.41667·109.56) = 70596 / 5414.09 = 13.039… → 13.04
    assert hart["usage_rate"] == pytest.approx(13.04)
    assert (hart["team_abbr"], hart["opponent_team_abbr"], hart["home_game"]) == (
        "NYK", "PHI", False)
    assert (hart["is_dnp"], hart["starter"], hart["win_flag"]) == (False, True, True)
    assert hart["total_rebounds"] == 17 and hart["assists"] == 12


def test_maxey_usage_and_push(warehouse: DuckDBWarehouse) -> None:
    maxey = _player(warehouse, "tyresemaxey")
    # Maxey: FGA 32, FTA 5, TOV 4 → 32 + 2.2 + 4 = 38.2; PHI: 92 + 6.16 + 12 = 110.16
    # MIN "45:36" = 45.6; usage = 100·38.2·53 / (45.6·110.16) = 202460 / 5023.296 = 40.30
    assert maxey["usage_rate"] == pytest.approx(40.30)
    # 33 points on a 33.0 line: its own result, not OVER
    assert (maxey["points"], maxey["points_line"]) == (33, 33.0)
    assert (maxey["over_under_result"], maxey["margin_vs_line"]) == ("PUSH", 0.0)


def test_brunson_shooting_and_line(warehouse: DuckDBWarehouse) -> None:
    brunson = _player(warehouse, "jalenbrunson")
    # TS% = 38 / (2·(22 + 0.44·9)) = 38 / 51.92 = 0.7318… → 0.732
    assert brunson["ts_pct"] == pytest.approx(0.732)
    # eFG% = (14 + 0.5·3) / 22 = 15.5 / 22 = 0.7045… → 0.705
    assert brunson["efg_pct"] == pytest.approx(0.705)
    # 38 points over a 27.5 line: OVER by 10.5
    assert (brunson["over_under_result"], brunson["margin_vs_line"]) == ("OVER", 10.5)
    assert brunson["points_line_bookmaker"] == "draftkings"


def test_dnp_players(warehouse: DuckDBWarehouse) -> None:
    dnp = warehouse.query(
        "SELECT player_lookup, team_abbr, dnp_reason_category, usage_rate, minutes_played, "
        "over_under_result FROM nba_analytics.player_game_summary WHERE is_dnp "
        "ORDER BY player_lookup")
    # NYK: Hukporti, Kolek, Ryan, Shamet, Toppin; PHI: Drummond, Jackson, Nance
    assert [r["player_lookup"] for r in dnp] == [
        "andredrummond", "arielhukporti", "jacobtoppin", "landryshamet", "mattryan",
        "petenance", "reggiejackson", "tylerkolek"]
    assert all(r["usage_rate"] is None and r["minutes_played"] == 0.0 for r in dnp)
    reasons = {r["player_lookup"]: r["dnp_reason_category"] for r in dnp}
    assert reasons["andredrummond"] == "injury"  # "DND - Injury/Illness"
    assert reasons["arielhukporti"] == "coach_decision"  # "DNP - Coach's Decision"
    played = warehouse.query("SELECT COUNT(*) AS n FROM nba_analytics.player_game_summary "
                             "WHERE NOT is_dnp AND usage_rate IS NOT NULL")
    assert played[0]["n"] == 17  # 8 NYK + 9 PHI players with minutes


def test_upcoming_contexts_of_a_first_game(warehouse: DuckDBWarehouse) -> None:
    teams = warehouse.query("SELECT * FROM nba_analytics.upcoming_team_game_context "
                            "ORDER BY team_abbr")
    assert [t["team_abbr"] for t in teams] == ["NYK", "PHI"]
    for t in teams:  # no earlier game in the warehouse: no rest, first game of the season
        assert t["days_rest"] is None and t["game_number_in_season"] == 1
        assert t["back_to_back"] is False
    brunson = warehouse.query("SELECT * FROM nba_analytics.upcoming_player_game_context "
                              "WHERE player_lookup = 'jalenbrunson'")[0]
    assert (brunson["current_points_line"], brunson["has_prop_line"]) == (27.5, True)
    assert brunson["games_played_before"] == 0 and brunson["points_avg_last_5"] is None
