"""Canonical identifiers shared by every phase (LESSONS R13.1): game ids, player lookups,
season names."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from backcourt.domain.dates import FIRST_DAY, LAST_DAY
from backcourt.domain.errors import BadInput

_SUFFIXES = ((" junior", "jr"), (" senior", "sr"), (" jr.", "jr"), (" sr.", "sr"))
_SUFFIX_WORDS = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})  # "Jaren Jackson, Jr."
_SEASON = re.compile(r"([0-9]{4})-([0-9]{2})")


@functools.lru_cache(maxsize=16384)  # a pure function of few distinct names, on every row
def player_lookup(name: str) -> str:
    """Normalise a player name to the lookup key used for joins across sources.

    "LeBron James" → "lebronjames", "D'Angelo Russell" → "dangelorussell",
    "Nikola Jokić" → "nikolajokic", "X Y Jr." → "xyjr". A "Last, First" name is turned around.
    """
    if "," in name:
        last, _, first = name.partition(",")
        if first.strip() and first.strip().lower().rstrip(".") not in _SUFFIX_WORDS:
            name = f"{first.strip()} {last.strip()}"
    text = unicodedata.normalize("NFKC", name).replace("ı", "i").replace("İ", "I")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = text.casefold()
    for suffix, short in _SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)] + short
    return re.sub(r"[^a-z0-9]", "", text)


def system_game_id(game_date: date, away: str, home: str) -> str:
    """The system game id ``YYYYMMDD_AWAY_HOME`` (always away first)."""
    if type(game_date) is date and game_date.year >= 1000:  # faster than strftime, the same
        return f"{game_date.isoformat().replace('-', '')}_{away}_{home}"
    return f"{game_date:%Y%m%d}_{away}_{home}"


def season_of(day: date) -> str:
    """The NBA season a calendar date belongs to: July starts a new season ("2024-25")."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


@functools.lru_cache(maxsize=256)
def season_start_year(season: str) -> int:
    """2024 for "2024-25"; raises BadInput for anything that is not a season name."""
    match = _SEASON.fullmatch(season) if isinstance(season, str) else None
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise BadInput(f"bad season {season!r}: expected a name like 2024-25")
    year = int(match.group(1))
    if not FIRST_DAY.year <= year < LAST_DAY.year:
        raise BadInput(f"bad season {season!r}: supported seasons are "
                       f"{season_of(FIRST_DAY)} to {season_of(LAST_DAY)}")
    return year


def season_bounds(season: str) -> tuple[date, date]:
    """Inclusive calendar bounds of a season: July 1 to June 30."""
    start = season_start_year(season)
    return date(start, 7, 1), date(start + 1, 6, 30)
