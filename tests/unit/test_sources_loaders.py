"""Phase-2 loaders over a folder bucket: per-date rows, bad files, box-score priority."""

from __future__ import annotations

import gzip
import json
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import ScheduleMissing
from backcourt.domain.ids import system_game_id
from backcourt.domain.registry import DateType
from backcourt.sources import loaders, nbacom_schedule
from backcourt.sources.layout import raw_path, schedule_path
from backcourt.sources.loaders import LoadContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
JAN15 = date(2025, 1, 15)
NYK_PHI = ScheduledGame("0022400561", "20250115_NYK_PHI", JAN15, "2024-25", DateType.REGULAR,
                        home="PHI", away="NYK")
BDL_DAY = date(2024, 1, 15)


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _schedule_bytes() -> bytes:
    return gzip.decompress((files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz")
                           .read_bytes())


def _bdl_games() -> list[ScheduledGame]:
    doc = json.loads(_fixture("balldontlie-boxscores-2024-01-15.json"))
    out = []
    for i, g in enumerate(doc["data"]):
        home, away = g["home_team"]["abbreviation"], g["visitor_team"]["abbreviation"]
        out.append(ScheduledGame(f"00223{i:05d}", system_game_id(BDL_DAY, away, home), BDL_DAY,
                                 "2023-24", DateType.REGULAR, home=home, away=away))
    return out


def _gamelog_from_bdl_game(game: dict[str, Any]) -> bytes:
    """A leaguegamelog file for one balldontlie game, every minute count doubled (so we can tell
    which source a row came from)."""
    headers = ["PLAYER_ID", "PLAYER_NAME", "TEAM_ABBREVIATION", "GAME_ID", "GAME_DATE", "MATCHUP",
               "MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST",
               "STL", "BLK", "TOV", "PF", "PTS", "PLUS_MINUS"]
    home, away = game["home_team"]["abbreviation"], game["visitor_team"]["abbreviation"]
    rows = []
    sides = (("home_team", f"{home} vs. {away}"), ("visitor_team", f"{away} @ {home}"))
    for side, matchup in sides:
        for p in game[side]["players"]:
            if p["min"] == "00":
                continue
            name = f"{p['player']['first_name']} {p['player']['last_name']}"
            rows.append([p["player"]["id"], name, game[side]["abbreviation"], None, game["date"],
                         matchup, 2 * int(p["min"]), p["fgm"], p["fga"], p["fg3m"], p["fg3a"],
                         p["ftm"], p["fta"], p["oreb"], p["dreb"], p["reb"], p["ast"], p["stl"],
                         p["blk"], p["turnover"], p["pf"], p["pts"], 0])
    doc = {"resultSets": [{"name": "LeagueGameLog", "headers": headers, "rowSet": rows}]}
    return json.dumps(doc).encode()


@pytest.fixture
def bucket(tmp_path: Path) -> FolderBucket:
    return FolderBucket(tmp_path)


# ------------------------------------------------------------------ schedule


def test_load_schedule_returns_each_days_games(bucket: FolderBucket) -> None:
    raw = _schedule_bytes()
    bucket.write(schedule_path("2024-25"), raw)
    days = [JAN15, date(2025, 2, 16), date(2025, 6, 30)]
    out = loaders.load_schedule(LoadContext(bucket, days, {}))
    expected = {d.isoformat(): 0 for d in days}
    for game_date in json.loads(raw)["leagueSchedule"]["gameDates"]:
        for game in game_date["games"]:
            day = game["gameDateEst"][:10]
            if day in expected:
                expected[day] += 1
    assert {d.isoformat(): len(out[d].rows) for d in days} == expected
    assert expected[JAN15.isoformat()] > 0 and expected["2025-02-16"] == 3  # All-Star Sunday
    assert "0022400561" in {r["nba_game_id"] for r in out[JAN15].rows}
    assert out[JAN15].files == 1
    # A season without a file (2023-24, 2025-26) is unknown, not a season without games.
    for other in (date(2023, 12, 25), date(2025, 7, 15)):
        with pytest.raises(ScheduleMissing):
            loaders.load_schedule(LoadContext(bucket, [JAN15, other], {}))
    assert all(not load.bad_files for load in out.values())


def test_bad_schedule_file_is_reported_on_every_day_of_its_season(bucket: FolderBucket) -> None:
    bucket.write(schedule_path("2024-25"), _schedule_bytes()[:5000])
    days = [JAN15, date(2025, 1, 16)]
    out = loaders.load_schedule(LoadContext(bucket, days, {}))
    for day in days:
        assert [e.path for e in out[day].bad_files] == [schedule_path("2024-25")]
        assert "truncated JSON" in out[day].bad_files[0].problem
        assert out[day].rows == []


# ------------------------------------------------------------------ box scores


def test_nbacom_box_score_wins_over_leaguegamelog(bucket: FolderBucket) -> None:
    bucket.write(raw_path("nbacom_boxscore", JAN15, "0022400561.json"),
                 _fixture("nbacom-boxscore-0022400561.json"))
    bucket.write(raw_path("nbacom_leaguegamelog", JAN15, "leaguegamelog.json"),
                 _fixture("nbacom-leaguegamelog-2025-01-15.json"))
    ctx = LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]})
    players = loaders.load_player_boxscores(ctx)[JAN15]
    teams = loaders.load_team_boxscores(ctx)[JAN15]
    assert len(players.rows) == 25 and {r["source"] for r in players.rows} == {"nbacom_boxscore"}
    assert {r["minutes"] for r in teams.rows} == {265}  # NBA.com TeamStats
    assert players.bad_files == [] and players.files == 1  # every game covered: stop reading


def test_leaguegamelog_used_when_nbacom_file_is_bad(bucket: FolderBucket) -> None:
    bad_path = raw_path("nbacom_boxscore", JAN15, "0022400561.json")
    bucket.write(bad_path, _fixture("nbacom-boxscore-0022400561.json")[:1000])
    bucket.write(raw_path("nbacom_leaguegamelog", JAN15, "leaguegamelog.json"),
                 _fixture("nbacom-leaguegamelog-2025-01-15.json"))
    ctx = LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]})
    players = loaders.load_player_boxscores(ctx)[JAN15]
    assert [e.path for e in players.bad_files] == [bad_path]
    assert len(players.rows) == 17 and players.files == 2
    assert {r["source"] for r in players.rows} == {"nbacom_leaguegamelog"}
    teams = {r["team_abbr"]: r for r in loaders.load_team_boxscores(ctx)[JAN15].rows}
    assert (teams["NYK"]["points"], teams["NYK"]["plus_minus"], teams["NYK"]["minutes"]) == (
        125, 6, 264)


def test_priority_is_per_game(bucket: FolderBucket) -> None:
    bdl = json.loads(_fixture("balldontlie-boxscores-2024-01-15.json"))
    hou_phi = bdl["data"][0]
    bucket.write(raw_path("balldontlie_boxscores", BDL_DAY, "box_scores.json"),
                 _fixture("balldontlie-boxscores-2024-01-15.json"))
    bucket.write(raw_path("nbacom_leaguegamelog", BDL_DAY, "leaguegamelog.json"),
                 _gamelog_from_bdl_game(hou_phi))
    games = _bdl_games()
    ctx = LoadContext(bucket, [BDL_DAY], {BDL_DAY: games})
    rows = loaders.load_player_boxscores(ctx)[BDL_DAY].rows
    by_game: dict[str, set[str]] = {}
    for r in rows:
        by_game.setdefault(r["game_id"], set()).add(r["source"])
    assert by_game.pop("20240115_HOU_PHI") == {"nbacom_leaguegamelog"}  # taken whole
    assert len(by_game) == 10 and all(s == {"balldontlie_boxscores"} for s in by_game.values())
    embiid = next(r for r in rows if r["player_lookup"] == "joelembiid")
    assert embiid["minutes"] == 62.0  # 2 × 31 from the gamelog, not balldontlie's 31
    teams = loaders.load_team_boxscores(ctx)[BDL_DAY].rows
    assert len(teams) == 22
    phi = next(t for t in teams if t["team_abbr"] == "PHI")
    assert (phi["points"], phi["source"]) == (hou_phi["home_team_score"], "nbacom_leaguegamelog")


def test_box_score_of_a_game_not_on_the_schedule_is_bad(bucket: FolderBucket) -> None:
    jan16 = date(2025, 1, 16)
    path = raw_path("nbacom_leaguegamelog", jan16, "leaguegamelog.json")
    bucket.write(path, _fixture("nbacom-leaguegamelog-2025-01-15.json"))
    other = ScheduledGame("0022400570", "20250116_BOS_LAL", jan16, "2024-25", DateType.REGULAR,
                          home="LAL", away="BOS")
    out = loaders.load_player_boxscores(LoadContext(bucket, [jan16], {jan16: [other]}))[jan16]
    assert out.rows == []
    assert [e.path for e in out.bad_files] == [path]
    assert "not on the schedule of 2025-01-16" in out.bad_files[0].problem


def test_day_without_files(bucket: FolderBucket) -> None:
    out = loaders.load_player_boxscores(LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]}))
    assert (out[JAN15].rows, out[JAN15].bad_files, out[JAN15].files) == ([], [], 0)


# ------------------------------------------------------------------ point-in-time sources


def test_odds_and_injury_loaders(bucket: FolderBucket) -> None:
    lines_day, props_day, injury_day = date(2024, 1, 24), date(2025, 1, 20), date(2024, 1, 4)
    bucket.write(raw_path("oddsapi_game_lines", lines_day, "cd0b_035540.json"),
                 _fixture("oddsapi-historical-game-lines-2024-01-25.json"))
    bucket.write(raw_path("oddsapi_player_props", props_day, "a1b2_180000.json"),
                 _fixture("oddsapi-player-props-example.json"))
    bucket.write(raw_path("nbacom_injury_report", injury_day, "20240104_12.json"),
                 _fixture("nbacom-injury-report-2024-01-04-parsed.json"))
    lines = loaders.load_game_lines(LoadContext(bucket, [lines_day], {}))
    props = loaders.load_player_props(LoadContext(bucket, [props_day], {}))
    injuries = loaders.load_injury_report(LoadContext(bucket, [injury_day], {}))
    assert (len(lines[lines_day].rows), lines[lines_day].files) == (8, 1)
    assert len(props[props_day].rows) == 3
    assert len(injuries[injury_day].rows) == 14


def test_odds_file_under_the_wrong_date_is_bad(bucket: FolderBucket) -> None:
    # Stored under the UTC date of the tip (the 25th), but the game is on the 24th in New York.
    wrong = date(2024, 1, 25)
    path = raw_path("oddsapi_game_lines", wrong, "cd0b_035540.json")
    bucket.write(path, _fixture("oddsapi-historical-game-lines-2024-01-25.json"))
    out = loaders.load_game_lines(LoadContext(bucket, [wrong], {}))[wrong]
    assert out.rows == [] and [e.path for e in out.bad_files] == [path]
    assert "starts on 2024-01-24 (America/New_York), not 2024-01-25" in out.bad_files[0].problem


def test_injury_records_of_other_dates_are_left_out(bucket: FolderBucket) -> None:
    doc = json.loads(_fixture("nbacom-injury-report-2024-01-04-parsed.json"))
    for rec in doc["records"][:3]:
        rec["date"] = "01/05/2024"
    day = date(2024, 1, 4)
    bucket.write(raw_path("nbacom_injury_report", day, "20240104_12.json"),
                 json.dumps(doc).encode())
    out = loaders.load_injury_report(LoadContext(bucket, [day], {}))[day]
    assert len(out.rows) == 11 and {r["game_date"] for r in out.rows} == {day}


# ------------------------------------------------------------------ balldontlie stats (lowest)

FINALS_DAY = date(2025, 6, 22)
STATS_FILE = "balldontlie-stats-2025-06-22.json"


def _finals_games() -> list[ScheduledGame]:
    """The games of 2025-06-22 on the real 2024-25 schedule."""
    rows = nbacom_schedule.parse(json.loads(_schedule_bytes()), "schedule")
    return [nbacom_schedule.scheduled_game(r) for r in rows if r["game_date"] == FINALS_DAY]


def _played(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The stats lines of the players who played (minutes other than "00")."""
    return [r for r in doc["data"] if r["min"] != "00"]


def _box_scores_from_stats(doc: dict[str, Any]) -> bytes:
    """A balldontlie box_scores file of the same game, listing only the players who played (so
    its rows can be told apart from the stats file's)."""
    game = doc["data"][0]["game"]
    sides: dict[int, dict[str, Any]] = {}
    for rec in _played(doc):
        side = sides.setdefault(rec["team"]["id"], {**rec["team"], "players": []})
        side["players"].append({k: v for k, v in rec.items() if k not in ("team", "game")})
    out = {"date": game["date"], "status": game["status"],
           "home_team_score": game["home_team_score"],
           "visitor_team_score": game["visitor_team_score"],
           "home_team": sides[game["home_team_id"]],
           "visitor_team": sides[game["visitor_team_id"]]}
    return json.dumps({"data": [out]}).encode()


def _gamelog_from_stats(doc: dict[str, Any], nba_game_id: str) -> bytes:
    """An NBA.com leaguegamelog of the same game (players who played, no DNP rows)."""
    headers = ["PLAYER_ID", "PLAYER_NAME", "TEAM_ABBREVIATION", "GAME_ID", "GAME_DATE", "MATCHUP",
               "MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST",
               "STL", "BLK", "TOV", "PF", "PTS", "PLUS_MINUS"]
    keys = ["fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
            "turnover", "pf", "pts"]
    abbr = {r["team"]["id"]: r["team"]["abbreviation"] for r in doc["data"]}
    rows = []
    for rec in _played(doc):
        game = rec["game"]
        home, away = abbr[game["home_team_id"]], abbr[game["visitor_team_id"]]
        mine = rec["team"]["abbreviation"]
        matchup = f"{home} vs. {away}" if mine == home else f"{away} @ {home}"
        name = f"{rec['player']['first_name']} {rec['player']['last_name']}"
        rows.append([rec["player"]["id"], name, mine, nba_game_id, game["date"], matchup,
                     int(rec["min"]), *(rec[k] for k in keys), 0])
    doc_out = {"resultSets": [{"name": "LeagueGameLog", "headers": headers, "rowSet": rows}]}
    return json.dumps(doc_out).encode()


def _finals_ctx(bucket: FolderBucket) -> LoadContext:
    return LoadContext(bucket, [FINALS_DAY], {FINALS_DAY: _finals_games()})


STATS_PATH = raw_path("balldontlie_stats", FINALS_DAY, "stats.json")


def test_balldontlie_stats_alone_cover_the_game(bucket: FolderBucket) -> None:
    bucket.write(STATS_PATH, _fixture(STATS_FILE))
    ctx = _finals_ctx(bucket)
    players = loaders.load_player_boxscores(ctx)[FINALS_DAY]
    doc = json.loads(_fixture(STATS_FILE))
    assert (len(players.rows), players.bad_files, players.files) == (len(doc["data"]), [], 1)
    assert {(r["source"], r["nba_game_id"]) for r in players.rows} == {
        ("balldontlie_stats", "0042400407")}
    teams = {t["team_abbr"]: t for t in loaders.load_team_boxscores(ctx)[FINALS_DAY].rows}
    game = doc["data"][0]["game"]
    assert (teams["OKC"]["points"], teams["IND"]["points"]) == (
        game["home_team_score"], game["visitor_team_score"]) == (103, 91)
    assert {t["source"] for t in teams.values()} == {"balldontlie_stats"}


def test_balldontlie_box_scores_win_over_stats(bucket: FolderBucket) -> None:
    doc = json.loads(_fixture(STATS_FILE))
    bucket.write(STATS_PATH, _fixture(STATS_FILE))
    bucket.write(raw_path("balldontlie_boxscores", FINALS_DAY, "box_scores.json"),
                 _box_scores_from_stats(doc))
    ctx = _finals_ctx(bucket)
    players = loaders.load_player_boxscores(ctx)[FINALS_DAY]
    assert len(players.rows) == len(_played(doc)) < len(doc["data"])  # taken whole, no mixing
    assert {r["source"] for r in players.rows} == {"balldontlie_boxscores"}
    assert players.files == 1  # the game is covered: the stats file is not read
    teams = loaders.load_team_boxscores(ctx)[FINALS_DAY].rows
    assert {(t["team_abbr"], t["points"], t["source"]) for t in teams} == {
        ("OKC", 103, "balldontlie_boxscores"), ("IND", 91, "balldontlie_boxscores")}


def test_nbacom_gamelog_wins_over_stats(bucket: FolderBucket) -> None:
    doc = json.loads(_fixture(STATS_FILE))
    (game,) = _finals_games()
    bucket.write(STATS_PATH, _fixture(STATS_FILE))
    bucket.write(raw_path("nbacom_leaguegamelog", FINALS_DAY, "leaguegamelog.json"),
                 _gamelog_from_stats(doc, game.nba_game_id))
    players = loaders.load_player_boxscores(_finals_ctx(bucket))[FINALS_DAY]
    assert len(players.rows) == len(_played(doc))
    assert {r["source"] for r in players.rows} == {"nbacom_leaguegamelog"}
    assert players.files == 1


def test_balldontlie_stats_used_when_the_higher_file_is_bad(bucket: FolderBucket) -> None:
    doc = json.loads(_fixture(STATS_FILE))
    bad = raw_path("balldontlie_boxscores", FINALS_DAY, "box_scores.json")
    bucket.write(bad, _box_scores_from_stats(doc)[:500])
    bucket.write(STATS_PATH, _fixture(STATS_FILE))
    players = loaders.load_player_boxscores(_finals_ctx(bucket))[FINALS_DAY]
    assert [e.path for e in players.bad_files] == [bad] and players.files == 2
    assert len(players.rows) == len(doc["data"])
    assert {r["source"] for r in players.rows} == {"balldontlie_stats"}


def test_box_priority_ends_with_balldontlie_stats() -> None:
    assert loaders.BOX_PRIORITY == ("nbacom_boxscore", "nbacom_leaguegamelog",
                                    "balldontlie_boxscores", "balldontlie_stats")
