"""Phase-3 analytics tables (dataset ``nba_analytics``), one per processor; the SQL in
``backcourt/sql/<table>.sql`` selects exactly these columns in this order."""

from __future__ import annotations

from backcourt.domain.schema import Table, col

TEAM_OFFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_offense_game_summary",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("points_scored", "INT64"),
        col("possessions", "FLOAT64"),
    ),
    key=("game_date", "team_abbr"),
)

TEAM_DEFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_defense_game_summary",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("defending_team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("points_allowed", "INT64"),
    ),
    key=("game_date", "defending_team_abbr"),
)

PLAYER_GAME_SUMMARY = Table(
    "nba_analytics",
    "player_game_summary",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("player_lookup", "STRING", required=True),
        col("team_abbr", "STRING", required=True),
        col("points", "INT64"),
        col("minutes_played", "FLOAT64"),
    ),
    key=("game_date", "player_lookup"),
)

UPCOMING_TEAM_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_team_game_context",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
    ),
    key=("game_date", "team_abbr"),
)

UPCOMING_PLAYER_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_player_game_context",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("player_lookup", "STRING", required=True),
        col("team_abbr", "STRING", required=True),
    ),
    key=("game_date", "player_lookup"),
)

ANALYTICS_TABLES = (
    TEAM_OFFENSE_GAME_SUMMARY,
    TEAM_DEFENSE_GAME_SUMMARY,
    PLAYER_GAME_SUMMARY,
    UPCOMING_TEAM_GAME_CONTEXT,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
