"""NBA.com ``boxscoretraditionalv2`` (one file per game) → player and team box-score rows.

The file has no date and no home flag: both come from the day's schedule, matched on the NBA.com
game id. Players with a COMMENT and null stats did not play: ``player_status`` is ``inactive``
when the comment says so (or NWT, not with team), else ``dnp``; their stats stay NULL and their
minutes are 0.0. Team minutes ("265:00") become an integer (265 = one overtime).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.ids import player_lookup, season_start_year
from backcourt.sources import box
from backcourt.sources.parsing import Raw, result_set

SOURCE = "nbacom_boxscore"

# NBA.com header → our stat column (same order as box.STAT_COLUMNS).
STAT_HEADERS: tuple[tuple[str, str], ...] = tuple(zip(
    ("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK",
     "TO", "PF", "PTS", "PLUS_MINUS"),
    box.STAT_COLUMNS,
    strict=True,
))
PLAYER_HEADERS = ("GAME_ID", "TEAM_ABBREVIATION", "PLAYER_ID", "PLAYER_NAME", "START_POSITION",
                  "COMMENT", "MIN", *(h for h, _ in STAT_HEADERS))
TEAM_HEADERS = ("GAME_ID", "TEAM_ABBREVIATION", "MIN", *(h for h, _ in STAT_HEADERS))
_INACTIVE = re.compile(r"inactive|\bnwt\b|not with team", re.IGNORECASE)


def game_id_of(doc: Any, source_file: str) -> str:
    """The NBA.com game id of a box score (parameters.GameID, else the first player row's)."""
    raw = Raw(source_file)
    params = raw.obj(doc, "file").get("parameters")
    if isinstance(params, dict) and isinstance(params.get("GameID"), str):
        return raw.text(params["GameID"], "parameters.GameID")
    rows = result_set(raw, doc, "PlayerStats", ("GAME_ID",))
    if not rows:
        raw.fail("resultSets[PlayerStats] has no rows")
    return raw.text(rows[0]["GAME_ID"], "resultSets[PlayerStats].rowSet[0].GAME_ID")


def _team(raw: Raw, value: Any, game: ScheduledGame, where: str) -> str:
    name = raw.text(value, where)
    if name in (game.home, game.away):  # exhibition teams (All-Star) are only on the schedule
        return name
    return raw.team(name, where)


def _the_game(raw: Raw, doc: Any, game_date: date, games: Sequence[ScheduledGame]) -> ScheduledGame:
    nba_id = game_id_of(doc, raw.path)
    return box.find_game(raw, games, game_date, nba_game_id=nba_id)


def _player(raw: Raw, rec: dict[str, Any], where: str, game: ScheduledGame, audit: tuple[str, str]
            ) -> box.Row:
    team = _team(raw, rec["TEAM_ABBREVIATION"], game, f"{where}.TEAM_ABBREVIATION")
    is_home, _ = box.side_of(raw, game, team, where)
    name = raw.text(rec["PLAYER_NAME"], f"{where}.PLAYER_NAME")
    comment = raw.opt_text(rec["COMMENT"], f"{where}.COMMENT")
    played = rec["MIN"] not in (None, "")
    stats: dict[str, int | None]
    values = [rec[h] for h, _ in STAT_HEADERS]
    if played:
        if set(map(type, values)) == {int}:  # the common case, checked at once
            stats = dict(zip(box.STAT_COLUMNS, values, strict=True))
        else:
            stats = {col: raw.integer(rec[h], f"{where}.{h}") for h, col in STAT_HEADERS}
        status = "active"
    else:
        if values.count(None) == len(values):
            stats = dict.fromkeys(box.STAT_COLUMNS)
        else:
            stats = {col: raw.opt_int(rec[h], f"{where}.{h}") for h, col in STAT_HEADERS}
        if any(v is not None for v in stats.values()):
            raw.fail(f"{where}: MIN is null but stats are present for {name}")
        status = "inactive" if comment and _INACTIVE.search(comment) else "dnp"
    player = {
        "player_id": raw.integer(rec["PLAYER_ID"], f"{where}.PLAYER_ID"),
        "player_name": name,
        "player_lookup": player_lookup(name),
        "player_status": status,
        "dnp_reason": None if played else comment,
        "starter": bool(raw.opt_text(rec["START_POSITION"], f"{where}.START_POSITION")),
        "minutes": raw.clock_minutes(rec["MIN"], f"{where}.MIN") if played else 0.0,
    }
    return box.player_row(game, team, is_home, player, stats, audit)


def _check_game_id(raw: Raw, rec: dict[str, Any], game: ScheduledGame, where: str) -> None:
    if raw.text(rec["GAME_ID"], f"{where}.GAME_ID") != game.nba_game_id:
        raw.fail(f"{where}.GAME_ID {rec['GAME_ID']!r} is not game {game.nba_game_id}")


def parse_players(
    doc: Any, source_file: str, game_date: date, games: Sequence[ScheduledGame]
) -> list[box.Row]:
    """Player rows of one box score, placed on the scheduled game with its NBA.com id.

    Raises:
        MalformedRawFile: structure, types, unknown team, or a game not on the schedule.
    """
    raw = Raw(source_file)
    game = _the_game(raw, doc, game_date, games)
    try:
        rows = _players_at_once(raw, doc, game)
    except (_Unsure, MalformedRawFile, KeyError, TypeError, ValueError, AttributeError,
            IndexError):  # read row by row: the same rows, or the error naming the row
        rows = _players_by_row(raw, doc, game)
    box.check_both_teams(raw, game, rows)
    return rows


def parse_players_by_row(
    doc: Any, source_file: str, game_date: date, games: Sequence[ScheduledGame]
) -> list[box.Row]:
    """:func:`parse_players` reading every row on its own (the reference the column-wise
    reading must equal; it is what a file the column-wise reading cannot vouch for gets)."""
    raw = Raw(source_file)
    game = _the_game(raw, doc, game_date, games)
    rows = _players_by_row(raw, doc, game)
    box.check_both_teams(raw, game, rows)
    return rows


def _players_by_row(raw: Raw, doc: Any, game: ScheduledGame) -> list[box.Row]:
    rows = []
    for i, rec in enumerate(result_set(raw, doc, "PlayerStats", PLAYER_HEADERS)):
        where = f"resultSets[PlayerStats].rowSet[{i}]"
        _check_game_id(raw, rec, game, where)
        rows.append(_player(raw, rec, where, game, (SOURCE, raw.path)))
    return rows


class _Unsure(Exception):
    """The column-wise reading cannot vouch for a file: it is read row by row instead."""


_NONE = type(None)


def _players_at_once(raw: Raw, doc: Any, game: ScheduledGame) -> list[box.Row]:
    """The rows the row-by-row reading gives, checked column by column: each distinct team,
    name, comment, minutes and starter value once, the stats by type (int when MIN is given,
    null when not). Raises _Unsure (or any error) for a file it cannot vouch for, with other
    value types than the plain ones (e.g. 3.0 for 3) or any check failing."""
    found = [s for s in doc["resultSets"] if isinstance(s, dict) and s.get("name") == "PlayerStats"]
    names, recs = found[0]["headers"], found[0]["rowSet"]
    if (type(names) is not list or type(recs) is not list or not recs or not game.nba_game_id
            or set(map(type, recs)) != {list} or set(map(len, recs)) != {len(names)}):
        raise _Unsure
    at = {h: i for i, h in enumerate(names)}  # the last of a repeated header, as dict(zip())
    cols = list(zip(*recs, strict=True))
    n = len(recs)

    def col(header: str) -> Sequence[Any]:
        return cols[at[header]]

    if col("GAME_ID").count(game.nba_game_id) != n:
        raise _Unsure
    sides = {}
    for value in set(col("TEAM_ABBREVIATION")):
        team = _team(raw, value, game, "TEAM_ABBREVIATION")
        sides[value] = (team, box.side_of(raw, game, team, "TEAM_ABBREVIATION")[0])
    who = {v: raw.text(v, "PLAYER_NAME") for v in set(col("PLAYER_NAME"))}
    notes = {v: raw.opt_text(v, "COMMENT") for v in set(col("COMMENT"))}
    starts = {v: bool(raw.opt_text(v, "START_POSITION")) for v in set(col("START_POSITION"))}
    mins = col("MIN")
    if set(map(type, mins)) - {str, int, float, _NONE}:  # no True for 1 in the memo below
        raise _Unsure
    played = [m not in (None, "") for m in mins]
    clock = {m: raw.clock_minutes(m, "MIN") for m, p in zip(mins, played, strict=True) if p}
    kinds = [int if p else _NONE for p in played]
    for header, _ in STAT_HEADERS:
        if list(map(type, col(header))) != kinds:
            raise _Unsure
    if set(map(type, col("PLAYER_ID"))) != {int}:
        raise _Unsure
    team_of = [sides[v] for v in col("TEAM_ABBREVIATION")]
    player_names = [who[v] for v in col("PLAYER_NAME")]
    comments = [notes[v] for v in col("COMMENT")]
    status = ["active" if p else "inactive" if c and _INACTIVE.search(c) else "dnp"
              for p, c in zip(played, comments, strict=True)]
    columns = (
        [game.game_date] * n, [game.game_id] * n, [game.nba_game_id or None] * n,
        [season_start_year(game.season)] * n, [t for t, _ in team_of],
        [game.away if h else game.home for _, h in team_of], [h for _, h in team_of],
        col("PLAYER_ID"), player_names, list(map(player_lookup, player_names)), status,
        [None if p else c for p, c in zip(played, comments, strict=True)],
        [starts[v] for v in col("START_POSITION")],
        [clock[m] if p else 0.0 for m, p in zip(mins, played, strict=True)],
        *(col(h) for h, _ in STAT_HEADERS), [SOURCE] * n, [raw.path] * n,
    )
    return [dict(zip(tr.PLAYER_BOXSCORES.column_names, row, strict=True))
            for row in zip(*columns, strict=True)]


def parse_teams(
    doc: Any, source_file: str, game_date: date, games: Sequence[ScheduledGame]
) -> list[box.Row]:
    """The two TeamStats rows of one box score (minutes "265:00" → 265)."""
    raw = Raw(source_file)
    game = _the_game(raw, doc, game_date, games)
    rows = []
    for i, rec in enumerate(result_set(raw, doc, "TeamStats", TEAM_HEADERS)):
        where = f"resultSets[TeamStats].rowSet[{i}]"
        _check_game_id(raw, rec, game, where)
        team = _team(raw, rec["TEAM_ABBREVIATION"], game, f"{where}.TEAM_ABBREVIATION")
        is_home, _ = box.side_of(raw, game, team, where)
        values = [rec[h] for h, _ in STAT_HEADERS]
        stats = (dict(zip(box.STAT_COLUMNS, values, strict=True))
                 if set(map(type, values)) == {int}
                 else {col: raw.integer(rec[h], f"{where}.{h}") for h, col in STAT_HEADERS})
        minutes = round(raw.clock_minutes(rec["MIN"], f"{where}.MIN"))
        rows.append(box.team_row(game, team, is_home, minutes, stats, (SOURCE, source_file)))
    if sorted(r["team_abbr"] for r in rows) != sorted((game.home, game.away)):
        raw.fail(f"resultSets[TeamStats] must hold one row for each of {game.away} and "
                 f"{game.home}, got {[r['team_abbr'] for r in rows]}")
    return rows
