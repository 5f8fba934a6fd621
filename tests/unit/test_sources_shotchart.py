"""NBA.com shotchartdetail: the parser on the NYK at PHI fixture (checked against the real box
score of that game), malformed variants, format detection, ingest and the phase-2 loader."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import BadInput, MalformedRawFile
from backcourt.domain.registry import DateType
from backcourt.domain.tables_raw import SHOT_CHART
from backcourt.services.ingest import ingest_file, ingest_files
from backcourt.sources import loaders, nbacom_shotchart
from backcourt.sources.detect import detect_format
from backcourt.sources.layout import SOURCES, raw_path
from backcourt.sources.loaders import LoadContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
SHOTS = FIXTURES / "nbacom-shotchart-0022400561.json"
BOX = FIXTURES / "nbacom-boxscore-0022400561.json"
SCHEDULE_GZ = files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz"
JAN15 = date(2025, 1, 15)
NYK_PHI = ScheduledGame("0022400561", "20250115_NYK_PHI", JAN15, "2024-25", DateType.REGULAR,
                        home="PHI", away="NYK")
THREE_ZONES = {"Left Corner 3", "Right Corner 3", "Above the Break 3", "Backcourt"}
CANONICAL = {"Restricted Area": "paint", "In The Paint (Non-RA)": "paint",
             "Mid-Range": "mid_range", "Left Corner 3": "three", "Right Corner 3": "three",
             "Above the Break 3": "three", "Backcourt": "three"}


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SHOTS.read_text("utf-8"))
    return doc


def _shot_set(doc: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in doc["resultSets"] if s["name"] == "Shot_Chart_Detail")


def _box_lines() -> dict[int, dict[str, Any]]:
    """Player id → PlayerStats row of the real box score, for players who played."""
    doc = json.loads(BOX.read_text("utf-8"))
    ps = next(s for s in doc["resultSets"] if s["name"] == "PlayerStats")
    rows = [dict(zip(ps["headers"], r, strict=True)) for r in ps["rowSet"]]
    return {r["PLAYER_ID"]: r for r in rows if r["MIN"]}


# ------------------------------------------------------------------ parser on the fixture


def test_every_player_shoots_exactly_his_box_score_line() -> None:
    rows = nbacom_shotchart.parse(_doc(), "sc.json", [NYK_PHI])
    box = _box_lines()
    shots: Counter[tuple[int, str]] = Counter()
    for r in rows:
        shots[r["player_id"], "FGA"] += 1
        shots[r["player_id"], "FGM"] += r["shot_made"]
        shots[r["player_id"], "FG3A"] += r["shot_type"] == "3PT"
        shots[r["player_id"], "FG3M"] += r["shot_type"] == "3PT" and r["shot_made"]
    for pid, line in box.items():
        for stat in ("FGA", "FGM", "FG3A", "FG3M"):
            assert shots[pid, stat] == line[stat], (line["PLAYER_NAME"], stat)
    assert {r["player_id"] for r in rows} == {p for p, ln in box.items() if ln["FGA"]}
    # Team totals of the real game: PHI 46-92 (13-35 from three), NYK 46-86 (16-37).
    by_team = Counter(r["team_abbr"] for r in rows)
    assert by_team == {"PHI": 92, "NYK": 86}


def test_rows_have_the_table_columns_and_the_documented_first_row() -> None:
    rows = nbacom_shotchart.parse(_doc(), "raw/nbacom_shotchart/2025-01-15/0022400561.json")
    assert all(tuple(r) == SHOT_CHART.column_names for r in rows)
    assert rows[0] == {
        "game_date": JAN15, "nba_game_id": "0022400561", "game_event_id": 7,
        "game_id": "20250115_NYK_PHI", "team_abbr": "NYK", "opponent_team_abbr": "PHI",
        "player_id": 1628404, "player_name": "Josh Hart", "player_lookup": "joshhart",
        "period": 1, "shot_type": "3PT", "zone_basic": "Above the Break 3", "zone": "three",
        "shot_distance": 25, "loc_x": -12, "loc_y": 248, "shot_made": False,
        "source": "nbacom_shotchart",
        "source_file": "raw/nbacom_shotchart/2025-01-15/0022400561.json",
    }
    assert {r["opponent_team_abbr"] for r in rows if r["team_abbr"] == "PHI"} == {"NYK"}


def test_zones_follow_the_documented_mapping() -> None:
    rows = nbacom_shotchart.parse(_doc(), "sc.json")
    for r in rows:
        assert r["zone"] == CANONICAL[r["zone_basic"]]
        assert (r["shot_type"] == "3PT") == (r["zone_basic"] in THREE_ZONES)
    assert {r["zone"] for r in rows} == {"paint", "mid_range", "three"}
    assert nbacom_shotchart.zone_of("Backcourt") == "three"
    assert nbacom_shotchart.zone_of("Paint") is None


def test_system_game_id_comes_from_the_schedule_when_given() -> None:
    renamed = ScheduledGame("0022400561", "SCHEDULED_ID", JAN15, "2024-25", DateType.REGULAR,
                            home="PHI", away="NYK")
    other = ScheduledGame("0022400999", "OTHER", JAN15, "2024-25", DateType.REGULAR,
                          home="BOS", away="MIA")
    assert {r["game_id"] for r in nbacom_shotchart.parse(_doc(), "x", [other, renamed])} == {
        "SCHEDULED_ID"}
    # Not on the schedule: built from GAME_DATE, VTM (away) and HTM (home).
    assert {r["game_id"] for r in nbacom_shotchart.parse(_doc(), "x", [other])} == {
        "20250115_NYK_PHI"}


def test_team_variants_in_htm_vtm_are_accepted() -> None:
    doc = _doc()
    for row in _shot_set(doc)["rowSet"]:
        row[-2] = "Philadelphia 76ers"
    rows = nbacom_shotchart.parse(doc, "x")
    assert {r["game_id"] for r in rows} == {"20250115_NYK_PHI"}


# ------------------------------------------------------------------ malformed variants

Mutation = Callable[[dict[str, Any]], None]
_H = nbacom_shotchart.HEADERS


def _cell(row: int, header: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        _shot_set(doc)["rowSet"][row][_H.index(header)] = value
    return mutate


def _drop_header(header: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        rs = _shot_set(doc)
        i = rs["headers"].index(header)
        rs["headers"].pop(i)
        for row in rs["rowSet"]:
            row.pop(i)
    return mutate


def _rename_set(doc: dict[str, Any]) -> None:
    _shot_set(doc)["name"] = "ShotChart"


def _no_rows(doc: dict[str, Any]) -> None:
    _shot_set(doc)["rowSet"] = []


def _only_nyk(doc: dict[str, Any]) -> None:
    rs = _shot_set(doc)
    rs["rowSet"] = [r for r in rs["rowSet"] if r[_H.index("TEAM_ID")] == 1610612752]


def _duplicate_event(doc: dict[str, Any]) -> None:
    _shot_set(doc)["rowSet"][5][_H.index("GAME_EVENT_ID")] = 7


def _find(doc: dict[str, Any], zone: str, made: int | None = None) -> int:
    rows = _shot_set(doc)["rowSet"]
    return next(i for i, r in enumerate(rows) if r[_H.index("SHOT_ZONE_BASIC")] == zone
                and (made is None or r[_H.index("SHOT_MADE_FLAG")] == made))


def _in_zone(zone: str, shot_type: str, source_zone: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        i = _find(doc, source_zone)
        _shot_set(doc)["rowSet"][i][_H.index("SHOT_ZONE_BASIC")] = zone
        _shot_set(doc)["rowSet"][i][_H.index("SHOT_TYPE")] = shot_type
    return mutate


@pytest.mark.parametrize(("mutate", "problem"), [
    (_rename_set, "resultSets[Shot_Chart_Detail] missing"),
    (_drop_header("LOC_X"), "resultSets[Shot_Chart_Detail] missing header LOC_X"),
    (_drop_header("SHOT_ZONE_BASIC"), "missing header SHOT_ZONE_BASIC"),
    (_cell(3, "LOC_X", "12"), "rowSet[3].LOC_X: expected an integer, got str '12'"),
    (_cell(4, "SHOT_MADE_FLAG", True), "rowSet[4].SHOT_MADE_FLAG: expected an integer, got bool"),
    (_cell(2, "PLAYER_NAME", None), "rowSet[2].PLAYER_NAME: expected a non-empty string"),
    (_cell(1, "TEAM_ID", 1610612799), "rowSet[1].TEAM_ID: unknown team id 1610612799"),
    (_cell(1, "TEAM_ID", 1610612738), "team BOS does not play in NYK@PHI"),
    (_cell(0, "HTM", "XYZ"), "rowSet[0].HTM: unknown team 'XYZ'"),
    (_cell(6, "HTM", "BOS"), "rowSet[6].HTM 'BOS' differs from the first row's 'PHI'"),
    (_cell(6, "GAME_ID", "0022400562"), "rowSet[6].GAME_ID '0022400562' differs"),
    (_cell(0, "GAME_DATE", "2025-01-15"), "expected a YYYYMMDD date, got '2025-01-15'"),
    (_in_zone("Mid-Range", "3PT Field Goal", "Above the Break 3"),
     "a 3PT Field Goal in the 2-point zone 'Mid-Range'"),
    (_in_zone("Left Corner 3", "2PT Field Goal", "Restricted Area"),
     "a 2PT Field Goal in the 3-point zone 'Left Corner 3'"),
    (_in_zone("Paint", "2PT Field Goal", "Restricted Area"), "unknown zone 'Paint'"),
    (_in_zone("Restricted Area", "4PT Field Goal", "Restricted Area"),
     "unknown shot type '4PT Field Goal'"),
    (_cell(0, "SHOT_MADE_FLAG", 1), "EVENT_TYPE 'Missed Shot' but SHOT_MADE_FLAG 1"),
    (_cell(0, "EVENT_TYPE", "Blocked Shot"), "expected 'Made Shot' or 'Missed Shot'"),
    (_cell(0, "SHOT_ATTEMPTED_FLAG", 0), "SHOT_ATTEMPTED_FLAG is 0"),
    (_cell(0, "PERIOD", 0), "rowSet[0].PERIOD: expected 1 or more, got 0"),
    (_duplicate_event, "rowSet[5].GAME_EVENT_ID 7 repeats rowSet[0]"),
    (_no_rows, "resultSets[Shot_Chart_Detail] has no shots"),
    (_only_nyk, "has no shots of PHI (NYK@PHI)"),
])
def test_malformed_shot_charts_name_the_problem(mutate: Mutation, problem: str) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(MalformedRawFile) as err:
        nbacom_shotchart.parse(doc, "raw/x.json", [NYK_PHI])
    assert err.value.path == "raw/x.json"
    assert problem in err.value.problem


def test_a_schedule_that_disagrees_with_the_file_is_named() -> None:
    moved = ScheduledGame("0022400561", "20250116_NYK_PHI", date(2025, 1, 16), "2024-25",
                          DateType.REGULAR, home="PHI", away="NYK")
    with pytest.raises(MalformedRawFile, match="schedule has game 0022400561 on 2025-01-16"):
        nbacom_shotchart.parse(_doc(), "x", [moved])
    swapped = ScheduledGame("0022400561", "20250115_PHI_NYK", JAN15, "2024-25",
                            DateType.REGULAR, home="NYK", away="PHI")
    with pytest.raises(MalformedRawFile, match="schedule has game 0022400561 as PHI@NYK"):
        nbacom_shotchart.parse(_doc(), "x", [swapped])


def test_not_json_objects_are_named() -> None:
    with pytest.raises(MalformedRawFile, match="file: expected an object"):
        nbacom_shotchart.parse([], "x")
    doc = _doc()
    _shot_set(doc)["rowSet"][2] = "oops"
    with pytest.raises(MalformedRawFile, match=r"rowSet\[2\]: expected an array"):
        nbacom_shotchart.parse(doc, "x")


# ------------------------------------------------------------------ detection and ingest


def test_detected_from_content_and_a_declared_source() -> None:
    data = SHOTS.read_bytes()
    assert detect_format(data, "anything.bin") == "nbacom_shotchart"
    assert detect_format(gzip.compress(data), "x.gz") == "nbacom_shotchart"
    assert "nbacom_shotchart" in SOURCES


@pytest.fixture
def bucket(tmp_path: Path) -> FolderBucket:
    return FolderBucket(tmp_path / "bucket")


def _with_schedule(bucket: FolderBucket, tmp_path: Path) -> FolderBucket:
    src = tmp_path / "scheduleLeagueV2.json.gz"
    src.write_bytes(SCHEDULE_GZ.read_bytes())
    ingest_file(bucket, src)
    return bucket


def test_ingest_dates_by_game_date_and_keeps_the_bytes(bucket: FolderBucket,
                                                       tmp_path: Path) -> None:
    for b in (bucket, _with_schedule(FolderBucket(tmp_path / "b2"), tmp_path)):
        result = ingest_file(b, SHOTS)
        assert (result.source, result.game_date) == ("nbacom_shotchart", JAN15)
        assert result.dest == "raw/nbacom_shotchart/2025-01-15/0022400561.json"
        assert b.read(result.dest) == SHOTS.read_bytes()


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "sc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), "utf-8")
    return path


def test_ingest_refuses_malformed_and_undatable_files(bucket: FolderBucket,
                                                      tmp_path: Path) -> None:
    doc = _doc()
    _in_zone("Mid-Range", "3PT Field Goal", "Above the Break 3")(doc)
    with pytest.raises(MalformedRawFile, match="2-point zone"):
        ingest_file(bucket, _write(tmp_path, doc))
    empty = _doc()
    _no_rows(empty)
    with pytest.raises(BadInput, match="game 0022400561 has no rows"):
        ingest_file(bucket, _write(tmp_path, empty))
    assert bucket.list("raw/") == []
    # With the schedule loaded the empty file is dated, but still refused by the parser.
    with pytest.raises(MalformedRawFile, match="has no shots"):
        ingest_file(_with_schedule(bucket, tmp_path), _write(tmp_path, empty))
    assert bucket.list("raw/nbacom_shotchart/") == []


def test_ingest_refuses_a_game_date_the_schedule_contradicts(bucket: FolderBucket,
                                                            tmp_path: Path) -> None:
    doc = _doc()
    for row in _shot_set(doc)["rowSet"]:
        row[_H.index("GAME_DATE")] = "20250116"
    with pytest.raises(MalformedRawFile, match="schedule has game 0022400561 on 2025-01-15"):
        ingest_file(_with_schedule(bucket, tmp_path), _write(tmp_path, doc))


def test_ingest_many_then_load_with_the_schedule(bucket: FolderBucket, tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.json.gz"
    schedule.write_bytes(SCHEDULE_GZ.read_bytes())
    results, errors = ingest_files(bucket, [SHOTS, schedule])
    assert [r.source for r in results] == ["nbacom_schedule", "nbacom_shotchart"] and not errors
    out = loaders.load_shot_chart(LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]}))[JAN15]
    assert len(out.rows) == 178 and out.bad_files == [] and out.files == 1
    assert {r["game_id"] for r in out.rows} == {"20250115_NYK_PHI"}


# ------------------------------------------------------------------ loader


def test_loader_takes_each_game_once_and_reports_bad_files(bucket: FolderBucket) -> None:
    data = SHOTS.read_bytes()
    bucket.write(raw_path("nbacom_shotchart", JAN15, "0022400561.json"), data)
    bucket.write(raw_path("nbacom_shotchart", JAN15, "copy.json"), data)  # same game again
    broken = raw_path("nbacom_shotchart", JAN15, "zz_broken.json")
    bucket.write(broken, data[:-30])
    elsewhere = date(2025, 1, 16)
    misfiled = raw_path("nbacom_shotchart", elsewhere, "0022400561.json")
    bucket.write(misfiled, data)
    ctx = LoadContext(bucket, [JAN15, elsewhere], {JAN15: [NYK_PHI]})
    out = loaders.load_shot_chart(ctx)
    day = out[JAN15]
    assert len(day.rows) == 178 and day.files == 3
    assert len({(r["nba_game_id"], r["game_event_id"]) for r in day.rows}) == 178
    assert {r["source_file"] for r in day.rows} == {raw_path("nbacom_shotchart", JAN15,
                                                              "0022400561.json")}
    assert [e.path for e in day.bad_files] == [broken]
    assert "JSON" in day.bad_files[0].problem  # the decoder names the broken JSON
    assert out[elsewhere].rows == []
    assert [e.path for e in out[elsewhere].bad_files] == [misfiled]
    assert ("GAME_DATE is 2025-01-15 but the file is stored under 2025-01-16"
            in out[elsewhere].bad_files[0].problem)


def test_loader_rows_cover_both_teams_of_the_game(bucket: FolderBucket) -> None:
    bucket.write(raw_path("nbacom_shotchart", JAN15, "0022400561.json"), SHOTS.read_bytes())
    rows = loaders.load_shot_chart(LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]}))[JAN15].rows
    assert {r["team_abbr"] for r in rows} == {NYK_PHI.home, NYK_PHI.away}
    assert loaders.load_shot_chart(LoadContext(bucket, [date(2025, 1, 14)], {}))[
        date(2025, 1, 14)].rows == []

