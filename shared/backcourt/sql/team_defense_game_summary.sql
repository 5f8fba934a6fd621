-- nba_analytics.team_defense_game_summary: one row per defending team per final game
-- (DATA-MODEL §2.3): the opponent's team box seen from the defence. Both box rows are needed.
-- opponent_pace is minutes-normalised like team_offense pace (legacy: raw possessions).
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
    s.team_abbr AS defending_team_abbr, s.opponent_team_abbr, s.home_game,
    d.points AS own_points, d.steals, d.blocks, d.defensive_rebounds, d.personal_fouls,
    d.minutes,
    o.points AS points_allowed, o.fg_made, o.fg_attempted, o.three_pt_made,
    o.three_pt_attempted, o.ft_made, o.ft_attempted, o.offensive_rebounds, o.total_rebounds,
    o.assists, o.turnovers,
    o.fg_attempted + 0.44 * o.ft_attempted + o.turnovers - o.offensive_rebounds AS opp_poss
  FROM sides AS s
  JOIN box AS d
    ON d.game_date = s.game_date AND d.team_abbr = s.team_abbr
  JOIN box AS o
    ON o.game_date = s.game_date AND o.team_abbr = s.opponent_team_abbr
  -- an opponent box without field-goal attempts is an unfinished or broken row
  WHERE o.fg_attempted > 0
)
SELECT
  game_date,
  game_id,
  nba_game_id,
  season_year,
  game_type,
  defending_team_abbr,
  opponent_team_abbr,
  home_game,
  points_allowed,
  fg_made AS opp_fg_makes,
  fg_attempted AS opp_fg_attempts,
  three_pt_made AS opp_three_pt_makes,
  three_pt_attempted AS opp_three_pt_attempts,
  ft_made AS opp_ft_makes,
  ft_attempted AS opp_ft_attempts,
  offensive_rebounds AS opp_offensive_rebounds,
  total_rebounds AS opp_total_rebounds,
  assists AS opp_assists,
  turnovers AS turnovers_forced,
  personal_fouls AS fouls_committed,
  steals,
  blocks,
  defensive_rebounds,
  ROUND(opp_poss, 1) AS opponent_possessions,
  ROUND(100 * SAFE_DIVIDE(points_allowed, opp_poss), 2) AS defensive_rating,
  ROUND(SAFE_DIVIDE(opp_poss * 48, minutes / 5), 1) AS opponent_pace,
  ROUND(SAFE_DIVIDE(points_allowed, 2 * (fg_attempted + 0.44 * ft_attempted)), 3)
    AS opponent_ts_pct,
  ROUND(SAFE_DIVIDE(fg_made + 0.5 * three_pt_made, fg_attempted), 3) AS opponent_efg_pct,
  own_points > points_allowed AS win_flag,
  own_points - points_allowed AS margin_of_victory
FROM joined
