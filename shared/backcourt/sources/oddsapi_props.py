"""The Odds API event odds, ``player_points`` market → player prop rows.

One row per (bookmaker, player): the Over and Under outcomes (``description`` = player, ``point``
= line) are paired; ``over_price`` / ``under_price`` are the prices as the file gives them
(American or decimal). Other markets (rebounds, assists, …) are ignored. Should a bookmaker list
several lines for one player, the line whose two sides are most balanced (the main line) is kept.
Both event shapes are accepted (see ``backcourt.sources.oddsapi``).
"""

from __future__ import annotations

import math
from typing import Any

from backcourt.domain import tables_raw as tr
from backcourt.domain.ids import player_lookup
from backcourt.sources import oddsapi
from backcourt.sources.parsing import Raw, table_row

SOURCE = "oddsapi_player_props"
MARKET = "player_points"

# (player_lookup, line) → {"name", "over", "under"}
_Sides = dict[tuple[str, float], dict[str, Any]]


def _implied(price: float) -> float:
    """Implied probability of an American (|p| ≥ 100) or decimal price."""
    if abs(price) >= 100:
        return 100 / (price + 100) if price > 0 else -price / (-price + 100)
    return 1 / price if price > 0 else 0.0


def _outcome(raw: Raw, outcome: Any, at: str) -> tuple[str, str, float, float]:
    """(side, player, line, price) of one outcome, each checked."""
    outcome = raw.obj(outcome, at)
    side = raw.text(raw.key(outcome, "name", at), f"{at}.name").lower()
    if side not in ("over", "under"):
        raw.fail(f"{at}.name: expected Over or Under, got {outcome['name']!r}")
    name = raw.text(raw.key(outcome, "description", at), f"{at}.description")
    line = raw.number(raw.key(outcome, "point", at), f"{at}.point")
    price = raw.number(raw.key(outcome, "price", at), f"{at}.price")
    return side, name, line, price


_NUMBER = (int, float)


def _plain(outcome: Any) -> tuple[str, str, float, float] | None:
    """What :func:`_outcome` gives for an outcome of plain, valid values (the common case,
    checked without naming where); None for any other, which ``_outcome`` then reads."""
    if type(outcome) is not dict:
        return None
    side: Any = outcome.get("name")
    name: Any = outcome.get("description")
    line: Any = outcome.get("point")
    price: Any = outcome.get("price")
    if (type(side) is not str or type(name) is not str or type(line) not in _NUMBER
            or type(price) not in _NUMBER or not math.isfinite(line)
            or not math.isfinite(price)):
        return None
    side, name = side.strip().lower(), name.strip()
    if side not in ("over", "under") or not name:
        return None
    return side, name, float(line), float(price)


def _sides(raw: Raw, outcomes: list[Any], where: str) -> _Sides:
    sides: _Sides = {}
    for i, outcome in enumerate(outcomes):
        side, name, line, price = (_plain(outcome)
                                   or _outcome(raw, outcome, f"{where}.outcomes[{i}]"))
        entry = sides.setdefault((player_lookup(name), line), {"name": name})
        entry[side] = price
    return sides


def _main_lines(sides: _Sides) -> dict[str, tuple[float, dict[str, Any]]]:
    """Per player the (line, sides) kept: complete pairs first, then the most balanced."""
    best: dict[str, tuple[float, dict[str, Any]]] = {}

    def score(entry: dict[str, Any]) -> tuple[int, float]:
        if "over" in entry and "under" in entry:
            return 0, abs(_implied(entry["over"]) - _implied(entry["under"]))
        return 1, 0.0

    for (lookup, line), entry in sides.items():
        if lookup not in best or score(entry) < score(best[lookup][1]):
            best[lookup] = (line, entry)
    return best


def parse(doc: Any, source_file: str) -> list[dict[str, Any]]:
    """Prop rows (columns of ``nba_raw.player_props``) of one event file.

    Raises:
        MalformedRawFile: missing fields, bad timestamps or prices, unknown teams.
    """
    raw = Raw(source_file)
    event = oddsapi.read_event(raw, doc)
    rows = []
    for i, book in enumerate(event.bookmakers):
        where = f"bookmakers[{i}]"
        key = oddsapi.book_key(raw, book, where)
        snapshot = oddsapi.snapshot_of(raw, event, book, where)
        for market, outcomes, at in oddsapi.markets(raw, book, where):
            if market != MARKET:
                continue
            for lookup, (line, entry) in _main_lines(_sides(raw, outcomes, at)).items():
                row = table_row(tr.PLAYER_PROPS, {
                    "game_date": event.game_date, "event_id": event.event_id,
                    "game_id": event.game_id, "home_team_abbr": event.home,
                    "away_team_abbr": event.away, "commence_time": event.commence,
                    "snapshot_timestamp": snapshot,
                    "minutes_before_tipoff": oddsapi.minutes_before_tipoff(event.commence,
                                                                          snapshot),
                    "bookmaker": key, "player_name": entry["name"], "player_lookup": lookup,
                    "points_line": line, "over_price": entry.get("over"),
                    "under_price": entry.get("under"), "source": SOURCE,
                    "source_file": source_file,
                })
                rows.append(row)
    return rows
