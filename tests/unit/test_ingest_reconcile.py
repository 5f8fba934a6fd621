"""Incident (issue 14, item 4): ingest let an inconsistent box score replace the good one.

    "A box score whose team points (111) differ from the sum of its players' points (94) was
    ingested, replaced the good file, changed rows in four tables, and the gate passed."

Now ``ingest`` refuses a box-score file whose own numbers disagree (team points ≠ the sum of its
players' points, made > attempted; ``domain.reconcile``), naming the check, the game and the
numbers; the file is written to ``quarantine/<its path>`` only, and the good file already stored
for the game stays where phase 2 reads. (These tests import only names that existed before, so
they run — and fail — on the old code.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.errors import MalformedRawFile
from backcourt.services.ingest import ingest_file
from backcourt.sources.layout import quarantine_path, raw_path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
SCHEDULE_GZ = files("backcourt") / "data" / "nbacom-schedule-2024-25.json.gz"
BOX = FIXTURES / "nbacom-boxscore-0022400561.json"  # NYK 125 at PHI 119, one overtime
GAMELOG = FIXTURES / "nbacom-leaguegamelog-2025-01-15.json"


@pytest.fixture
def bucket(tmp_path: Path) -> FolderBucket:
    b = FolderBucket(tmp_path / "bucket")
    schedule = tmp_path / "schedule.json.gz"
    schedule.write_bytes(SCHEDULE_GZ.read_bytes())
    ingest_file(b, schedule)
    return b


def _tampered(tmp_path: Path, src: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(src.read_text())
    change(doc)
    out = tmp_path / f"tampered-{src.name}"
    out.write_text(json.dumps(doc))
    return out


def _set_team_points(doc: dict[str, Any], team: str, points: int) -> None:
    rs = next(r for r in doc["resultSets"] if r["name"] == "TeamStats")
    i, pts = rs["headers"].index("TEAM_ABBREVIATION"), rs["headers"].index("PTS")
    for row in rs["rowSet"]:
        if row[i] == team:
            row[pts] = points


def test_ingest_quarantines_a_box_score_whose_team_points_are_not_its_players(
        bucket: FolderBucket, tmp_path: Path) -> None:
    good = ingest_file(bucket, BOX)
    assert good.dest == raw_path("nbacom_boxscore", good.game_date, "0022400561.json")
    bad = _tampered(tmp_path, BOX, lambda d: _set_team_points(d, "PHI", 111))

    with pytest.raises(MalformedRawFile) as err:
        ingest_file(bucket, bad)

    assert "points_reconcile v1: game 0022400561 PHI 111 ≠ players 119" in str(err.value)
    assert str(bad) in str(err.value) and quarantine_path(good.dest) in str(err.value)
    assert bucket.read(good.dest) == BOX.read_bytes()  # the good file is kept
    assert json.loads(bucket.read(quarantine_path(good.dest))) == json.loads(bad.read_text())


def test_ingest_quarantines_made_over_attempted_and_never_stores_it(
        bucket: FolderBucket, tmp_path: Path) -> None:
    def more_threes_than_tried(doc: dict[str, Any]) -> None:
        rs = doc["resultSets"][0]
        h = rs["headers"]
        rs["rowSet"][0][h.index("FG3M")] = rs["rowSet"][0][h.index("FG3A")] + 2

    bad = _tampered(tmp_path, GAMELOG, more_threes_than_tried)
    with pytest.raises(MalformedRawFile) as err:
        ingest_file(bucket, bad)

    assert "made_le_attempted v1: game 0022400561" in str(err.value)
    assert " 3P " in str(err.value) and "made >" in str(err.value)
    dest = raw_path("nbacom_leaguegamelog", date(2025, 1, 15), "leaguegamelog.json")
    assert not bucket.exists(dest)
    assert bucket.exists(quarantine_path(dest))


def test_ingest_accepts_the_real_box_score_and_game_log(bucket: FolderBucket) -> None:
    assert ingest_file(bucket, BOX).source == "nbacom_boxscore"
    assert ingest_file(bucket, GAMELOG).source == "nbacom_leaguegamelog"
    assert not bucket.list("quarantine/")
