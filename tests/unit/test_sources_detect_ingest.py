"""Format detection from content, and ingest of real files into a folder bucket."""

from __future__ import annotations

import gzip
import json
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.errors import BadInput, MalformedRawFile
from backcourt.services.ingest import ingest_file, ingest_files
from backcourt.sources import loaders, nbacom_schedule
from backcourt.sources.detect import detect_format
from backcourt.sources.layout import SOURCES
from backcourt.sources.loaders import LoadContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
SCHEDULE_GZ = files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz"

EXPECTED = {
    "nbacom-boxscore-0022400561.json": "nbacom_boxscore",
    "nbacom-leaguegamelog-2025-01-15.json": "nbacom_leaguegamelog",
    "balldontlie-boxscores-2024-01-15.json": "balldontlie_boxscores",
    "balldontlie-boxscores-2026-01-09.json": "balldontlie_boxscores",
    "balldontlie-stats-2025-06-22.json": "balldontlie_stats",
    "oddsapi-player-props-example.json": "oddsapi_player_props",
    "oddsapi-historical-game-lines-2024-01-25.json": "oddsapi_game_lines",
    "nbacom-injury-report-2024-01-04-parsed.json": "nbacom_injury_report",
    "nbacom-shotchart-0022400561.json": "nbacom_shotchart",
}


@pytest.mark.parametrize(("name", "source"), sorted(EXPECTED.items()))
def test_detect_each_real_fixture(name: str, source: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert detect_format(data, "whatever.bin") == source  # the name plays no part
    assert detect_format(gzip.compress(data), name) == source


def test_detect_the_schedule_and_cover_every_source() -> None:
    assert detect_format(SCHEDULE_GZ.read_bytes(), "x") == "nbacom_schedule"
    assert set(EXPECTED.values()) | {"nbacom_schedule"} == set(SOURCES)


@pytest.mark.parametrize(("data", "problem"), [
    (b'{"hello": "world"}', "unrecognised format: a JSON object with keys hello"),
    (b"[1, 2, 3]", "unrecognised format: a JSON list"),
    (b"<html>oops</html>", "unrecognised format: not valid JSON"),
    (b"", "unrecognised format: empty file"),
    (b'{"id": "e", "commence_time": "2025-01-21T00:30:00Z", "bookmakers": []}',
     "cannot tell player props from game lines"),
])
def test_unrecognised_content(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedRawFile) as err:
        detect_format(data, "in/file.json")
    assert problem in err.value.problem and err.value.path == "in/file.json"


# ------------------------------------------------------------------ ingest


@pytest.fixture
def bucket(tmp_path: Path) -> FolderBucket:
    return FolderBucket(tmp_path / "bucket")


@pytest.fixture
def with_schedule(bucket: FolderBucket, tmp_path: Path) -> FolderBucket:
    src = tmp_path / "scheduleLeagueV2.json.gz"
    src.write_bytes(SCHEDULE_GZ.read_bytes())
    result = ingest_file(bucket, src)
    assert result.dest == "raw/nbacom_schedule/2024-25/scheduleLeagueV2.json"
    assert result.game_date is None
    # Stored decompressed, byte for byte.
    assert bucket.read(result.dest) == gzip.decompress(SCHEDULE_GZ.read_bytes())
    return bucket


def test_ingest_box_score_dated_by_the_schedule(with_schedule: FolderBucket) -> None:
    src = FIXTURES / "nbacom-boxscore-0022400561.json"
    result = ingest_file(with_schedule, src)
    assert (result.source, result.game_date) == ("nbacom_boxscore", date(2025, 1, 15))
    assert result.dest == "raw/nbacom_boxscore/2025-01-15/0022400561.json"
    assert with_schedule.read(result.dest) == src.read_bytes()


def test_ingest_box_score_without_a_schedule(bucket: FolderBucket) -> None:
    with pytest.raises(BadInput, match="no schedule in raw/nbacom_schedule/"):
        ingest_file(bucket, FIXTURES / "nbacom-boxscore-0022400561.json")
    assert bucket.list("raw/") == []


def test_ingest_box_score_of_an_unknown_game(with_schedule: FolderBucket, tmp_path: Path) -> None:
    text = (FIXTURES / "nbacom-boxscore-0022400561.json").read_text()
    src = tmp_path / "box.json"
    src.write_text(text.replace("0022400561", "0022499999"))
    with pytest.raises(BadInput, match=r"0022499999 is not on the loaded schedules \(2024-25\)"):
        ingest_file(with_schedule, src)


@pytest.mark.parametrize(("name", "dest", "day"), [
    ("nbacom-leaguegamelog-2025-01-15.json",
     "raw/nbacom_leaguegamelog/2025-01-15/leaguegamelog.json", date(2025, 1, 15)),
    ("balldontlie-boxscores-2024-01-15.json",
     "raw/balldontlie_boxscores/2024-01-15/box_scores.json", date(2024, 1, 15)),
    ("balldontlie-stats-2025-06-22.json",
     "raw/balldontlie_stats/2025-06-22/stats.json", date(2025, 6, 22)),
    ("oddsapi-historical-game-lines-2024-01-25.json",
     "raw/oddsapi_game_lines/2024-01-24/cd0bc7d0c238f4446ce1c03d0cea7ec4_035540.json",
     date(2024, 1, 24)),
    ("oddsapi-player-props-example.json",
     "raw/oddsapi_player_props/2025-01-20/a1b2c3d4e5f6g7h8i9j0_180000.json", date(2025, 1, 20)),
    ("nbacom-injury-report-2024-01-04-parsed.json",
     "raw/nbacom_injury_report/2024-01-04/20240104_12.json", date(2024, 1, 4)),
])
def test_ingest_dates_from_content(bucket: FolderBucket, name: str, dest: str, day: date) -> None:
    result = ingest_file(bucket, FIXTURES / name)
    assert (result.dest, result.game_date) == (dest, day)
    assert bucket.read(dest) == (FIXTURES / name).read_bytes()


def test_ingest_file_spanning_two_dates(bucket: FolderBucket, tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "balldontlie-boxscores-2024-01-15.json").read_text())
    doc["data"][3]["date"] = "2024-01-16"
    src = tmp_path / "two_days.json"
    src.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"spans several dates \(2024-01-15, 2024-01-16\)"):
        ingest_file(bucket, src)


def test_ingest_rejects_malformed_and_missing_files(bucket: FolderBucket, tmp_path: Path) -> None:
    src = tmp_path / "box.json"
    src.write_bytes((FIXTURES / "nbacom-boxscore-0022400561.json").read_bytes()[:-40])
    with pytest.raises(MalformedRawFile, match="unrecognised format: truncated JSON"):
        ingest_file(bucket, src)
    with pytest.raises(BadInput, match="no such file"):
        ingest_file(bucket, tmp_path / "nope.json")


def test_ingest_many_then_load(bucket: FolderBucket, tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.json.gz"
    schedule.write_bytes(SCHEDULE_GZ.read_bytes())
    junk = tmp_path / "junk.json"
    junk.write_text('{"x": 1}')
    box = FIXTURES / "nbacom-boxscore-0022400561.json"
    results, errors = ingest_files(bucket, [box, junk, schedule])  # box before its schedule
    assert [r.source for r in results] == ["nbacom_schedule", "nbacom_boxscore"]
    assert len(errors) == 1 and "unrecognised format" in str(errors[0])
    day = date(2025, 1, 15)
    games = loaders.load_schedule(LoadContext(bucket, [day], {}))[day].rows
    scheduled = [nbacom_schedule.scheduled_game(r) for r in games]
    players = loaders.load_player_boxscores(LoadContext(bucket, [day], {day: scheduled}))[day]
    assert len(players.rows) == 25 and players.bad_files == []


def test_ingest_balldontlie_stats_then_load_on_the_real_schedule(
        with_schedule: FolderBucket) -> None:
    src = FIXTURES / "balldontlie-stats-2025-06-22.json"
    result = ingest_file(with_schedule, src)
    day = date(2025, 6, 22)
    assert (result.source, result.dest, result.game_date) == (
        "balldontlie_stats", "raw/balldontlie_stats/2025-06-22/stats.json", day)
    assert with_schedule.read(result.dest) == src.read_bytes()
    games = loaders.load_schedule(LoadContext(with_schedule, [day], {}))[day].rows
    scheduled = [nbacom_schedule.scheduled_game(r) for r in games]
    ctx = LoadContext(with_schedule, [day], {day: scheduled})
    players = loaders.load_player_boxscores(ctx)[day]
    doc = json.loads(src.read_text())
    assert players.bad_files == [] and len(players.rows) == len(doc["data"])
    assert {(r["source"], r["nba_game_id"]) for r in players.rows} == {
        ("balldontlie_stats", "0042400407")}
    teams = {t["team_abbr"]: t["points"] for t in loaders.load_team_boxscores(ctx)[day].rows}
    game = doc["data"][0]["game"]
    assert teams == {"OKC": game["home_team_score"], "IND": game["visitor_team_score"]}


def test_ingest_refuses_balldontlie_stats_of_a_game_in_progress(bucket: FolderBucket,
                                                                tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "balldontlie-stats-2025-06-22.json").read_text())
    for rec in doc["data"]:
        rec["game"]["status"] = "3rd Qtr"
    src = tmp_path / "stats.json"
    src.write_text(json.dumps(doc))
    assert detect_format(src.read_bytes(), str(src)) == "balldontlie_stats"
    with pytest.raises(MalformedRawFile, match="is not final"):
        ingest_file(bucket, src)
    assert bucket.list("raw/") == []
