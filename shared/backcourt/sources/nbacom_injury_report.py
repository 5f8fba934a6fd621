"""Parsed NBA.com injury report (``records[]``: date, gametime, matchup, team, player, status,
reason, confidence) → injury rows.

``report_time`` is ``metadata.gamedate`` + ``metadata.hour24`` read in America/New_York; without
metadata it comes from a ``YYYYMMDD_HH.json`` file name. Players "Last, First" become
"First Last"; statuses are lowercased; "MIL@SAS" is away MIL at home SAS. The reason is sorted
into a category by keywords: g_league, suspension, personal, rest, injury, other.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from backcourt.domain import tables_raw as tr
from backcourt.domain.dates import EASTERN
from backcourt.domain.ids import player_lookup, system_game_id
from backcourt.sources.parsing import Raw, table_row

SOURCE = "nbacom_injury_report"
STATUSES = ("out", "doubtful", "questionable", "probable", "available")
_MATCHUP = re.compile(r"^\s*([A-Za-z]{2,4})\s*@\s*([A-Za-z]{2,4})\s*$")
_FILE_HOUR = re.compile(r"(\d{8})_(\d{2})\.json$")
_CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("g_league", re.compile(r"g[ -]?league|two[ -]way", re.IGNORECASE)),
    ("suspension", re.compile(r"suspen", re.IGNORECASE)),
    ("personal", re.compile(r"personal|not with team|bereavement", re.IGNORECASE)),
    ("rest", re.compile(r"\brest\b|load management", re.IGNORECASE)),
    ("injury", re.compile(r"injur|illness", re.IGNORECASE)),
)


def reason_category(reason: str | None) -> str:
    """injury, g_league, suspension, rest, personal or other, from the reason's keywords."""
    for category, pattern in _CATEGORIES:
        if reason and pattern.search(reason):
            return category
    return "other"


def display_name(name: str) -> str:
    """"Payton II, Gary" → "Gary Payton II"; a name without a comma is kept."""
    last, comma, first = name.partition(",")
    return f"{first.strip()} {last.strip()}" if comma and first.strip() else name.strip()


def report_time(doc: Any, source_file: str) -> datetime:
    """When the report was issued (aware UTC), from its metadata or its file name."""
    raw = Raw(source_file)
    meta = raw.obj(doc, "file").get("metadata")
    if isinstance(meta, dict) and meta.get("gamedate") is not None:
        day = raw.text(meta["gamedate"], "metadata.gamedate")
        hour = raw.text(raw.key(meta, "hour24", "metadata"), "metadata.hour24")
        text = f"{day} {hour}"
    else:
        match = _FILE_HOUR.search(source_file)
        if not match:
            raw.fail("no report time: metadata.gamedate/hour24 missing and the file is not "
                     "named YYYYMMDD_HH.json")
        text = f"{match.group(1)} {match.group(2)}"
    try:
        wall = datetime.strptime(text, "%Y%m%d %H")
    except ValueError:
        raw.fail(f"report time {text!r}: expected YYYYMMDD and an hour 00-23")
    return wall.replace(tzinfo=EASTERN).astimezone(UTC)


def _teams(raw: Raw, rec: dict[str, Any], where: str) -> tuple[str, str, str]:
    """(team, away, home) of a record."""
    text = raw.text(raw.key(rec, "matchup", where), f"{where}.matchup")
    match = _MATCHUP.match(text)
    if not match:
        raw.fail(f"{where}.matchup: expected AWAY@HOME, got {text!r}")
    away = raw.team(match.group(1), f"{where}.matchup")
    home = raw.team(match.group(2), f"{where}.matchup")
    team = raw.team(raw.key(rec, "team", where), f"{where}.team")
    if team not in (away, home):
        raw.fail(f"{where}.team {team} does not play in {text}")
    return team, away, home


def _row(raw: Raw, rec: dict[str, Any], where: str, issued: datetime) -> dict[str, Any]:
    game_date = raw.us_or_iso_date(raw.key(rec, "date", where), f"{where}.date")
    team, away, home = _teams(raw, rec, where)
    name = display_name(raw.text(raw.key(rec, "player", where), f"{where}.player"))
    status = raw.text(raw.key(rec, "status", where), f"{where}.status").lower()
    if status not in STATUSES:
        raw.fail(f"{where}.status: unknown status {rec['status']!r}")
    reason = raw.opt_text(rec.get("reason"), f"{where}.reason")
    row = table_row(tr.INJURY_REPORT, {
        "game_date": game_date, "report_time": issued,
        "game_id": system_game_id(game_date, away, home),
        "away_team_abbr": away, "home_team_abbr": home, "team_abbr": team,
        "player_name": name, "player_lookup": player_lookup(name), "injury_status": status,
        "reason": reason, "reason_category": reason_category(reason),
        "confidence": raw.opt_num(rec.get("confidence"), f"{where}.confidence"),
        "source": SOURCE, "source_file": raw.path,
    })
    return row


def record_dates(doc: Any, source_file: str) -> set[date]:
    """The game dates of a report's records."""
    raw = Raw(source_file)
    records = raw.arr(raw.key(raw.obj(doc, "file"), "records", "file"), "records")
    return {raw.us_or_iso_date(raw.key(raw.obj(r, f"records[{i}]"), "date", f"records[{i}]"),
                               f"records[{i}].date") for i, r in enumerate(records)}


def parse(doc: Any, source_file: str) -> list[dict[str, Any]]:
    """Injury rows (columns of ``nba_raw.injury_report``) of one report.

    Raises:
        MalformedRawFile: structure, types, unknown team or status, a player listed twice.
    """
    raw = Raw(source_file)
    issued = report_time(doc, source_file)
    records = raw.arr(raw.key(raw.obj(doc, "file"), "records", "file"), "records")
    rows = []
    seen: set[tuple[date, str]] = set()
    for i, rec in enumerate(records):
        row = _row(raw, raw.obj(rec, f"records[{i}]"), f"records[{i}]", issued)
        key = (row["game_date"], row["player_lookup"])
        if key in seen:
            raw.fail(f"records[{i}]: player {row['player_name']!r} listed twice for {key[0]}")
        seen.add(key)
        rows.append(row)
    return rows
