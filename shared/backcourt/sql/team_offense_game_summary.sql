-- nba_analytics.team_offense_game_summary: one row per team per final game (DATA-MODEL §2.2).
-- Games: the schedule's final, non-postponed regular / cup_final / play_in / playoffs games.
-- Team box rows are matched to the schedule on (game_date, team_abbr), never on game_id, so the
-- id format of the box source does not matter (LESSONS: HOME_AWAY vs AWAY_HOME).
-- Ratings and pace use the unrounded possessions; the stored possessions is rounded to 0.1.
WITH games AS (
  SELECT game_date, game_id, nba_game_id, season_year, game_type,
         home_team_abbr, away_team_abbr
  FROM nba_raw.schedule
  WHERE game_date BETWEEN @start_date AND @end_date
    AND game_status = 3
    AND NOT COALESCE(postponed, FALSE)
    AND game_type IN ('regular', 'cup_final', 'play_in', 'playoffs')
),
sides AS (
  SELECT game_date, game_id, nba_game_id, season_year, game_type,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_team_abbr, TRUE AS home_game
  FROM games
  UNION ALL
  SELECT game_date, game_id, nba_game_id, season_year, game_type,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_team_abbr, FALSE AS home_game
  FROM games
),
box AS (
  SELECT game_date, team_abbr, minutes, points, fg_made, fg_attempted, three_pt_made,
         three_pt_attempted, ft_made, ft_attempted, offensive_rebounds, defensive_rebounds,
         total_rebounds, assists, steals, blocks, turnovers, personal_fouls
  FROM nba_raw.team_boxscores
  WHERE game_date BETWEEN @start_date AND @end_date
),
joined AS (
  SELECT
    s.game_date, s.game_id, s.nba_game_id, s.season_year, s.game_type,
    s.team_abbr, s.opponent_team_abbr, s.home_game,
    t.points, t.fg_made, t.fg_attempted, t.three_pt_made, t.three_pt_attempted,
    t.ft_made, t.ft_attempted, t.offensive_rebounds, t.defensive_rebounds, t.total_rebounds,
    t.assists, t.steals, t.blocks, t.turnovers, t.personal_fouls, t.minutes,
    t.fg_attempted + 0.44 * t.ft_attempted + t.turnovers - t.offensive_rebounds AS poss,
    t.minutes - 228 AS overtime_minutes_rounding,
    o.points AS opponent_points
  FROM sides AS s
  JOIN box AS t
    ON t.game_date = s.game_date AND t.team_abbr = s.team_abbr
  LEFT JOIN box AS o
    ON o.game_date = s.game_date AND o.team_abbr = s.opponent_team_abbr
  -- a box without field-goal attempts is an unfinished or broken row: no row beats a wrong one
  WHERE t.fg_attempted > 0
)
SELECT
  game_date,
  game_id,
  nba_game_id,
  season_year,
  game_type,
  team_abbr,
  opponent_team_abbr,
  home_game,
  points AS points_scored,
  fg_made AS fg_makes,
  fg_attempted AS fg_attempts,
  three_pt_made AS three_pt_makes,
  three_pt_attempted AS three_pt_attempts,
  ft_made AS ft_makes,
  ft_attempted AS ft_attempts,
  offensive_rebounds,
  defensive_rebounds,
  total_rebounds,
  assists,
  steals,
  blocks,
  turnovers,
  personal_fouls,
  minutes AS team_minutes,
  ROUND(poss, 1) AS possessions,
  ROUND(100 * SAFE_DIVIDE(points, poss), 2) AS offensive_rating,
  ROUND(SAFE_DIVIDE(poss * 48, minutes / 5), 1) AS pace,
  ROUND(SAFE_DIVIDE(points, 2 * (fg_attempted + 0.44 * ft_attempted)), 3) AS ts_pct,
  ROUND(SAFE_DIVIDE(fg_made + 0.5 * three_pt_made, fg_attempted), 3) AS efg_pct,
  opponent_points,
  points > opponent_points AS win_flag,
  points - opponent_points AS margin_of_victory,
  -- nearest whole 25-minute period above 240 (a summed-player total can be a minute short):
  -- (minutes − 240 + 12) DIV 25, with DIV over a bare, positive column (see the SQL lint test)
  CASE WHEN minutes IS NULL THEN NULL
       WHEN minutes <= 240 THEN 0
       ELSE DIV(overtime_minutes_rounding, 25)
  END AS overtime_periods
FROM joined
