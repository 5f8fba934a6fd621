"""Phase-5 tables: predictions per (date, player, system) and their grading."""

from __future__ import annotations

from backcourt.domain.schema import Table, col

PLAYER_PROP_PREDICTIONS = Table(
    "nba_predictions", "player_prop_predictions",
    (
        col("game_date", "DATE", required=True),
        col("player_lookup", "STRING", required=True),
        col("system_id", "STRING", "moving_average | gradient_boosting", True),
        col("game_id", "STRING", required=True),
        col("team_abbr", "STRING"),
        col("predicted_points", "FLOAT64"),
        col("points_line", "FLOAT64", "the prop line compared with (NULL = none)"),
        col("edge", "FLOAT64", "predicted_points − points_line"),
        col("recommendation", "STRING", "OVER | UNDER | PASS | NO_LINE", True),
        col("confidence", "FLOAT64", "0 … 1"),
        col("is_actionable", "BOOL", "OVER or UNDER", True),
        col("reason", "STRING", "why the pick is not actionable"),
        col("model_version", "STRING", "artifact id (cutoff) of the model used"),
    ),
    key=("game_date", "player_lookup", "system_id"),
)
PREDICTION_ACCURACY = Table(
    "nba_predictions", "prediction_accuracy",
    (
        col("game_date", "DATE", required=True),
        col("player_lookup", "STRING", required=True),
        col("system_id", "STRING", required=True),
        col("game_id", "STRING"),
        col("predicted_points", "FLOAT64"),
        col("actual_points", "INT64"),
        col("points_line", "FLOAT64"),
        col("recommendation", "STRING"),
        col("absolute_error", "FLOAT64"),
        col("signed_error", "FLOAT64", "predicted − actual"),
        col("prediction_correct", "BOOL", "NULL when not scored (push, no pick, voided)"),
        col("is_voided", "BOOL", required=True),
        col("void_reason", "STRING"),
    ),
    key=("game_date", "player_lookup", "system_id"),
)
PREDICTION_TABLES = (PLAYER_PROP_PREDICTIONS, PREDICTION_ACCURACY)
