"""Schedules with provenance (issue 14, items 1–3), through the real CLI on DuckDB/SQLite homes
with the real sample generator's files in a FolderBucket.

1. A season without a schedule has unknown dates: ``backfill`` fails (exit 2) naming the file
   and the command that loads it, and records nothing; ``status`` says the same.
2. ``ingest`` checks a schedule's label, dates and game ids against each other, keeps every
   version, and refuses (quarantine, named reason) a mismatch or a version that drops dates
   holding box scores unless ``--force``.
3. Each plan derives the calendar from the latest schedule: a new version re-arms the dates it
   changes, and ``status`` shows the version in use.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from backcourt import cli
from backcourt.adapters.local.bucket import FolderBucket
from backcourt.bootstrap import build
from backcourt.commands import common
from backcourt.config import load_settings
from backcourt.domain.ids import season_bounds
from backcourt.domain.status import State
from backcourt.sources.layout import schedule_path
from backcourt.sources.loaders import LoadContext, load_schedule
from sample_cache import copy_season

pytestmark = pytest.mark.local

SEASON = "2023-24"
PATH = schedule_path(SEASON)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WINDOW = ["--start", "2024-04-10", "--end", "2024-04-25"]  # end of the regular season, play-in


def run(home: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the console-script entry point in-process; (exit code, stdout + stderr flattened)."""
    monkeypatch.setattr(sys, "argv", ["backcourt", "--home", str(home), *args])
    for module in (cli, common, *cli.COMMAND_MODULES):
        monkeypatch.setattr(module, "console", Console(width=10_000, color_system=None))
        if hasattr(module, "err"):
            monkeypatch.setattr(module, "err", Console(stderr=True, width=10_000,
                                                       color_system=None))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    text = " ".join(ANSI.sub("", out + "\n" + err).split())
    return (code if isinstance(code, int) else (0 if code is None else 1)), text


def bucket_of(home: Path) -> FolderBucket:
    return FolderBucket(load_settings(home, env={}).local.bucket_path)


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose bucket holds the generated 2023-24 season (schedule, box scores, …)."""
    home = tmp_path_factory.mktemp("sample-2023-24")
    copy_season(tmp_path_factory, SEASON, bucket_of(home).root)
    return home


@pytest.fixture
def home(sample_home: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample home."""
    copy = tmp_path / "home"
    shutil.copytree(sample_home, copy)
    return copy


def schedule_doc(home: Path) -> dict[str, Any]:
    return json.loads(bucket_of(home).read(PATH))


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def without_postseason(doc: dict[str, Any]) -> dict[str, Any]:
    """The schedule with its play-in and playoff games (type digits 4 and 5) removed."""
    out = json.loads(json.dumps(doc))
    for day in out["leagueSchedule"]["gameDates"]:
        day["games"] = [g for g in day["games"] if g["gameId"][2] not in "45"]
    return out


def docs(home: Path, processor: str) -> dict[date, Any]:
    s = build(load_settings(home, env={}))
    try:
        start, end = season_bounds(SEASON)
        return {d.game_date: d for d in s.status.list([processor], start, end)}
    finally:
        s.close()


# -- 1. a season without a schedule ----------------------------------------------------------


def test_backfill_without_schedule_fails_naming_the_file_and_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #1: on main this printed "processed 366 processor-dates", exit 0, and stored
    every date not_expected/no_games; now it fails before planning and records nothing."""
    home = tmp_path / "empty"
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2"], monkeypatch, capsys)
    assert code == 2, text
    assert PATH in text
    assert "backcourt ingest" in text and f"backcourt sample-data --season {SEASON}" in text
    assert "processed" not in text
    assert docs(home, "schedule") == {}  # unknown, never not_expected
    code, text = run(home, ["status", "--season", SEASON], monkeypatch, capsys)
    assert code == 2
    assert f"schedule {SEASON}: unknown" in text and PATH in text
    assert "run a phase-2 backfill first" not in text  # a command that cannot work


def test_no_sample_data_advice_for_a_season_the_generator_cannot_make(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The advice must work: sample-data supports 2021-22 … 2024-25 only."""
    code, text = run(tmp_path / "empty", ["backfill", "--season", "2019-20", "--phase", "2"],
                     monkeypatch, capsys)
    assert code == 2, text
    assert schedule_path("2019-20") in text and "backcourt ingest" in text
    assert "sample-data" not in text


def test_season_recorded_without_schedule_is_loaded_once_it_arrives(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A home where main's bug already recorded every date of the season not_expected: once
    the schedule is in the bucket, the next backfill loads it (main: "Nothing to do")."""
    start, end = season_bounds(SEASON)
    s = build(load_settings(home, env={}))
    s.status.seed("schedule", [], [date.fromordinal(o) for o in
                                   range(start.toordinal(), end.toordinal() + 1)])
    s.close()
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2", *WINDOW],
                     monkeypatch, capsys)
    assert "Nothing to do" not in text, text
    assert code == 0, text
    sched = docs(home, "schedule")
    assert sum(1 for d in sched.values() if d.state is State.SUCCEEDED) > 150
    assert docs(home, "player_boxscores")[date(2024, 4, 12)].state is State.SUCCEEDED


def test_load_schedule_raises_for_a_season_without_a_file(tmp_path: Path) -> None:
    """The loader never reports a season without a file as a season without games."""
    from backcourt.domain.errors import ScheduleMissing

    ctx = LoadContext(FolderBucket(tmp_path), [date(2023, 11, 1)], {})
    with pytest.raises(ScheduleMissing, match=re.escape(PATH)):
        load_schedule(ctx)


# -- 2. ingest checks a schedule against its season and keeps every version ----------------


@pytest.mark.parametrize(("case", "reason"), [
    ("relabelled", "schedule_dates_outside_season"),
    ("other_season_ids", "schedule_game_ids_of_other_season"),
    ("no_games", "schedule_no_games"),
])
def test_ingest_refuses_a_schedule_that_disagrees_with_its_season(
        home: Path, tmp_path: Path, case: str, reason: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #2: main stored a 2023-24 schedule relabelled 2024-25 as the 2024-25 schedule.
    Now the label, dates and game ids must agree; the refused file is kept in quarantine with
    a .reason naming the rule, and nothing under raw/ changes."""
    doc = schedule_doc(home)
    target = SEASON
    if case == "relabelled":
        doc["leagueSchedule"]["seasonYear"] = target = "2024-25"
    elif case == "other_season_ids":
        for day in doc["leagueSchedule"]["gameDates"]:
            for g in day["games"]:
                g["gameId"] = g["gameId"][:3] + "24" + g["gameId"][5:]
    else:
        doc["leagueSchedule"]["gameDates"] = []
    before = bucket_of(home).read(PATH)
    code, text = run(home, ["ingest", str(write_json(tmp_path / "s.json", doc))],
                     monkeypatch, capsys)
    assert code == 2, text
    assert reason in text
    bucket = bucket_of(home)
    assert bucket.read(PATH) == before
    assert not bucket.exists(schedule_path("2024-25"))
    kept = [p for p in bucket.list("quarantine/nbacom_schedule/") if p.endswith(".json")]
    assert len(kept) == 1 and f"/{target}/" in kept[0]
    assert bucket.read(kept[0] + ".reason").decode().startswith(reason)


def test_ingest_keeps_every_version_and_refuses_dropping_box_score_dates(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #2: main overwrote the schedule with no earlier copy kept, and a version that
    lost game dates holding box scores turned them into no_games. Now that version is refused
    unless --force, and with --force the earlier version is still in the bucket."""
    bucket = bucket_of(home)
    full = bucket.read(PATH)
    short = write_json(tmp_path / "short.json", without_postseason(json.loads(full)))
    code, text = run(home, ["ingest", str(short)], monkeypatch, capsys)
    assert code == 2, text
    assert "schedule_drops_box_score_dates" in text and "--force" in text
    assert "2024-04-16" in text  # the first play-in date, whose box scores are in raw/
    assert bucket.read(PATH) == full
    code, text = run(home, ["ingest", "--force", str(short)], monkeypatch, capsys)
    assert code == 0, text
    kept = bucket.versions(PATH)
    assert [v.live for v in kept] == [False, True]
    assert bucket.read_version(PATH, kept[0].generation) == full
    assert bucket.read(PATH) == short.read_bytes()
    assert bucket.list("raw/nbacom_schedule/") == [PATH]  # versions are not listed
    code, text = run(home, ["ingest", str(short)], monkeypatch, capsys)
    assert code == 0, text
    assert len(bucket.versions(PATH)) == 2  # the same bytes again: no new version


# -- 3. schedule updates re-arm what they change --------------------------------------------


def test_schedule_with_playoffs_added_rearms_the_new_dates_and_status_shows_the_version(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #3: backfilled with a schedule missing the playoffs, then given the full one,
    main said "Nothing to do" and the play-in dates stayed not_expected."""
    bucket = bucket_of(home)
    full = bucket.read(PATH)
    bucket.write(PATH, json.dumps(without_postseason(json.loads(full))).encode())
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2", *WINDOW],
                     monkeypatch, capsys)
    assert code == 0, text
    assert date(2024, 4, 16) not in docs(home, "player_boxscores")
    code, text = run(home, ["ingest", str(write_json(tmp_path / "full.json", json.loads(full)))],
                     monkeypatch, capsys)
    assert code == 0, text
    code, text = run(home, ["status", "--season", SEASON], monkeypatch, capsys)
    assert "newer version in the bucket" in text, text
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2", *WINDOW],
                     monkeypatch, capsys)
    assert "Nothing to do" not in text, text
    assert code == 0, text
    box = docs(home, "player_boxscores")
    for day in (date(2024, 4, 16), date(2024, 4, 20), date(2024, 4, 25)):
        assert box[day].state is State.SUCCEEDED, (day, box.get(day))
    assert docs(home, "schedule")[date(2024, 4, 16)].state is State.SUCCEEDED
    live = bucket.versions(PATH)[-1]
    code, text = run(home, ["status", "--season", SEASON], monkeypatch, capsys)
    sha = hashlib.sha256(bucket.read(PATH)).hexdigest()[:12]
    assert f"schedule {SEASON} in use: {PATH} generation {live.generation}" in text, text
    assert f"sha256 {sha}" in text
    assert "newer version" not in text


def test_schedule_that_moves_a_game_rearms_both_dates(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14 #3: a postponement (a game moved to another date) re-arms the dates whose games
    changed, which main never recomputed."""
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2", *WINDOW],
                     monkeypatch, capsys)
    assert code == 0, text
    first = docs(home, "player_boxscores")
    doc = schedule_doc(home)
    src, dst = _two_game_days(doc)
    moved = src["games"].pop()
    moved["gameDateEst"] = dst["games"][0]["gameDateEst"]
    moved["gameDateTimeEst"] = dst["games"][0]["gameDateTimeEst"]
    dst["games"].append(moved)
    code, text = run(home, ["ingest", str(write_json(tmp_path / "moved.json", doc))],
                     monkeypatch, capsys)
    assert code == 0, text
    code, text = run(home, ["backfill", "--season", SEASON, "--phase", "2", *WINDOW],
                     monkeypatch, capsys)
    assert "Nothing to do" not in text, text
    after = docs(home, "player_boxscores")
    for day in (_day(src), _day(dst)):
        assert after[day].run_id != first[day].run_id, (day, after[day])
    untouched = date(2024, 4, 12)
    assert after[untouched].run_id == first[untouched].run_id


def _day(game_day: dict[str, Any]) -> date:
    return date.fromisoformat(game_day["games"][0]["gameDateEst"][:10])


def _two_game_days(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two regular-season dates of the window with games: 2024-04-10 and 2024-04-11."""
    found = {}
    for day in doc["leagueSchedule"]["gameDates"]:
        games = day["games"]
        if games and games[0]["gameDateEst"][:10] in ("2024-04-10", "2024-04-11"):
            found[games[0]["gameDateEst"][:10]] = day
    return found["2024-04-10"], found["2024-04-11"]
