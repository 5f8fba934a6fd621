"""The season calendar: every date of a season typed from the phase-2 schedule table
(LESSONS R11). Expected dates per processor come from its applicability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from backcourt.domain.dates import date_range
from backcourt.domain.errors import BadInput
from backcourt.domain.registry import DateType, Processor

# NBA.com game id type digit (third character) → the kind of game.
GAME_TYPE_BY_ID_DIGIT: Mapping[str, DateType] = {
    "1": DateType.PRESEASON,
    "2": DateType.REGULAR,
    "3": DateType.ALL_STAR,
    "4": DateType.PLAYOFFS,
    "5": DateType.PLAY_IN,
    "6": DateType.CUP_FINAL,
}

# When two kinds of game share a date, the date takes the most significant one.
_PRECEDENCE = (
    DateType.PLAYOFFS, DateType.PLAY_IN, DateType.CUP_FINAL, DateType.REGULAR,
    DateType.ALL_STAR, DateType.PRESEASON,
)


def game_type_of(nba_game_id: str) -> DateType:
    """The kind of game from an NBA.com game id ("0022400561" → regular)."""
    return GAME_TYPE_BY_ID_DIGIT.get(nba_game_id[2:3], DateType.REGULAR)


@dataclass(frozen=True)
class ScheduledGame:
    """One game on the schedule."""

    nba_game_id: str
    game_id: str  # system id YYYYMMDD_AWAY_HOME
    game_date: date
    season: str
    game_type: DateType
    home: str
    away: str
    status: int = 3  # 1 scheduled, 2 live, 3 final
    postponed: bool = False
    home_score: int | None = None
    away_score: int | None = None

    @property
    def is_final(self) -> bool:
        """Played to the end and not postponed."""
        return self.status == 3 and not self.postponed


@dataclass(frozen=True)
class CalendarDay:
    """One date of a season: its type and its games."""

    game_date: date
    date_type: DateType
    games: tuple[ScheduledGame, ...]


@dataclass(frozen=True)
class SeasonCalendar:
    """Every date from a season's first to last game, typed."""

    season: str
    days: tuple[CalendarDay, ...]

    @property
    def start(self) -> date:
        """First date with a game (BadInput naming the season when none is loaded)."""
        return self._bounds()[0]

    @property
    def end(self) -> date:
        """Last date with a game (BadInput naming the season when none is loaded)."""
        return self._bounds()[1]

    def _bounds(self) -> tuple[date, date]:
        if not self.days:  # a caller that forgot `if cal.days`: a named error, not IndexError
            raise BadInput(f"season {self.season} has no schedule loaded: it has no first or "
                           "last game date")
        return self.days[0].game_date, self.days[-1].game_date

    def day(self, game_date: date) -> CalendarDay:
        """The calendar day for a date in the season (no_games when outside the span)."""
        for d in self.days:
            if d.game_date == game_date:
                return d
        return CalendarDay(game_date, DateType.NO_GAMES, ())

    def dates_of(self, types: Iterable[DateType]) -> list[date]:
        """Dates whose type is one of ``types``."""
        wanted = frozenset(types)
        return [d.game_date for d in self.days if d.date_type in wanted]

    def expected_dates(self, processor: Processor) -> list[date]:
        """Dates the processor must produce: its applicability over the calendar."""
        return self.dates_of(processor.applies_to)

    def not_expected_dates(self, processor: Processor) -> list[date]:
        """Dates in the season span the processor does not apply to."""
        return [d.game_date for d in self.days if d.date_type not in processor.applies_to]

    def counts(self) -> dict[DateType, int]:
        """Number of dates per type."""
        out: dict[DateType, int] = {}
        for d in self.days:
            out[d.date_type] = out.get(d.date_type, 0) + 1
        return out


def build_calendar(season: str, games: Sequence[ScheduledGame]) -> SeasonCalendar:
    """Type every date from the season's first to last game.

    A date takes the most significant type of its games (a cup-final night with no other games
    is ``cup_final``); dates in the span without games are ``no_games``. Postponed games do not
    make a date a game date.
    """
    played = [g for g in games if g.season == season and not g.postponed]
    if not played:
        return SeasonCalendar(season, ())
    by_date: dict[date, list[ScheduledGame]] = {}
    for g in played:
        by_date.setdefault(g.game_date, []).append(g)
    days = []
    for day in date_range(min(by_date), max(by_date)):
        todays = tuple(sorted(by_date.get(day, []), key=lambda g: g.nba_game_id))
        kinds = {g.game_type for g in todays}
        kind = next((k for k in _PRECEDENCE if k in kinds), DateType.NO_GAMES)
        days.append(CalendarDay(day, kind, todays))
    return SeasonCalendar(season, tuple(days))
