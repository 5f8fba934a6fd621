"""Parsed NBA.com injury report parser, on the real 2024-01-04 report."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from backcourt.domain import tables_raw as tr
from backcourt.domain.errors import MalformedRawFile
from backcourt.sources import nbacom_injury_report as injury

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
PATH = "raw/nbacom_injury_report/2024-01-04/20240104_12.json"


@pytest.fixture
def doc() -> Any:
    return json.loads((FIXTURES / "nbacom-injury-report-2024-01-04-parsed.json").read_text())


def test_every_record_is_a_row(doc: Any) -> None:
    rows = injury.parse(doc, PATH)
    assert len(rows) == 14
    assert all(tuple(r) == tr.INJURY_REPORT.column_names for r in rows)
    # The report's own parsing_stats count 10 Out, 2 Questionable, 1 Doubtful, 1 Probable.
    assert Counter(r["injury_status"] for r in rows) == {
        "out": 10, "questionable": 2, "doubtful": 1, "probable": 1}
    assert {r["game_date"] for r in rows} == {date(2024, 1, 4)}


def test_names_teams_and_games(doc: Any) -> None:
    rows = {r["player_name"]: r for r in injury.parse(doc, PATH)}
    assert "Dominick Barlow" in rows and "David Duke Jr." in rows and "Gary Payton II" in rows
    assert rows["David Duke Jr."]["player_lookup"] == "daviddukejr"
    barlow = rows["Dominick Barlow"]
    assert (barlow["away_team_abbr"], barlow["home_team_abbr"], barlow["team_abbr"]) == (
        "MIL", "SAS", "SAS")
    assert barlow["game_id"] == "20240104_MIL_SAS"
    assert rows["Draymond Green"]["game_id"] == "20240104_DEN_GSW"


def test_report_time_is_eastern(doc: Any) -> None:
    rows = injury.parse(doc, PATH)
    # gamedate 20240104, hour24 12: noon EST = 17:00 UTC.
    assert {r["report_time"] for r in rows} == {datetime(2024, 1, 4, 17, 0, tzinfo=UTC)}
    del doc["metadata"]
    later = injury.parse(doc, "raw/nbacom_injury_report/2024-01-04/20240104_18.json")
    assert later[0]["report_time"] == datetime(2024, 1, 4, 23, 0, tzinfo=UTC)
    with pytest.raises(MalformedRawFile, match="no report time"):
        injury.parse(doc, "report.json")


def test_reason_categories(doc: Any) -> None:
    rows = {r["player_name"]: r for r in injury.parse(doc, PATH)}
    assert rows["Draymond Green"]["reason_category"] == "suspension"
    assert rows["Sidy Cissoko"]["reason_category"] == "g_league"
    assert rows["Charles Bassey"]["reason_category"] == "injury"
    assert Counter(r["reason_category"] for r in rows.values()) == {
        "injury": 7, "g_league": 6, "suspension": 1}
    assert injury.reason_category("Rest") == "rest"
    assert injury.reason_category("Personal Reasons") == "personal"
    assert injury.reason_category(None) == "other"


def test_bad_records(doc: Any) -> None:
    bad = copy.deepcopy(doc)
    bad["records"][3]["status"] = "Maybe"
    with pytest.raises(MalformedRawFile, match=r"records\[3\].status: unknown status 'Maybe'"):
        injury.parse(bad, PATH)
    bad = copy.deepcopy(doc)
    bad["records"][0]["team"] = "LAL"
    with pytest.raises(MalformedRawFile, match=r"records\[0\].team LAL does not play in MIL@SAS"):
        injury.parse(bad, PATH)
    bad = copy.deepcopy(doc)
    bad["records"][0]["matchup"] = "MIL-SAS"
    with pytest.raises(MalformedRawFile, match="expected AWAY@HOME"):
        injury.parse(bad, PATH)
