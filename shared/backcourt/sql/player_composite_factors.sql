-- nba_precompute.player_composite_factors (PCF): one row per upcoming_player_game_context row of
-- the date, combining the date's pre-game context (UPCG) with the phase-4 rows of the same date
-- (PDC, PSZA, and TDZA of the opponent), which themselves use only games before the date.
-- fatigue_score      0.4·back_to_back + 0.3·min(games_7d / 4, 1) + 0.3·min(minutes_7d / 144, 1)
-- shot_zone_mismatch 100 · Σ_zone player rate_last_10 × opponent <zone>_pct_vs_league
-- pace_score         (team pace L10 + opponent pace L15) / 2 − league pace L15
-- usage_spike_score  (Σ points_avg_last_10 of teammates listed out) × his share of the available
--                    players' points_avg_last_10 (himself included)
-- total_adjustment   −2·fatigue + mismatch/100 · 2 · FGA per game + points L10 · pace_score /
--                    league pace + usage spike; a missing part counts 0
WITH targets AS (
  SELECT
    game_date, player_lookup, team_abbr, opponent_team_abbr,
    COALESCE(back_to_back, FALSE) AS back_to_back,
    COALESCE(games_in_last_7_days, 0) AS games_7,
    COALESCE(minutes_in_last_7_days, 0.0) AS minutes_7,
    COALESCE(injury_status = 'out', FALSE) AS is_out
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),
cache AS (
  SELECT game_date, player_lookup, points_avg_last_10, team_pace_last_10
  FROM nba_precompute.player_daily_cache
  WHERE game_date BETWEEN @start_date AND @end_date
),
zones AS (
  SELECT game_date, player_lookup, shots_last_10, paint_rate_last_10, mid_range_rate_last_10,
         three_rate_last_10, attempts_per_game_last_10
  FROM nba_precompute.player_shot_zone_analysis
  WHERE game_date BETWEEN @start_date AND @end_date
),
defense AS (
  SELECT game_date, team_abbr, paint_pct_vs_league, mid_range_pct_vs_league,
         three_pct_vs_league, pace_last_15, league_pace_last_15
  FROM nba_precompute.team_defense_zone_analysis
  WHERE game_date BETWEEN @start_date AND @end_date
),
roster AS (
  SELECT t.game_date, t.team_abbr, t.is_out, c.points_avg_last_10
  FROM targets AS t
  LEFT JOIN cache AS c
    ON c.game_date = t.game_date AND c.player_lookup = t.player_lookup
),
team_points AS (
  SELECT
    game_date, team_abbr,
    -- sums of ×100 integers: exact in any order, so re-runs give identical digits
    COALESCE(SUM(IF(is_out, ROUND(points_avg_last_10 * 100), 0)), 0) / 100 AS out_points,
    COALESCE(SUM(IF(is_out, 0, ROUND(points_avg_last_10 * 100))), 0) / 100 AS available_points
  FROM roster
  GROUP BY game_date, team_abbr
),
inputs AS (
  SELECT
    t.game_date, t.player_lookup, t.team_abbr, t.opponent_team_abbr,
    IF(t.back_to_back, 0.4, 0.0)
      + 0.3 * IF(t.games_7 >= 4, 1.0, t.games_7 / 4.0)
      + 0.3 * IF(t.minutes_7 >= 144, 1.0, t.minutes_7 / 144.0) AS fatigue,
    CASE
      WHEN z.shots_last_10 > 0
        AND COALESCE(d.paint_pct_vs_league, d.mid_range_pct_vs_league,
                     d.three_pct_vs_league) IS NOT NULL
      THEN 100 * (COALESCE(z.paint_rate_last_10 * d.paint_pct_vs_league, 0)
                  + COALESCE(z.mid_range_rate_last_10 * d.mid_range_pct_vs_league, 0)
                  + COALESCE(z.three_rate_last_10 * d.three_pct_vs_league, 0))
    END AS mismatch,
    (c.team_pace_last_10 + d.pace_last_15) / 2 - d.league_pace_last_15 AS pace_score,
    tp.out_points - IF(t.is_out, COALESCE(c.points_avg_last_10, 0), 0) AS teammates_out,
    SAFE_DIVIDE(
      c.points_avg_last_10,
      tp.available_points + IF(t.is_out, COALESCE(c.points_avg_last_10, 0), 0)
    ) AS share,
    c.points_avg_last_10, z.attempts_per_game_last_10, d.league_pace_last_15
  FROM targets AS t
  LEFT JOIN cache AS c
    ON c.game_date = t.game_date AND c.player_lookup = t.player_lookup
  LEFT JOIN zones AS z
    ON z.game_date = t.game_date AND z.player_lookup = t.player_lookup
  LEFT JOIN defense AS d
    ON d.game_date = t.game_date AND d.team_abbr = t.opponent_team_abbr
  LEFT JOIN team_points AS tp
    ON tp.game_date = t.game_date AND tp.team_abbr = t.team_abbr
),
scores AS (
  SELECT
    game_date, player_lookup, team_abbr, opponent_team_abbr, fatigue, mismatch, pace_score,
    teammates_out,
    IF(points_avg_last_10 IS NULL, NULL, teammates_out * COALESCE(share, 0)) AS usage_spike,
    points_avg_last_10, attempts_per_game_last_10, league_pace_last_15
  FROM inputs
)
SELECT
  game_date,
  player_lookup,
  team_abbr,
  opponent_team_abbr,
  ROUND(fatigue, 3) AS fatigue_score,
  ROUND(mismatch, 3) AS shot_zone_mismatch_score,
  ROUND(pace_score, 3) AS pace_score,
  ROUND(usage_spike, 3) AS usage_spike_score,
  ROUND(teammates_out, 2) AS teammates_out_points,
  ROUND(
    -2 * fatigue
    + COALESCE(mismatch / 100 * 2 * attempts_per_game_last_10, 0)
    + COALESCE(SAFE_DIVIDE(points_avg_last_10 * pace_score, league_pace_last_15), 0)
    + COALESCE(usage_spike, 0),
    3
  ) AS total_adjustment
FROM scores
