-- Phase 5B grading: one row per prediction of the dates, joined to the player's box-score
-- summary on (game_date, player_lookup).
--   voided: no player_game_summary row (void_reason no_box_score), or the player did not play
--           (is_dnp, no points, or 0 points in 0/NULL minutes: did_not_play); voided rows
--           have NULL actual points, NULL errors and NULL prediction_correct.
--   absolute_error = |predicted - actual|, signed_error = predicted - actual (NULL without a
--           prediction, e.g. PASS no_model).
--   prediction_correct: only for actionable OVER/UNDER picks with a line; NULL for a push
--           (actual = line), for PASS/NO_LINE and for voided rows.
WITH predictions AS (
  SELECT game_date, player_lookup, system_id, game_id, predicted_points, points_line,
         recommendation, is_actionable
  FROM nba_predictions.player_prop_predictions
  WHERE game_date BETWEEN @start_date AND @end_date
),
actuals AS (
  SELECT game_date, player_lookup, points, is_dnp, minutes_played
  FROM nba_analytics.player_game_summary
  WHERE game_date BETWEEN @start_date AND @end_date
),
joined AS (
  SELECT
    p.*,
    CASE
      WHEN a.player_lookup IS NULL THEN 'no_box_score'
      WHEN COALESCE(a.is_dnp, FALSE) OR a.points IS NULL
           OR (a.points = 0 AND COALESCE(a.minutes_played, 0) <= 0) THEN 'did_not_play'
    END AS void_reason,
    a.points AS box_points
  FROM predictions AS p
  LEFT JOIN actuals AS a
    ON a.game_date = p.game_date AND a.player_lookup = p.player_lookup
),
graded AS (
  SELECT
    *,
    void_reason IS NOT NULL AS is_voided,
    IF(void_reason IS NULL, box_points, NULL) AS actual_points
  FROM joined
)
SELECT
  game_date,
  player_lookup,
  system_id,
  game_id,
  predicted_points,
  actual_points,
  points_line,
  recommendation,
  ROUND(ABS(predicted_points - actual_points), 3) AS absolute_error,
  ROUND(predicted_points - actual_points, 3) AS signed_error,
  CASE
    WHEN is_voided THEN NULL
    WHEN NOT COALESCE(is_actionable, FALSE) THEN NULL
    WHEN recommendation NOT IN ('OVER', 'UNDER') THEN NULL
    WHEN points_line IS NULL OR actual_points IS NULL THEN NULL
    WHEN actual_points = points_line THEN NULL
    WHEN recommendation = 'OVER' THEN actual_points > points_line
    ELSE actual_points < points_line
  END AS prediction_correct,
  is_voided,
  void_reason
FROM graded
