"""The 30 NBA teams: NBA.com tricodes (canonical everywhere), team ids and the names that
raw sources use for them (Odds API full names, Basketball-Reference and ESPN variants)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    """One franchise as NBA.com names it."""

    tricode: str
    team_id: int
    city: str
    nickname: str

    @property
    def full_name(self) -> str:
        """Full name as The Odds API writes it, e.g. "Golden State Warriors"."""
        return f"{self.city} {self.nickname}"


TEAMS: tuple[Team, ...] = (
    Team("ATL", 1610612737, "Atlanta", "Hawks"),
    Team("BOS", 1610612738, "Boston", "Celtics"),
    Team("CLE", 1610612739, "Cleveland", "Cavaliers"),
    Team("NOP", 1610612740, "New Orleans", "Pelicans"),
    Team("CHI", 1610612741, "Chicago", "Bulls"),
    Team("DAL", 1610612742, "Dallas", "Mavericks"),
    Team("DEN", 1610612743, "Denver", "Nuggets"),
    Team("GSW", 1610612744, "Golden State", "Warriors"),
    Team("HOU", 1610612745, "Houston", "Rockets"),
    Team("LAC", 1610612746, "LA", "Clippers"),
    Team("LAL", 1610612747, "Los Angeles", "Lakers"),
    Team("MIA", 1610612748, "Miami", "Heat"),
    Team("MIL", 1610612749, "Milwaukee", "Bucks"),
    Team("MIN", 1610612750, "Minnesota", "Timberwolves"),
    Team("BKN", 1610612751, "Brooklyn", "Nets"),
    Team("NYK", 1610612752, "New York", "Knicks"),
    Team("ORL", 1610612753, "Orlando", "Magic"),
    Team("IND", 1610612754, "Indiana", "Pacers"),
    Team("PHI", 1610612755, "Philadelphia", "76ers"),
    Team("PHX", 1610612756, "Phoenix", "Suns"),
    Team("POR", 1610612757, "Portland", "Trail Blazers"),
    Team("SAC", 1610612758, "Sacramento", "Kings"),
    Team("SAS", 1610612759, "San Antonio", "Spurs"),
    Team("OKC", 1610612760, "Oklahoma City", "Thunder"),
    Team("TOR", 1610612761, "Toronto", "Raptors"),
    Team("UTA", 1610612762, "Utah", "Jazz"),
    Team("MEM", 1610612763, "Memphis", "Grizzlies"),
    Team("WAS", 1610612764, "Washington", "Wizards"),
    Team("DET", 1610612765, "Detroit", "Pistons"),
    Team("CHA", 1610612766, "Charlotte", "Hornets"),
)

BY_TRICODE: dict[str, Team] = {t.tricode: t for t in TEAMS}
BY_ID: dict[int, Team] = {t.team_id: t for t in TEAMS}

_VARIANTS: dict[str, str] = {
    "BRK": "BKN", "CHO": "CHA", "PHO": "PHX", "GS": "GSW", "NY": "NYK", "NO": "NOP",
    "SA": "SAS", "UTAH": "UTA", "WSH": "WAS", "LOS ANGELES CLIPPERS": "LAC",
}

_BY_NAME: dict[str, str] = {}
"""Full names ("LOS ANGELES CLIPPERS", and "<city> <nickname>") → tricode, the first team
listed winning."""
for _team in TEAMS:
    for _name in (_team.full_name.upper(), f"{_team.city} {_team.nickname}".upper()):
        _BY_NAME.setdefault(_name, _team.tricode)


def tricode_for(name: str) -> str | None:
    """Map a tricode, a source variant or a full team name to the NBA.com tricode.

    Args:
        name: "LAC", "BRK", "LA Clippers", "Los Angeles Clippers", "Golden State Warriors"…
    Returns:
        The canonical tricode, or None when the name is not an NBA team.
    """
    key = name.strip().upper()
    if key in BY_TRICODE:
        return key
    if key in _VARIANTS:
        return _VARIANTS[key]
    return _BY_NAME.get(key)
