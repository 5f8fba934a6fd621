"""Phase-4 tables (datasets ``nba_precompute`` and ``nba_predictions`` for the feature store).
Every row for game date D is computed from games strictly before D (plus D's pre-game context)."""

from __future__ import annotations

from backcourt.domain.features import FEATURES
from backcourt.domain.schema import Table, col

TEAM_DEFENSE_ZONE_ANALYSIS = Table(
    "nba_precompute", "team_defense_zone_analysis",
    (col("game_date", "DATE", required=True), col("team_abbr", "STRING", required=True),
     col("games_in_window", "INT64")),
    key=("game_date", "team_abbr"),
)
PLAYER_SHOT_ZONE_ANALYSIS = Table(
    "nba_precompute", "player_shot_zone_analysis",
    (col("game_date", "DATE", required=True), col("player_lookup", "STRING", required=True),
     col("games_in_window", "INT64")),
    key=("game_date", "player_lookup"),
)
PLAYER_DAILY_CACHE = Table(
    "nba_precompute", "player_daily_cache",
    (col("game_date", "DATE", required=True), col("player_lookup", "STRING", required=True),
     col("games_played_season", "INT64")),
    key=("game_date", "player_lookup"),
)
PLAYER_COMPOSITE_FACTORS = Table(
    "nba_precompute", "player_composite_factors",
    (col("game_date", "DATE", required=True), col("player_lookup", "STRING", required=True)),
    key=("game_date", "player_lookup"),
)
ML_FEATURE_STORE = Table(
    "nba_predictions", "ml_feature_store",
    (
        col("game_date", "DATE", required=True),
        col("player_lookup", "STRING", required=True),
        col("game_id", "STRING", required=True),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("season_year", "INT64"),
        *(col(f.column, "FLOAT64", f"[{f.index}] {f.description} (default {f.default})")
          for f in FEATURES),
        col("required_default_count", "INT64",
            "how many required features fell back to their defaults", True),
        col("defaulted_features", "STRING", "comma-separated names of defaulted features"),
        col("is_bootstrap", "BOOL", "the player has too little history this season"),
    ),
    key=("game_date", "player_lookup"),
)

PRECOMPUTE_TABLES = (TEAM_DEFENSE_ZONE_ANALYSIS, PLAYER_SHOT_ZONE_ANALYSIS, PLAYER_DAILY_CACHE,
                     PLAYER_COMPOSITE_FACTORS, ML_FEATURE_STORE)
