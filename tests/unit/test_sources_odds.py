"""Odds API parsers (player_points props, spreads/totals) on the real files, both shapes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from backcourt.domain import tables_raw as tr
from backcourt.domain.errors import MalformedRawFile
from backcourt.sources import oddsapi_game_lines, oddsapi_props

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def lines_doc() -> Any:
    return _load("oddsapi-historical-game-lines-2024-01-25.json")


@pytest.fixture
def props_doc() -> Any:
    return _load("oddsapi-player-props-example.json")


# ------------------------------------------------------------------ game lines


def test_game_lines_spreads_and_totals(lines_doc: Any) -> None:
    rows = oddsapi_game_lines.parse(lines_doc, "l.json")
    assert len(rows) == 8  # 2 books × (2 spread + 2 total outcomes)
    assert all(tuple(r) == tr.GAME_LINES.column_names for r in rows)
    dk = {(r["market"], r["outcome_name"]): r["outcome_point"]
          for r in rows if r["bookmaker"] == "draftkings"}
    assert dk == {("spreads", "GSW"): -6.5, ("spreads", "ATL"): 6.5,
                  ("totals", "Over"): 248.5, ("totals", "Under"): 248.5}
    fd_over = next(r for r in rows if r["bookmaker"] == "fanduel" and r["outcome_name"] == "Over")
    assert (fd_over["outcome_point"], fd_over["outcome_price"]) == (247.5, 1.87)


def test_game_lines_date_teams_and_snapshot(lines_doc: Any) -> None:
    rows = oddsapi_game_lines.parse(lines_doc, "l.json")
    first = rows[0]
    # Tip at 03:20 UTC on the 25th is 22:20 EST on the 24th: the game date is the 24th.
    assert first["game_date"] == date(2024, 1, 24)
    assert first["commence_time"] == datetime(2024, 1, 25, 3, 20, 30, tzinfo=UTC)
    assert (first["home_team_abbr"], first["away_team_abbr"]) == ("GSW", "ATL")
    assert first["game_id"] == "20240124_ATL_GSW"
    assert first["event_id"] == "cd0bc7d0c238f4446ce1c03d0cea7ec4"
    # The historical wrapper's timestamp is the snapshot for every bookmaker.
    assert {r["snapshot_timestamp"] for r in rows} == {datetime(2024, 1, 25, 3, 55, 40, tzinfo=UTC)}


def test_game_lines_bare_event_uses_bookmaker_update(lines_doc: Any) -> None:
    rows = oddsapi_game_lines.parse(lines_doc["data"], "l.json")
    snaps = {r["bookmaker"]: r["snapshot_timestamp"] for r in rows}
    assert snaps == {"draftkings": datetime(2024, 1, 25, 3, 55, 22, tzinfo=UTC),
                     "fanduel": datetime(2024, 1, 25, 3, 55, 1, tzinfo=UTC)}


def test_game_lines_spread_for_a_team_not_in_the_game(lines_doc: Any) -> None:
    doc = copy.deepcopy(lines_doc)
    doc["data"]["bookmakers"][0]["markets"][0]["outcomes"][0]["name"] = "Boston Celtics"
    with pytest.raises(MalformedRawFile, match="'Boston Celtics' does not play in ATL@GSW"):
        oddsapi_game_lines.parse(doc, "l.json")


def test_game_lines_unknown_team(lines_doc: Any) -> None:
    doc = copy.deepcopy(lines_doc)
    doc["data"]["home_team"] = "Seattle SuperSonics"
    with pytest.raises(MalformedRawFile, match="home_team: unknown team 'Seattle SuperSonics'"):
        oddsapi_game_lines.parse(doc, "l.json")


# ------------------------------------------------------------------ props


def test_props_one_row_per_bookmaker_and_player(props_doc: Any) -> None:
    rows = oddsapi_props.parse(props_doc, "p.json")
    assert all(tuple(r) == tr.PLAYER_PROPS.column_names for r in rows)
    keys = {(r["bookmaker"], r["player_lookup"]) for r in rows}
    # player_points only: rebounds/assists markets are ignored.
    assert keys == {("draftkings", "lebronjames"), ("draftkings", "anthonydavis"),
                    ("fanduel", "lebronjames")}
    lebron = next(r for r in rows if r["bookmaker"] == "draftkings"
                  and r["player_name"] == "LeBron James")
    assert (lebron["points_line"], lebron["over_price"], lebron["under_price"]) == (25.5, -115,
                                                                                    -105)


def test_props_dates_and_minutes_before_tipoff(props_doc: Any) -> None:
    rows = oddsapi_props.parse(props_doc, "p.json")
    lebron_dk = next(r for r in rows if r["bookmaker"] == "draftkings"
                     and r["player_lookup"] == "lebronjames")
    # 00:30 UTC on Jan 21 is 19:30 EST on Jan 20.
    assert lebron_dk["game_date"] == date(2025, 1, 20)
    assert lebron_dk["game_id"] == "20250120_BOS_LAL"
    # Snapshot = the bookmaker's last_update (18:00 UTC): 6 h 30 min before tip-off.
    assert lebron_dk["snapshot_timestamp"] == datetime(2025, 1, 20, 18, 0, tzinfo=UTC)
    assert lebron_dk["minutes_before_tipoff"] == 390
    fd = next(r for r in rows if r["bookmaker"] == "fanduel")
    assert fd["minutes_before_tipoff"] == 395


def test_props_in_the_historical_wrapper() -> None:
    doc = {"timestamp": "2025-01-21T00:31:00Z", "data": _load("oddsapi-player-props-example.json")}
    rows = oddsapi_props.parse(doc, "p.json")
    assert {r["snapshot_timestamp"] for r in rows} == {datetime(2025, 1, 21, 0, 31, tzinfo=UTC)}
    # 30 seconds after the 00:30:00 tip: an in-game snapshot must come out negative.
    assert {r["minutes_before_tipoff"] for r in rows} == {-1}


def test_props_pairing_missing_side_and_alternate_lines(props_doc: Any) -> None:
    doc = copy.deepcopy(props_doc)
    outcomes = doc["bookmakers"][0]["markets"][0]["outcomes"]
    del outcomes[3]  # Anthony Davis Under
    outcomes += [{"name": "Over", "description": "LeBron James", "price": -300, "point": 20.5},
                 {"name": "Under", "description": "LeBron James", "price": 220, "point": 20.5}]
    rows = {r["player_lookup"]: r for r in oddsapi_props.parse(doc, "p.json")
            if r["bookmaker"] == "draftkings"}
    assert (rows["anthonydavis"]["over_price"], rows["anthonydavis"]["under_price"]) == (-110,
                                                                                         None)
    assert rows["lebronjames"]["points_line"] == 25.5  # the balanced line, not the 20.5


def test_props_outcome_without_player(props_doc: Any) -> None:
    doc = copy.deepcopy(props_doc)
    del doc["bookmakers"][1]["markets"][0]["outcomes"][0]["description"]
    with pytest.raises(MalformedRawFile,
                       match=r"bookmakers\[1\].markets\[0\].outcomes\[0\] missing field "
                             "description"):
        oddsapi_props.parse(doc, "p.json")
