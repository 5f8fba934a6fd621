"""balldontlie ``box_scores`` (one file per date) → player box-score rows.

``data[]`` holds games with ``home_team`` / ``visitor_team`` (each with ``players[]``). Minutes are
strings, "28" or "28:30". balldontlie lists whole rosters: a player with 0 minutes and no stats did
not play (``dnp``, stats NULL, minutes 0.0; the source gives no reason). Games are matched to
the day's schedule by (date, home, away); their NBA.com id comes from the schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.ids import player_lookup
from backcourt.sources import box
from backcourt.sources.parsing import Raw

SOURCE = "balldontlie_boxscores"

STAT_KEYS: tuple[tuple[str, str], ...] = tuple(zip(
    ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
     "turnover", "pf", "pts"),
    box.COUNTING,
    strict=True,
))


def _games(raw: Raw, doc: Any) -> list[dict[str, Any]]:
    data = raw.arr(raw.key(raw.obj(doc, "file"), "data", "file"), "data")
    return [raw.obj(g, f"data[{i}]") for i, g in enumerate(data)]


def dates_of(doc: Any, source_file: str) -> set[date]:
    """The game dates (``data[].date``) a file covers."""
    raw = Raw(source_file)
    return {raw.iso_date(raw.key(g, "date", f"data[{i}]"), f"data[{i}].date")
            for i, g in enumerate(_games(raw, doc))}


def _side(raw: Raw, game: dict[str, Any], key: str, where: str) -> tuple[str, list[Any]]:
    side = raw.obj(raw.key(game, key, where), f"{where}.{key}")
    team = raw.team(raw.key(side, "abbreviation", f"{where}.{key}"), f"{where}.{key}.abbreviation")
    players = raw.arr(raw.key(side, "players", f"{where}.{key}"), f"{where}.{key}.players")
    return team, players


def player_line(raw: Raw, rec: Any, where: str) -> tuple[dict[str, Any], dict[str, int | None]]:
    """(player columns, stats) of one balldontlie player line (``min``, the counting stats,
    ``plus_minus`` when present, ``player{id, first_name, last_name}``); also read by the
    ``stats`` source, whose rows carry the same fields."""
    rec = raw.obj(rec, where)
    who = raw.obj(raw.key(rec, "player", where), f"{where}.player")
    at = f"{where}.player"
    first = raw.opt_text(raw.key(who, "first_name", at), f"{at}.first_name")
    last = raw.text(raw.key(who, "last_name", at), f"{at}.last_name")
    name = f"{first} {last}" if first else last
    stats: dict[str, int | None] = {
        col: raw.integer(raw.key(rec, k, where), f"{where}.{k}") for k, col in STAT_KEYS
    }
    stats["plus_minus"] = raw.opt_int(rec.get("plus_minus"), f"{where}.plus_minus")
    minutes_raw = raw.key(rec, "min", where)
    minutes = 0.0 if minutes_raw in (None, "") else raw.clock_minutes(minutes_raw, f"{where}.min")
    played = minutes > 0 or any(stats[c] for c in box.COUNTING)
    if not played:
        stats = {c: None for c in box.STAT_COLUMNS}
    player = {
        "player_id": raw.integer(raw.key(who, "id", f"{where}.player"), f"{where}.player.id"),
        "player_name": name,
        "player_lookup": player_lookup(name),
        "player_status": "active" if played else "dnp",
        "dnp_reason": None,
        "starter": None,
        "minutes": minutes,
    }
    return player, stats


def scheduled_game(
    raw: Raw, played_on: date, home: str, away: str,
    day: date | None, games: Sequence[ScheduledGame] | None,
) -> ScheduledGame:
    """The game of the schedule of ``day`` that a balldontlie game played on ``played_on`` is,
    by (date, home, away); a stand-in when there is no schedule (format checks at ingest).

    Raises:
        MalformedRawFile: the game is dated another day, or is not on the schedule.
    """
    if games is None or day is None:
        return box.unscheduled_game(played_on, home, away, None)
    if played_on != day:
        raw.fail(f"game {away}@{home} dated {played_on.isoformat()} "
                 f"not on the schedule of {day.isoformat()}")
    return box.find_game(raw, games, day, home=home, away=away)


def parse_players(
    doc: Any,
    source_file: str,
    game_date: date | None = None,
    games: Sequence[ScheduledGame] | None = None,
) -> list[box.Row]:
    """Player rows of a balldontlie box_scores file.

    Args:
        game_date, games: the date the file is stored under and its schedule; every game must be
            on it. Without them (format checks at ingest) games are taken from the file itself.
    Raises:
        MalformedRawFile: structure, types, unknown team, or a game not on the schedule.
    """
    raw = Raw(source_file)
    rows: list[box.Row] = []
    for i, g in enumerate(_games(raw, doc)):
        where = f"data[{i}]"
        home, home_players = _side(raw, g, "home_team", where)
        away, away_players = _side(raw, g, "visitor_team", where)
        played_on = raw.iso_date(raw.key(g, "date", where), f"{where}.date")
        game = scheduled_game(raw, played_on, home, away, game_date, games)
        game_rows = []
        for team, players, key in ((home, home_players, "home_team"),
                                   (away, away_players, "visitor_team")):
            for j, rec in enumerate(players):
                player, stats = player_line(raw, rec, f"{where}.{key}.players[{j}]")
                game_rows.append(box.player_row(game, team, team == home, player, stats,
                                                (SOURCE, source_file)))
        box.check_both_teams(raw, game, game_rows)
        rows.extend(game_rows)
    return rows
