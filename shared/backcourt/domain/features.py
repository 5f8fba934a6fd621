"""The ML feature catalog: every feature of ``nba_predictions.ml_feature_store`` declared once —
index, name, source table, default and whether it is required. The feature-store SQL, the lint
test that checks it, the models and the docs all read this one list.

A *required* feature that falls back to its default (no history yet, missing upstream row) is
counted in the row's ``required_default_count``; a row with any defaulted required feature gets
no actionable pick (LESSONS R1, DATA-MODEL §3.5 "zero tolerance").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """One model input."""

    index: int
    name: str
    source: str  # the table (or tables) it is computed from
    default: float
    required: bool
    description: str

    @property
    def column(self) -> str:
        """Column of the feature store holding it: ``f_<name>``."""
        return f"f_{self.name}"


_F = Feature

FEATURES: tuple[Feature, ...] = (
    _F(0, "points_avg_last_5", "player_daily_cache", 10.0, True,
       "mean points over the player's last 5 played games before the date"),
    _F(1, "points_avg_last_10", "player_daily_cache", 10.0, True,
       "mean points over the last 10 played games"),
    _F(2, "points_avg_season", "player_daily_cache", 10.0, True,
       "mean points over the season's played games before the date"),
    _F(3, "points_std_last_10", "player_daily_cache", 5.0, False,
       "standard deviation of points over the last 10 played games"),
    _F(4, "minutes_avg_last_10", "player_daily_cache", 20.0, True,
       "mean minutes over the last 10 played games"),
    _F(5, "usage_rate_last_10", "player_daily_cache", 20.0, False,
       "mean usage rate over the last 10 played games"),
    _F(6, "games_played_season", "player_daily_cache", 0.0, False,
       "played games this season before the date"),
    _F(7, "team_pace_last_10", "player_daily_cache", 99.0, False,
       "the player's team's mean pace over its last 10 games"),
    _F(8, "fatigue_score", "player_composite_factors", 0.0, False,
       "0 (rested) … 1 (tired): back-to-back, games and minutes in the last 7 days"),
    _F(9, "shot_zone_mismatch_score", "player_composite_factors", 0.0, False,
       "player's zone mix × opponent's allowed zone efficiency vs league average"),
    _F(10, "pace_score", "player_composite_factors", 0.0, False,
       "expected game pace (team + opponent, last 10) minus league average"),
    _F(11, "usage_spike_score", "player_composite_factors", 0.0, False,
       "share of injured teammates' recent scoring the player stands to absorb"),
    _F(12, "opponent_def_rating_last_15", "team_defense_zone_analysis", 112.0, False,
       "opponent's mean defensive rating over its last 15 games"),
    _F(13, "opponent_pace_last_15", "team_defense_zone_analysis", 99.0, False,
       "opponent's mean pace over its last 15 games"),
    _F(14, "opponent_paint_pct_allowed", "team_defense_zone_analysis", 0.55, False,
       "FG% the opponent allowed in the paint over its last 15 games"),
    _F(15, "opponent_three_pct_allowed", "team_defense_zone_analysis", 0.36, False,
       "3P% the opponent allowed over its last 15 games"),
    _F(16, "paint_rate_last_10", "player_shot_zone_analysis", 0.35, False,
       "share of the player's shots in the paint, last 10 games"),
    _F(17, "mid_range_rate_last_10", "player_shot_zone_analysis", 0.2, False,
       "share of mid-range shots, last 10 games"),
    _F(18, "three_rate_last_10", "player_shot_zone_analysis", 0.45, False,
       "share of three-point shots, last 10 games"),
    _F(19, "home_game", "upcoming_player_game_context", 0.0, False, "1 at home"),
    _F(20, "days_rest", "upcoming_player_game_context", 2.0, False,
       "days since the player's previous game (back-to-back = 1), capped at 7"),
    _F(21, "back_to_back", "upcoming_player_game_context", 0.0, False, "1 on a back-to-back"),
    _F(22, "games_in_last_7_days", "upcoming_player_game_context", 3.0, False,
       "games played in the 7 days before"),
    _F(23, "star_teammates_out", "upcoming_player_game_context", 0.0, False,
       "teammates averaging 18+ points listed out for the date"),
    _F(24, "injury_questionable", "upcoming_player_game_context", 0.0, False,
       "1 when the player is listed questionable or doubtful"),
    _F(25, "game_total", "upcoming_player_game_context", 224.0, False,
       "the game's total points line"),
    _F(26, "team_spread", "upcoming_player_game_context", 0.0, False,
       "the player's team's spread (negative = favourite)"),
    _F(27, "points_line", "upcoming_player_game_context", 0.0, False,
       "the player's points line for the date (0 when none; see has_line)"),
    _F(28, "has_line", "upcoming_player_game_context", 0.0, False,
       "1 when the player has a points line for the date"),
)

BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
REQUIRED: tuple[Feature, ...] = tuple(f for f in FEATURES if f.required)


def feature_columns() -> tuple[str, ...]:
    """The feature-store columns holding the features, in index order."""
    return tuple(f.column for f in FEATURES)
