"""Malformed raw files fail with a MalformedRawFile that names the file and the problem."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import MalformedRawFile, TerminalError
from backcourt.domain.registry import DateType
from backcourt.sources import balldontlie, balldontlie_stats, nbacom_boxscore, oddsapi_props
from backcourt.sources.parsing import decode

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
DAY = date(2025, 1, 15)
GAME = ScheduledGame("0022400561", "20250115_NYK_PHI", DAY, "2024-25", DateType.REGULAR,
                     home="PHI", away="NYK")
PATH = "raw/nbacom_boxscore/2025-01-15/0022400561.json"
BOX_BYTES = (FIXTURES / "nbacom-boxscore-0022400561.json").read_bytes()


def _players(data: bytes) -> list[dict[str, Any]]:
    return nbacom_boxscore.parse_players(decode(data, PATH), PATH, DAY, [GAME])


def _teams(data: bytes) -> list[dict[str, Any]]:
    return nbacom_boxscore.parse_teams(decode(data, PATH), PATH, DAY, [GAME])


def _edit(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = copy.deepcopy(json.loads(BOX_BYTES))
    change(doc)
    return json.dumps(doc).encode()


def _player_set(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc["resultSets"][0]
    return result


def _drop_header(doc: dict[str, Any]) -> None:
    ps = _player_set(doc)
    i = ps["headers"].index("PTS")
    del ps["headers"][i]
    for row in ps["rowSet"]:
        del row[i]


def _set(header: str, value: Any, row: int = 0) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        ps = _player_set(doc)
        ps["rowSet"][row][ps["headers"].index(header)] = value

    return change


CASES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty file"),
    ("blank", b"  \n", "empty file"),
    ("truncated", BOX_BYTES[: len(BOX_BYTES) // 2], "truncated JSON"),
    ("garbage", b"{'not': json}", "not valid JSON"),
    ("cp1250", "{\"x\": \"Dončić, Müller\"}".encode("cp1250"), "not UTF-8"),
    ("truncated gzip", gzip.compress(BOX_BYTES)[:200], "truncated or corrupt gzip"),
    ("not an object", b"[1, 2]", "file: expected an object, got list"),
    ("no resultSets", b'{"resource": "boxscore"}', "file missing field resultSets"),
    ("missing header", _edit(_drop_header), "resultSets[PlayerStats] missing header PTS"),
    ("short row", _edit(lambda d: _player_set(d)["rowSet"][2].pop()),
     "resultSets[PlayerStats].rowSet[2] has 28 values for 29 headers"),
    ("wrong type", _edit(_set("FGM", "four")),
     "resultSets[PlayerStats].rowSet[0].FGM: expected an integer, got str 'four'"),
    ("fractional count", _edit(_set("PTS", 10.5)), "PTS: expected an integer, got 10.5"),
    ("unknown team", _edit(_set("TEAM_ABBREVIATION", "XYZ")),
     "rowSet[0].TEAM_ABBREVIATION: unknown team 'XYZ'"),
    ("team not in game", _edit(_set("TEAM_ABBREVIATION", "BOS")),
     "team BOS does not play in NYK@PHI"),
    ("bad minutes", _edit(_set("MIN", "49:75")), "MIN: expected minutes as MM:SS, got '49:75'"),
    ("stats without minutes", _edit(_set("MIN", None)), "MIN is null but stats are present"),
    ("null stat of a player who played", _edit(_set("REB", None)),
     "rowSet[0].REB: expected an integer, got null"),
    ("wrong game id", _edit(_set("GAME_ID", "0022400999", 3)),
     "rowSet[3].GAME_ID '0022400999' is not game 0022400561"),
]


@pytest.mark.parametrize(("data", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_box_scores_are_named(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedRawFile) as err:
        _players(data)
    assert problem in err.value.problem
    assert err.value.path == PATH
    assert str(err.value).startswith(PATH)
    assert isinstance(err.value, TerminalError)


def test_missing_team_stats_set() -> None:
    data = _edit(lambda d: d["resultSets"].pop(1))
    assert len(_players(data)) == 25  # the player set is still fine
    with pytest.raises(MalformedRawFile, match=r"resultSets\[TeamStats\] missing"):
        _teams(data)


def test_box_score_with_one_team_only() -> None:
    def only_nyk(doc: dict[str, Any]) -> None:
        ps = _player_set(doc)
        ps["rowSet"] = [r for r in ps["rowSet"] if r[2] == "NYK"]

    with pytest.raises(MalformedRawFile, match="has no player rows for PHI"):
        _players(_edit(only_nyk))


def test_bad_balldontlie_and_odds_shapes() -> None:
    with pytest.raises(MalformedRawFile, match="data: expected an array, got dict"):
        balldontlie.parse_players({"data": {"date": "2024-01-15"}}, "b.json")
    doc = json.loads((FIXTURES / "balldontlie-boxscores-2024-01-15.json").read_text())
    doc["data"][4]["home_team"]["players"][2]["pts"] = "12"
    with pytest.raises(MalformedRawFile, match=r"data\[4\].home_team.players\[2\].pts: expected an "
                                               "integer, got str '12'"):
        balldontlie.parse_players(doc, "b.json")
    with pytest.raises(MalformedRawFile, match="event.commence_time: expected an ISO timestamp"):
        oddsapi_props.parse({"id": "e", "commence_time": "tonight", "bookmakers": []}, "p.json")


# ------------------------------------------------------------------ balldontlie stats

STATS_DAY = date(2025, 6, 22)
FINALS = ScheduledGame("0042400407", "20250622_IND_OKC", STATS_DAY, "2024-25", DateType.PLAYOFFS,
                       home="OKC", away="IND")
STATS_PATH = "raw/balldontlie_stats/2025-06-22/stats.json"
STATS = json.loads((FIXTURES / "balldontlie-stats-2025-06-22.json").read_bytes())


def _stats(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(STATS)
    change(doc)
    return doc


def _every_game(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for rec in doc["data"]:
            rec["game"][key] = value

    return change


def _top_scorer(doc: dict[str, Any]) -> int:
    return max(range(len(doc["data"])), key=lambda i: doc["data"][i]["pts"])


def _visitors_only(doc: dict[str, Any]) -> None:
    home_id = doc["data"][0]["game"]["home_team_id"]
    doc["data"] = [r for r in doc["data"] if r["team"]["id"] != home_id]


STATS_CASES: list[tuple[str, Any, str]] = [
    ("not an object", [1, 2], "file: expected an object, got list"),
    ("no data", {"meta": {"per_page": 100}}, "file missing field data"),
    ("data not an array", _stats(lambda d: d.update(data={"date": "2025-06-22"})),
     "data: expected an array, got dict"),
    ("row not an object", _stats(lambda d: d["data"].__setitem__(3, "Jalen")),
     "data[3]: expected an object, got str"),
    ("missing game", _stats(lambda d: d["data"][3].pop("game")), "data[3] missing field game"),
    ("missing points", _stats(lambda d: d["data"][3].pop("pts")), "data[3] missing field pts"),
    ("missing score", _stats(lambda d: d["data"][0]["game"].pop("home_team_score")),
     "data[0].game missing field home_team_score"),
    ("points as text", _stats(lambda d: d["data"][4].update(pts="29")),
     "data[4].pts: expected an integer, got str '29'"),
    ("game id as text", _stats(lambda d: d["data"][0]["game"].update(id="x")),
     "data[0].game.id: expected an integer, got str 'x'"),
    ("bad minutes", _stats(lambda d: d["data"][4].update(min="40:75")),
     "data[4].min: expected minutes as MM:SS, got '40:75'"),
    ("unknown team", _stats(lambda d: d["data"][0]["team"].update(abbreviation="XYZ")),
     "data[0].team.abbreviation: unknown team 'XYZ'"),
    ("team not in the game", _stats(lambda d: d["data"][0]["team"].update(id=2,
                                                                          abbreviation="BOS")),
     "data[0].team: BOS (id 2) does not play in game"),
    ("team id renamed", _stats(lambda d: d["data"][1]["team"].update(abbreviation="IND")),
     "data[1].team.abbreviation: team id 21 is IND here but OKC in data[0]"),
    ("in progress", _stats(_every_game("status", "4th Qtr")),
     "data[0].game.status: game 18444564 is not final (status '4th Qtr')"),
    ("not started", _stats(_every_game("status", "2025-06-23T00:00:00Z")), "is not final"),
    ("game on another date", _stats(_every_game("date", "2025-06-23")),
     "game IND@OKC dated 2025-06-23 not on the schedule of 2025-06-22"),
    ("rows disagree about the game", _stats(lambda d: d["data"][5]["game"].update(
        date="2025-06-21")), "data[5].game disagrees with data[0].game about game 18444564"),
    ("one page of several", _stats(lambda d: d["meta"].update(next_cursor=20743700)),
     "meta.next_cursor is 20743700: the file is one page"),
    ("a scorer's row missing", _stats(lambda d: d["data"].pop(_top_scorer(d))),
     "player points add up to"),
    ("one team only", _stats(_visitors_only), "has no player rows for its home team (id 21)"),
    ("player listed twice", _stats(lambda d: d["data"].append(copy.deepcopy(d["data"][0]))),
     "lists player 'Jalen Williams' twice"),
]


@pytest.mark.parametrize(("doc", "problem"), [c[1:] for c in STATS_CASES],
                         ids=[c[0] for c in STATS_CASES])
def test_bad_balldontlie_stats_are_named(doc: Any, problem: str) -> None:
    with pytest.raises(MalformedRawFile) as err:
        balldontlie_stats.parse_players(doc, STATS_PATH, STATS_DAY, [FINALS])
    assert problem in err.value.problem
    assert err.value.path == STATS_PATH and str(err.value).startswith(STATS_PATH)


def test_balldontlie_stats_game_not_on_the_schedule() -> None:
    with pytest.raises(MalformedRawFile, match="game IND@OKC not on the schedule of 2025-06-22"):
        balldontlie_stats.parse_players(STATS, STATS_PATH, STATS_DAY, [])
    assert len(balldontlie_stats.parse_players(STATS, STATS_PATH, STATS_DAY, [FINALS])) == 30
