"""The synthetic league on 2024-25, the season that keeps the real NBA.com schedule: the file
is copied through unchanged and the generated box scores add up to the real final scores."""

from __future__ import annotations

import gzip
import json
import statistics
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.teams import BY_TRICODE
from backcourt.sample import SampleSummary, generate_season
from backcourt.sources import layout

SEASON = "2024-25"


@dataclass
class Real:
    """The generated 2024-25 files and the real schedule."""

    root: Path
    summary: SampleSummary
    raw_schedule: bytes
    games: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Real:
    root = tmp_path_factory.mktemp("real")
    summary = generate_season(FolderBucket(root), SEASON)
    blob = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
    raw = gzip.decompress(blob.read_bytes())
    doc = json.loads(raw)
    games = {g["gameId"]: g for d in doc["leagueSchedule"]["gameDates"] for g in d["games"]}
    return Real(root, summary, raw, games)


def _rows(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rs = next(r for r in doc["resultSets"] if r["name"] == name)
    return [dict(zip(rs["headers"], row, strict=True)) for row in rs["rowSet"]]


def _box(real: Real, g: dict[str, Any]) -> dict[str, Any]:
    day = date.fromisoformat(g["gameDateEst"][:10])
    path = real.root / layout.raw_path("nbacom_boxscore", day, f"{g['gameId']}.json")
    return json.loads(path.read_text("utf-8"))  # type: ignore[no-any-return]


def _competitive(real: Real) -> list[dict[str, Any]]:
    return [g for g in real.games.values() if g["gameId"][2] in "2456"]


def test_schedule_is_the_real_file_byte_for_byte(real: Real) -> None:
    written = (real.root / layout.schedule_path(SEASON)).read_bytes()
    assert written == real.raw_schedule


def test_one_box_score_per_competitive_game_and_none_for_exhibitions(real: Real) -> None:
    competitive = _competitive(real)
    assert len(competitive) == 1230 + 1 + 6 + 84  # regular, Cup final, play-in, playoffs
    boxes = {p.stem for p in (real.root / "raw" / "nbacom_boxscore").glob("*/*.json")}
    assert boxes == {g["gameId"] for g in competitive}
    assert real.summary.games == len(competitive)
    assert real.summary.files["nbacom_boxscore"] == len(competitive)


def test_box_scores_add_up_to_the_real_scores(real: Real) -> None:
    for g in _competitive(real):
        doc = _box(real, g)
        teams = {t["TEAM_ABBREVIATION"]: t for t in _rows(doc, "TeamStats")}
        players = [p for p in _rows(doc, "PlayerStats") if p["MIN"] is not None]
        for side in ("homeTeam", "awayTeam"):
            tri, score = g[side]["teamTricode"], g[side]["score"]
            assert teams[tri]["PTS"] == score, g["gameId"]
            mine = [p for p in players if p["TEAM_ABBREVIATION"] == tri]
            assert sum(p["PTS"] for p in mine) == score
            assert all(p["PTS"] == 2 * p["FGM"] + p["FG3M"] + p["FTM"] for p in mine)
            total = sum(int(m) * 60 + int(s) for m, s in (p["MIN"].split(":") for p in mine))
            assert total == int(teams[tri]["MIN"].split(":")[0]) * 60
            assert teams[tri]["PLUS_MINUS"] == score - sum(
                t["PTS"] for k, t in teams.items() if k != tri)


def test_game_lines_follow_the_real_teams(real: Real) -> None:
    spreads, margins = [], []
    by_key = {(g["gameDateEst"][:10], BY_TRICODE[g["homeTeam"]["teamTricode"]].full_name): g
              for g in _competitive(real)}
    for path in (real.root / "raw" / "oddsapi_game_lines").glob("*/*.json"):
        data = json.loads(path.read_text("utf-8"))["data"]
        g = by_key[(path.parent.name, data["home_team"])]
        assert data["commence_time"] == g["gameDateTimeUTC"]
        assert data["away_team"] == BY_TRICODE[g["awayTeam"]["teamTricode"]].full_name
        dk = data["bookmakers"][0]["markets"][0]["outcomes"]
        spreads.append(-next(o["point"] for o in dk if o["name"] == data["home_team"]))
        margins.append(g["homeTeam"]["score"] - g["awayTeam"]["score"])
    assert len(spreads) == real.summary.games
    assert float(np.corrcoef(spreads, margins)[0, 1]) > 0.3
    assert abs(statistics.mean(spreads) - statistics.mean(margins)) < 1.5


def test_injury_reports_cover_every_game_date(real: Real) -> None:
    dates = {g["gameDateEst"][:10] for g in _competitive(real)}
    reports = list((real.root / "raw" / "nbacom_injury_report").glob("*/*.json"))
    assert {p.parent.name for p in reports} == dates
    for path in reports:
        doc = json.loads(path.read_text("utf-8"))
        assert doc["metadata"]["season"] == SEASON
        day = date.fromisoformat(path.parent.name)
        todays = {f"{g['awayTeam']['teamTricode']}@{g['homeTeam']['teamTricode']}"
                  for g in _competitive(real) if g["gameDateEst"][:10] == path.parent.name}
        assert {r["matchup"] for r in doc["records"]} <= todays
        assert all(r["date"] == f"{day:%m/%d/%Y}" for r in doc["records"])
