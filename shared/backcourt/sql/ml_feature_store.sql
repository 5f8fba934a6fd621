-- nba_predictions.ml_feature_store (MLFS): one feature vector per upcoming_player_game_context
-- row of the date. Feature f_<name> = its catalog source (backcourt.domain.features, in index
-- order) read from the phase-4 rows of the same date (PDC, PCF, PSZA, TDZA of the opponent) or
-- the date's pre-game context (UPCG); a NULL source value becomes the catalog default, is listed
-- in defaulted_features (catalog order, comma-separated, '' when none) and, for a required
-- feature, counted in required_default_count. is_bootstrap: fewer than 3 played games this
-- season before the date. Keep the defaults equal to the catalog (tests check it).
WITH context AS (
  SELECT game_date, player_lookup, game_id, team_abbr, opponent_team_abbr, season_year,
         home_game, days_rest, back_to_back, games_in_last_7_days, star_teammates_out,
         injury_status, game_total, game_spread, current_points_line, has_prop_line
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),
cache AS (
  SELECT *
  FROM nba_precompute.player_daily_cache
  WHERE game_date BETWEEN @start_date AND @end_date
),
factors AS (
  SELECT *
  FROM nba_precompute.player_composite_factors
  WHERE game_date BETWEEN @start_date AND @end_date
),
zones AS (
  SELECT *
  FROM nba_precompute.player_shot_zone_analysis
  WHERE game_date BETWEEN @start_date AND @end_date
),
defense AS (
  SELECT *
  FROM nba_precompute.team_defense_zone_analysis
  WHERE game_date BETWEEN @start_date AND @end_date
),
inputs AS (
  SELECT
    u.game_date, u.player_lookup, u.game_id, u.team_abbr, u.opponent_team_abbr, u.season_year,
    c.games_played_season AS games_played,
    c.points_avg_last_5 AS v_points_avg_last_5,
    c.points_avg_last_10 AS v_points_avg_last_10,
    c.points_avg_season AS v_points_avg_season,
    c.points_std_last_10 AS v_points_std_last_10,
    c.minutes_avg_last_10 AS v_minutes_avg_last_10,
    c.usage_rate_last_10 AS v_usage_rate_last_10,
    CAST(c.games_played_season AS FLOAT64) AS v_games_played_season,
    c.team_pace_last_10 AS v_team_pace_last_10,
    f.fatigue_score AS v_fatigue_score,
    f.shot_zone_mismatch_score AS v_shot_zone_mismatch_score,
    f.pace_score AS v_pace_score,
    f.usage_spike_score AS v_usage_spike_score,
    d.defensive_rating_last_15 AS v_opponent_def_rating_last_15,
    d.pace_last_15 AS v_opponent_pace_last_15,
    d.paint_fg_pct_allowed AS v_opponent_paint_pct_allowed,
    d.three_fg_pct_allowed AS v_opponent_three_pct_allowed,
    z.paint_rate_last_10 AS v_paint_rate_last_10,
    z.mid_range_rate_last_10 AS v_mid_range_rate_last_10,
    z.three_rate_last_10 AS v_three_rate_last_10,
    CASE WHEN u.home_game THEN 1.0 WHEN NOT u.home_game THEN 0.0 END AS v_home_game,
    CAST(IF(u.days_rest > 7, 7, u.days_rest) AS FLOAT64) AS v_days_rest,
    CASE WHEN u.back_to_back THEN 1.0 WHEN NOT u.back_to_back THEN 0.0 END AS v_back_to_back,
    CAST(u.games_in_last_7_days AS FLOAT64) AS v_games_in_last_7_days,
    CAST(u.star_teammates_out AS FLOAT64) AS v_star_teammates_out,
    IF(u.injury_status IN ('questionable', 'doubtful'), 1.0, 0.0) AS v_injury_questionable,
    u.game_total AS v_game_total,
    u.game_spread AS v_team_spread,
    u.current_points_line AS v_points_line,
    CASE WHEN u.has_prop_line THEN 1.0 WHEN NOT u.has_prop_line THEN 0.0 END AS v_has_line
  FROM context AS u
  LEFT JOIN cache AS c
    ON c.game_date = u.game_date AND c.player_lookup = u.player_lookup
  LEFT JOIN factors AS f
    ON f.game_date = u.game_date AND f.player_lookup = u.player_lookup
  LEFT JOIN zones AS z
    ON z.game_date = u.game_date AND z.player_lookup = u.player_lookup
  LEFT JOIN defense AS d
    ON d.game_date = u.game_date AND d.team_abbr = u.opponent_team_abbr
)
SELECT
  game_date,
  player_lookup,
  game_id,
  team_abbr,
  opponent_team_abbr,
  season_year,
  COALESCE(v_points_avg_last_5, 10.0) AS f_points_avg_last_5,
  COALESCE(v_points_avg_last_10, 10.0) AS f_points_avg_last_10,
  COALESCE(v_points_avg_season, 10.0) AS f_points_avg_season,
  COALESCE(v_points_std_last_10, 5.0) AS f_points_std_last_10,
  COALESCE(v_minutes_avg_last_10, 20.0) AS f_minutes_avg_last_10,
  COALESCE(v_usage_rate_last_10, 20.0) AS f_usage_rate_last_10,
  COALESCE(v_games_played_season, 0.0) AS f_games_played_season,
  COALESCE(v_team_pace_last_10, 99.0) AS f_team_pace_last_10,
  COALESCE(v_fatigue_score, 0.0) AS f_fatigue_score,
  COALESCE(v_shot_zone_mismatch_score, 0.0) AS f_shot_zone_mismatch_score,
  COALESCE(v_pace_score, 0.0) AS f_pace_score,
  COALESCE(v_usage_spike_score, 0.0) AS f_usage_spike_score,
  COALESCE(v_opponent_def_rating_last_15, 112.0) AS f_opponent_def_rating_last_15,
  COALESCE(v_opponent_pace_last_15, 99.0) AS f_opponent_pace_last_15,
  COALESCE(v_opponent_paint_pct_allowed, 0.55) AS f_opponent_paint_pct_allowed,
  COALESCE(v_opponent_three_pct_allowed, 0.36) AS f_opponent_three_pct_allowed,
  COALESCE(v_paint_rate_last_10, 0.35) AS f_paint_rate_last_10,
  COALESCE(v_mid_range_rate_last_10, 0.2) AS f_mid_range_rate_last_10,
  COALESCE(v_three_rate_last_10, 0.45) AS f_three_rate_last_10,
  COALESCE(v_home_game, 0.0) AS f_home_game,
  COALESCE(v_days_rest, 2.0) AS f_days_rest,
  COALESCE(v_back_to_back, 0.0) AS f_back_to_back,
  COALESCE(v_games_in_last_7_days, 3.0) AS f_games_in_last_7_days,
  COALESCE(v_star_teammates_out, 0.0) AS f_star_teammates_out,
  COALESCE(v_injury_questionable, 0.0) AS f_injury_questionable,
  COALESCE(v_game_total, 224.0) AS f_game_total,
  COALESCE(v_team_spread, 0.0) AS f_team_spread,
  COALESCE(v_points_line, 0.0) AS f_points_line,
  COALESCE(v_has_line, 0.0) AS f_has_line,
  IF(v_points_avg_last_5 IS NULL, 1, 0)
    + IF(v_points_avg_last_10 IS NULL, 1, 0)
    + IF(v_points_avg_season IS NULL, 1, 0)
    + IF(v_minutes_avg_last_10 IS NULL, 1, 0) AS required_default_count,
  RTRIM(CONCAT(
    IF(v_points_avg_last_5 IS NULL, 'points_avg_last_5,', ''),
    IF(v_points_avg_last_10 IS NULL, 'points_avg_last_10,', ''),
    IF(v_points_avg_season IS NULL, 'points_avg_season,', ''),
    IF(v_points_std_last_10 IS NULL, 'points_std_last_10,', ''),
    IF(v_minutes_avg_last_10 IS NULL, 'minutes_avg_last_10,', ''),
    IF(v_usage_rate_last_10 IS NULL, 'usage_rate_last_10,', ''),
    IF(v_games_played_season IS NULL, 'games_played_season,', ''),
    IF(v_team_pace_last_10 IS NULL, 'team_pace_last_10,', ''),
    IF(v_fatigue_score IS NULL, 'fatigue_score,', ''),
    IF(v_shot_zone_mismatch_score IS NULL, 'shot_zone_mismatch_score,', ''),
    IF(v_pace_score IS NULL, 'pace_score,', ''),
    IF(v_usage_spike_score IS NULL, 'usage_spike_score,', ''),
    IF(v_opponent_def_rating_last_15 IS NULL, 'opponent_def_rating_last_15,', ''),
    IF(v_opponent_pace_last_15 IS NULL, 'opponent_pace_last_15,', ''),
    IF(v_opponent_paint_pct_allowed IS NULL, 'opponent_paint_pct_allowed,', ''),
    IF(v_opponent_three_pct_allowed IS NULL, 'opponent_three_pct_allowed,', ''),
    IF(v_paint_rate_last_10 IS NULL, 'paint_rate_last_10,', ''),
    IF(v_mid_range_rate_last_10 IS NULL, 'mid_range_rate_last_10,', ''),
    IF(v_three_rate_last_10 IS NULL, 'three_rate_last_10,', ''),
    IF(v_home_game IS NULL, 'home_game,', ''),
    IF(v_days_rest IS NULL, 'days_rest,', ''),
    IF(v_back_to_back IS NULL, 'back_to_back,', ''),
    IF(v_games_in_last_7_days IS NULL, 'games_in_last_7_days,', ''),
    IF(v_star_teammates_out IS NULL, 'star_teammates_out,', ''),
    IF(v_injury_questionable IS NULL, 'injury_questionable,', ''),
    IF(v_game_total IS NULL, 'game_total,', ''),
    IF(v_team_spread IS NULL, 'team_spread,', ''),
    IF(v_points_line IS NULL, 'points_line,', ''),
    IF(v_has_line IS NULL, 'has_line,', '')
  ), ',') AS defaulted_features,
  COALESCE(games_played, 0) < 3 AS is_bootstrap
FROM inputs
