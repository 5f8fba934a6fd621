"""NBA.com ``leaguegamelog`` (player game logs for a date range) → player box-score rows.

One row per player who played (the format has no DNP rows), GAME_DATE ``YYYY-MM-DD``, MIN an
integer, MATCHUP ``"GSW vs. NYK"`` for the home team and ``"NYK @ GSW"`` for the away team. Games
are matched to the day's schedule by NBA.com id, else by (date, home, away).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.ids import player_lookup
from backcourt.sources import box
from backcourt.sources.parsing import Raw, result_set

SOURCE = "nbacom_leaguegamelog"
SET_NAME = "LeagueGameLog"

STAT_HEADERS: tuple[tuple[str, str], ...] = tuple(zip(
    ("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK",
     "TOV", "PF", "PTS", "PLUS_MINUS"),
    box.STAT_COLUMNS,
    strict=True,
))
HEADERS = ("PLAYER_ID", "PLAYER_NAME", "TEAM_ABBREVIATION", "GAME_ID", "GAME_DATE", "MATCHUP",
           "MIN", *(h for h, _ in STAT_HEADERS))
_MATCHUP = re.compile(r"^\s*([A-Za-z]{2,4})\s+(vs\.?|@)\s+([A-Za-z]{2,4})\s*$")


def _rows(raw: Raw, doc: Any) -> list[dict[str, Any]]:
    return result_set(raw, doc, SET_NAME, HEADERS)


def dates_of(doc: Any, source_file: str) -> set[date]:
    """The game dates a file covers: its rows' GAME_DATE, or DateFrom..DateTo when it has none."""
    raw = Raw(source_file)
    rows = _rows(raw, doc)
    if rows:
        return {raw.iso_date(r["GAME_DATE"], f"rowSet[{i}].GAME_DATE") for i, r in enumerate(rows)}
    params = raw.obj(raw.key(raw.obj(doc, "file"), "parameters", "file"), "parameters")
    start = raw.us_or_iso_date(raw.key(params, "DateFrom", "parameters"), "parameters.DateFrom")
    end = raw.us_or_iso_date(raw.key(params, "DateTo", "parameters"), "parameters.DateTo")
    return {start} if start == end else {start, end}


def _matchup(raw: Raw, rec: dict[str, Any], team: str, where: str) -> tuple[str, str]:
    """(home, away) from "GSW vs. NYK" / "NYK @ GSW"; the first team must be the row's team."""
    text = raw.text(rec["MATCHUP"], f"{where}.MATCHUP")
    match = _MATCHUP.match(text)
    if not match:
        raw.fail(f"{where}.MATCHUP: expected 'AAA vs. BBB' or 'AAA @ BBB', got {text!r}")
    first = raw.team(match.group(1), f"{where}.MATCHUP")
    other = raw.team(match.group(3), f"{where}.MATCHUP")
    if first != team:
        raw.fail(f"{where}.MATCHUP {text!r} does not start with the row's team {team}")
    return (first, other) if match.group(2) != "@" else (other, first)


def _game(
    raw: Raw, rec: dict[str, Any], where: str, team: str,
    day: date | None, games: Sequence[ScheduledGame] | None,
) -> ScheduledGame:
    played_on = raw.iso_date(rec["GAME_DATE"], f"{where}.GAME_DATE")
    home, away = _matchup(raw, rec, team, where)
    nba_id = raw.opt_text(rec["GAME_ID"], f"{where}.GAME_ID")
    if games is None or day is None:
        return box.unscheduled_game(played_on, home, away, nba_id)
    if played_on != day:
        raw.fail(f"game {nba_id or f'{away}@{home}'} dated {played_on.isoformat()} "
                 f"not on the schedule of {day.isoformat()}")
    game = box.find_game(raw, games, day, nba_game_id=nba_id, home=home, away=away)
    if (game.home, game.away) != (home, away):
        raw.fail(f"{where}.MATCHUP {rec['MATCHUP']!r} disagrees with the schedule, which has "
                 f"game {game.nba_game_id} as {game.away}@{game.home}")
    return game


def parse_players(
    doc: Any,
    source_file: str,
    game_date: date | None = None,
    games: Sequence[ScheduledGame] | None = None,
) -> list[box.Row]:
    """Player rows of a league game log.

    Args:
        game_date, games: the date the file is stored under and its schedule; every game must be
            on it. Without them (format checks at ingest) games are taken from the file itself.
    Raises:
        MalformedRawFile: structure, types, unknown team, or a game not on the schedule.
    """
    raw = Raw(source_file)
    rows = []
    by_game: dict[str, ScheduledGame] = {}
    for i, rec in enumerate(_rows(raw, doc)):
        where = f"resultSets[{SET_NAME}].rowSet[{i}]"
        team = raw.team(rec["TEAM_ABBREVIATION"], f"{where}.TEAM_ABBREVIATION")
        game = _game(raw, rec, where, team, game_date, games)
        by_game[game.game_id] = game
        name = raw.text(rec["PLAYER_NAME"], f"{where}.PLAYER_NAME")
        player = {
            "player_id": raw.integer(rec["PLAYER_ID"], f"{where}.PLAYER_ID"),
            "player_name": name,
            "player_lookup": player_lookup(name),
            "player_status": "active",
            "dnp_reason": None,
            "starter": None,
            "minutes": raw.clock_minutes(rec["MIN"], f"{where}.MIN"),
        }
        stats = {col: raw.integer(rec[h], f"{where}.{h}") for h, col in STAT_HEADERS}
        is_home, _ = box.side_of(raw, game, team, where)
        rows.append(box.player_row(game, team, is_home, player, stats, (SOURCE, source_file)))
    for game in by_game.values():
        # A player log lists only who played: a team absent from it is missing coverage (the
        # gate names the game), not a malformed file.
        box.check_unique_players(raw, game, [r for r in rows if r["game_id"] == game.game_id])
    return rows
