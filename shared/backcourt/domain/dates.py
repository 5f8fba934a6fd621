"""One time model. At the edges dates are inclusive ISO strings; ``game_date`` is the NBA
schedule's calendar date in America/New_York, and relative words ("yesterday") are resolved
exactly once, at the trigger (LESSONS R5)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backcourt.domain.errors import BadInput

EASTERN = ZoneInfo("America/New_York")

FIRST_DAY = date(1946, 7, 1)
"""First supported game_date: the start of the 1946-47 season, the league's first."""
LAST_DAY = date(2099, 6, 30)
"""Last supported game_date: the end of the 2098-99 season. Every date between FIRST_DAY and
LAST_DAY can be moved by a year's lookback or lookahead without leaving ``date``'s range."""


def check_supported(day: date, *, what: str = "date") -> date:
    """``day`` when it lies in [FIRST_DAY, LAST_DAY], else BadInput naming it and the range
    (0001-01-01 or 9999-12-31 would overflow the first ``timedelta`` taken from them)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadInput(f"bad {what} {day.isoformat()}: outside the supported dates "
                       f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
    return day


def parse_date(text: str, *, what: str = "date") -> date:
    """Parse an ISO calendar date ("2025-01-15") in the supported range, raising BadInput that
    names the bad value."""
    try:
        day = date.fromisoformat(text.strip())
    except (ValueError, AttributeError, TypeError) as exc:
        raise BadInput(f"bad {what} {text!r}: expected YYYY-MM-DD") from exc
    return check_supported(day, what=what)


def parse_instant(text: str, *, what: str = "timestamp") -> datetime:
    """Parse an ISO-8601 instant WITH a time zone ("2025-01-16T04:00:00-05:00", "…Z"); a naive
    or unparseable one raises BadInput naming ``what`` and the expected format."""
    expected = ("expected an ISO-8601 timestamp with a time zone, e.g. "
                "2025-01-16T04:00:00-05:00 or 2025-01-16T09:00:00Z")
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise BadInput(f"bad {what} {text!r}: {expected}") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadInput(f"bad {what} {text!r}: no time zone; {expected}")
    return moment


def eastern_date(moment: datetime) -> date:
    """The America/New_York calendar date of an aware instant."""
    if moment.tzinfo is None:
        raise BadInput(f"naive datetime {moment.isoformat()}: a time zone is required")
    return moment.astimezone(EASTERN).date()


def resolve_relative(word: str, now: datetime) -> date:
    """Resolve "today", "yesterday" or an ISO date against ``now``, in America/New_York."""
    today = eastern_date(now)
    offsets = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if word.lower() in offsets:
        return today + timedelta(days=offsets[word.lower()])
    return parse_date(word)


def date_range(start: date, end: date) -> Iterator[date]:
    """Every date from start to end, both inclusive."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Group dates into maximal runs of consecutive days, as inclusive (start, end) pairs."""
    ordered = sorted(set(days))
    out: list[tuple[date, date]] = []
    for day in ordered:
        if out and day - out[-1][1] == timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def chunk(days: Sequence[date], size: int) -> list[list[date]]:
    """Split sorted dates into chunks of at most ``size`` dates each (order kept)."""
    if size < 1:
        raise BadInput(f"bad chunk size {size}: must be at least 1")
    ordered = sorted(set(days))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
