"""Which raw format a file is, from its content (never its name). gzip is accepted.

| content                                                     | source                   |
|-------------------------------------------------------------|--------------------------|
| ``leagueSchedule``                                          | nbacom_schedule          |
| ``resultSets`` with ``PlayerStats``                         | nbacom_boxscore          |
| ``resultSets`` with ``LeagueGameLog``                       | nbacom_leaguegamelog     |
| ``resultSets`` with ``Shot_Chart_Detail``                   | nbacom_shotchart         |
| ``data[]`` of games with ``home_team`` / ``visitor_team``    | balldontlie_boxscores    |
| ``data[]`` of lines with ``player`` / ``team`` / ``game``     | balldontlie_stats        |
| an Odds API event (bare or wrapped) with ``player_*`` markets| oddsapi_player_props     |
| an Odds API event with ``spreads`` / ``totals`` / ``h2h``    | oddsapi_game_lines       |
| ``records[]`` of matchup/player/status                      | nbacom_injury_report     |
"""

from __future__ import annotations

from typing import Any

from backcourt.domain.errors import MalformedRawFile
from backcourt.sources.oddsapi import is_wrapper
from backcourt.sources.parsing import decode

_GAME_MARKETS = frozenset({"spreads", "totals", "h2h"})


def _describe(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(sorted(map(str, doc))[:8]) or "none"
        return f"a JSON object with keys {keys}"
    return f"a JSON {type(doc).__name__}"


def _result_sets(doc: dict[str, Any]) -> set[str]:
    sets = doc.get("resultSets")
    if not isinstance(sets, list):
        return set()
    return {s["name"] for s in sets if isinstance(s, dict) and isinstance(s.get("name"), str)}


def _market_keys(event: dict[str, Any]) -> set[str]:
    keys = set()
    for book in event.get("bookmakers") or ():
        for market in (book.get("markets") or ()) if isinstance(book, dict) else ():
            if isinstance(market, dict) and isinstance(market.get("key"), str):
                keys.add(market["key"])
    return keys


def _odds(doc: dict[str, Any], name: str) -> str | None:
    event = doc["data"] if is_wrapper(doc) else doc
    if not (isinstance(event.get("bookmakers"), list) and "commence_time" in event):
        return None
    keys = _market_keys(event)
    props = any(k.startswith("player_") for k in keys)
    lines = bool(keys & _GAME_MARKETS)
    if props != lines:
        return "oddsapi_player_props" if props else "oddsapi_game_lines"
    what = "both player and game markets" if props else "no player or game markets"
    raise MalformedRawFile(name, f"unrecognised format: Odds API event with {what}, "
                                 "cannot tell player props from game lines")


def _balldontlie(doc: dict[str, Any]) -> bool:
    data = doc.get("data")
    return isinstance(data, list) and all(
        isinstance(g, dict) and "home_team" in g and "visitor_team" in g for g in data
    )


def _balldontlie_stats(doc: dict[str, Any]) -> bool:
    """balldontlie ``stats``: player lines, each with its player, team and game. An empty
    ``data`` is not told apart here (it is read as ``box_scores``, which has no games either)."""
    data = doc.get("data")
    return isinstance(data, list) and bool(data) and all(
        isinstance(r, dict) and "player" in r and "team" in r and "game" in r for r in data
    )


def _injury(doc: dict[str, Any]) -> bool:
    records = doc.get("records")
    return isinstance(records, list) and all(
        isinstance(r, dict) and "matchup" in r and "player" in r for r in records
    )


def sniff(doc: Any, name: str = "file") -> str | None:
    """The source of a decoded document, or None when no format matches."""
    if not isinstance(doc, dict):
        return None
    if "leagueSchedule" in doc:
        return "nbacom_schedule"
    sets = _result_sets(doc)
    if "PlayerStats" in sets:
        return "nbacom_boxscore"
    if "LeagueGameLog" in sets:
        return "nbacom_leaguegamelog"
    if "Shot_Chart_Detail" in sets:
        return "nbacom_shotchart"
    if _balldontlie(doc):
        return "balldontlie_boxscores"
    if _balldontlie_stats(doc):
        return "balldontlie_stats"
    if _injury(doc):
        return "nbacom_injury_report"
    return _odds(doc, name)


def detect(data: bytes, name: str) -> tuple[str, Any]:
    """The source and the decoded document of a raw file's bytes.

    Raises:
        MalformedRawFile: "unrecognised format: …" (also for bytes that are not JSON).
    """
    try:
        doc = decode(data, name)
    except MalformedRawFile as exc:
        raise MalformedRawFile(name, f"unrecognised format: {exc.problem}") from None
    source = sniff(doc, name)
    if source is None:
        raise MalformedRawFile(name, f"unrecognised format: {_describe(doc)}")
    return source, doc


def detect_format(data: bytes, name: str) -> str:
    """One of ``layout.SOURCES``, from the content of a raw file (gzip accepted).

    Raises:
        MalformedRawFile: "unrecognised format: …".
    """
    return detect(data, name)[0]
