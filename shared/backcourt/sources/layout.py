"""Bucket layout of raw files: ``raw/<source>/<game_date>/<file>``.

The one exception is the season schedule, which covers every date of a season in one file and
is stored as ``raw/nbacom_schedule/<season>/<file>`` (e.g. ``raw/nbacom_schedule/2024-25/
scheduleLeagueV2.json``). Bad files are moved to ``quarantine/`` under the same relative path.

| source                | format                                       | file name                |
|-----------------------|----------------------------------------------|--------------------------|
| nbacom_schedule       | NBA.com scheduleLeagueV2 (one per season)    | scheduleLeagueV2.json    |
| nbacom_boxscore       | NBA.com boxscoretraditionalv2 (one per game) | <nba_game_id>.json       |
| nbacom_leaguegamelog  | NBA.com leaguegamelog (one per date)         | leaguegamelog.json       |
| balldontlie_boxscores | balldontlie box_scores (one per date)        | box_scores.json          |
| balldontlie_stats     | balldontlie stats (one per date)             | stats.json               |
| oddsapi_player_props  | Odds API event odds, player_points market    | <event_id>_<HHMMSS>.json |
| oddsapi_game_lines    | Odds API (historical) event, spreads/totals  | <event_id>_<HHMMSS>.json |
| nbacom_injury_report  | parsed NBA.com injury report                 | <YYYYMMDD_HH>.json       |
| nbacom_shotchart      | NBA.com shotchartdetail (one per game)       | <nba_game_id>.json       |
"""

from __future__ import annotations

import re
from datetime import date

from backcourt.domain.errors import BadInput

SOURCES = (
    "nbacom_schedule",
    "nbacom_boxscore",
    "nbacom_leaguegamelog",
    "balldontlie_boxscores",
    "balldontlie_stats",
    "oddsapi_player_props",
    "oddsapi_game_lines",
    "nbacom_injury_report",
    "nbacom_shotchart",
)

RAW = "raw"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,199}")
QUARANTINE = "quarantine"


def raw_prefix(source: str, game_date: date) -> str:
    """``raw/<source>/<game_date>/`` — where phase 2 looks for a source's files of a date."""
    return f"{RAW}/{source}/{game_date.isoformat()}/"


def object_name(name: str, what: str = "object name") -> str:
    """``name`` when it is a safe object name: 1–200 characters from ``A-Z a-z 0-9 . _ -``, not
    starting with a dot. Names are built from file content (an Odds API event id, a game id);
    a ``/`` would nest the object, ``..`` climb out of its folder.

    Raises:
        BadInput: naming ``what``, the name and the allowed characters.
    """
    if not _SAFE_NAME.fullmatch(name):
        raise BadInput(f"{what} {name!r} is not a safe object name: use 1-200 characters from "
                       "A-Z a-z 0-9 . _ - (not starting with a dot)")
    return name


def raw_path(source: str, game_date: date, file_name: str) -> str:
    """Full object path of one raw file (``file_name`` must pass :func:`object_name`)."""
    return raw_prefix(source, game_date) + object_name(file_name, "raw file name")


def schedule_path(season: str, file_name: str = "scheduleLeagueV2.json") -> str:
    """Object path of a season's schedule file."""
    return f"{RAW}/nbacom_schedule/{season}/{file_name}"


def quarantine_path(path: str) -> str:
    """Where a bad raw file goes: ``quarantine/<its path below raw/>``."""
    rel = path[len(RAW) + 1 :] if path.startswith(RAW + "/") else path
    return f"{QUARANTINE}/{rel}"
