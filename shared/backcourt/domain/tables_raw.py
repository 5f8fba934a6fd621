"""Phase-2 raw tables (dataset ``nba_raw``). One row per fact a raw file states; the parsers in
``backcourt.sources`` emit dicts with exactly these columns."""

from __future__ import annotations

from backcourt.domain.schema import Table, col

_AUDIT = (
    col("source", "STRING", "raw format the row came from, e.g. nbacom_boxscore"),
    col("source_file", "STRING", "bucket path of the raw file"),
)

SCHEDULE = Table(
    "nba_raw",
    "schedule",
    (
        col("game_date", "DATE", "America/New_York calendar date of the game", True),
        col("nba_game_id", "STRING", "NBA.com 10-character game id", True),
        col("game_id", "STRING", "system id YYYYMMDD_AWAY_HOME", True),
        col("season", "STRING", "season name, e.g. 2024-25", True),
        col("season_year", "INT64", "first year of the season", True),
        col("game_type", "STRING",
            "preseason|regular|cup_final|all_star|play_in|playoffs (from the id prefix)", True),
        col("game_label", "STRING", "NBA.com gameLabel, e.g. 'East First Round'"),
        col("game_status", "INT64", "1 scheduled, 2 live, 3 final"),
        col("postponed", "BOOL", "postponedStatus is not N"),
        col("tip_time_et", "TIMESTAMP", "tip-off (gameDateTimeEst read as America/New_York)"),
        col("home_team_abbr", "STRING", "home tricode", True),
        col("away_team_abbr", "STRING", "away tricode", True),
        col("home_team_score", "INT64"),
        col("away_team_score", "INT64"),
        col("is_neutral", "BOOL"),
        *_AUDIT,
    ),
    key=("game_date", "nba_game_id"),
    cluster=("game_type", "home_team_abbr"),
    description="NBA.com scheduleLeagueV2, one row per game (all game types).",
)

_BOX = (
    col("fg_made", "INT64"), col("fg_attempted", "INT64"),
    col("three_pt_made", "INT64"), col("three_pt_attempted", "INT64"),
    col("ft_made", "INT64"), col("ft_attempted", "INT64"),
    col("offensive_rebounds", "INT64"), col("defensive_rebounds", "INT64"),
    col("total_rebounds", "INT64"), col("assists", "INT64"), col("steals", "INT64"),
    col("blocks", "INT64"), col("turnovers", "INT64"), col("personal_fouls", "INT64"),
    col("points", "INT64"), col("plus_minus", "INT64"),
)

PLAYER_BOXSCORES = Table(
    "nba_raw",
    "player_boxscores",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", "system id YYYYMMDD_AWAY_HOME", True),
        col("nba_game_id", "STRING", "NBA.com id when the source has it"),
        col("season_year", "INT64"),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("is_home", "BOOL"),
        col("player_id", "INT64", "the source's player id"),
        col("player_name", "STRING"),
        col("player_lookup", "STRING", "normalised name (backcourt.domain.ids)", True),
        col("player_status", "STRING", "active | dnp | inactive", True),
        col("dnp_reason", "STRING", "NBA.com COMMENT for players who did not play"),
        col("starter", "BOOL", "listed with a START_POSITION"),
        col("minutes", "FLOAT64", "minutes played as a decimal (MM:SS → MM + SS/60)"),
        *_BOX,
        *_AUDIT,
    ),
    key=("game_date", "player_lookup"),
    cluster=("team_abbr", "player_lookup"),
    description="Player box scores merged from the box-score sources by documented priority.",
)

TEAM_BOXSCORES = Table(
    "nba_raw",
    "team_boxscores",
    (
        col("game_date", "DATE", required=True),
        col("game_id", "STRING", required=True),
        col("nba_game_id", "STRING"),
        col("season_year", "INT64"),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("is_home", "BOOL"),
        col("minutes", "INT64", "team player-minutes: 240 regulation, +25 per overtime"),
        *_BOX,
        *_AUDIT,
    ),
    key=("game_date", "team_abbr"),
    cluster=("team_abbr",),
    description="Team box scores: NBA.com TeamStats, or the sum of players for other sources.",
)

PLAYER_PROPS = Table(
    "nba_raw",
    "player_props",
    (
        col("game_date", "DATE", required=True),
        col("event_id", "STRING", "Odds API event id", True),
        col("game_id", "STRING", "system id when the teams are known"),
        col("home_team_abbr", "STRING"),
        col("away_team_abbr", "STRING"),
        col("commence_time", "TIMESTAMP"),
        col("snapshot_timestamp", "TIMESTAMP", required=True),
        col("minutes_before_tipoff", "INT64", "negative = in-game snapshot (exclude)"),
        col("bookmaker", "STRING", "lowercase bookmaker key", True),
        col("player_name", "STRING"),
        col("player_lookup", "STRING", required=True),
        col("points_line", "FLOAT64", required=True),
        col("over_price", "FLOAT64"),
        col("under_price", "FLOAT64"),
        *_AUDIT,
    ),
    key=("game_date", "event_id", "bookmaker", "player_lookup", "snapshot_timestamp"),
    cluster=("player_lookup", "bookmaker"),
    description="Odds API player_points lines, one row per (snapshot, bookmaker, player).",
)

GAME_LINES = Table(
    "nba_raw",
    "game_lines",
    (
        col("game_date", "DATE", required=True),
        col("event_id", "STRING", required=True),
        col("game_id", "STRING"),
        col("commence_time", "TIMESTAMP"),
        col("snapshot_timestamp", "TIMESTAMP", required=True),
        col("home_team_abbr", "STRING"),
        col("away_team_abbr", "STRING"),
        col("bookmaker", "STRING", required=True),
        col("market", "STRING", "spreads | totals", True),
        col("outcome_name", "STRING", "team tricode for spreads, Over/Under for totals", True),
        col("outcome_point", "FLOAT64"),
        col("outcome_price", "FLOAT64"),
        *_AUDIT,
    ),
    key=("game_date", "event_id", "bookmaker", "market", "outcome_name", "snapshot_timestamp"),
    cluster=("event_id", "bookmaker", "market"),
    description="Odds API spreads and totals.",
)

INJURY_REPORT = Table(
    "nba_raw",
    "injury_report",
    (
        col("game_date", "DATE", required=True),
        col("report_time", "TIMESTAMP", "when the report was issued", True),
        col("game_id", "STRING"),
        col("away_team_abbr", "STRING"),
        col("home_team_abbr", "STRING"),
        col("team_abbr", "STRING", required=True),
        col("player_name", "STRING"),
        col("player_lookup", "STRING", required=True),
        col("injury_status", "STRING",
            "lowercase: out, doubtful, questionable, probable, available", True),
        col("reason", "STRING"),
        col("reason_category", "STRING", "injury, g_league, suspension, rest, personal, other"),
        col("confidence", "FLOAT64"),
        *_AUDIT,
    ),
    key=("game_date", "player_lookup", "report_time"),
    cluster=("team_abbr", "player_lookup"),
    description="Parsed NBA.com injury reports.",
)

SHOT_CHART = Table(
    "nba_raw",
    "shot_chart",
    (
        col("game_date", "DATE", "America/New_York date of the game (GAME_DATE)", True),
        col("nba_game_id", "STRING", "NBA.com 10-character game id", True),
        col("game_event_id", "INT64", "NBA.com GAME_EVENT_ID, unique within a game", True),
        col("game_id", "STRING", "system id YYYYMMDD_AWAY_HOME"),
        col("team_abbr", "STRING", "shooting team (from TEAM_ID)", True),
        col("opponent_team_abbr", "STRING", "the other of HTM/VTM"),
        col("player_id", "INT64", "NBA.com player id"),
        col("player_name", "STRING"),
        col("player_lookup", "STRING", "normalised name (backcourt.domain.ids)", True),
        col("period", "INT64", "1-4, 5+ = overtimes"),
        col("shot_type", "STRING", "2PT | 3PT"),
        col("zone_basic", "STRING", "NBA.com SHOT_ZONE_BASIC as given"),
        col("zone", "STRING", "paint | mid_range | three (see backcourt.sources.nbacom_shotchart)"),
        col("shot_distance", "INT64", "feet from the basket"),
        col("loc_x", "INT64", "tenths of feet from the basket, across the court"),
        col("loc_y", "INT64", "tenths of feet from the basket, up the court"),
        col("shot_made", "BOOL"),
        *_AUDIT,
    ),
    key=("game_date", "nba_game_id", "game_event_id"),
    cluster=("team_abbr", "player_lookup"),
    description="NBA.com shotchartdetail: shot locations, one row per field-goal attempt.",
)

RAW_TABLES = (SCHEDULE, PLAYER_BOXSCORES, TEAM_BOXSCORES, PLAYER_PROPS, GAME_LINES, INJURY_REPORT,
              SHOT_CHART)
