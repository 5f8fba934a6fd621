"""Phase-4 tables (datasets ``nba_precompute`` and ``nba_predictions`` for the feature store).
Every row for game date D is computed from games strictly before D (plus D's pre-game context).

Windows are counted in games, never in days: "last N" = the N most recent games before D within
the 365 days before D (the same history horizon as upcoming_player_game_context, so an early-season
row still sees the end of the previous season); "season" = games of D's season_year. A player's
games are his *played* games (player_game_summary rows with is_dnp FALSE). Rates and FG% are
fractions (0.45, not 45). Shot zones come from ``nba_raw.shot_chart``: paint | mid_range | three.
"""

from __future__ import annotations

from backcourt.domain.features import FEATURES
from backcourt.domain.schema import Column, ColumnType, Table, col

_ZONES = ("paint", "mid_range", "three")


def _zone_cols(pattern: str, type_: ColumnType, what: str) -> tuple[Column, ...]:
    return tuple(col(pattern.format(z=z), type_, what.format(z=z)) for z in _ZONES)


TEAM_DEFENSE_ZONE_ANALYSIS = Table(
    "nba_precompute", "team_defense_zone_analysis",
    (
        col("game_date", "DATE", "the date being predicted (history strictly before it)", True),
        col("team_abbr", "STRING", "the defending team, playing a final game on game_date", True),
        col("opponent_team_abbr", "STRING", "its opponent on game_date (schedule)"),
        col("season_year", "INT64", "season of game_date"),
        col("games_in_window", "INT64",
            "the team's games in the window: its last 15 team_defense_game_summary rows before "
            "game_date (within 365 days); 0 without history"),
        col("shot_games_in_window", "INT64", "window games with shot-chart rows"),
        *_zone_cols("{z}_attempts_allowed", "INT64",
                    "opponent {z} field-goal attempts against the team in the window"),
        *_zone_cols("{z}_fg_pct_allowed", "FLOAT64",
                    "opponent {z} FG% against the team in the window: Σ makes / Σ attempts "
                    "(nba_raw.shot_chart), 4 decimals; NULL without attempts"),
        *_zone_cols("league_{z}_fg_pct", "FLOAT64",
                    "league {z} FG% over the same window: Σ makes / Σ attempts over every "
                    "team's last-15-game window as of game_date"),
        *_zone_cols("{z}_pct_vs_league", "FLOAT64",
                    "{z}_fg_pct_allowed − league_{z}_fg_pct (fraction; positive = worse defense)"),
        col("defensive_rating_last_15", "FLOAT64",
            "mean defensive_rating (team_defense_game_summary) over the window, 2 decimals"),
        col("points_allowed_avg_last_15", "FLOAT64", "mean points_allowed over the window"),
        col("pace_last_15", "FLOAT64",
            "mean pace (team_offense_game_summary) of the team in the window games"),
        col("league_defensive_rating_last_15", "FLOAT64",
            "mean defensive_rating over every team's window as of game_date"),
        col("league_pace_last_15", "FLOAT64",
            "mean pace over every team's window as of game_date"),
    ),
    key=("game_date", "team_abbr"),
    cluster=("team_abbr",),
    description="Per team and date: zone FG% allowed vs league, defensive rating and pace over "
    "its last 15 games before the date. 2 rows per final game of the date.",
)

PLAYER_SHOT_ZONE_ANALYSIS = Table(
    "nba_precompute", "player_shot_zone_analysis",
    (
        col("game_date", "DATE", "the date being predicted (history strictly before it)", True),
        col("player_lookup", "STRING", "a player of upcoming_player_game_context that date", True),
        col("team_abbr", "STRING", "his team on game_date"),
        col("games_in_window", "INT64",
            "played games in the window: his last 20 before game_date (within 365 days)"),
        col("shots_last_10", "INT64", "his field-goal attempts (shot chart) in his last 10 games"),
        *_zone_cols("{z}_rate_last_10", "FLOAT64",
                    "{z} attempts / all attempts, last 10 games, 4 decimals; NULL without shots"),
        *_zone_cols("{z}_fg_pct_last_10", "FLOAT64",
                    "{z} makes / {z} attempts, last 10 games; NULL without {z} attempts"),
        col("attempts_per_game_last_10", "FLOAT64",
            "shots_last_10 / played games among his last 10"),
        col("shots_last_20", "INT64", "field-goal attempts in his last 20 games"),
        *_zone_cols("{z}_rate_last_20", "FLOAT64", "{z} attempts / all attempts, last 20 games"),
        *_zone_cols("{z}_fg_pct_last_20", "FLOAT64", "{z} makes / {z} attempts, last 20 games"),
        col("primary_zone", "STRING",
            "paint if paint_rate_last_10 ≥ 0.40, else three if three_rate ≥ 0.40, else "
            "mid_range if mid_range_rate ≥ 0.35, else balanced; NULL without shots"),
    ),
    key=("game_date", "player_lookup"),
    cluster=("player_lookup",),
    description="Per player and date: shot mix and FG% by zone over his last 10 and 20 played "
    "games before the date. One row per upcoming_player_game_context row.",
)

PLAYER_DAILY_CACHE = Table(
    "nba_precompute", "player_daily_cache",
    (
        col("game_date", "DATE", "the date being predicted (history strictly before it)", True),
        col("player_lookup", "STRING", "a player of upcoming_player_game_context that date", True),
        col("game_id", "STRING", "his game on game_date"),
        col("season_year", "INT64", "season of game_date"),
        col("team_abbr", "STRING", "his team on game_date"),
        col("opponent_team_abbr", "STRING", "his opponent on game_date"),
        col("games_played_season", "INT64", "played games this season before game_date"),
        col("points_avg_last_5", "FLOAT64",
            "mean points over his last 5 played games (within 365 days), 2 decimals"),
        col("points_avg_last_10", "FLOAT64", "mean points over his last 10 played games"),
        col("points_avg_season", "FLOAT64", "mean points over this season's played games"),
        col("points_std_last_10", "FLOAT64",
            "sample standard deviation of points over the last 10 (NULL with fewer than 2)"),
        col("minutes_avg_last_10", "FLOAT64", "mean minutes over the last 10 played games"),
        col("usage_rate_last_10", "FLOAT64",
            "mean usage_rate over the last 10 played games (NULL usage rates skipped)"),
        col("team_pace_last_10", "FLOAT64",
            "mean pace (team_offense_game_summary) of his game_date team over its last 10 games"),
        col("team_off_rating_last_10", "FLOAT64",
            "mean offensive_rating of that team over the same games"),
    ),
    key=("game_date", "player_lookup"),
    cluster=("player_lookup",),
    description="Per player and date: recent scoring, minutes and usage, his team's pace. One "
    "row per upcoming_player_game_context row; NULL history for a player without games.",
)

PLAYER_COMPOSITE_FACTORS = Table(
    "nba_precompute", "player_composite_factors",
    (
        col("game_date", "DATE", "the date being predicted", True),
        col("player_lookup", "STRING", "a player of upcoming_player_game_context that date", True),
        col("team_abbr", "STRING", "his team on game_date"),
        col("opponent_team_abbr", "STRING", "his opponent on game_date"),
        col("fatigue_score", "FLOAT64",
            "0 (rested) … 1: 0.4 on a back-to-back + 0.3·min(games_in_last_7_days / 4, 1) + "
            "0.3·min(minutes_in_last_7_days / 144, 1), from upcoming_player_game_context; "
            "3 decimals"),
        col("shot_zone_mismatch_score", "FLOAT64",
            "100 · Σ over zones of his zone rate (PSZA, last 10) × the opponent's "
            "<zone>_pct_vs_league (TDZA): expected FG% points above league given his mix "
            "(positive favours him); a zone without a value counts 0; NULL without his shots or "
            "the opponent's zone data"),
        col("pace_score", "FLOAT64",
            "(his team_pace_last_10 (PDC) + opponent pace_last_15 (TDZA)) / 2 − "
            "league_pace_last_15; NULL when an input is missing"),
        col("usage_spike_score", "FLOAT64",
            "points he stands to absorb: Σ points_avg_last_10 of teammates listed out on "
            "game_date × his share of the available players' points_avg_last_10 (PDC); NULL "
            "without his own history"),
        col("teammates_out_points", "FLOAT64",
            "Σ points_avg_last_10 of teammates whose injury_status is out on game_date"),
        col("total_adjustment", "FLOAT64",
            "points adjustment: −2·fatigue + mismatch/100 · 2 · attempts_per_game_last_10 + "
            "points_avg_last_10 · pace_score / league pace + usage_spike_score; missing parts "
            "count 0"),
    ),
    key=("game_date", "player_lookup"),
    cluster=("player_lookup",),
    description="Per player and date: fatigue, shot-zone mismatch, pace and usage-spike scores. "
    "One row per upcoming_player_game_context row.",
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
