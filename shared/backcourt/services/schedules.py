"""Schedules with provenance: the season schedule decides every other processor's calendar, so
it is checked when it arrives, every version of it is kept, and a change to it re-arms what it
changes.

* **Missing.** A season with no schedule file in the bucket has unknown dates: nothing is
  planned for it (``require_schedules`` raises ``ScheduleMissing``, naming the file and the
  command that loads it), so no date of it is ever recorded ``not_expected``.
* **Checked on ingest** (``check_schedule``): the file's season label
  (``leagueSchedule.seasonYear``), its game dates (inside ``ids.season_bounds`` of the label)
  and its game ids' season digits (``00T SS NNNNN``: SS = the season's start year mod 100) must
  agree, and it must hold games. A new version that drops game dates holding raw box-score files
  is refused unless ``force``. A refused file is kept in ``quarantine/nbacom_schedule/`` with a
  ``.reason`` file naming the rule (``ScheduleRefused.reason``).
* **Versions.** The bucket keeps every overwritten version (GCS Object Versioning; locally
  ``FolderBucket``'s ``.versions/``). The schedule loader records the generation it read in each
  row's ``source_file`` (``<path>#<generation>``): that is the version in use.
* **Changes.** ``rearm_changed_schedule`` (each plan) re-arms the schedule processor of a season
  whose live file is not the version in use; ``rearm_changed_dates`` (after the schedule is
  written) marks stale every date whose type or games changed, with everything downstream of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from backcourt.domain.calendar import build_calendar
from backcourt.domain.errors import ScheduleMissing, ScheduleRefused
from backcourt.domain.ids import season_bounds, season_of, season_start_year
from backcourt.domain.status import State
from backcourt.ports import Bucket, Services, StatusStore, Warehouse
from backcourt.services.calendar import season_games
from backcourt.sources import nbacom_schedule
from backcourt.sources.layout import QUARANTINE, RAW, raw_prefix, schedule_path
from backcourt.sources.loaders import BOX_PRIORITY

SCHEDULE = "schedule"
REARM = (State.SUCCEEDED, State.NOT_EXPECTED, State.DEGRADED, State.FAILED, State.BLOCKED,
         State.CANCELLED)

NO_GAMES = "schedule_no_games"
DATES_OUTSIDE_SEASON = "schedule_dates_outside_season"
GAME_IDS_OF_OTHER_SEASON = "schedule_game_ids_of_other_season"
DROPS_BOX_SCORE_DATES = "schedule_drops_box_score_dates"


@dataclass(frozen=True)
class ScheduleVersion:
    """One version of a season's schedule file."""

    path: str
    generation: int
    updated: datetime
    sha256: str
    live: bool

    @property
    def tag(self) -> str:
        """``<path>#<generation>`` (as in the schedule rows' ``source_file``)."""
        return f"{self.path}#{self.generation}"

    def describe(self) -> str:
        """One line for people: path, generation, time and content hash."""
        return (f"{self.path} generation {self.generation} "
                f"({self.updated.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z, sha256 "
                f"{self.sha256[:12]})")


def schedule_files(bucket: Bucket, season: str) -> list[str]:
    """The season's schedule files in the bucket."""
    return bucket.list(f"{RAW}/nbacom_schedule/{season}/")


def require_schedules(bucket: Bucket, seasons: Sequence[str],
                      status: StatusStore | None = None) -> None:
    """Raise ``ScheduleMissing`` for the first season without a schedule file in the bucket.

    With ``status`` (a plan in the middle of a run), a season whose schedule load failed (its
    file was bad and went to quarantine) is not missing: its dates say why they failed."""
    for season in seasons:
        if not schedule_files(bucket, season) and not _load_failed(status, season):
            raise missing(season)


def missing(season: str) -> ScheduleMissing:
    """The error of a season without a schedule (advising ``sample-data`` where it works)."""
    from backcourt.sample.league import SEASONS

    return ScheduleMissing(season, sample=season in SEASONS)


def _load_failed(status: StatusStore | None, season: str) -> bool:
    if status is None:
        return False
    start, end = season_bounds(season)
    return any(d.state is State.FAILED for d in status.list([SCHEDULE], start, end))


def versions(bucket: Bucket, path: str) -> list[ScheduleVersion]:
    """Every kept version of one schedule file, oldest first (the live one last)."""
    return [ScheduleVersion(v.path, v.generation, v.updated,
                            hashlib.sha256(bucket.read_version(path, v.generation)).hexdigest(),
                            v.live)
            for v in bucket.versions(path)]


def in_use(warehouse: Warehouse, season: str) -> list[str]:
    """The ``<path>#<generation>`` tags of the schedule rows loaded for the season."""
    rows = warehouse.query("SELECT DISTINCT source_file FROM nba_raw.schedule "
                           "WHERE season = @season ORDER BY 1", {"season": season})
    return [str(r["source_file"]) for r in rows]


def live_tags(bucket: Bucket, season: str) -> list[str]:
    """``<path>#<generation>`` of the live version of each of the season's schedule files."""
    out = []
    for path in schedule_files(bucket, season):
        live = [v for v in bucket.versions(path) if v.live]
        out.append(f"{path}#{live[-1].generation if live else 0}")
    return sorted(out)


def rearm_changed_schedule(services: Services, season: str) -> bool:
    """Re-arm the schedule processor of ``season`` when the bucket's live schedule is not the
    version loaded (a new version arrived, or the season was recorded before it had one), so
    the plan loads it. Returns whether it did."""
    live = live_tags(services.bucket, season)
    if not live or live == in_use(services.warehouse, season):
        return False
    start, end = season_bounds(season)
    days = [d.game_date for d in services.status.list([SCHEDULE], start, end)]
    return bool(days) and services.status.reset(SCHEDULE, days, list(REARM)) > 0


# -- what changed between two loads -----------------------------------------------------------

DayKey = tuple[str, tuple[tuple[str, str, str, bool], ...]]


def fingerprints(warehouse: Warehouse, seasons: Sequence[str]) -> dict[date, DayKey]:
    """Per date of the seasons' calendars: its type and its games (id, away, home, final)."""
    out: dict[date, DayKey] = {}
    for season in seasons:
        for day in build_calendar(season, season_games(warehouse, season)).days:
            out[day.game_date] = (day.date_type.value, tuple(
                (g.nba_game_id, g.away, g.home, g.is_final) for g in day.games))
    return out


def rearm_changed_dates(services: Services, before: Mapping[date, DayKey],
                        after: Mapping[date, DayKey]) -> dict[str, list[date]]:
    """Mark stale, with their downstream, the dates whose type or games changed between two
    loads of the schedule (a postponement, playoffs added). Dates new to the calendar need
    nothing: the next plan seeds them pending. Only an earlier load is compared (the first load
    of a season changes nothing)."""
    from backcourt.services.ops import invalidate

    if not before:
        return {}
    changed = sorted(d for d in set(before) | set(after)
                     if d in before and before.get(d) != after.get(d))
    marked: dict[str, set[date]] = {}
    for day in changed:
        for proc in _raw_processors():
            for name, days in invalidate(services, proc, day, day).items():
                marked.setdefault(name, set()).update(days)
    return {k: sorted(v) for k, v in marked.items()}


def _raw_processors() -> list[str]:
    from backcourt.domain import registry

    return [p.name for p in registry.of_phase(registry.Phase.RAW) if p.name != SCHEDULE]


def seasons_of(days: Sequence[date]) -> list[str]:
    """The seasons of some dates, in order."""
    return sorted({season_of(d) for d in days})


# -- ingest checks ----------------------------------------------------------------------------


def check_schedule(doc: Any, name: str) -> tuple[str, list[dict[str, Any]]]:
    """The season label and rows of a schedule file whose label, dates and game ids agree.

    Raises:
        MalformedRawFile: the parser rejects it.
        ScheduleRefused: no games, a date outside the labelled season, or a game id of
            another season.
    """
    rows = nbacom_schedule.parse(doc, name)
    label = nbacom_schedule.season_of_file(doc, name)
    if not rows:
        raise ScheduleRefused(f"{name}: schedule of {label} holds no games (refused: it would "
                              "make every date of the season a date without games)", NO_GAMES)
    lo, hi = season_bounds(label)
    outside = sorted({r["game_date"] for r in rows if not lo <= r["game_date"] <= hi})
    if outside:
        raise ScheduleRefused(
            f"{name}: labelled {label} (leagueSchedule.seasonYear) but {len(outside)} game "
            f"date(s) are outside {lo}..{hi}, e.g. {outside[0]} (season "
            f"{season_of(outside[0])})", DATES_OUTSIDE_SEASON)
    digits = f"{season_start_year(label) % 100:02d}"
    other = sorted(r["nba_game_id"] for r in rows if r["nba_game_id"][3:5] != digits)
    if other:
        raise ScheduleRefused(
            f"{name}: labelled {label} but {len(other)} game id(s) are of another season, e.g. "
            f"{other[0]} (season digits {other[0][3:5]}, expected {digits})",
            GAME_IDS_OF_OTHER_SEASON)
    return label, rows


def _game_dates(rows: Sequence[Mapping[str, Any]]) -> set[date]:
    return {r["game_date"] for r in rows if not r["postponed"]}


def _box_score_dates(bucket: Bucket, days: Sequence[date]) -> list[date]:
    return [d for d in days if any(bucket.list(raw_prefix(s, d)) for s in BOX_PRIORITY)]


def check_no_dropped_box_dates(bucket: Bucket, dest: str, rows: Sequence[Mapping[str, Any]],
                               name: str) -> None:
    """Refuse a new version of ``dest`` that drops game dates holding raw box-score files.

    Raises:
        ScheduleRefused: it does (reason ``schedule_drops_box_score_dates``).
    """
    if not bucket.exists(dest):
        return
    old = nbacom_schedule.parse(_decode(bucket.read(dest), dest), dest)
    dropped = sorted(_game_dates(old) - _game_dates(rows))
    held = _box_score_dates(bucket, dropped)
    if held:
        listed = ", ".join(d.isoformat() for d in held[:5]) + (" …" if len(held) > 5 else "")
        raise ScheduleRefused(
            f"{name}: this version of {dest} drops {len(held)} game date(s) whose box scores "
            f"are in the bucket ({listed}); refused, the current version is kept (use --force "
            "to replace it anyway)", DROPS_BOX_SCORE_DATES)


def _decode(data: bytes, path: str) -> Any:
    from backcourt.sources.parsing import decode

    return decode(data, path)


def quarantine(bucket: Bucket, data: bytes, label: str, refused: ScheduleRefused,
               now: datetime) -> str:
    """Keep a refused schedule in ``quarantine/nbacom_schedule/<label>/`` with a ``.reason``
    file; returns its path."""
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = f"{QUARANTINE}/nbacom_schedule/{label}/{now:%Y%m%dT%H%M%S}Z_{digest}.json"
    bucket.write(path, data)
    bucket.write(path + ".reason", f"{refused.reason}: {refused.message}\n".encode())
    return path


def ingest_schedule(bucket: Bucket, data: bytes, doc: Any, name: str, *, force: bool = False,
                    now: datetime | None = None) -> str:
    """Check a schedule file and store it as its season's schedule (the previous version is
    kept by the bucket's versioning; the same bytes again make no new version); returns where
    it went.

    Raises:
        MalformedRawFile: the parser rejects it (nothing kept).
        ScheduleRefused: a check failed; the file is in quarantine and the message says where.
    """
    label = nbacom_schedule.season_of_file(doc, name)
    try:
        label, rows = check_schedule(doc, name)
        dest = schedule_path(label)
        if not force:
            check_no_dropped_box_dates(bucket, dest, rows, name)
    except ScheduleRefused as refused:
        kept = quarantine(bucket, data, label, refused, now or datetime.now(UTC))
        raise ScheduleRefused(f"{refused.message} (refused: {refused.reason}; the file is "
                              f"kept as {kept})", refused.reason) from None
    if not (bucket.exists(dest) and bucket.read(dest) == data):  # the same bytes: no version
        bucket.write(dest, data)
    return dest
