"""NBA.com ``shotchartdetail`` (one file per game) → ``nba_raw.shot_chart``, one row per shot.

The format (the stats API answer for ``GameID=…&TeamID=0&PlayerID=0&ContextMeasure=FGA``)::

    {"resource": "shotchartdetail",
     "parameters": {"GameID": "0022400561", "LeagueID": "00", "Season": "2024-25", …},
     "resultSets": [
       {"name": "Shot_Chart_Detail",
        "headers": ["GRID_TYPE", "GAME_ID", "GAME_EVENT_ID", "PLAYER_ID", "PLAYER_NAME",
                    "TEAM_ID", "TEAM_NAME", "PERIOD", "MINUTES_REMAINING", "SECONDS_REMAINING",
                    "EVENT_TYPE", "ACTION_TYPE", "SHOT_TYPE", "SHOT_ZONE_BASIC", "SHOT_ZONE_AREA",
                    "SHOT_ZONE_RANGE", "SHOT_DISTANCE", "LOC_X", "LOC_Y", "SHOT_ATTEMPTED_FLAG",
                    "SHOT_MADE_FLAG", "GAME_DATE", "HTM", "VTM"],
        "rowSet": [["Shot Chart Detail", "0022400561", 7, 1628404, "Josh Hart", 1610612752,
                    "New York Knicks", 1, 11, 32, "Missed Shot", "Jump Shot", "3PT Field Goal",
                    "Above the Break 3", "Center(C)", "24+ ft.", 25, -12, 248, 1, 0, "20250115",
                    "PHI", "NYK"], …]},
       {"name": "LeagueAverages", "headers": ["GRID_TYPE", "SHOT_ZONE_BASIC", "SHOT_ZONE_AREA",
                                              "SHOT_ZONE_RANGE", "FGA", "FGM", "FG_PCT"], …}]}

One row per field-goal attempt (free throws are not in it). EVENT_TYPE is "Made Shot" or
"Missed Shot" and agrees with SHOT_MADE_FLAG (1/0); SHOT_ATTEMPTED_FLAG is always 1. SHOT_TYPE is
"2PT Field Goal" or "3PT Field Goal". LOC_X / LOC_Y are tenths of feet from the centre of the
basket (LOC_Y up the court, LOC_X across it: Left Corner 3 has LOC_X > 0, Right Corner 3 < 0);
SHOT_DISTANCE is in feet. GAME_DATE is ``YYYYMMDD``; HTM / VTM are the home and visitor
tricodes. Only ``Shot_Chart_Detail`` is read (``LeagueAverages`` may be absent).

Zone mapping (``zone_basic`` keeps SHOT_ZONE_BASIC as given; ``zone`` is canonical):

| SHOT_ZONE_BASIC        | shot type | zone      |
|------------------------|-----------|-----------|
| Restricted Area        | 2PT       | paint     |
| In The Paint (Non-RA)  | 2PT       | paint     |
| Mid-Range              | 2PT       | mid_range |
| Left Corner 3          | 3PT       | three     |
| Right Corner 3         | 3PT       | three     |
| Above the Break 3      | 3PT       | three     |
| Backcourt              | 3PT       | three     |

Rows: ``team_abbr`` from TEAM_ID (``backcourt.domain.teams.BY_ID``), ``opponent_team_abbr`` the
other of HTM/VTM; ``game_id`` is the scheduled game's (matched on the NBA.com id) when the
caller passes the day's schedule, else ``YYYYMMDD_VTM_HTM``. The parser is strict: a missing
result set or header, a wrong type, an unknown team or zone, a shot type that contradicts its
zone, a made flag that contradicts EVENT_TYPE, rows of another game or date, duplicate
GAME_EVENT_IDs, or a team of the game without shots all raise MalformedRawFile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.ids import player_lookup, system_game_id
from backcourt.domain.teams import BY_ID
from backcourt.sources.parsing import Raw, result_set

SOURCE = "nbacom_shotchart"
RESULT_SET = "Shot_Chart_Detail"
HEADERS: tuple[str, ...] = (
    "GRID_TYPE", "GAME_ID", "GAME_EVENT_ID", "PLAYER_ID", "PLAYER_NAME", "TEAM_ID", "TEAM_NAME",
    "PERIOD", "MINUTES_REMAINING", "SECONDS_REMAINING", "EVENT_TYPE", "ACTION_TYPE", "SHOT_TYPE",
    "SHOT_ZONE_BASIC", "SHOT_ZONE_AREA", "SHOT_ZONE_RANGE", "SHOT_DISTANCE", "LOC_X", "LOC_Y",
    "SHOT_ATTEMPTED_FLAG", "SHOT_MADE_FLAG", "GAME_DATE", "HTM", "VTM",
)
# Headers the parser reads (the others may be absent).
READ_HEADERS: tuple[str, ...] = (
    "GAME_ID", "GAME_EVENT_ID", "PLAYER_ID", "PLAYER_NAME", "TEAM_ID", "PERIOD", "EVENT_TYPE",
    "SHOT_TYPE", "SHOT_ZONE_BASIC", "SHOT_DISTANCE", "LOC_X", "LOC_Y", "SHOT_ATTEMPTED_FLAG",
    "SHOT_MADE_FLAG", "GAME_DATE", "HTM", "VTM",
)
# SHOT_ZONE_BASIC → (canonical zone, is a three-point zone)
ZONES: Mapping[str, tuple[str, bool]] = {
    "Restricted Area": ("paint", False),
    "In The Paint (Non-RA)": ("paint", False),
    "Mid-Range": ("mid_range", False),
    "Left Corner 3": ("three", True),
    "Right Corner 3": ("three", True),
    "Above the Break 3": ("three", True),
    "Backcourt": ("three", True),
}
SHOT_TYPES: Mapping[str, str] = {"2PT Field Goal": "2PT", "3PT Field Goal": "3PT"}
EVENT_TYPES: Mapping[str, int] = {"Made Shot": 1, "Missed Shot": 0}
_WHERE = f"resultSets[{RESULT_SET}]"

Row = dict[str, Any]


@dataclass(frozen=True)
class _Game:
    """What every row of the file shares."""

    nba_game_id: str
    game_id: str
    game_date: date
    home: str
    away: str


def zone_of(zone_basic: str) -> str | None:
    """The canonical zone (paint | mid_range | three) of a SHOT_ZONE_BASIC, None if unknown."""
    found = ZONES.get(zone_basic)
    return found[0] if found else None


def game_id_of(doc: Any, source_file: str) -> str:
    """The NBA.com game id of a shot chart (parameters.GameID, else the first row's GAME_ID)."""
    raw = Raw(source_file)
    params = raw.obj(doc, "file").get("parameters")
    if isinstance(params, dict) and isinstance(params.get("GameID"), str):
        return raw.text(params["GameID"], "parameters.GameID")
    rows = result_set(raw, doc, RESULT_SET, ("GAME_ID",))
    if not rows:
        raw.fail(f"{_WHERE} has no rows and parameters.GameID is missing")
    return raw.text(rows[0]["GAME_ID"], f"{_WHERE}.rowSet[0].GAME_ID")


def _yyyymmdd(raw: Raw, value: Any, where: str) -> date:
    text = raw.text(value, where)
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raw.fail(f"{where}: expected a YYYYMMDD date, got {text!r}")


def dates_of(doc: Any, source_file: str) -> set[date]:
    """The GAME_DATEs of a shot chart's rows (empty when it has no rows)."""
    raw = Raw(source_file)
    rows = result_set(raw, doc, RESULT_SET, ("GAME_DATE",))
    return {_yyyymmdd(raw, r["GAME_DATE"], f"{_WHERE}.rowSet[{i}].GAME_DATE")
            for i, r in enumerate(rows)}


def _the_game(raw: Raw, first: dict[str, Any], nba_id: str, games: Sequence[ScheduledGame]
              ) -> _Game:
    """The game of the file, from its first row and (when given) the schedule."""
    where = f"{_WHERE}.rowSet[0]"
    day = _yyyymmdd(raw, first["GAME_DATE"], f"{where}.GAME_DATE")
    home = raw.team(first["HTM"], f"{where}.HTM")
    away = raw.team(first["VTM"], f"{where}.VTM")
    if home == away:
        raw.fail(f"{where}: HTM and VTM are both {home}")
    for game in games:
        if game.nba_game_id != nba_id:
            continue
        if game.game_date != day:
            raw.fail(f"{where}.GAME_DATE is {day.isoformat()} but the schedule has game "
                     f"{nba_id} on {game.game_date.isoformat()}")
        if (game.home, game.away) != (home, away):
            raw.fail(f"{where}: HTM/VTM {home}/{away} but the schedule has game {nba_id} as "
                     f"{game.away}@{game.home}")
        return _Game(nba_id, game.game_id, day, home, away)
    return _Game(nba_id, system_game_id(day, away, home), day, home, away)


def _same_as_first(raw: Raw, rec: dict[str, Any], first: dict[str, Any], where: str) -> None:
    for header in ("GAME_ID", "GAME_DATE", "HTM", "VTM"):
        if rec[header] != first[header]:
            raw.fail(f"{where}.{header} {rec[header]!r} differs from the first row's "
                     f"{first[header]!r} (one game per file)")


def _flag(raw: Raw, value: Any, where: str) -> int:
    flag = raw.integer(value, where)
    if flag not in (0, 1):
        raw.fail(f"{where}: expected 0 or 1, got {value!r}")
    return flag


def _zone(raw: Raw, rec: dict[str, Any], where: str) -> tuple[str, str, str]:
    """(shot_type, zone_basic, zone), checking that the shot type fits the zone."""
    type_text = raw.text(rec["SHOT_TYPE"], f"{where}.SHOT_TYPE")
    shot_type = SHOT_TYPES.get(type_text)
    if shot_type is None:
        raw.fail(f"{where}.SHOT_TYPE: unknown shot type {type_text!r} "
                 f"(expected one of {', '.join(SHOT_TYPES)})")
    basic = raw.text(rec["SHOT_ZONE_BASIC"], f"{where}.SHOT_ZONE_BASIC")
    found = ZONES.get(basic)
    if found is None:
        raw.fail(f"{where}.SHOT_ZONE_BASIC: unknown zone {basic!r}")
    zone, is_three = found
    if is_three != (shot_type == "3PT"):
        kind = "3-point" if is_three else "2-point"
        raw.fail(f"{where}: a {type_text} in the {kind} zone {basic!r}")
    return shot_type, basic, zone


def _made(raw: Raw, rec: dict[str, Any], where: str) -> bool:
    if _flag(raw, rec["SHOT_ATTEMPTED_FLAG"], f"{where}.SHOT_ATTEMPTED_FLAG") != 1:
        raw.fail(f"{where}.SHOT_ATTEMPTED_FLAG is 0: every row must be a field-goal attempt")
    made = _flag(raw, rec["SHOT_MADE_FLAG"], f"{where}.SHOT_MADE_FLAG")
    event = raw.text(rec["EVENT_TYPE"], f"{where}.EVENT_TYPE")
    if event not in EVENT_TYPES:
        raw.fail(f"{where}.EVENT_TYPE: expected 'Made Shot' or 'Missed Shot', got {event!r}")
    if EVENT_TYPES[event] != made:
        raw.fail(f"{where}: EVENT_TYPE {event!r} but SHOT_MADE_FLAG {made}")
    return bool(made)


def _team(raw: Raw, value: Any, game: _Game, where: str) -> tuple[str, str]:
    """(shooting team, opponent) from TEAM_ID."""
    team_id = raw.integer(value, where)
    team = BY_ID.get(team_id)
    if team is None:
        raw.fail(f"{where}: unknown team id {team_id}")
    if team.tricode == game.home:
        return game.home, game.away
    if team.tricode == game.away:
        return game.away, game.home
    raw.fail(f"{where}: team {team.tricode} does not play in {game.away}@{game.home}")


class _Shots:
    """Row builder for one file. A file repeats few distinct teams, zones, flags and names, so
    each distinct combination of plain values (exact int / str types, so True never passes for
    1) is checked once and remembered; a season is ~240,000 rows."""

    def __init__(self, raw: Raw, game: _Game, source_file: str) -> None:
        self.raw, self.game, self.source_file = raw, game, source_file
        self.teams: dict[Any, tuple[str, str]] = {}
        self.zones: dict[tuple[Any, Any], tuple[str, str, str]] = {}
        self.flags: dict[tuple[Any, Any, Any], bool] = {}
        self.names: dict[str, str] = {}

    def integer(self, rec: dict[str, Any], key: str, where: str) -> int:
        value = rec[key]
        return value if type(value) is int else self.raw.integer(value, f"{where}.{key}")

    def _team(self, rec: dict[str, Any], where: str) -> tuple[str, str]:
        value = rec["TEAM_ID"]
        got = self.teams.get(value) if type(value) is int else None
        if got is None:
            got = self.teams[value] = _team(self.raw, value, self.game, f"{where}.TEAM_ID")
        return got

    def _zone(self, rec: dict[str, Any], where: str) -> tuple[str, str, str]:
        key = (rec["SHOT_TYPE"], rec["SHOT_ZONE_BASIC"])
        plain = type(key[0]) is str and type(key[1]) is str
        got = self.zones.get(key) if plain else None
        if got is None:
            got = self.zones[key] = _zone(self.raw, rec, where)
        return got

    def _made(self, rec: dict[str, Any], where: str) -> bool:
        key = (rec["SHOT_ATTEMPTED_FLAG"], rec["SHOT_MADE_FLAG"], rec["EVENT_TYPE"])
        plain = type(key[0]) is int and type(key[1]) is int and type(key[2]) is str
        got = self.flags.get(key) if plain else None
        if got is None:
            got = self.flags[key] = _made(self.raw, rec, where)
        return got

    def _lookup(self, rec: dict[str, Any], where: str) -> tuple[str, str]:
        value = rec["PLAYER_NAME"]
        got = self.names.get(value) if type(value) is str else None
        if got is None:
            name = self.raw.text(value, f"{where}.PLAYER_NAME")
            got = self.names[value] = player_lookup(name)
        return value.strip(), got

    def row(self, rec: dict[str, Any], where: str) -> Row:
        """One shot_chart row, keys in nba_raw.shot_chart column order (checked by tests)."""
        raw, game = self.raw, self.game
        team, opponent = self._team(rec, where)
        shot_type, basic, zone = self._zone(rec, where)
        name, lookup = self._lookup(rec, where)
        period = self.integer(rec, "PERIOD", where)
        if period < 1:
            raw.fail(f"{where}.PERIOD: expected 1 or more, got {period}")
        distance = self.integer(rec, "SHOT_DISTANCE", where)
        if distance < 0:
            raw.fail(f"{where}.SHOT_DISTANCE: negative distance {distance}")
        return {
            "game_date": game.game_date,
            "nba_game_id": game.nba_game_id,
            "game_event_id": self.integer(rec, "GAME_EVENT_ID", where),
            "game_id": game.game_id,
            "team_abbr": team,
            "opponent_team_abbr": opponent,
            "player_id": self.integer(rec, "PLAYER_ID", where),
            "player_name": name,
            "player_lookup": lookup,
            "period": period,
            "shot_type": shot_type,
            "zone_basic": basic,
            "zone": zone,
            "shot_distance": distance,
            "loc_x": self.integer(rec, "LOC_X", where),
            "loc_y": self.integer(rec, "LOC_Y", where),
            "shot_made": self._made(rec, where),
            "source": SOURCE,
            "source_file": self.source_file,
        }


def _start(raw: Raw, doc: Any, games: Sequence[ScheduledGame]
           ) -> tuple[list[dict[str, Any]], _Game]:
    """The file's records (``result_set``) and its game, from the first record."""
    nba_id = game_id_of(doc, raw.path)
    recs = result_set(raw, doc, RESULT_SET, READ_HEADERS)
    if not recs:
        raw.fail(f"{_WHERE} has no shots")
    first = recs[0]
    if raw.text(first["GAME_ID"], f"{_WHERE}.rowSet[0].GAME_ID") != nba_id:
        raw.fail(f"{_WHERE}.rowSet[0].GAME_ID {first['GAME_ID']!r} is not game {nba_id} "
                 "(parameters.GameID)")
    return recs, _the_game(raw, first, nba_id, games)


def parse(doc: Any, source_file: str, games: Sequence[ScheduledGame] = ()) -> list[Row]:
    """The shot_chart rows of one shot chart, in file order.

    Args:
        doc: the decoded file.
        source_file: its bucket path (named in errors and stored in ``source_file``).
        games: scheduled games to take the system ``game_id`` from (matched on the NBA.com
            id); without a match the id is built from GAME_DATE, VTM and HTM.
    Raises:
        MalformedRawFile: see the module docstring.
    """
    raw = Raw(source_file)
    recs, game = _start(raw, doc, games)
    first = recs[0]
    shots = _Shots(raw, game, source_file)
    rows: list[Row] = []
    seen: dict[int, int] = {}
    for i, rec in enumerate(recs):
        where = f"{_WHERE}.rowSet[{i}]"
        _same_as_first(raw, rec, first, where)
        row = shots.row(rec, where)
        event = row["game_event_id"]
        if event in seen:
            raw.fail(f"{where}.GAME_EVENT_ID {event} repeats rowSet[{seen[event]}]")
        seen[event] = i
        rows.append(row)
    _check_shooters(raw, game, {r["team_abbr"] for r in rows})
    return rows


def _check_shooters(raw: Raw, game: _Game, shooters: set[str]) -> None:
    for team in (game.away, game.home):
        if team not in shooters:
            raw.fail(f"{_WHERE} has no shots of {team} ({game.away}@{game.home})")


class _Unsure(Exception):
    """The column-wise reading cannot vouch for a file: :func:`parse` reads it instead."""


def _plain(values: Sequence[Any], kind: type) -> Sequence[Any]:
    """``values`` when every one is exactly of ``kind`` (no bool for int), else _Unsure."""
    if set(map(type, values)) - {kind}:
        raise _Unsure
    return values


def _each(values: Sequence[Any], mapping: Mapping[Any, Any]) -> list[Any]:
    return list(map(mapping.__getitem__, values))


def parse_columns(doc: Any, source_file: str, games: Sequence[ScheduledGame] = ()
                  ) -> dict[str, list[Any]]:
    """The rows :func:`parse` gives, as columns (keys in nba_raw.shot_chart column order).

    Every check of :func:`parse` is made on whole columns, each distinct team, zone, flag
    combination and name once; a file any check fails (or holds values of other types than
    the plain ones, e.g. 3.0 for 3) is read by :func:`parse` instead, so its rows, and the
    error that names the first bad row, are exactly parse's.

    Raises:
        MalformedRawFile: see the module docstring.
    """
    try:
        return _columns(Raw(source_file), doc, source_file, games)
    except (_Unsure, MalformedRawFile, KeyError, TypeError, ValueError, AttributeError,
            IndexError):
        rows = parse(doc, source_file, games)
        return {k: [r[k] for r in rows] for k in rows[0]}


def _columns(raw: Raw, doc: Any, source_file: str, games: Sequence[ScheduledGame]
             ) -> dict[str, list[Any]]:
    sets = doc["resultSets"]
    found = [s for s in sets if isinstance(s, dict) and s.get("name") == RESULT_SET]
    names, recs = found[0]["headers"], found[0]["rowSet"]
    if (type(names) is not list or type(recs) is not list or not recs
            or set(map(type, recs)) != {list} or set(map(len, recs)) != {len(names)}):
        raise _Unsure
    at = {h: i for i, h in enumerate(names)}  # the last of a repeated header, as dict(zip())
    first = dict(zip(names, recs[0], strict=True))
    nba_id = game_id_of(doc, source_file)
    if raw.text(first["GAME_ID"], "GAME_ID") != nba_id:
        raise _Unsure
    game = _the_game(raw, first, nba_id, games)
    cols = list(zip(*recs, strict=True))
    n = len(recs)

    def col(header: str) -> Sequence[Any]:
        return cols[at[header]]

    for header in ("GAME_ID", "GAME_DATE", "HTM", "VTM"):
        if col(header).count(first[header]) != n:
            raise _Unsure
    events = _plain(col("GAME_EVENT_ID"), int)
    period = _plain(col("PERIOD"), int)
    distance = _plain(col("SHOT_DISTANCE"), int)
    if len(set(events)) != n or min(period) < 1 or min(distance) < 0:
        raise _Unsure
    team_ids = _plain(col("TEAM_ID"), int)
    sides = {v: _team(raw, v, game, "TEAM_ID") for v in set(team_ids)}
    shooters = _plain(col("PLAYER_NAME"), str)
    who = {v: (v.strip(), player_lookup(raw.text(v, "PLAYER_NAME"))) for v in set(shooters)}
    types, basics = _plain(col("SHOT_TYPE"), str), _plain(col("SHOT_ZONE_BASIC"), str)
    kinds, places = {}, {}  # SHOT_TYPE → shot_type; SHOT_ZONE_BASIC → (zone_basic, zone)
    for pair in set(zip(types, basics, strict=True)):
        shot_type, basic, zone = _zone(raw, dict(zip(("SHOT_TYPE", "SHOT_ZONE_BASIC"), pair,
                                                     strict=True)), "zone")
        kinds[pair[0]], places[pair[1]] = shot_type, (basic, zone)
    made = _plain(col("SHOT_MADE_FLAG"), int)
    for flags in set(zip(_plain(col("SHOT_ATTEMPTED_FLAG"), int), made,
                         _plain(col("EVENT_TYPE"), str), strict=True)):
        _made(raw, dict(zip(("SHOT_ATTEMPTED_FLAG", "SHOT_MADE_FLAG", "EVENT_TYPE"), flags,
                            strict=True)), "flags")
    _check_shooters(raw, game, {team for team, _ in sides.values()})
    return {
        "game_date": [game.game_date] * n,
        "nba_game_id": [game.nba_game_id] * n,
        "game_event_id": list(events),
        "game_id": [game.game_id] * n,
        "team_abbr": _each(team_ids, {k: v[0] for k, v in sides.items()}),
        "opponent_team_abbr": _each(team_ids, {k: v[1] for k, v in sides.items()}),
        "player_id": list(_plain(col("PLAYER_ID"), int)),
        "player_name": _each(shooters, {k: v[0] for k, v in who.items()}),
        "player_lookup": _each(shooters, {k: v[1] for k, v in who.items()}),
        "period": list(period),
        "shot_type": _each(types, kinds),
        "zone_basic": _each(basics, {k: v[0] for k, v in places.items()}),
        "zone": _each(basics, {k: v[1] for k, v in places.items()}),
        "shot_distance": list(distance),
        "loc_x": list(_plain(col("LOC_X"), int)),
        "loc_y": list(_plain(col("LOC_Y"), int)),
        "shot_made": list(map(bool, made)),
        "source": [SOURCE] * n,
        "source_file": [source_file] * n,
    }
