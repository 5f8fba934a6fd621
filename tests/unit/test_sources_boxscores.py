"""Box-score parsers (NBA.com boxscoretraditionalv2, leaguegamelog, balldontlie box_scores and
stats) on real files."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.ids import system_game_id
from backcourt.domain.registry import DateType
from backcourt.sources import (
    balldontlie,
    balldontlie_stats,
    box,
    nbacom_boxscore,
    nbacom_leaguegamelog,
    nbacom_schedule,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
SCHEDULE_GZ = files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz"
DAY = date(2025, 1, 15)
NYK_PHI = ScheduledGame("0022400561", "20250115_NYK_PHI", DAY, "2024-25", DateType.REGULAR,
                        home="PHI", away="NYK")
BOX_PATH = "raw/nbacom_boxscore/2025-01-15/0022400561.json"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _bdl_schedule(doc: dict[str, Any]) -> list[ScheduledGame]:
    """The day's schedule, built from the teams in a balldontlie file (made-up NBA.com ids)."""
    out = []
    for i, g in enumerate(doc["data"]):
        day = date.fromisoformat(g["date"])
        home, away = g["home_team"]["abbreviation"], g["visitor_team"]["abbreviation"]
        out.append(ScheduledGame(f"00223{i:05d}", system_game_id(day, away, home), day,
                                 "2023-24", DateType.REGULAR, home=home, away=away))
    return out


@pytest.fixture(scope="module")
def box_doc() -> Any:
    return _load("nbacom-boxscore-0022400561.json")


@pytest.fixture(scope="module")
def players(box_doc: Any) -> list[dict[str, Any]]:
    return nbacom_boxscore.parse_players(box_doc, BOX_PATH, DAY, [NYK_PHI])


@pytest.fixture(scope="module")
def teams(box_doc: Any) -> list[dict[str, Any]]:
    return nbacom_boxscore.parse_teams(box_doc, BOX_PATH, DAY, [NYK_PHI])


# ------------------------------------------------------------------ NBA.com boxscoretraditionalv2


def test_nbacom_rows_have_exactly_the_table_columns(players: list[dict[str, Any]],
                                                    teams: list[dict[str, Any]]) -> None:
    assert len(players) == 25  # 13 NYK + 12 PHI listed
    assert all(tuple(r) == tr.PLAYER_BOXSCORES.column_names for r in players)
    assert all(tuple(r) == tr.TEAM_BOXSCORES.column_names for r in teams)
    assert {(r["source"], r["source_file"]) for r in players + teams} == {
        ("nbacom_boxscore", BOX_PATH)}


def test_nbacom_team_rows(teams: list[dict[str, Any]]) -> None:
    by_team = {r["team_abbr"]: r for r in teams}
    assert by_team["PHI"]["points"] == 119 and by_team["NYK"]["points"] == 125
    # "265:00" team minutes: 5 players × 48 min regulation + 5 × 5 min of one overtime.
    assert by_team["PHI"]["minutes"] == by_team["NYK"]["minutes"] == 5 * 48 + 5 * 5
    assert (by_team["PHI"]["plus_minus"], by_team["NYK"]["plus_minus"]) == (-6, 6)
    assert by_team["PHI"]["is_home"] is True and by_team["NYK"]["is_home"] is False
    assert by_team["NYK"]["opponent_team_abbr"] == "PHI"
    assert {r["game_id"] for r in teams} == {"20250115_NYK_PHI"}


def test_nbacom_minutes_are_decimal(players: list[dict[str, Any]]) -> None:
    hart = next(r for r in players if r["player_name"] == "Josh Hart")
    assert hart["minutes"] == pytest.approx(49 + 25 / 60)
    assert round(hart["minutes"], 4) == 49.4167
    # Five players on the floor for 53 minutes: the players' minutes add up to 265 per team.
    for team in ("NYK", "PHI"):
        assert sum(r["minutes"] for r in players if r["team_abbr"] == team) == pytest.approx(265)


def test_nbacom_player_points_add_up_to_team_points(players: list[dict[str, Any]],
                                                    teams: list[dict[str, Any]]) -> None:
    for team in teams:
        mine = [r for r in players if r["team_abbr"] == team["team_abbr"]]
        for stat in box.COUNTING:
            assert sum(r[stat] or 0 for r in mine) == team[stat], stat


def test_nbacom_dnp_rows(players: list[dict[str, Any]]) -> None:
    dnp = [r for r in players if r["player_status"] != "active"]
    assert Counter(r["team_abbr"] for r in dnp) == {"NYK": 5, "PHI": 3}
    assert {r["player_status"] for r in dnp} == {"dnp"}
    assert all(r["minutes"] == 0.0 for r in dnp)
    assert all(r[s] is None for r in dnp for s in box.STAT_COLUMNS)
    drummond = next(r for r in dnp if r["player_name"] == "Andre Drummond")
    assert drummond["dnp_reason"] == "DND - Injury/Illness"
    assert {r["dnp_reason"] for r in dnp if r["team_abbr"] == "NYK"} == {"DNP - Coach's Decision"}
    active = [r for r in players if r["player_status"] == "active"]
    assert all(r["dnp_reason"] is None and r["points"] is not None for r in active)


def test_nbacom_starters_home_flag_and_lookup(players: list[dict[str, Any]]) -> None:
    assert Counter(r["team_abbr"] for r in players if r["starter"]) == {"NYK": 5, "PHI": 5}
    oubre = next(r for r in players if r["player_name"] == "Kelly Oubre Jr.")
    assert oubre["player_lookup"] == "kellyoubrejr"
    assert (oubre["team_abbr"], oubre["is_home"], oubre["opponent_team_abbr"]) == ("PHI", True,
                                                                                  "NYK")
    assert oubre["season_year"] == 2024 and oubre["nba_game_id"] == "0022400561"


def test_nbacom_inactive_comment(box_doc: Any) -> None:
    doc = copy.deepcopy(box_doc)
    rows = doc["resultSets"][0]["rowSet"]
    comment = doc["resultSets"][0]["headers"].index("COMMENT")
    rows[8][comment] = "NWT - Personal Reasons"
    rows[9][comment] = "Inactive - Injury/Illness"
    out = nbacom_boxscore.parse_players(doc, BOX_PATH, DAY, [NYK_PHI])
    assert [r["player_status"] for r in out[8:11]] == ["inactive", "inactive", "dnp"]


def test_nbacom_game_not_on_the_schedule(box_doc: Any) -> None:
    other = date(2025, 1, 16)
    with pytest.raises(MalformedRawFile, match="game 0022400561 not on the schedule of 2025-01-16"):
        nbacom_boxscore.parse_players(box_doc, BOX_PATH, other, [])


# ------------------------------------------------------------------ leaguegamelog


@pytest.fixture(scope="module")
def gamelog() -> Any:
    return _load("nbacom-leaguegamelog-2025-01-15.json")


def test_leaguegamelog_rows(gamelog: Any) -> None:
    rows = nbacom_leaguegamelog.parse_players(gamelog, "lgl", DAY, [NYK_PHI])
    # The hand-written file holds the 17 players who played in the NYK at PHI box score.
    assert len(rows) == 17
    assert all(tuple(r) == tr.PLAYER_BOXSCORES.column_names for r in rows)
    assert {r["player_status"] for r in rows} == {"active"}
    assert {r["game_id"] for r in rows} == {"20250115_NYK_PHI"}
    assert all(r["is_home"] == (r["team_abbr"] == "PHI") for r in rows)
    hart = next(r for r in rows if r["player_name"] == "Josh Hart")
    assert hart["minutes"] == 49.0 and hart["points"] == 10 and hart["turnovers"] == 3


def test_leaguegamelog_team_sums(gamelog: Any) -> None:
    rows = nbacom_leaguegamelog.parse_players(gamelog, "lgl", DAY, [NYK_PHI])
    teams = {t["team_abbr"]: t for t in box.team_rows_from_players(rows)}
    assert (teams["NYK"]["points"], teams["PHI"]["points"]) == (125, 119)
    assert (teams["NYK"]["plus_minus"], teams["PHI"]["plus_minus"]) == (6, -6)
    # Whole minutes lose the seconds: NYK 49+45+23+43+45+30+22+7 = 264 (the true total is 265).
    assert teams["NYK"]["minutes"] == 264
    assert teams["NYK"]["total_rebounds"] == 45 and teams["PHI"]["assists"] == 27


def test_leaguegamelog_matched_by_teams_when_the_id_differs(gamelog: Any) -> None:
    doc = copy.deepcopy(gamelog)
    gid = doc["resultSets"][0]["headers"].index("GAME_ID")
    for row in doc["resultSets"][0]["rowSet"]:
        row[gid] = None
    rows = nbacom_leaguegamelog.parse_players(doc, "lgl", DAY, [NYK_PHI])
    assert {r["nba_game_id"] for r in rows} == {"0022400561"}  # taken from the schedule


def test_leaguegamelog_wrong_matchup_and_other_date(gamelog: Any) -> None:
    doc = copy.deepcopy(gamelog)
    matchup = doc["resultSets"][0]["headers"].index("MATCHUP")
    doc["resultSets"][0]["rowSet"][0][matchup] = "NYK vs PHI"  # says NYK is at home
    with pytest.raises(MalformedRawFile, match="'NYK vs PHI' disagrees with the schedule"):
        nbacom_leaguegamelog.parse_players(doc, "lgl", DAY, [NYK_PHI])
    with pytest.raises(MalformedRawFile, match="game 0022400561 not on the schedule of 2025-01-15"):
        nbacom_leaguegamelog.parse_players(gamelog, "lgl", DAY, [])
    moved = "dated 2025-01-15 not on the schedule of 2025-01-16"
    with pytest.raises(MalformedRawFile, match=moved):
        nbacom_leaguegamelog.parse_players(gamelog, "lgl", date(2025, 1, 16), [])


# ------------------------------------------------------------------ balldontlie


@pytest.fixture(scope="module")
def bdl() -> Any:
    return _load("balldontlie-boxscores-2024-01-15.json")


def test_balldontlie_games_and_lines(bdl: Any) -> None:
    schedule = _bdl_schedule(bdl)
    rows = balldontlie.parse_players(bdl, "bdl", date(2024, 1, 15), schedule)
    assert len(rows) == 384
    assert len({r["game_id"] for r in rows}) == 11
    assert all(tuple(r) == tr.PLAYER_BOXSCORES.column_names for r in rows)
    assert {r["nba_game_id"] for r in rows} == {g.nba_game_id for g in schedule}
    assert {r["season_year"] for r in rows} == {2023}


def test_balldontlie_player_points_match_the_scores(bdl: Any) -> None:
    rows = balldontlie.parse_players(bdl, "bdl", date(2024, 1, 15), _bdl_schedule(bdl))
    teams = {(t["game_id"], t["team_abbr"]): t for t in box.team_rows_from_players(rows)}
    assert len(teams) == 22
    for g in bdl["data"]:
        gid = system_game_id(date(2024, 1, 15), g["visitor_team"]["abbreviation"],
                             g["home_team"]["abbreviation"])
        home = teams[(gid, g["home_team"]["abbreviation"])]
        assert home["points"] == g["home_team_score"]
        assert home["plus_minus"] == g["home_team_score"] - g["visitor_team_score"]


def test_balldontlie_zero_minute_players_did_not_play(bdl: Any) -> None:
    rows = balldontlie.parse_players(bdl, "bdl", date(2024, 1, 15), _bdl_schedule(bdl))
    dnp = [r for r in rows if r["player_status"] == "dnp"]
    assert len(dnp) == 155  # the "00" minute lines, all without stats
    assert all(r["minutes"] == 0.0 and r["points"] is None for r in dnp)
    embiid = next(r for r in rows if r["player_lookup"] == "joelembiid")
    assert (embiid["points"], embiid["minutes"], embiid["team_abbr"]) == (41, 31.0, "PHI")


def test_balldontlie_minutes_with_seconds_and_plus_minus() -> None:
    doc = _load("balldontlie-boxscores-2026-01-09.json")
    doc["data"][0]["home_team"]["players"][0]["min"] = "28:30"
    rows = balldontlie.parse_players(doc, "bdl", date(2026, 1, 9), _bdl_schedule(doc))
    assert len(rows) == 347 and len({r["game_id"] for r in rows}) == 10
    assert rows[0]["minutes"] == 28.5
    assert any(r["plus_minus"] for r in rows)


def test_balldontlie_game_not_on_the_schedule(bdl: Any) -> None:
    schedule = _bdl_schedule(bdl)[1:]  # drop the first game (HOU at PHI)
    with pytest.raises(MalformedRawFile, match="game HOU@PHI not on the schedule of 2024-01-15"):
        balldontlie.parse_players(bdl, "bdl", date(2024, 1, 15), schedule)


# ------------------------------------------------------------------ balldontlie stats

FINALS_DAY = date(2025, 6, 22)
STATS_SPOT_CHECK = (("pts", "points"), ("reb", "total_rebounds"), ("ast", "assists"),
                    ("fg3m", "three_pt_made"), ("turnover", "turnovers"), ("pf", "personal_fouls"))


def _file_minutes(text: str) -> float:
    """The minutes of a balldontlie ``min`` string ("38", "38:12", "00", "")."""
    whole, _, seconds = text.partition(":")
    return int(whole or 0) + int(seconds or 0) / 60


@pytest.fixture(scope="module")
def stats_doc() -> Any:
    return _load("balldontlie-stats-2025-06-22.json")


@pytest.fixture(scope="module")
def finals() -> list[ScheduledGame]:
    """The games of 2025-06-22 on the real 2024-25 schedule (one: Finals Game 7)."""
    doc = json.loads(gzip.decompress(SCHEDULE_GZ.read_bytes()))
    rows = nbacom_schedule.parse(doc, "schedule")
    return [nbacom_schedule.scheduled_game(r) for r in rows if r["game_date"] == FINALS_DAY]


@pytest.fixture(scope="module")
def stats_rows(stats_doc: Any, finals: list[ScheduledGame]) -> list[dict[str, Any]]:
    return balldontlie_stats.parse_players(stats_doc, "stats", FINALS_DAY, finals)


def test_balldontlie_stats_game_from_the_real_schedule(
        stats_doc: Any, finals: list[ScheduledGame], stats_rows: list[dict[str, Any]]) -> None:
    (game,) = finals
    assert (game.nba_game_id, game.away, game.home) == ("0042400407", "IND", "OKC")
    assert len(stats_rows) == len(stats_doc["data"]) == 30
    assert all(tuple(r) == tr.PLAYER_BOXSCORES.column_names for r in stats_rows)
    assert {(r["nba_game_id"], r["game_id"], r["game_date"], r["season_year"])
            for r in stats_rows} == {("0042400407", "20250622_IND_OKC", FINALS_DAY, 2024)}
    assert {(r["source"], r["source_file"]) for r in stats_rows} == {("balldontlie_stats",
                                                                      "stats")}
    home_id = stats_doc["data"][0]["game"]["home_team_id"]
    for rec, row in zip(stats_doc["data"], stats_rows, strict=True):
        assert row["team_abbr"] == rec["team"]["abbreviation"]
        assert row["is_home"] is (rec["team"]["id"] == home_id)
        assert row["opponent_team_abbr"] == ({"OKC", "IND"} - {row["team_abbr"]}).pop()


def test_balldontlie_stats_every_players_points_and_minutes(
        stats_doc: Any, stats_rows: list[dict[str, Any]]) -> None:
    by_id = {r["player_id"]: r for r in stats_rows}
    assert len(by_id) == len(stats_doc["data"])
    for rec in stats_doc["data"]:
        row = by_id[rec["player"]["id"]]
        assert row["player_name"] == f"{rec['player']['first_name']} {rec['player']['last_name']}"
        assert row["minutes"] == _file_minutes(rec["min"])
        assert (row["points"] or 0) == rec["pts"]
        # 0 minutes and no stats: did not play, stats NULL (as in balldontlie box_scores).
        played = _file_minutes(rec["min"]) > 0
        assert row["player_status"] == ("active" if played else "dnp")
        for key, column in STATS_SPOT_CHECK:
            assert row[column] == (rec[key] if played else None), (rec["player"], column)
        assert row["plus_minus"] is None  # the stats endpoint has no plus_minus
    sga = next(r for r in stats_rows if r["player_name"] == "Shai Gilgeous-Alexander")
    assert (sga["points"], sga["minutes"]) == (29, 40.0)


def test_balldontlie_stats_team_points_are_the_final_score(
        stats_doc: Any, finals: list[ScheduledGame], stats_rows: list[dict[str, Any]]) -> None:
    game = stats_doc["data"][0]["game"]
    teams = {t["team_abbr"]: t for t in box.team_rows_from_players(stats_rows)}
    for team in ("OKC", "IND"):
        file_points = sum(r["pts"] for r in stats_doc["data"]
                          if r["team"]["abbreviation"] == team)
        assert teams[team]["points"] == file_points
    assert teams["OKC"]["points"] == game["home_team_score"] == finals[0].home_score == 103
    assert teams["IND"]["points"] == game["visitor_team_score"] == finals[0].away_score == 91
    assert (teams["OKC"]["plus_minus"], teams["IND"]["plus_minus"]) == (12, -12)
    assert {t["source"] for t in teams.values()} == {"balldontlie_stats"}


def test_balldontlie_stats_minutes_with_seconds_and_blank(
        stats_doc: Any, finals: list[ScheduledGame]) -> None:
    doc = copy.deepcopy(stats_doc)
    doc["data"][0]["min"] = "38:12"
    dnp = next(i for i, r in enumerate(doc["data"]) if r["min"] == "00")
    doc["data"][dnp]["min"] = ""
    rows = balldontlie_stats.parse_players(doc, "stats", FINALS_DAY, finals)
    assert rows[0]["minutes"] == pytest.approx(38.2)
    assert (rows[dnp]["minutes"], rows[dnp]["player_status"]) == (0.0, "dnp")


def test_balldontlie_stats_without_a_schedule(stats_doc: Any) -> None:
    """At ingest (no schedule) the game is read from the file itself."""
    rows = balldontlie_stats.parse_players(stats_doc, "stats")
    assert {(r["game_id"], r["nba_game_id"]) for r in rows} == {("20250622_IND_OKC", None)}
    assert balldontlie_stats.dates_of(stats_doc, "stats") == {FINALS_DAY}
