"""Ingest: put a raw file from disk where phase 2 looks for it in the bucket.

The format is detected from the content (``backcourt.sources.detect``), the file is checked by
its parser, and its bytes are written unchanged (decompressed when gzip) to its place in the
bucket layout (``backcourt.sources.layout``):

* nbacom_schedule → ``<season>/scheduleLeagueV2.json`` (season = leagueSchedule.seasonYear),
  after its label, dates and game ids are checked against each other and against the version it
  replaces (``services.schedules``: refused files go to quarantine/ with a reason);
* nbacom_boxscore → ``<date>/<game id>.json``, the date looked up in the schedule files already
  in the bucket (BadInput when none is loaded or the game is on none of them);
* nbacom_leaguegamelog → ``<date>/leaguegamelog.json`` (GAME_DATE; one date per file);
* balldontlie_boxscores → ``<date>/box_scores.json`` (data[].date; one date per file);
* balldontlie_stats → ``<date>/stats.json`` (data[].game.date; one date per file);
* oddsapi_* → ``<date>/<event id>_<HHMMSS>.json``: date = commence_time in America/New_York,
  HHMMSS = snapshot time (UTC);
* nbacom_injury_report → ``<date>/<YYYYMMDD_HH>.json``: date = the earliest record date, name =
  the report time in America/New_York;
* nbacom_shotchart → ``<date>/<nba game id>.json``: date = the rows' GAME_DATE (one date per
  file), else the game's date on the schedule files in the bucket; the file is checked against
  that schedule game when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from backcourt.domain import reconcile
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.dates import EASTERN, eastern_date
from backcourt.domain.errors import BadInput, InconsistentRawFile, TerminalError
from backcourt.ports import Bucket
from backcourt.services.schedules import ingest_schedule
from backcourt.sources import (
    balldontlie,
    balldontlie_stats,
    box,
    nbacom_boxscore,
    nbacom_injury_report,
    nbacom_leaguegamelog,
    nbacom_schedule,
    nbacom_shotchart,
    oddsapi,
    oddsapi_game_lines,
    oddsapi_props,
)
from backcourt.sources.detect import detect
from backcourt.sources.layout import RAW, object_name, quarantine_path, raw_path, schedule_path
from backcourt.sources.limits import check_file
from backcourt.sources.parsing import Raw, decode, gunzip_if_needed

ScheduleIndex = Mapping[str, ScheduledGame]  # NBA.com game id → game


@dataclass(frozen=True)
class IngestResult:
    """Where one file went."""

    source: str
    dest: str
    game_date: date | None  # None for a season schedule


def schedule_index(bucket: Bucket) -> dict[str, ScheduledGame]:
    """Every game of the schedule files in the bucket, by NBA.com game id."""
    index: dict[str, ScheduledGame] = {}
    for path in bucket.list(f"{RAW}/nbacom_schedule/"):
        for row in nbacom_schedule.parse(decode(bucket.read(path), path), path):
            index[row["nba_game_id"]] = nbacom_schedule.scheduled_game(row)
    return index


def _one_date(name: str, dates: set[date]) -> date:
    if not dates:
        raise BadInput(f"{name}: holds no games, so it has no date to be stored under")
    if len(dates) > 1:
        listed = ", ".join(d.isoformat() for d in sorted(dates))
        raise BadInput(f"{name}: spans several dates ({listed}); store one file per date")
    return next(iter(dates))


def _consistent(name: str, dest: str, players: list[box.Row],
                teams: list[box.Row] | None = None) -> None:
    """Refuse a box score whose own numbers disagree (``domain.reconcile``, issue 14): it is
    kept in quarantine and never replaces the file at ``dest``."""
    problems = reconcile.internal_problems(
        players, box.team_rows_from_players(players) if teams is None else teams)
    if problems:
        raise InconsistentRawFile(name, "; ".join(problems) + f"; not stored, kept as "
                                  f"{quarantine_path(dest)}", dest)


def _schedule(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, None]:
    nbacom_schedule.parse(doc, name)
    return schedule_path(nbacom_schedule.season_of_file(doc, name)), None


def _boxscore(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
    game_id = nbacom_boxscore.game_id_of(doc, name)
    games = index()
    if not games:
        raise BadInput(f"{name}: cannot date box score of game {game_id}: no schedule in "
                       f"{RAW}/nbacom_schedule/ (ingest the season schedule first)")
    game = games.get(game_id)
    if game is None:
        seasons = ", ".join(sorted({g.season for g in games.values()}))
        raise BadInput(f"{name}: game {game_id} is not on the loaded schedules ({seasons})")
    dest = raw_path(nbacom_boxscore.SOURCE, game.game_date, f"{game_id}.json")
    _consistent(name, dest, nbacom_boxscore.parse_players(doc, name, game.game_date, [game]),
                nbacom_boxscore.parse_teams(doc, name, game.game_date, [game]))
    return dest, game.game_date


def _gamelog(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
    day = _one_date(name, nbacom_leaguegamelog.dates_of(doc, name))
    dest = raw_path(nbacom_leaguegamelog.SOURCE, day, "leaguegamelog.json")
    _consistent(name, dest, nbacom_leaguegamelog.parse_players(doc, name))
    return dest, day


def _balldontlie(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
    day = _one_date(name, balldontlie.dates_of(doc, name))
    dest = raw_path(balldontlie.SOURCE, day, "box_scores.json")
    _consistent(name, dest, balldontlie.parse_players(doc, name))
    return dest, day


def _balldontlie_stats(doc: Any, name: str, index: Callable[[], ScheduleIndex]
                       ) -> tuple[str, date]:
    day = _one_date(name, balldontlie_stats.dates_of(doc, name))
    dest = raw_path(balldontlie_stats.SOURCE, day, "stats.json")
    _consistent(name, dest, balldontlie_stats.parse_players(doc, name))
    return dest, day


def _odds(source: str, parse: Callable[[Any, str], object]
          ) -> Callable[[Any, str, Callable[[], ScheduleIndex]], tuple[str, date]]:
    def place(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
        parse(doc, name)
        raw = Raw(name)
        event = oddsapi.read_event(raw, doc)
        snapshot = oddsapi.latest_snapshot(raw, event)
        if snapshot is None:
            raise BadInput(f"{name}: no snapshot time (no timestamp wrapper, no bookmakers)")
        object_name(event.event_id, f"{name}: event id")  # it names the object
        file_name = f"{event.event_id}_{snapshot:%H%M%S}.json"
        return raw_path(source, event.game_date, file_name), event.game_date

    return place


def _injury(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
    nbacom_injury_report.parse(doc, name)
    issued = nbacom_injury_report.report_time(doc, name)
    dates = nbacom_injury_report.record_dates(doc, name)
    day = min(dates) if dates else eastern_date(issued)
    file_name = f"{issued.astimezone(EASTERN):%Y%m%d_%H}.json"
    return raw_path(nbacom_injury_report.SOURCE, day, file_name), day


def _shotchart(doc: Any, name: str, index: Callable[[], ScheduleIndex]) -> tuple[str, date]:
    game_id = nbacom_shotchart.game_id_of(doc, name)
    dates = nbacom_shotchart.dates_of(doc, name)
    game = index().get(game_id)
    if dates:
        day = _one_date(name, dates)
    elif game is not None:
        day = game.game_date
    else:
        raise BadInput(f"{name}: shot chart of game {game_id} has no rows (no GAME_DATE) and the "
                       f"game is not on the schedules in {RAW}/nbacom_schedule/")
    nbacom_shotchart.parse(doc, name, [game] if game is not None else ())
    return raw_path(nbacom_shotchart.SOURCE, day, f"{game_id}.json"), day


_PLACERS: dict[str, Callable[[Any, str, Callable[[], ScheduleIndex]], tuple[str, date | None]]] = {
    "nbacom_schedule": _schedule,
    "nbacom_boxscore": _boxscore,
    "nbacom_leaguegamelog": _gamelog,
    "balldontlie_boxscores": _balldontlie,
    "balldontlie_stats": _balldontlie_stats,
    "oddsapi_player_props": _odds(oddsapi_props.SOURCE, oddsapi_props.parse),
    "oddsapi_game_lines": _odds(oddsapi_game_lines.SOURCE, oddsapi_game_lines.parse),
    "nbacom_injury_report": _injury,
    "nbacom_shotchart": _shotchart,
}


def _read_local(path: Path) -> bytes:
    try:
        check_file(path.stat().st_size, str(path))  # before reading: the largest of any source
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"no such file: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a directory, not a raw file") from None


def ingest_file(bucket: Bucket, path: Path, *, schedule: ScheduleIndex | None = None,
                force: bool = False) -> IngestResult:
    """Detect, check and store one raw file in the bucket.

    Args:
        bucket: where raw files live.
        path: a local file (JSON, or gzip of JSON).
        schedule: NBA.com game id → game, to date box scores; read from the bucket's schedule
            files when not given.
        force: store a schedule even when it drops dates that hold box scores.
    Raises:
        MalformedRawFile: unrecognised format, or a file its parser rejects.
        InconsistentRawFile: a box score whose own numbers disagree (team points ≠ its
            players' points, made > attempted): written to ``quarantine/`` only, so it never
            replaces the file already stored.
        BadInput: the file cannot be placed (no schedule, unknown game, several dates).
        ScheduleRefused: a schedule failed its checks (``services.schedules``; quarantined).
    """
    data = _read_local(path)
    name = str(path)
    source, doc = detect(data, name)
    check_file(len(data), name, source)  # this source's own limit
    if source == "nbacom_schedule":  # checked against its season, versions kept
        dest = ingest_schedule(bucket, gunzip_if_needed(data, name), doc, name, force=force)
        return IngestResult(source, dest, None)
    try:
        dest, game_date = _PLACERS[source](doc, name, lambda: schedule or schedule_index(bucket))
    except InconsistentRawFile as exc:  # kept to look at, never where phase 2 reads
        bucket.write(quarantine_path(exc.dest), gunzip_if_needed(data, name))
        raise
    bucket.write(dest, gunzip_if_needed(data, name))
    return IngestResult(source, dest, game_date)


def ingest_files(bucket: Bucket, paths: Sequence[Path], *, force: bool = False
                 ) -> tuple[list[IngestResult], list[TerminalError]]:
    """Ingest many files: schedules first, the schedule index read once; failures collected.

    Returns:
        The files stored, and the errors of the files that were not (in input order).
    """
    detected: list[tuple[int, Path]] = []
    errors: list[tuple[int, TerminalError]] = []
    for i, path in enumerate(paths):
        try:
            source = detect(_read_local(path), str(path))[0]
        except TerminalError as exc:
            errors.append((i, exc))
            continue
        detected.append((0 if source == "nbacom_schedule" else 1, path))
    results = []
    index: dict[str, ScheduledGame] | None = None
    for rank, path in sorted(detected, key=lambda item: item[0]):
        if rank == 1 and index is None:
            index = schedule_index(bucket)
        try:
            results.append(ingest_file(bucket, path, schedule=index, force=force))
        except TerminalError as exc:
            errors.append((paths.index(path), exc))
    return results, [exc for _, exc in sorted(errors, key=lambda item: item[0])]
