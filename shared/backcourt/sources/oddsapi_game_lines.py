"""The Odds API (historical) event odds, ``spreads`` and ``totals`` markets → game-line rows.

One row per (bookmaker, market, outcome). Spread outcomes are named by team tricode (the point is
that team's spread); total outcomes are "Over" / "Under". Other markets (h2h, …) are ignored.
Both event shapes are accepted (see ``backcourt.sources.oddsapi``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backcourt.domain import tables_raw as tr
from backcourt.sources import oddsapi
from backcourt.sources.parsing import Raw, table_row

SOURCE = "oddsapi_game_lines"
MARKETS = ("spreads", "totals")


def _outcome_name(raw: Raw, market: str, outcome: dict[str, Any], event: oddsapi.Event,
                  at: str) -> str:
    name = raw.key(outcome, "name", at)
    if market == "totals":
        side = raw.text(name, f"{at}.name").capitalize()
        if side not in ("Over", "Under"):
            raw.fail(f"{at}.name: expected Over or Under, got {name!r}")
        return side
    team = raw.team(name, f"{at}.name")
    if team not in (event.home, event.away):
        raw.fail(f"{at}.name: {name!r} does not play in {event.away}@{event.home}")
    return team


def _rows(raw: Raw, event: oddsapi.Event, book: str, snapshot: datetime, market: str,
          outcomes: list[Any], where: str, source_file: str) -> list[dict[str, Any]]:
    rows = []
    for i, outcome in enumerate(outcomes):
        at = f"{where}.outcomes[{i}]"
        outcome = raw.obj(outcome, at)
        row = table_row(tr.GAME_LINES, {
            "game_date": event.game_date, "event_id": event.event_id, "game_id": event.game_id,
            "commence_time": event.commence, "snapshot_timestamp": snapshot,
            "home_team_abbr": event.home, "away_team_abbr": event.away, "bookmaker": book,
            "market": market, "outcome_name": _outcome_name(raw, market, outcome, event, at),
            "outcome_point": raw.opt_num(outcome.get("point"), f"{at}.point"),
            "outcome_price": raw.opt_num(outcome.get("price"), f"{at}.price"),
            "source": SOURCE, "source_file": source_file,
        })
        rows.append(row)
    return rows


def parse(doc: Any, source_file: str) -> list[dict[str, Any]]:
    """Game-line rows (columns of ``nba_raw.game_lines``) of one event file.

    Raises:
        MalformedRawFile: missing fields, bad timestamps or numbers, unknown teams.
    """
    raw = Raw(source_file)
    event = oddsapi.read_event(raw, doc)
    rows = []
    for i, book in enumerate(event.bookmakers):
        where = f"bookmakers[{i}]"
        key = oddsapi.book_key(raw, book, where)
        snapshot = oddsapi.snapshot_of(raw, event, book, where)
        for market, outcomes, at in oddsapi.markets(raw, book, where):
            if market in MARKETS:
                rows.extend(_rows(raw, event, key, snapshot, market, outcomes, at, source_file))
    return rows
