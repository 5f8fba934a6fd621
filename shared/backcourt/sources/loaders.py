"""Phase-2 loaders: the Python processors the registry names. Each reads the raw files of the
dates it owns from the bucket (``raw/<source>/<game_date>/``), parses them, and returns one
:class:`DayLoad` per date. A file no parser accepts goes to ``bad_files`` (the caller moves it to
quarantine) while the other files are still parsed.

**Box-score priority.** Per game: ``nbacom_boxscore`` > ``nbacom_leaguegamelog`` >
``balldontlie_boxscores`` > ``balldontlie_stats``. A game is taken whole (every player row, and the
team rows) from the highest-priority source that has it; sources are never mixed within a game.
Games are matched to the day's schedule by NBA.com id (nbacom, and leaguegamelog when its id is on
the schedule) or by (date, home, away); a box score of a game that is not on the schedule of its
date makes its file bad. Once every scheduled game of a day is covered, lower-priority sources are
not read. Team rows are NBA.com TeamStats for games from ``nbacom_boxscore``, otherwise the sum of
that team's player rows (minutes = rounded sum of player minutes, plus_minus = points −
opponent's). A box-score file whose own numbers disagree (team points ≠ the sum of its players'
points, made > attempted: ``domain.reconcile``) is bad like a file that does not parse.

**Schedule.** ``load_schedule`` reads every file under ``raw/nbacom_schedule/<season>/`` once per
call for the seasons its dates fall in. When a season has several files, a game is taken from the
file with the highest gameStatus for it, ties going to the later path in sort order. A bad season
file (one that does not parse, or whose seasonYear is another season) is reported on every date of
that season the call owns. A season without any schedule file raises ``ScheduleMissing``: its
dates are unknown, never "no games". Each row's ``source_file`` is ``<path>#<generation>``, the
object version read (the schedule version in use, shown by ``backcourt status``).

**Point-in-time sources.** Odds files must hold an event that starts (in America/New_York) on
the date they are stored under. An injury report stored under a date contributes its records of
that date only (a report also listing the next day's games leaves those to the next day's
reports). A natural key (the table's key) held by several files of a date is kept once, from the
file with the latest snapshot (``sources.dedupe``); ``DayLoad.duplicates`` counts the rows dropped.

**Shot charts.** ``load_shot_chart`` parses every ``nbacom_shotchart`` file of a date with that
day's schedule (for the system game id). A file whose GAME_DATE is not the date it is stored
under is bad. When two files hold the same game, the first in path order is taken whole and the
other is not read into the rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backcourt.domain import reconcile
from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import InconsistentRawFile, MalformedRawFile, ScheduleMissing
from backcourt.domain.ids import season_of
from backcourt.domain.schema import Table
from backcourt.ports import ArrowRows, Bucket
from backcourt.sources import (
    balldontlie,
    balldontlie_stats,
    box,
    nbacom_boxscore,
    nbacom_injury_report,
    nbacom_leaguegamelog,
    nbacom_schedule,
    nbacom_shotchart,
    oddsapi_game_lines,
    oddsapi_props,
)
from backcourt.sources.columns import Columns
from backcourt.sources.dedupe import collapse
from backcourt.sources.layout import RAW, raw_prefix
from backcourt.sources.parsing import decode

BOX_PRIORITY = ("nbacom_boxscore", "nbacom_leaguegamelog", "balldontlie_boxscores",
                "balldontlie_stats")

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class LoadContext:
    """What a loader needs: the bucket, the dates it owns and their scheduled games."""

    bucket: Bucket
    days: Sequence[date]
    games: Mapping[date, Sequence[ScheduledGame]]  # empty for load_schedule


@dataclass
class DayLoad:
    """One date's rows, the files that failed to parse, and how many files were read."""

    rows: Rows | ArrowRows = field(default_factory=list)
    """The rows, as dicts or (the loaders that build them column by column) Arrow."""
    bad_files: list[MalformedRawFile] = field(default_factory=list)
    files: int = 0
    duplicates: int = 0
    """Rows dropped because another file of the date held the same natural key
    (``sources.dedupe``: the latest snapshot wins)."""


def _read(bucket: Bucket, path: str) -> Any:
    return decode(bucket.read(path), path)


# ---------------------------------------------------------------- schedule


def _season_rows(bucket: Bucket, season: str) -> tuple[Rows, list[MalformedRawFile], int]:
    """Rows of a season's schedule files (one row per game, see the module docstring)."""
    paths = bucket.list(f"{RAW}/nbacom_schedule/{season}/")
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    bad = []
    for path in paths:
        try:
            generation, data = _live_version(bucket, path)
            doc = decode(data, path)
            rows = nbacom_schedule.parse(doc, path)
            found = nbacom_schedule.season_of_file(doc, path)
        except MalformedRawFile as exc:
            bad.append(exc)
            continue
        if found != season:  # else its games silently leave every date of `season` empty
            bad.append(MalformedRawFile(path, f"leagueSchedule.seasonYear is {found}, but the "
                                              f"file is stored under season {season}"))
            continue
        for row in rows:
            row["source_file"] = f"{path}#{generation}"
            held = best.get(row["nba_game_id"])
            if held is None or row["game_status"] >= held[0]:
                best[row["nba_game_id"]] = (row["game_status"], row)
    return [row for _, row in best.values()], bad, len(paths)


def _live_version(bucket: Bucket, path: str) -> tuple[int, bytes]:
    """The live generation of an object and its bytes, read by that generation."""
    live = [v for v in bucket.versions(path) if v.live]
    if not live:
        return 0, bucket.read(path)
    return live[-1].generation, bucket.read_version(path, live[-1].generation)


def load_schedule(ctx: LoadContext) -> dict[date, DayLoad]:
    """Schedule rows per date, from the season files of the seasons the dates fall in.

    Raises:
        ScheduleMissing: a season has no schedule file in the bucket.
    """
    out = {day: DayLoad() for day in ctx.days}
    games: dict[date, Rows] = {day: [] for day in ctx.days}
    for season in sorted({season_of(d) for d in ctx.days}):
        rows, bad, files = _season_rows(ctx.bucket, season)
        if not files:
            raise ScheduleMissing(season)
        for day in (d for d in ctx.days if season_of(d) == season):
            out[day].bad_files.extend(bad)
            out[day].files += files
        for row in rows:
            if row["game_date"] in games:
                games[row["game_date"]].append(row)
    for day, load in out.items():
        load.rows = games[day]
    return out


# ---------------------------------------------------------------- box scores

# game_id → (player rows, team rows)
_Games = dict[str, tuple[Rows, Rows]]


def _by_game(players: Rows, teams: Rows) -> _Games:
    out: _Games = {}
    for p in players:
        out.setdefault(p["game_id"], ([], []))[0].append(p)
    for t in teams:
        out.setdefault(t["game_id"], ([], []))[1].append(t)
    return out


def _consistent(path: str, players: Rows, teams: Rows) -> _Games:
    """The games of a file whose own numbers agree (``reconcile.internal_problems``); else the
    file is bad (quarantined, its date failed) and the rows already stored are kept."""
    problems = reconcile.internal_problems(players, teams)
    if problems:
        raise InconsistentRawFile(path, "; ".join(problems), path)
    return _by_game(players, teams)


def _nbacom(doc: Any, path: str, day: date, games: Sequence[ScheduledGame]) -> _Games:
    return _consistent(path, nbacom_boxscore.parse_players(doc, path, day, games),
                       nbacom_boxscore.parse_teams(doc, path, day, games))


def _summed(parser: Callable[..., Rows]) -> Callable[[Any, str, date, Sequence[ScheduledGame]],
                                                      _Games]:
    def parse(doc: Any, path: str, day: date, games: Sequence[ScheduledGame]) -> _Games:
        players = parser(doc, path, day, games)
        return _consistent(path, players, box.team_rows_from_players(players))

    return parse


_BOX_PARSERS: dict[str, Callable[[Any, str, date, Sequence[ScheduledGame]], _Games]] = {
    "nbacom_boxscore": _nbacom,
    "nbacom_leaguegamelog": _summed(nbacom_leaguegamelog.parse_players),
    "balldontlie_boxscores": _summed(balldontlie.parse_players),
    "balldontlie_stats": _summed(balldontlie_stats.parse_players),
}


BOX_MEMO_FILES = 512
"""Box-score files whose games a process keeps (about 20 MiB): the player and the team loaders
read the same files for the same dates, and the second finds each one parsed (same source,
path, date, schedule and bytes; only a file that parsed is kept)."""
_box_memo: OrderedDict[tuple[Any, ...], _Games] = OrderedDict()
_box_memo_lock = threading.Lock()


def _box_file(ctx: LoadContext, source: str, path: str, day: date,
              games: Sequence[ScheduledGame]) -> _Games:
    data = ctx.bucket.read(path)
    key = (source, path, day, tuple(games), data)
    with _box_memo_lock:
        found = _box_memo.get(key)
        if found is not None:
            _box_memo.move_to_end(key)
            return found
    found = _BOX_PARSERS[source](decode(data, path), path, day, games)
    with _box_memo_lock:
        _box_memo[key] = found
        while len(_box_memo) > BOX_MEMO_FILES:
            _box_memo.popitem(last=False)
    return found


def _box_day(ctx: LoadContext, day: date) -> tuple[_Games, DayLoad]:
    """The games of a day taken by priority, and a DayLoad holding the bad files and count."""
    games = ctx.games.get(day, ())
    wanted = {g.game_id for g in games}
    taken: _Games = {}
    load = DayLoad()
    for source in BOX_PRIORITY:
        if wanted and wanted <= taken.keys():
            break
        for path in ctx.bucket.list(raw_prefix(source, day)):
            load.files += 1
            try:
                found = _box_file(ctx, source, path, day, games)
            except MalformedRawFile as exc:
                load.bad_files.append(exc)
                continue
            for game_id, rows in found.items():
                taken.setdefault(game_id, rows)
    return taken, load


def _box_loads(ctx: LoadContext, pick: int) -> dict[date, DayLoad]:
    """Per date, the player (pick 0) or team (pick 1) rows of the games taken."""
    out = {}
    for day in ctx.days:
        taken, load = _box_day(ctx, day)
        rows = Columns(tr.PLAYER_BOXSCORES if pick == 0 else tr.TEAM_BOXSCORES)
        for game_id in sorted(taken):
            rows.add_rows(taken[game_id][pick])
        load.rows = rows.rows()
        out[day] = load
    return out


def load_player_boxscores(ctx: LoadContext) -> dict[date, DayLoad]:
    """Player box-score rows per date, each game from one source by priority."""
    return _box_loads(ctx, 0)


def load_team_boxscores(ctx: LoadContext) -> dict[date, DayLoad]:
    """Team box-score rows per date: NBA.com TeamStats, or the sums of the game's players."""
    return _box_loads(ctx, 1)


# ---------------------------------------------------------------- point-in-time sources


def _per_file(
    ctx: LoadContext,
    source: str,
    parse: Callable[[Any, str], Rows],
    keep: Callable[[Rows, date, str], Rows],
    table: Table,
    snapshot: str,
) -> dict[date, DayLoad]:
    """Rows per date of a point-in-time source, one natural key once (``sources.dedupe``)."""
    out = {}
    for day in ctx.days:
        load = DayLoad()
        files: list[tuple[str, Rows]] = []
        for path in sorted(ctx.bucket.list(raw_prefix(source, day))):
            load.files += 1
            try:
                files.append((path, keep(parse(_read(ctx.bucket, path), path), day, path)))
            except MalformedRawFile as exc:
                load.bad_files.append(exc)
        rows, load.duplicates = collapse(files, table.key, snapshot)
        columns = Columns(table)
        columns.add_rows(rows)
        load.rows = columns.rows()
        out[day] = load
    return out


def _same_day(rows: Rows, day: date, path: str) -> Rows:
    """Odds rows must be for the date the file is stored under."""
    for row in rows:
        if row["game_date"] != day:
            raise MalformedRawFile(path, f"event {row['event_id']} starts on "
                                         f"{row['game_date'].isoformat()} (America/New_York), "
                                         f"not {day.isoformat()}")
    return rows


def _that_day(rows: Rows, day: date, path: str) -> Rows:
    return [r for r in rows if r["game_date"] == day]


def load_player_props(ctx: LoadContext) -> dict[date, DayLoad]:
    """Odds API player_points rows per date."""
    return _per_file(ctx, oddsapi_props.SOURCE, oddsapi_props.parse, _same_day,
                     tr.PLAYER_PROPS, "snapshot_timestamp")


def load_game_lines(ctx: LoadContext) -> dict[date, DayLoad]:
    """Odds API spreads and totals rows per date."""
    return _per_file(ctx, oddsapi_game_lines.SOURCE, oddsapi_game_lines.parse, _same_day,
                     tr.GAME_LINES, "snapshot_timestamp")


def load_injury_report(ctx: LoadContext) -> dict[date, DayLoad]:
    """Injury report rows per date (records of that date from the reports stored under it)."""
    return _per_file(ctx, nbacom_injury_report.SOURCE, nbacom_injury_report.parse, _that_day,
                     tr.INJURY_REPORT, "report_time")


# ---------------------------------------------------------------- shot charts


def _shot_file(ctx: LoadContext, day: date, path: str) -> dict[str, list[Any]]:
    cols = nbacom_shotchart.parse_columns(_read(ctx.bucket, path), path, ctx.games.get(day, ()))
    stored = cols["game_date"][0]  # parse guarantees rows, all of one GAME_DATE
    if stored != day:
        raise MalformedRawFile(path, f"GAME_DATE is {stored.isoformat()} but the file is stored "
                                     f"under {day.isoformat()}")
    return cols


def load_shot_chart(ctx: LoadContext) -> dict[date, DayLoad]:
    """Shot-chart rows per date (one row per field-goal attempt), one file per game."""
    out = {}
    for day in ctx.days:
        load = DayLoad()
        taken: set[str] = set()
        rows = Columns(tr.SHOT_CHART)
        for path in sorted(ctx.bucket.list(raw_prefix(nbacom_shotchart.SOURCE, day))):
            load.files += 1
            try:
                cols = _shot_file(ctx, day, path)
            except MalformedRawFile as exc:
                load.bad_files.append(exc)
                continue
            if cols["nba_game_id"][0] not in taken:
                taken.add(cols["nba_game_id"][0])
                rows.add(cols)
        load.rows = rows.rows()
        out[day] = load
    return out
