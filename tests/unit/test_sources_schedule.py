"""NBA.com scheduleLeagueV2 parser, on the real 2024-25 schedule."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any

import pytest

from backcourt.domain import tables_raw as tr
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.registry import DateType
from backcourt.sources import nbacom_schedule

PATH = "raw/nbacom_schedule/2024-25/scheduleLeagueV2.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    data = (files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz").read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


@pytest.fixture(scope="module")
def rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return nbacom_schedule.parse(doc, PATH)


def _games(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for d in doc["leagueSchedule"]["gameDates"] for g in d["games"]]


def test_every_game_is_a_row_with_exactly_the_table_columns(rows: list[dict[str, Any]]) -> None:
    assert len(rows) == 1400
    assert all(tuple(r) == tr.SCHEDULE.column_names for r in rows)
    assert {r["source"] for r in rows} == {"nbacom_schedule"}
    assert {r["source_file"] for r in rows} == {PATH}


def test_game_types_counted_from_the_id_prefix(rows: list[dict[str, Any]]) -> None:
    # README of the fixtures: 001 preseason, 002 regular, 003 all-star, 004 playoffs,
    # 005 play-in, 006 cup final; an 82-game season of 30 teams has 30 * 82 / 2 = 1230 games.
    assert Counter(r["game_type"] for r in rows) == {
        "regular": 1230, "playoffs": 84, "play_in": 6, "cup_final": 1, "all_star": 6,
        "preseason": 73,
    }


def test_the_nyk_at_phi_game(rows: list[dict[str, Any]]) -> None:
    row = next(r for r in rows if r["nba_game_id"] == "0022400561")
    assert row["game_date"] == date(2025, 1, 15)
    assert (row["away_team_abbr"], row["home_team_abbr"]) == ("NYK", "PHI")
    assert row["game_id"] == "20250115_NYK_PHI"
    assert (row["home_team_score"], row["away_team_score"]) == (119, 125)
    assert (row["season"], row["season_year"], row["game_type"]) == ("2024-25", 2024, "regular")
    assert row["game_status"] == 3 and row["postponed"] is False


def test_tip_time_is_eastern_wall_time(doc: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    # gameDateTimeEst is Eastern wall time tagged Z; the same file also carries the true UTC
    # instant (gameDateTimeUTC), which must agree for every game, across both DST changes.
    utc = {g["gameId"]: datetime.fromisoformat(g["gameDateTimeUTC"]) for g in _games(doc)}
    assert all(r["tip_time_et"] == utc[r["nba_game_id"]] for r in rows)
    abu_dhabi = next(r for r in rows if r["nba_game_id"] == "0012400001")
    assert abu_dhabi["tip_time_et"] == datetime(2024, 10, 4, 16, 0, tzinfo=UTC)  # noon EDT


def test_exhibition_teams_are_kept_for_all_star_games(rows: list[dict[str, Any]]) -> None:
    all_star = [r for r in rows if r["game_type"] == "all_star"]
    assert {r["game_date"] for r in all_star} == {date(2025, 2, 14), date(2025, 2, 16)}
    assert "CHK" in {r["home_team_abbr"] for r in all_star}
    cup = next(r for r in rows if r["game_type"] == "cup_final")
    assert (cup["home_team_abbr"], cup["away_team_abbr"], cup["is_neutral"]) == ("OKC", "MIL", True)


def test_scheduled_games_by_date(rows: list[dict[str, Any]]) -> None:
    games = nbacom_schedule.games_by_date(rows)
    assert sum(len(g) for g in games.values()) == 1400
    nyk_phi = next(g for g in games[date(2025, 1, 15)] if g.nba_game_id == "0022400561")
    assert (nyk_phi.home, nyk_phi.away, nyk_phi.game_type) == ("PHI", "NYK", DateType.REGULAR)
    assert nyk_phi.is_final


def test_unknown_team_in_a_regular_game_is_malformed(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    game = next(g for g in _games(bad) if g["gameId"] == "0022400561")
    game["homeTeam"]["teamTricode"] = "XYZ"
    with pytest.raises(MalformedRawFile, match="unknown team 'XYZ'") as err:
        nbacom_schedule.parse(bad, PATH)
    assert err.value.path == PATH


def test_missing_field_and_wrong_type_are_named(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    del _games(bad)[5]["gameDateEst"]
    with pytest.raises(MalformedRawFile, match=r"games\[\d+\] missing field gameDateEst"):
        nbacom_schedule.parse(bad, PATH)
    bad = copy.deepcopy(doc)
    _games(bad)[0]["gameStatus"] = "final"
    with pytest.raises(MalformedRawFile, match="gameStatus: expected an integer"):
        nbacom_schedule.parse(bad, PATH)
    with pytest.raises(MalformedRawFile, match="missing field leagueSchedule"):
        nbacom_schedule.parse({"meta": {}}, PATH)


def test_undecided_games_are_skipped_and_unplayed_scores_are_null() -> None:
    def game(gid: str, home: str, status: int) -> dict[str, Any]:
        return {"gameId": gid, "gameDateEst": "2025-04-30T00:00:00Z", "gameStatus": status,
                "gameDateTimeEst": "2025-04-30T19:30:00Z", "postponedStatus": "N",
                "gameLabel": "", "isNeutral": False,
                "homeTeam": {"teamTricode": home, "score": 0},
                "awayTeam": {"teamTricode": "BOS", "score": 0}}

    doc = {"leagueSchedule": {"seasonYear": "2024-25", "gameDates": [{"games": [
        game("0042400101", "NYK", 1), game("0042400102", "", 1)]}]}}
    rows = nbacom_schedule.parse(doc, PATH)
    assert [r["nba_game_id"] for r in rows] == ["0042400101"]
    assert rows[0]["home_team_score"] is None and rows[0]["game_label"] is None
