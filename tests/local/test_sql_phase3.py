"""Phase-3 SQL on a small synthetic slate (four teams, 2025-01-02 … 2025-01-14) through the DuckDB
warehouse: rest days and back-to-backs, "last N" windows that see only earlier dates, prop-line
choice, team-relative spreads, injuries and star teammates out.

The slate (season 2024-25, every listed game final unless said otherwise):

    Jan 02 NYK@BOS   Jan 04 BOS@NYK   Jan 06 NYK@BOS   Jan 08 BOS@NYK
    Jan 10 NYK@BOS, ORL@MIA           Jan 11 BOS@MIA   Jan 13 MIA@NYK, BOS@ORL
    Jan 14 NYK@BOS scheduled (status 1), MIA@ORL postponed

Points per player (DNP = did not play). Teams score the sum of their players:

    BOS star   30 32 34 10 25 24 out    BOS role 10 (DNP Jan 10)   BOS bench 6 (out Jan 13)
    NYK star   20 22 24 26 28 26        NYK role 12                NYK bench 4
    MIA star   18 18 out                MIA role 8                 MIA bench 2
    ORL star   20 20                    ORL role 9                 ORL bench 3
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import registry
from backcourt.domain import tables_raw as tr
from backcourt.domain.registry import Phase
from backcourt.domain.schema import Table
from backcourt.domain.tables_analytics import ANALYTICS_TABLES
from backcourt.ports import RowsSource, SqlSource
from backcourt.sql import load_sql

pytestmark = pytest.mark.local

Row = dict[str, Any]


def d(day: int) -> date:
    return date(2025, 1, day)


DAYS = [d(n) for n in range(2, 15)]
J13, J14 = d(13), d(14)
TIP13 = datetime(2025, 1, 14, 0, 30, tzinfo=UTC)  # 7:30 PM ET on Jan 13

# (day, away, home, status, postponed)
GAMES = [
    (2, "NYK", "BOS", 3, False), (4, "BOS", "NYK", 3, False), (6, "NYK", "BOS", 3, False),
    (8, "BOS", "NYK", 3, False), (10, "NYK", "BOS", 3, False), (10, "ORL", "MIA", 3, False),
    (11, "BOS", "MIA", 3, False), (13, "MIA", "NYK", 3, False), (13, "BOS", "ORL", 3, False),
    (14, "NYK", "BOS", 1, False), (14, "MIA", "ORL", 1, True),
]
DNP = None  # did not play
POINTS: dict[str, dict[int, int | None]] = {
    "bosstar": {2: 30, 4: 32, 6: 34, 8: 10, 10: 25, 11: 24, 13: DNP},
    "bosrole": {2: 10, 4: 10, 6: 10, 8: 10, 10: DNP, 11: 10, 13: 10},
    "bosbench": {2: 6, 4: 6, 6: 6, 8: 6, 10: 6, 11: 6, 13: DNP},
    "nykstar": {2: 20, 4: 22, 6: 24, 8: 26, 10: 28, 13: 26},
    "nykrole": {2: 12, 4: 12, 6: 12, 8: 12, 10: 12, 13: 12},
    "nykbench": {2: 4, 4: 4, 6: 4, 8: 4, 10: 4, 13: 4},
    "miastar": {10: 18, 11: 18, 13: DNP},
    "miarole": {10: 8, 11: 8, 13: 8},
    "miabench": {10: 2, 11: 2, 13: 2},
    "orlstar": {10: 20, 13: 20},
    "orlrole": {10: 9, 13: 9},
    "orlbench": {10: 3, 13: 3},
}
MINUTES = {"star": 30.0, "role": 24.0, "bench": 12.0}


def _team_of(player: str) -> str:
    return player[:3].upper()


def _player_row(day: int, player: str, pts: int | None, away: str, home: str) -> Row:
    team = _team_of(player)
    row: Row = {
        "game_date": d(day), "game_id": f"202501{day:02d}_{away}_{home}", "season_year": 2024,
        "team_abbr": team, "opponent_team_abbr": home if team == away else away,
        "is_home": team == home, "player_name": player.title(), "player_lookup": player,
        "player_status": "active", "minutes": MINUTES[player[3:]], "starter": True,
    }
    if pts is None:
        row.update(player_status="inactive" if day == 13 else "dnp", minutes=0.0,
                   dnp_reason="Injury/Illness" if day == 13 else "DNP - Coach's Decision")
        return row
    # FGA = points, FGM = points // 2, one free throw made when points are odd: 2·FGM + FTM = pts
    row.update(points=pts, fg_made=pts // 2, fg_attempted=pts, three_pt_made=0,
               three_pt_attempted=0, ft_made=pts % 2, ft_attempted=pts % 2,
               offensive_rebounds=1, defensive_rebounds=3, total_rebounds=4, assists=2,
               steals=1, blocks=0, turnovers=2, personal_fouls=2, plus_minus=0)
    return row


SUMMED = ("points", "fg_made", "fg_attempted", "three_pt_made", "three_pt_attempted", "ft_made",
          "ft_attempted", "offensive_rebounds", "defensive_rebounds", "total_rebounds",
          "assists", "steals", "blocks", "turnovers", "personal_fouls")


def _team_row(players: list[Row], team: str) -> Row:
    mine = [p for p in players if p["team_abbr"] == team]
    first = mine[0]
    row = {k: first[k] for k in ("game_date", "game_id", "season_year", "team_abbr",
                                 "opponent_team_abbr", "is_home")}
    row.update({k: sum(p.get(k) or 0 for p in mine) for k in SUMMED}, minutes=240)
    return row


def build_raw(points: dict[str, dict[int, int | None]]) -> dict[Table, list[Row]]:
    """Raw rows of every phase-2 table for the slate, with these player points."""
    schedule, players, teams = [], [], []
    for day, away, home, status, postponed in GAMES:
        box = [_player_row(day, p, pts[day], away, home)
               for p, pts in points.items() if _team_of(p) in (away, home) and day in pts]
        players += box
        team_rows = [_team_row(box, home), _team_row(box, away)] if box else []
        teams += team_rows
        score = {r["team_abbr"]: r["points"] for r in team_rows}
        schedule.append({
            "game_date": d(day), "nba_game_id": f"00224{day:05d}{len(schedule)}",
            "game_id": f"202501{day:02d}_{away}_{home}", "season": "2024-25",
            "season_year": 2024, "game_type": "regular", "game_status": status,
            "postponed": postponed, "home_team_abbr": home, "away_team_abbr": away,
            "home_team_score": score.get(home), "away_team_score": score.get(away),
        })
    return {tr.SCHEDULE: schedule, tr.PLAYER_BOXSCORES: players, tr.TEAM_BOXSCORES: teams,
            tr.PLAYER_PROPS: PROPS, tr.GAME_LINES: GAME_LINES, tr.INJURY_REPORT: INJURIES}


def _at(hour: int, minute: int = 0) -> datetime:
    """A snapshot time on Jan 13 (UTC); hour 25 = 01:00 UTC on Jan 14, after the tip."""
    return datetime(2025, 1, 13, tzinfo=UTC) + timedelta(hours=hour, minutes=minute)


def _prop(player: str, book: str, line: float, snap: datetime, before: bool | None) -> Row:
    minutes = None if before is None else int((TIP13 - snap).total_seconds() // 60)
    return {"game_date": J13, "event_id": "ev13", "commence_time": TIP13,
            "snapshot_timestamp": snap, "minutes_before_tipoff": minutes, "bookmaker": book,
            "player_lookup": player, "points_line": line}


PROPS = [
    # NYK star: DraftKings wins over FanDuel and BetMGM; its latest PRE-TIP snapshot is 26.5
    # (23:00), its earliest 25.5 (18:00); the 30.5 at 01:00 on Jan 14 is in-game (ignored).
    _prop("nykstar", "draftkings", 25.5, _at(18), True),
    _prop("nykstar", "fanduel", 24.5, _at(22), True),
    _prop("nykstar", "betmgm", 27.5, _at(23, 30), True),
    _prop("nykstar", "draftkings", 26.5, _at(23), True),
    _prop("nykstar", "draftkings", 30.5, _at(25), True),
    # MIA role: no DraftKings, so FanDuel (7.5 then 8.0) beats BetMGM; he scores 8 → PUSH
    _prop("miarole", "fanduel", 7.5, _at(20), True),
    _prop("miarole", "fanduel", 8.0, _at(23), True),
    _prop("miarole", "betmgm", 9.5, _at(23, 10), True),
    # ORL role: neither DK nor FD: alphabetical, betmgm < betrivers
    _prop("orlrole", "betrivers", 8.5, _at(23), True),
    _prop("orlrole", "betmgm", 10.5, _at(22), True),
    # ORL star: only an in-game snapshot → no line
    _prop("orlstar", "draftkings", 19.5, _at(24, 40), True),
    # ORL bench: minutes_before_tipoff unknown: the DK snapshot after tip-off is dropped
    _prop("orlbench", "draftkings", 4.5, _at(25), None),
    _prop("orlbench", "fanduel", 2.5, _at(20), None),
]


def _line(book: str, market: str, outcome: str, point: float, snap: datetime, home: str,
          away: str) -> Row:
    return {"game_date": J13, "event_id": f"ev_{away}_{home}", "commence_time": TIP13,
            "snapshot_timestamp": snap, "home_team_abbr": home, "away_team_abbr": away,
            "bookmaker": book, "market": market, "outcome_name": outcome,
            "outcome_point": point}


GAME_LINES = [
    # MIA @ NYK: DraftKings latest pre-tip spread NYK −6.5 / MIA +6.5, total 221.5
    *(_line("draftkings", "spreads", t, p, _at(20), "NYK", "MIA")
      for t, p in (("NYK", -5.5), ("MIA", 5.5))),
    *(_line("draftkings", "spreads", t, p, _at(23), "NYK", "MIA")
      for t, p in (("NYK", -6.5), ("MIA", 6.5))),
    *(_line("fanduel", "spreads", t, p, _at(23, 30), "NYK", "MIA")
      for t, p in (("NYK", -7.0), ("MIA", 7.0))),
    *(_line("draftkings", "spreads", t, p, _at(25), "NYK", "MIA")  # in-game: ignored
      for t, p in (("NYK", -12.5), ("MIA", 12.5))),
    *(_line("draftkings", "totals", t, 221.5, _at(23), "NYK", "MIA") for t in ("Over", "Under")),
    *(_line("fanduel", "totals", t, 219.0, _at(23, 30), "NYK", "MIA") for t in ("Over", "Under")),
    # BOS @ ORL: FanDuel spreads only
    *(_line("fanduel", "spreads", t, p, _at(23), "ORL", "BOS")
      for t, p in (("ORL", -3.0), ("BOS", 3.0))),
]


def _injury(hour: int, player: str, status: str) -> Row:
    return {"game_date": J13, "report_time": _at(hour), "team_abbr": _team_of(player),
            "player_lookup": player, "player_name": player.title(), "injury_status": status}


INJURIES = [
    # an earlier report (17:00) that the 22:00 report replaces
    _injury(17, "orlstar", "out"), _injury(17, "bosstar", "out"),
    _injury(22, "bosstar", "Out"), _injury(22, "bosbench", "out"), _injury(22, "miastar", "out"),
    _injury(22, "orlstar", "doubtful"), _injury(22, "nykbench", "questionable"),
]


def run_phase3(wh: DuckDBWarehouse, raw: dict[Table, list[Row]], days: list[list[date]]) -> None:
    """Load the raw rows, then for each group of days (in date order) run the phase-3 SQL in
    level order: team tables, then player_game_summary, then the player context."""
    for table, rows in raw.items():
        wh.replace(table, DAYS, RowsSource(rows), max_shrink=1.0, force=True)
    for group in days:
        for level in registry.levels(Phase.ANALYTICS):
            for proc in level:
                assert proc.sql_file
                wh.replace(proc.table, group, SqlSource(load_sql(proc.sql_file)),
                           max_shrink=1.0, force=True)


def _new_warehouse(path: Any) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path)
    wh.ensure_tables([*tr.RAW_TABLES, *ANALYTICS_TABLES])
    return wh


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    warehouse = _new_warehouse(tmp_path_factory.mktemp("phase3") / "warehouse.duckdb")
    run_phase3(warehouse, build_raw(POINTS), [DAYS])  # the whole range in one replace
    yield warehouse
    warehouse.close()


def _rows(wh: DuckDBWarehouse, table: str, where: str = "TRUE") -> list[Row]:
    key = next(t.key for t in ANALYTICS_TABLES if t.name == table)
    return wh.query(f"SELECT * FROM nba_analytics.{table} WHERE {where} "
                    f"ORDER BY {', '.join(key)}")


def _one(wh: DuckDBWarehouse, table: str, day: date, who: str) -> Row:
    key = "player_lookup" if "player" in table else "team_abbr"
    rows = wh.query(f"SELECT * FROM nba_analytics.{table} WHERE game_date = @d AND {key} = @k",
                    {"d": day, "k": who})
    assert len(rows) == 1, (table, day, who, rows)
    return rows[0]


# -- team context -------------------------------------------------------------------------------


def test_team_rest_and_back_to_backs(wh: DuckDBWarehouse) -> None:
    team = "upcoming_team_game_context"
    # BOS: Jan 10 then Jan 11 → 1 day, a back-to-back; MIA's first game is Jan 10 → NULL
    assert (_one(wh, team, d(11), "BOS")["days_rest"], _one(wh, team, d(11), "BOS")[
        "back_to_back"]) == (1, True)
    assert _one(wh, team, d(11), "MIA")["back_to_back"] is True
    assert _one(wh, team, d(10), "MIA")["days_rest"] is None
    # Jan 13: NYK last played Jan 10 (3 days), BOS Jan 11 (2), ORL Jan 10 (3), MIA Jan 11 (2)
    rest = {t: _one(wh, team, J13, t)["days_rest"] for t in ("NYK", "BOS", "ORL", "MIA")}
    assert rest == {"NYK": 3, "BOS": 2, "ORL": 3, "MIA": 2}
    bos = _one(wh, team, J13, "BOS")
    # BOS before Jan 13: Jan 2, 4, 6, 8, 10, 11; D−6 … D−1 = Jan 7 … 12 holds Jan 8, 10, 11
    assert (bos["games_in_last_7_days"], bos["games_in_last_14_days"]) == (3, 6)
    assert bos["game_number_in_season"] == 7


def test_team_streaks_and_last_margin(wh: DuckDBWarehouse) -> None:
    team = "upcoming_team_game_context"
    # BOS scores 30+10+6=46, 48, 50 vs NYK 36, 38, 40 (W W W), then 26–42 and 31–44 (L L),
    # then 24+10+6=40 vs MIA 28 on Jan 11 (W)
    jan11, jan13 = _one(wh, team, d(11), "BOS"), _one(wh, team, J13, "BOS")
    assert (jan11["win_streak_entering"], jan11["loss_streak_entering"]) == (0, 2)
    assert jan11["last_game_margin"] == 31 - 44
    assert (jan13["win_streak_entering"], jan13["loss_streak_entering"]) == (1, 0)
    assert jan13["last_game_margin"] == 40 - 28


def test_scheduled_games_get_context_postponed_do_not(wh: DuckDBWarehouse) -> None:
    team = "upcoming_team_game_context"
    jan14 = _rows(wh, team, "game_date = DATE '2025-01-14'")
    assert sorted(r["team_abbr"] for r in jan14) == ["BOS", "NYK"]  # MIA@ORL is postponed
    nyk = _one(wh, team, J14, "NYK")
    assert (nyk["days_rest"], nyk["back_to_back"], nyk["game_number_in_season"]) == (1, True, 7)
    # the not-yet-played game has no player or team box summaries
    assert _rows(wh, "player_game_summary", "game_date = DATE '2025-01-14'") == []
    assert _rows(wh, "team_offense_game_summary", "game_date = DATE '2025-01-14'") == []


def test_team_relative_spread_and_total(wh: DuckDBWarehouse) -> None:
    team = "upcoming_team_game_context"
    nyk, mia = _one(wh, team, J13, "NYK"), _one(wh, team, J13, "MIA")
    assert (nyk["game_spread"], mia["game_spread"]) == (-6.5, 6.5)
    assert (nyk["game_total"], mia["game_total"]) == (221.5, 221.5)
    assert nyk["lines_bookmaker"] == "draftkings"
    orl, bos = _one(wh, team, J13, "ORL"), _one(wh, team, J13, "BOS")
    assert (orl["game_spread"], bos["game_spread"], orl["game_total"]) == (-3.0, 3.0, None)
    assert orl["lines_bookmaker"] == "fanduel"
    player = "upcoming_player_game_context"
    assert _one(wh, player, J13, "nykstar")["game_spread"] == -6.5
    assert _one(wh, player, J13, "miarole")["game_spread"] == 6.5
    assert _one(wh, player, J13, "miarole")["game_total"] == 221.5


def test_team_injury_counts_use_the_latest_report(wh: DuckDBWarehouse) -> None:
    team = "upcoming_team_game_context"
    counts = {t: (_one(wh, team, J13, t)["players_out_count"],
                  _one(wh, team, J13, t)["questionable_players_count"])
              for t in ("BOS", "MIA", "NYK", "ORL")}
    # 22:00 report: BOS star + bench out; MIA star out; NYK bench questionable; ORL star
    # doubtful (the 17:00 report had him out)
    assert counts == {"BOS": (2, 0), "MIA": (1, 0), "NYK": (0, 1), "ORL": (0, 1)}


# -- player context -----------------------------------------------------------------------------


def test_player_rest_counts_played_games_only(wh: DuckDBWarehouse) -> None:
    ctx = "upcoming_player_game_context"
    # BOS role did not play Jan 10: his last played game before Jan 11 is Jan 8 → 3 days
    role = _one(wh, ctx, d(11), "bosrole")
    assert (role["days_rest"], role["back_to_back"]) == (3, False)
    star = _one(wh, ctx, d(11), "bosstar")
    assert (star["days_rest"], star["back_to_back"]) == (1, True)


def test_last_n_windows_count_games_before_the_date(wh: DuckDBWarehouse) -> None:
    star = _one(wh, "upcoming_player_game_context", J13, "bosstar")
    # played before Jan 13, newest first: 24 (Jan 11), 25, 10, 34, 32, 30 (Jan 2)
    # last 5 = (24 + 25 + 10 + 34 + 32) / 5 = 125 / 5 = 25.0; last 10 (6 games) = 155 / 6
    assert star["points_avg_last_5"] == pytest.approx(25.0)
    assert star["points_avg_last_10"] == pytest.approx(155 / 6, abs=0.005)
    assert star["games_played_before"] == 6
    # D−6 … D−1 = Jan 7 … 12: Jan 8, 10, 11 at 30 minutes each
    assert (star["games_in_last_7_days"], star["minutes_in_last_7_days"]) == (3, 90.0)
    assert (star["games_in_last_14_days"], star["minutes_in_last_14_days"]) == (6, 180.0)
    assert star["avg_minutes_last_7"] == pytest.approx(30.0)
    role = _one(wh, "upcoming_player_game_context", J13, "bosrole")
    # BOS role: five played games of 10 points (the Jan 10 DNP is not a game)
    assert (role["points_avg_last_5"], role["games_played_before"]) == (10.0, 5)


def test_opponent_form_uses_the_opponents_earlier_games(wh: DuckDBWarehouse) -> None:
    ctx = _one(wh, "upcoming_player_game_context", J13, "nykstar")  # opponent MIA
    mia = wh.query("SELECT pace FROM nba_analytics.team_offense_game_summary "
                   "WHERE team_abbr = 'MIA' AND game_date < DATE '2025-01-13'")
    assert len(mia) == 2  # Jan 10 and Jan 11 only
    assert ctx["opponent_pace_last_10"] == pytest.approx(sum(r["pace"] for r in mia) / 2,
                                                         abs=0.005)
    # MIA allowed 32 (ORL) and 40 (BOS): 100·pts/possessions, possessions = FGA + 0.44·FTA
    # + TOV − OREB summed over 3 players. ORL: FGA 20+9+3=32, FTA 0+1+1=2, TOV 6, OREB 3
    # → 32 + 0.88 + 6 − 3 = 35.88 → 100·32/35.88 = 89.19. BOS: FGA 24+10+6 = 40, FTA 0,
    # TOV 6, OREB 3 → 43 → 100·40/43 = 93.02. Mean = (89.19 + 93.02) / 2 = 91.105
    assert ctx["opponent_def_rating_last_10"] == pytest.approx(91.105, abs=0.01)


def test_prop_line_choice(wh: DuckDBWarehouse) -> None:
    ctx = "upcoming_player_game_context"
    nyk = _one(wh, ctx, J13, "nykstar")
    assert (nyk["current_points_line"], nyk["opening_points_line"], nyk["line_movement"],
            nyk["line_bookmaker"], nyk["has_prop_line"]) == (26.5, 25.5, 1.0, "draftkings", True)
    mia = _one(wh, ctx, J13, "miarole")
    assert (mia["current_points_line"], mia["opening_points_line"], mia["line_bookmaker"]) == (
        8.0, 7.5, "fanduel")
    orl = _one(wh, ctx, J13, "orlrole")
    assert (orl["current_points_line"], orl["line_bookmaker"], orl["line_movement"]) == (
        10.5, "betmgm", 0.0)
    assert _one(wh, ctx, J13, "orlstar")["has_prop_line"] is False
    assert _one(wh, ctx, J13, "orlbench")["current_points_line"] == 2.5
    # the game summary uses the same rule and grades the result
    pgs = "player_game_summary"
    results = {p: (_one(wh, pgs, J13, p)["points_line"], _one(wh, pgs, J13, p)[
        "over_under_result"], _one(wh, pgs, J13, p)["margin_vs_line"])
        for p in ("nykstar", "miarole", "orlrole", "orlstar", "orlbench")}
    assert results == {
        "nykstar": (26.5, "UNDER", -0.5),  # 26 points
        "miarole": (8.0, "PUSH", 0.0),  # 8 points
        "orlrole": (10.5, "UNDER", -1.5),  # 9 points
        "orlstar": (None, None, None),
        "orlbench": (2.5, "OVER", 0.5),  # 3 points
    }


def test_injury_status_and_star_teammates_out(wh: DuckDBWarehouse) -> None:
    ctx = "upcoming_player_game_context"
    status = {p: _one(wh, ctx, J13, p)["injury_status"]
              for p in ("bosstar", "orlstar", "nykbench", "nykstar")}
    assert status == {"bosstar": "out", "orlstar": "doubtful", "nykbench": "questionable",
                      "nykstar": None}
    stars = {p: _one(wh, ctx, J13, p)["star_teammates_out"]
             for p in ("bosrole", "bosstar", "miarole", "orlrole", "nykstar")}
    # BOS star (25.83 over his last 6) is out: his teammates count 1; BOS bench (6) is no star;
    # MIA star averages exactly 18 → a star; ORL star is only doubtful in the latest report
    assert stars == {"bosrole": 1, "bosstar": 0, "miarole": 1, "orlrole": 0, "nykstar": 0}


def test_player_context_has_one_row_per_raw_box_row(wh: DuckDBWarehouse) -> None:
    raw = wh.query("SELECT game_date, COUNT(*) AS n FROM nba_raw.player_boxscores "
                   "GROUP BY game_date ORDER BY game_date")
    ctx = wh.query("SELECT game_date, COUNT(*) AS n FROM "
                   "nba_analytics.upcoming_player_game_context GROUP BY game_date "
                   "ORDER BY game_date")
    pgs = wh.query("SELECT game_date, COUNT(*) AS n FROM nba_analytics.player_game_summary "
                   "GROUP BY game_date ORDER BY game_date")
    assert raw == ctx == pgs
    # 5 NYK–BOS games, ORL@MIA, BOS@MIA and the two Jan 13 games, 6 listed players each
    assert sum(r["n"] for r in raw) == (5 + 1 + 1 + 2) * 6


# -- history never leaks forward ----------------------------------------------------------------


def _contexts(wh: DuckDBWarehouse) -> list[Row]:
    return _rows(wh, "upcoming_player_game_context") + _rows(wh, "upcoming_team_game_context")


def test_later_points_do_not_change_earlier_context(
    wh: DuckDBWarehouse, tmp_path: Any
) -> None:
    changed = {p: dict(v) for p, v in POINTS.items()}
    changed["nykstar"][13] = 40  # a later date's points (and NYK's Jan 13 total)
    other = _new_warehouse(tmp_path / "changed.duckdb")
    try:
        run_phase3(other, build_raw(changed), [DAYS])
        assert _one(other, "player_game_summary", J13, "nykstar")["over_under_result"] == "OVER"
        before = [r for r in _contexts(wh) if r["game_date"] <= J13]
        after = [r for r in _contexts(other) if r["game_date"] <= J13]
        assert after == before  # Jan 13's own context never reads Jan 13's box score
        # …while an earlier date's points do move the later average: +10 on Jan 10 → +2.0
        changed["nykstar"][10] = 38
        run_phase3(other, build_raw(changed), [DAYS])
        old = _one(wh, "upcoming_player_game_context", J13, "nykstar")["points_avg_last_5"]
        new = _one(other, "upcoming_player_game_context", J13, "nykstar")["points_avg_last_5"]
        assert (old, new) == (24.0, 26.0)  # (28+26+24+22+20)/5 → (38+26+24+22+20)/5
    finally:
        other.close()


def test_day_by_day_runs_match_one_range_run(wh: DuckDBWarehouse, tmp_path: Any) -> None:
    daily = _new_warehouse(tmp_path / "daily.duckdb")
    try:
        run_phase3(daily, build_raw(POINTS), [[day] for day in DAYS])
        for table in ANALYTICS_TABLES:
            assert _rows(daily, table.name) == _rows(wh, table.name), table.name
    finally:
        daily.close()
