"""Phase-4 SQL (TDZA, PSZA, PDC, PCF, MLFS) on a small synthetic league through the DuckDB
warehouse: raw rows → the real phase-3 SQL → the phase-4 SQL in level order.

The league: BOS, NYK, MIA and ORL each play on every listed date (12 dates, 2025-01-02 … 16,
no games on the 5th, 9th and 13th), plus one game of the PREVIOUS season (2024-04-14 NYK@BOS,
season 2023) that has no shot-chart rows.

    d2, d6, d10, d14   NYK@BOS  ORL@MIA
    d3, d7, d11, d15   BOS@MIA  NYK@ORL
    d4, d8, d12, d16   MIA@NYK  BOS@ORL

Points (every value even, so possessions = team points + players who played, and pace = that,
team minutes being 240):

    bosstar  Apr 10; 20, 22, … 40 on d2 … d15; inactive on d16 (listed out)
    bosskip  10, 12, … 20 on d2 … d8; DNP d10, d11, d12, d14, d15 (five dates); 22 on d16
    bosbench 6        nykstar Apr 40, then 26    nykrole 12    nykbench 4
    miastar 20        miarole 8                  miabench 2
    orlstar 18        orlrole 10                 orlbench 4    orlrookie 10, 12, 14 on d14 … d16

Shots (nba_raw.shot_chart; bench players take none):
    star: paint 4 (4 made against MIA, else 2), mid-range 2 (1 made), three 4 (2 made against
          MIA, else 1)
    role (role, skip, rookie): paint 2 (1 made), three 2 (1 made)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import registry
from backcourt.domain import tables_analytics as ta
from backcourt.domain import tables_raw as tr
from backcourt.domain.features import FEATURES, REQUIRED
from backcourt.domain.registry import Phase
from backcourt.domain.schema import Table
from backcourt.domain.tables_analytics import ANALYTICS_TABLES
from backcourt.domain.tables_precompute import PRECOMPUTE_TABLES
from backcourt.ports import RowsSource, SqlSource
from backcourt.sql import load_sql

pytestmark = pytest.mark.local

Row = dict[str, Any]
Points = dict[str, dict[date, int | None]]


def d(day: int) -> date:
    return date(2025, 1, day)


APRIL = date(2024, 4, 14)
DAYS = [d(n) for n in (2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16)]
ALL_DAYS = [APRIL, *DAYS]
PAIRS = ((("NYK", "BOS"), ("ORL", "MIA")), (("BOS", "MIA"), ("NYK", "ORL")),
         (("MIA", "NYK"), ("BOS", "ORL")))
GAMES: list[tuple[date, str, str]] = [(APRIL, "NYK", "BOS")] + [
    (day, away, home) for i, day in enumerate(DAYS) for away, home in PAIRS[i % 3]]
DNP = None


def _each(points: int, days: list[date]) -> dict[date, int | None]:
    return dict.fromkeys(days, points)


POINTS: Points = {
    "bosstar": {APRIL: 10, **{day: 20 + 2 * i for i, day in enumerate(DAYS[:-1])}, d(16): DNP},
    "bosskip": {**{day: 10 + 2 * i for i, day in enumerate(DAYS[:6])},
                **dict.fromkeys(DAYS[6:11], DNP), d(16): 22},
    "bosbench": _each(6, ALL_DAYS),
    "nykstar": {APRIL: 40, **_each(26, DAYS)},
    "nykrole": _each(12, ALL_DAYS),
    "nykbench": _each(4, ALL_DAYS),
    "miastar": _each(20, DAYS), "miarole": _each(8, DAYS), "miabench": _each(2, DAYS),
    "orlstar": _each(18, DAYS), "orlrole": _each(10, DAYS), "orlbench": _each(4, DAYS),
    "orlrookie": {d(14): 10, d(15): 12, d(16): 14},
}
MINUTES = {"star": 30.0, "role": 24.0, "skip": 24.0, "rookie": 20.0, "bench": 12.0}
TIP = datetime(2025, 1, 7, 0, 0, tzinfo=UTC)  # 7 PM ET on Jan 6


def _team_of(player: str) -> str:
    return player[:3].upper()


def _kind(player: str) -> str:
    return "star" if player.endswith("star") else "bench" if player.endswith("bench") else "role"


def _game_id(day: date, away: str, home: str) -> str:
    return f"{day:%Y%m%d}_{away}_{home}"


def _player_row(day: date, player: str, pts: int | None, away: str, home: str) -> Row:
    team = _team_of(player)
    row: Row = {
        "game_date": day, "game_id": _game_id(day, away, home),
        "season_year": 2023 if day == APRIL else 2024, "team_abbr": team,
        "opponent_team_abbr": home if team == away else away, "is_home": team == home,
        "player_name": player.title(), "player_lookup": player, "player_status": "active",
        "minutes": MINUTES[player[3:]], "starter": _kind(player) == "star",
    }
    if pts is None:
        row.update(player_status="inactive" if day == d(16) else "dnp", minutes=0.0)
        return row
    # FGA = points, FGM = points / 2, no free throws: possessions per player = points + 2 - 1
    row.update(points=pts, fg_made=pts // 2, fg_attempted=pts, three_pt_made=0,
               three_pt_attempted=0, ft_made=0, ft_attempted=0, offensive_rebounds=1,
               defensive_rebounds=3, total_rebounds=4, assists=2, steals=1, blocks=0,
               turnovers=2, personal_fouls=2, plus_minus=0)
    return row


SUMMED = ("points", "fg_made", "fg_attempted", "three_pt_made", "three_pt_attempted", "ft_made",
          "ft_attempted", "offensive_rebounds", "defensive_rebounds", "total_rebounds",
          "assists", "steals", "blocks", "turnovers", "personal_fouls")


def _team_row(players: list[Row], team: str) -> Row:
    mine = [p for p in players if p["team_abbr"] == team]
    row = {k: mine[0][k] for k in ("game_date", "game_id", "season_year", "team_abbr",
                                   "opponent_team_abbr", "is_home")}
    row.update({k: sum(p.get(k) or 0 for p in mine) for k in SUMMED}, minutes=240)
    return row


def _shots(player: str, defender: str) -> list[tuple[str, bool]]:
    """(zone, made) of one player's shots in one game."""
    if _kind(player) == "bench":
        return []
    if _kind(player) == "role":
        return [("paint", True), ("paint", False), ("three", True), ("three", False)]
    leaky = defender == "MIA"
    paint = [True, True, leaky, leaky]
    three = [True, leaky, False, False]
    return ([("paint", m) for m in paint] + [("mid_range", True), ("mid_range", False)]
            + [("three", m) for m in three])


def _shot_rows(box: list[Row], nba_game_id: str) -> list[Row]:
    rows: list[Row] = []
    for p in box:
        if p.get("points") is None or p["game_date"] == APRIL:
            continue  # no shot chart for the April game
        for zone, made in _shots(p["player_lookup"], p["opponent_team_abbr"]):
            rows.append({
                "game_date": p["game_date"], "nba_game_id": nba_game_id,
                "game_event_id": len(rows) + 1, "game_id": p["game_id"],
                "team_abbr": p["team_abbr"], "opponent_team_abbr": p["opponent_team_abbr"],
                "player_lookup": p["player_lookup"], "zone": zone, "shot_made": made,
                "shot_type": "3PT" if zone == "three" else "2PT",
            })
    return rows


def _line(market: str, outcome: str, point: float) -> Row:
    return {"game_date": d(6), "event_id": "ev6", "commence_time": TIP,
            "snapshot_timestamp": datetime(2025, 1, 6, 20, 0, tzinfo=UTC),
            "home_team_abbr": "BOS", "away_team_abbr": "NYK", "bookmaker": "draftkings",
            "market": market, "outcome_name": outcome, "outcome_point": point}


PROPS = [{"game_date": d(6), "event_id": "ev6", "commence_time": TIP,
          "snapshot_timestamp": datetime(2025, 1, 6, 20, 0, tzinfo=UTC),
          "minutes_before_tipoff": 240, "bookmaker": "draftkings", "player_lookup": "nykstar",
          "points_line": 24.5}]
GAME_LINES = [_line("spreads", "NYK", 3.5), _line("spreads", "BOS", -3.5),
              _line("totals", "Over", 230.5), _line("totals", "Under", 230.5)]
INJURIES = [{"game_date": d(16), "report_time": datetime(2025, 1, 16, 22, tzinfo=UTC),
             "team_abbr": "BOS", "player_lookup": "bosstar", "player_name": "Bosstar",
             "injury_status": "Out"}]


def build_raw(points: Points, *, shots: bool = True) -> dict[Table, list[Row]]:
    """Raw rows of every phase-2 table for the league, with these points."""
    schedule: list[Row] = []
    players: list[Row] = []
    teams: list[Row] = []
    shot_rows: list[Row] = []
    for n, (day, away, home) in enumerate(GAMES):
        box = [_player_row(day, p, pts[day], away, home)
               for p, pts in points.items() if _team_of(p) in (away, home) and day in pts]
        team_rows = [_team_row(box, home), _team_row(box, away)]
        score = {r["team_abbr"]: r["points"] for r in team_rows}
        nba_game_id = f"0022400{n:03d}"
        schedule.append({
            "game_date": day, "nba_game_id": nba_game_id, "game_id": _game_id(day, away, home),
            "season": "2023-24" if day == APRIL else "2024-25",
            "season_year": 2023 if day == APRIL else 2024, "game_type": "regular",
            "game_status": 3, "postponed": False, "home_team_abbr": home,
            "away_team_abbr": away, "home_team_score": score[home],
            "away_team_score": score[away],
        })
        players += box
        teams += team_rows
        shot_rows += _shot_rows(box, nba_game_id) if shots else []
    return {tr.SCHEDULE: schedule, tr.PLAYER_BOXSCORES: players, tr.TEAM_BOXSCORES: teams,
            tr.PLAYER_PROPS: PROPS, tr.GAME_LINES: GAME_LINES, tr.INJURY_REPORT: INJURIES,
            tr.SHOT_CHART: shot_rows}


def _run(wh: DuckDBWarehouse, phase: Phase, groups: list[list[date]]) -> None:
    for group in groups:
        for level in registry.levels(phase):
            for proc in level:
                if proc.sql_file is None:
                    continue
                wh.replace(proc.table, group, SqlSource(load_sql(proc.sql_file)),
                           max_shrink=1.0, force=True)


def run_pipeline(wh: DuckDBWarehouse, raw: dict[Table, list[Row]],
                 groups: list[list[date]] | None = None) -> None:
    """Load the raw rows, run phase 3 over the whole range, then phase 4 in level order for each
    group of dates (default: the whole range at once)."""
    for table, rows in raw.items():
        wh.replace(table, ALL_DAYS, RowsSource(rows), max_shrink=1.0, force=True)
    _run(wh, Phase.ANALYTICS, [ALL_DAYS])
    _run(wh, Phase.PRECOMPUTE, groups or [ALL_DAYS])


def _new_warehouse(path: Any) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path)
    wh.ensure_tables([*tr.RAW_TABLES, *ANALYTICS_TABLES, *PRECOMPUTE_TABLES])
    return wh


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    warehouse = _new_warehouse(tmp_path_factory.mktemp("phase4") / "warehouse.duckdb")
    run_pipeline(warehouse, build_raw(POINTS))
    yield warehouse
    warehouse.close()


P4 = {t.name: t for t in PRECOMPUTE_TABLES}


def _rows(wh: DuckDBWarehouse, table: Table, where: str = "TRUE") -> list[Row]:
    return wh.query(f"SELECT * FROM {table.fqn} WHERE {where} ORDER BY {', '.join(table.key)}")


def _one(wh: DuckDBWarehouse, name: str, day: date, who: str) -> Row:
    table = P4[name]
    key = table.key[1]
    rows = wh.query(f"SELECT * FROM {table.fqn} WHERE game_date = @d AND {key} = @k",
                    {"d": day, "k": who})
    assert len(rows) == 1, (name, day, who, rows)
    return rows[0]


# -- grain ---------------------------------------------------------------------------------------


def test_player_tables_have_one_row_per_context_row(wh: DuckDBWarehouse) -> None:
    count = ("SELECT game_date, COUNT(*) AS n, COUNT(DISTINCT player_lookup) AS k FROM {} "
             "GROUP BY game_date ORDER BY game_date")
    context = wh.query(count.format(ta.UPCOMING_PLAYER_GAME_CONTEXT.fqn))
    assert len(context) == len(ALL_DAYS)
    for name in ("player_shot_zone_analysis", "player_daily_cache", "player_composite_factors",
                 "ml_feature_store"):
        assert wh.query(count.format(P4[name].fqn)) == context, name
    # d16: 3 BOS (bosstar inactive but listed) + 3 NYK + 3 MIA + 4 ORL box rows
    assert next(r["n"] for r in context if r["game_date"] == d(16)) == 13


def test_team_table_has_two_rows_per_final_game(wh: DuckDBWarehouse) -> None:
    rows = wh.query("SELECT game_date, COUNT(*) AS n FROM "
                    "nba_precompute.team_defense_zone_analysis GROUP BY game_date "
                    "ORDER BY game_date")
    assert rows == [{"game_date": APRIL, "n": 2}] + [{"game_date": day, "n": 4} for day in DAYS]


# -- hand-computed values -------------------------------------------------------------------------


def test_team_defense_zones_allowed_and_vs_league(wh: DuckDBWarehouse) -> None:
    mia = _one(wh, "team_defense_zone_analysis", d(6), "MIA")
    # MIA's games before d6: d2 (ORL), d3 (BOS), d4 (NYK). Each opponent's star hits 4/4 paint,
    # its role player 1/2 → 5/6 a game → 15/18. Threes: star 2/4 + role 1/2 → 9/18.
    assert (mia["games_in_window"], mia["shot_games_in_window"]) == (3, 3)
    assert (mia["paint_attempts_allowed"], mia["three_attempts_allowed"]) == (18, 18)
    assert mia["paint_fg_pct_allowed"] == pytest.approx(0.8333)
    assert mia["three_fg_pct_allowed"] == pytest.approx(0.5)
    # league over every team's window (d2–d4: 12 team-games; April has no shots): paint = MIA's
    # 15/18 + the other 9 team-games at 3/6 = 42/72; three = 9/18 + 9 · 2/6 = 27/72
    assert mia["league_paint_fg_pct"] == pytest.approx(0.5833)
    assert mia["league_three_fg_pct"] == pytest.approx(0.375)
    assert mia["paint_pct_vs_league"] == pytest.approx(0.25)  # 60/72 − 42/72, unrounded
    assert mia["three_pct_vs_league"] == pytest.approx(0.125)
    assert mia["mid_range_pct_vs_league"] == pytest.approx(0.0)  # every mid-range shot is 1/2
    # BOS: the April game is in the window (previous season, < 365 days) but has no shots
    bos = _one(wh, "team_defense_zone_analysis", d(6), "BOS")
    assert (bos["games_in_window"], bos["shot_games_in_window"]) == (4, 3)
    assert bos["paint_fg_pct_allowed"] == pytest.approx(0.5)


def test_team_defense_rating_and_pace_are_window_means(wh: DuckDBWarehouse) -> None:
    # pace = team points + players who played (FGA = points, TOV 2, OREB 1, no FTA, 240 min).
    # BOS before d6: Apr 10+6+2 = 18, d2 20+10+6+3 = 39, d3 43, d4 47 → 36.75
    bos = _one(wh, "team_defense_zone_analysis", d(6), "BOS")
    assert bos["pace_last_15"] == pytest.approx(36.75)
    tdgs = wh.query("SELECT defensive_rating FROM nba_analytics.team_defense_game_summary "
                    "WHERE defending_team_abbr = 'BOS' AND game_date < DATE '2025-01-06'")
    assert len(tdgs) == 4
    mean = sum(r["defensive_rating"] for r in tdgs) / 4
    assert bos["defensive_rating_last_15"] == pytest.approx(mean, abs=0.006)
    # league: NYK 59 + 3·45, BOS 147, MIA 3·33, ORL 3·35 over 14 team-games
    assert bos["league_pace_last_15"] == pytest.approx(545 / 14, abs=0.006)
    # the first date has no history: a row with NULL metrics
    first = _one(wh, "team_defense_zone_analysis", APRIL, "NYK")
    assert (first["games_in_window"], first["paint_fg_pct_allowed"],
            first["defensive_rating_last_15"]) == (0, None, None)


def test_player_shot_zones_last_10_and_20(wh: DuckDBWarehouse) -> None:
    star = _one(wh, "player_shot_zone_analysis", d(16), "bosstar")
    # 12 played games before d16 (April + d2 … d15); last 10 = d3 … d15, 10 shots each
    assert (star["games_in_window"], star["shots_last_10"], star["shots_last_20"]) == (12, 100,
                                                                                       110)
    assert (star["paint_rate_last_10"], star["mid_range_rate_last_10"],
            star["three_rate_last_10"]) == pytest.approx((0.4, 0.2, 0.4))
    # paint: 4 games at MIA (d3, d7, d11, d15) 4/4, six others 2/4 → 28/40; with d2 (at home vs
    # NYK, 2/4) over the last 20 → 30/44
    assert star["paint_fg_pct_last_10"] == pytest.approx(0.7)
    assert star["paint_fg_pct_last_20"] == pytest.approx(0.6818)
    assert star["attempts_per_game_last_10"] == pytest.approx(10.0)
    assert star["primary_zone"] == "paint"
    role = _one(wh, "player_shot_zone_analysis", d(16), "bosskip")
    assert (role["games_in_window"], role["paint_rate_last_10"], role["three_rate_last_10"],
            role["primary_zone"]) == (6, 0.5, 0.5, "paint")
    bench = _one(wh, "player_shot_zone_analysis", d(16), "bosbench")  # plays, never shoots
    assert (bench["games_in_window"], bench["shots_last_10"], bench["paint_rate_last_10"],
            bench["primary_zone"]) == (10 + 2, 0, None, None)


def test_daily_cache_points_and_season(wh: DuckDBWarehouse) -> None:
    star = _one(wh, "player_daily_cache", d(16), "bosstar")
    # last 5 before d16: 40 38 36 34 32; last 10: 22 … 40; season 2024: 20 … 40 (11 games)
    assert (star["points_avg_last_5"], star["points_avg_last_10"],
            star["points_avg_season"], star["games_played_season"]) == (36.0, 31.0, 30.0, 11)
    # sample std of 22, 24, …, 40 = 2 · sqrt(82.5 / 9)
    assert star["points_std_last_10"] == pytest.approx(6.06)
    assert star["minutes_avg_last_10"] == 30.0
    assert star["usage_rate_last_10"] is not None
    # BOS pace, last 10 games (d3 … d15): 43 47 51 55 59 (bosskip plays) 40 42 44 46 48
    assert star["team_pace_last_10"] == pytest.approx(47.5)
    assert (star["team_abbr"], star["opponent_team_abbr"]) == ("BOS", "ORL")
    # the previous season counts for "last N" but not for "season"
    nyk = _one(wh, "player_daily_cache", d(4), "nykstar")
    assert (nyk["points_avg_last_5"], nyk["points_avg_season"], nyk["games_played_season"]) == (
        pytest.approx((26 + 26 + 40) / 3, abs=0.005), 26.0, 2)


def test_lookback_is_counted_in_games(wh: DuckDBWarehouse) -> None:
    # bosskip sat out five dates (d10 … d15): on d16 his last 5 played games are d3 … d8
    skip = _one(wh, "player_daily_cache", d(16), "bosskip")
    assert (skip["points_avg_last_5"], skip["points_avg_last_10"]) == (16.0, 15.0)
    assert skip["games_played_season"] == 6
    feats = _one(wh, "ml_feature_store", d(16), "bosskip")
    assert feats["f_points_avg_last_5"] == 16.0
    assert feats["f_days_rest"] == 7.0  # 8 days since d8, capped at 7
    assert feats["required_default_count"] == 0


def test_composite_factors(wh: DuckDBWarehouse) -> None:
    # bosbench on d16: back-to-back; 5 games (d10 d11 d12 d14 d15) and 60 minutes in D−6 … D−1
    # → 0.4 + 0.3 · 1 + 0.3 · 60/144
    bench = _one(wh, "player_composite_factors", d(16), "bosbench")
    assert bench["fatigue_score"] == pytest.approx(0.825)
    # bosstar (last 10: 31.0) is out; the available BOS players average 15.0 (bosskip) and 6.0
    assert bench["teammates_out_points"] == pytest.approx(31.0)
    assert bench["usage_spike_score"] == pytest.approx(31 * 6 / 21, abs=0.001)
    skip = _one(wh, "player_composite_factors", d(16), "bosskip")
    assert skip["usage_spike_score"] == pytest.approx(31 * 15 / 21, abs=0.001)
    assert skip["fatigue_score"] == 0.0  # no game in the last 7 days
    star = _one(wh, "player_composite_factors", d(16), "bosstar")
    assert (star["usage_spike_score"], star["teammates_out_points"]) == (0.0, 0.0)
    # orlstar on d6 at MIA: mix 0.4 / 0.2 / 0.4 (d2–d4); MIA vs league +0.25 / 0 / +0.125
    orl = _one(wh, "player_composite_factors", d(6), "orlstar")
    assert orl["shot_zone_mismatch_score"] == pytest.approx(100 * (0.4 * 0.25 + 0.4 * 0.125))
    # nykstar on d6 at BOS: NYK pace (59 + 3·45)/4 = 48.5, BOS 36.75, league 545/14
    nyk = _one(wh, "player_composite_factors", d(6), "nykstar")
    assert nyk["pace_score"] == pytest.approx((48.5 + 36.75) / 2 - 545 / 14, abs=0.002)


def test_total_adjustment_combines_the_factors(wh: DuckDBWarehouse) -> None:
    # bosstar on d16 at ORL: fatigue 0.825 (b2b, 5 games, 150 minutes → 0.3·1), usage 0,
    # mismatch and pace from the tables; the sum is in points
    pcf = _one(wh, "player_composite_factors", d(16), "bosstar")
    psza = _one(wh, "player_shot_zone_analysis", d(16), "bosstar")
    pdc = _one(wh, "player_daily_cache", d(16), "bosstar")
    orl = _one(wh, "team_defense_zone_analysis", d(16), "ORL")
    assert pcf["fatigue_score"] == pytest.approx(1.0)
    expected = (-2 * 1.0 + pcf["shot_zone_mismatch_score"] / 100 * 2 * psza[
        "attempts_per_game_last_10"] + pdc["points_avg_last_10"] * pcf["pace_score"] / orl[
        "league_pace_last_15"])
    assert pcf["total_adjustment"] == pytest.approx(expected, abs=0.01)


def test_feature_store_reads_each_source(wh: DuckDBWarehouse) -> None:
    row = _one(wh, "ml_feature_store", d(6), "nykstar")
    # last 5: d4 d3 d2 (26) + April 40 → 29.5; season 26 over 3 games
    assert (row["f_points_avg_last_5"], row["f_points_avg_season"],
            row["f_games_played_season"]) == (29.5, 26.0, 3.0)
    assert (row["f_home_game"], row["f_days_rest"], row["f_back_to_back"]) == (0.0, 2.0, 0.0)
    assert (row["f_points_line"], row["f_has_line"], row["f_team_spread"],
            row["f_game_total"]) == (24.5, 1.0, 3.5, 230.5)
    assert row["f_opponent_pace_last_15"] == pytest.approx(36.75)
    assert row["f_opponent_paint_pct_allowed"] == pytest.approx(0.5)
    assert (row["required_default_count"], row["is_bootstrap"]) == (0, False)
    assert (row["team_abbr"], row["opponent_team_abbr"], row["game_id"]) == (
        "NYK", "BOS", "20250106_NYK_BOS")
    bench = _one(wh, "ml_feature_store", d(16), "bosbench")
    assert (bench["f_star_teammates_out"], bench["f_fatigue_score"]) == (1.0, 0.825)


def test_bootstrap_flag(wh: DuckDBWarehouse) -> None:
    boot = {(day, p): _one(wh, "ml_feature_store", day, p)["is_bootstrap"]
            for day, p in ((d(4), "nykstar"), (d(6), "nykstar"), (d(16), "orlrookie"),
                           (d(2), "bosbench"))}
    # nykstar: 2 games this season before d4, 3 before d6 (the April game is last season)
    assert boot == {(d(4), "nykstar"): True, (d(6), "nykstar"): False,
                    (d(16), "orlrookie"): True, (d(2), "bosbench"): True}
    rookie = _one(wh, "ml_feature_store", d(16), "orlrookie")
    assert (rookie["f_points_avg_last_5"], rookie["required_default_count"]) == (11.0, 0)


def test_player_without_history_gets_the_defaults(wh: DuckDBWarehouse) -> None:
    row = _one(wh, "ml_feature_store", d(14), "orlrookie")
    defaulted = row["defaulted_features"].split(",")
    assert defaulted == [
        "points_avg_last_5", "points_avg_last_10", "points_avg_season", "points_std_last_10",
        "minutes_avg_last_10", "usage_rate_last_10", "shot_zone_mismatch_score",
        "usage_spike_score", "paint_rate_last_10", "mid_range_rate_last_10",
        "three_rate_last_10", "days_rest", "game_total", "team_spread", "points_line"]
    assert row["required_default_count"] == len(REQUIRED) == 4
    by_name = {f.name: f for f in FEATURES}
    for name in defaulted:
        assert row[by_name[name].column] == by_name[name].default, name
    assert row["f_games_played_season"] == 0.0 and row["is_bootstrap"] is True
    assert row["f_team_pace_last_10"] == pytest.approx(35.0)  # ORL's history is known
    assert _one(wh, "ml_feature_store", d(14), "orlstar")["defaulted_features"] == (
        "game_total,team_spread,points_line")


def test_feature_store_without_any_upstream_uses_every_catalog_default(tmp_path: Any) -> None:
    wh = _new_warehouse(tmp_path / "empty.duckdb")
    try:
        context = {"game_date": d(6), "player_lookup": "nobody", "game_id": "20250106_NYK_BOS",
                   "team_abbr": "NYK"}
        wh.replace(ta.UPCOMING_PLAYER_GAME_CONTEXT, [d(6)], RowsSource([context]),
                   max_shrink=1.0, force=True)
        mlfs = P4["ml_feature_store"]
        wh.replace(mlfs, [d(6)], SqlSource(load_sql("ml_feature_store")), max_shrink=1.0)
        (row,) = _rows(wh, mlfs)
        # injury_questionable is 0 for "not listed": a value, not a default (its default is 0)
        expected = [f.name for f in FEATURES if f.name != "injury_questionable"]
        assert row["defaulted_features"] == ",".join(expected)
        assert {f.name: row[f.column] for f in FEATURES} == {f.name: f.default for f in FEATURES}
        assert (row["required_default_count"], row["is_bootstrap"]) == (len(REQUIRED), True)
    finally:
        wh.close()


# -- history never leaks forward ------------------------------------------------------------------

CUT = d(10)


def _phase4(wh: DuckDBWarehouse, until: date) -> dict[str, list[Row]]:
    return {t.name: _rows(wh, t, f"game_date <= DATE '{until}'") for t in PRECOMPUTE_TABLES}


def _changed_from(day: date) -> Points:
    """Every player's points on dates ≥ day changed (and so FGA, team totals and pace)."""
    return {p: {k: (v + 8 if v is not None and k >= day else v) for k, v in pts.items()}
            for p, pts in POINTS.items()}


def test_later_values_do_not_change_earlier_rows(wh: DuckDBWarehouse, tmp_path: Any) -> None:
    raw = build_raw(_changed_from(CUT))
    raw[tr.SHOT_CHART] = [{**s, "shot_made": True} if s["game_date"] >= CUT else s
                          for s in raw[tr.SHOT_CHART]]
    other = _new_warehouse(tmp_path / "changed.duckdb")
    try:
        run_pipeline(other, raw)
        later = _one(other, "player_daily_cache", d(11), "bosstar")["points_avg_last_5"]
        assert later != _one(wh, "player_daily_cache", d(11), "bosstar")["points_avg_last_5"]
        assert _phase4(other, CUT) == _phase4(wh, CUT)  # D's rows never read D or later
        # …while a change the day before D does reach D's rows (the test can see a leak)
        run_pipeline(other, build_raw(_changed_from(d(8))))
        before = _one(wh, "player_daily_cache", CUT, "bosstar")["points_avg_last_5"]
        after = _one(other, "player_daily_cache", CUT, "bosstar")["points_avg_last_5"]
        assert (before, after) == (26.0, pytest.approx(27.6))  # (30+28+26+24+22)/5, +8 on d8
        assert _phase4(other, d(8)) == _phase4(wh, d(8))
    finally:
        other.close()


def test_day_by_day_runs_match_one_range_run(wh: DuckDBWarehouse, tmp_path: Any) -> None:
    daily = _new_warehouse(tmp_path / "daily.duckdb")
    try:
        run_pipeline(daily, build_raw(POINTS), [[day] for day in ALL_DAYS])
        for table in PRECOMPUTE_TABLES:
            assert _rows(daily, table) == _rows(wh, table), table.name
    finally:
        daily.close()
