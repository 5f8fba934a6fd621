"""What the two Odds API parsers share: reading an event in either shape.

Two shapes are accepted: the bare event object (``{"id", "commence_time", "home_team",
"away_team", "bookmakers": [...]}``) and the historical wrapper ``{"timestamp": ..., "data":
{event}}``. The snapshot time is the wrapper's timestamp, else each bookmaker's ``last_update``.
``game_date`` is the commence time's America/New_York date; team full names become tricodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from backcourt.domain.dates import eastern_date
from backcourt.domain.ids import system_game_id
from backcourt.sources.parsing import Raw


@dataclass(frozen=True)
class Event:
    """One Odds API event, normalised."""

    event_id: str
    commence: datetime
    game_date: date
    home: str
    away: str
    snapshot: datetime | None  # the historical wrapper's timestamp
    bookmakers: list[dict[str, Any]]

    @property
    def game_id(self) -> str:
        """System id YYYYMMDD_AWAY_HOME."""
        return system_game_id(self.game_date, self.away, self.home)


def is_wrapper(doc: Any) -> bool:
    """Whether a document is the historical ``{"timestamp", "data": {event}}`` wrapper."""
    return isinstance(doc, dict) and "timestamp" in doc and isinstance(doc.get("data"), dict)


def read_event(raw: Raw, doc: Any) -> Event:
    """The event of a file in either shape.

    Raises:
        MalformedRawFile: missing fields, bad timestamps, unknown teams.
    """
    snapshot = None
    where = "event"
    if is_wrapper(doc):
        snapshot = raw.instant(doc["timestamp"], "timestamp")
        doc, where = doc["data"], "data"
    event = raw.obj(doc, where)
    commence = raw.instant(raw.key(event, "commence_time", where), f"{where}.commence_time")
    books = raw.arr(raw.key(event, "bookmakers", where), f"{where}.bookmakers")
    return Event(
        event_id=raw.text(raw.key(event, "id", where), f"{where}.id"),
        commence=commence,
        game_date=eastern_date(commence),
        home=raw.team(raw.key(event, "home_team", where), f"{where}.home_team"),
        away=raw.team(raw.key(event, "away_team", where), f"{where}.away_team"),
        snapshot=snapshot,
        bookmakers=[raw.obj(b, f"{where}.bookmakers[{i}]") for i, b in enumerate(books)],
    )


def snapshot_of(raw: Raw, event: Event, book: dict[str, Any], where: str) -> datetime:
    """The wrapper's timestamp, else the bookmaker's last_update."""
    if event.snapshot is not None:
        return event.snapshot
    return raw.instant(raw.key(book, "last_update", where), f"{where}.last_update")


def latest_snapshot(raw: Raw, event: Event) -> datetime | None:
    """The file's snapshot time: the wrapper's timestamp, else the newest bookmaker update."""
    times = [snapshot_of(raw, event, b, f"bookmakers[{i}]") for i, b in enumerate(event.bookmakers)]
    return event.snapshot or (max(times) if times else None)


def minutes_before_tipoff(commence: datetime, snapshot: datetime) -> int:
    """Whole minutes from snapshot to tip-off, rounded down: negative = in-game snapshot."""
    return int((commence - snapshot).total_seconds() // 60)


def markets(raw: Raw, book: dict[str, Any], where: str) -> list[tuple[str, list[Any], str]]:
    """(market key, outcomes, where) of a bookmaker."""
    out = []
    for i, market in enumerate(raw.arr(raw.key(book, "markets", where), f"{where}.markets")):
        at = f"{where}.markets[{i}]"
        market = raw.obj(market, at)
        key = raw.text(raw.key(market, "key", at), f"{at}.key")
        out.append((key, raw.arr(raw.key(market, "outcomes", at), f"{at}.outcomes"), at))
    return out


def book_key(raw: Raw, book: dict[str, Any], where: str) -> str:
    """The lowercase bookmaker key."""
    return raw.text(raw.key(book, "key", where), f"{where}.key").lower()
