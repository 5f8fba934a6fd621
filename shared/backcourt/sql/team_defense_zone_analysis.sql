-- nba_precompute.team_defense_zone_analysis (TDZA): one row per team playing a final game on the
-- date (2 per game; the same game filter as phase 3), from history strictly before the date.
-- Window = the team's last 15 team_defense_game_summary rows before game_date within 365 days
-- (counted in games). Zone FG% allowed = Σ makes / Σ attempts of the shots the opponents took
-- against the team in those games (nba_raw.shot_chart rows of the window game whose shooting team
-- is that game's opponent). League = the same sums over every team's window as of the date.
-- Means of decimal inputs are taken over the inputs ×100 rounded to integers (stored with at most
-- 2 decimals), so the sum is exact in any order and a re-run can never flip a rounding digit.
WITH games AS (
  SELECT game_date, season_year, home_team_abbr, away_team_abbr
  FROM nba_raw.schedule
  WHERE game_date BETWEEN @start_date AND @end_date
    AND game_status = 3
    AND NOT COALESCE(postponed, FALSE)
    AND game_type IN ('regular', 'cup_final', 'play_in', 'playoffs')
),
targets AS (
  SELECT game_date, season_year, home_team_abbr AS team_abbr,
         away_team_abbr AS opponent_team_abbr
  FROM games
  UNION ALL
  SELECT game_date, season_year, away_team_abbr AS team_abbr,
         home_team_abbr AS opponent_team_abbr
  FROM games
),
dates AS (
  SELECT DISTINCT game_date
  FROM targets
),
history AS (
  SELECT game_date, defending_team_abbr AS team_abbr, opponent_team_abbr AS offense_abbr,
         defensive_rating, points_allowed
  FROM nba_analytics.team_defense_game_summary
  WHERE game_date < @end_date
    AND DATE_DIFF(@start_date, game_date, DAY) <= 365
),
ranked AS (
  SELECT
    dt.game_date, h.team_abbr, h.game_date AS window_date, h.offense_abbr, h.defensive_rating,
    h.points_allowed,
    ROW_NUMBER() OVER (PARTITION BY dt.game_date, h.team_abbr ORDER BY h.game_date DESC) AS rn
  FROM dates AS dt
  CROSS JOIN history AS h
  WHERE h.game_date < dt.game_date
    AND DATE_DIFF(dt.game_date, h.game_date, DAY) <= 365
),
shots AS (
  SELECT
    game_date, team_abbr AS offense_abbr,
    COUNTIF(zone = 'paint') AS paint_att,
    COUNTIF(zone = 'paint' AND shot_made) AS paint_made,
    COUNTIF(zone = 'mid_range') AS mid_att,
    COUNTIF(zone = 'mid_range' AND shot_made) AS mid_made,
    COUNTIF(zone = 'three') AS three_att,
    COUNTIF(zone = 'three' AND shot_made) AS three_made
  FROM nba_raw.shot_chart
  WHERE game_date < @end_date
    AND DATE_DIFF(@start_date, game_date, DAY) <= 365
  GROUP BY game_date, team_abbr
),
pace AS (
  SELECT game_date, team_abbr, pace
  FROM nba_analytics.team_offense_game_summary
  WHERE game_date < @end_date
    AND DATE_DIFF(@start_date, game_date, DAY) <= 365
),
recent AS (
  SELECT
    r.game_date, r.team_abbr, r.defensive_rating, r.points_allowed, p.pace,
    s.offense_abbr IS NOT NULL AS has_shots,
    s.paint_att, s.paint_made, s.mid_att, s.mid_made, s.three_att, s.three_made
  FROM ranked AS r
  LEFT JOIN shots AS s
    ON s.game_date = r.window_date AND s.offense_abbr = r.offense_abbr
  LEFT JOIN pace AS p
    ON p.game_date = r.window_date AND p.team_abbr = r.team_abbr
  WHERE r.rn <= 15
),
team_window AS (
  SELECT
    game_date, team_abbr,
    COUNT(*) AS games,
    COUNTIF(has_shots) AS shot_games,
    COALESCE(SUM(paint_att), 0) AS paint_att,
    COALESCE(SUM(paint_made), 0) AS paint_made,
    COALESCE(SUM(mid_att), 0) AS mid_att,
    COALESCE(SUM(mid_made), 0) AS mid_made,
    COALESCE(SUM(three_att), 0) AS three_att,
    COALESCE(SUM(three_made), 0) AS three_made,
    AVG(ROUND(defensive_rating * 100)) AS def_rating_x100,
    AVG(points_allowed) AS points_allowed,
    AVG(ROUND(pace * 100)) AS pace_x100
  FROM recent
  GROUP BY game_date, team_abbr
),
league AS (
  SELECT
    game_date,
    SAFE_DIVIDE(SUM(paint_made), SUM(paint_att)) AS paint_pct,
    SAFE_DIVIDE(SUM(mid_made), SUM(mid_att)) AS mid_pct,
    SAFE_DIVIDE(SUM(three_made), SUM(three_att)) AS three_pct,
    AVG(ROUND(defensive_rating * 100)) AS def_rating_x100,
    AVG(ROUND(pace * 100)) AS pace_x100
  FROM recent
  GROUP BY game_date
),
joined AS (
  SELECT
    t.game_date, t.team_abbr, t.opponent_team_abbr, t.season_year,
    COALESCE(w.games, 0) AS games,
    COALESCE(w.shot_games, 0) AS shot_games,
    COALESCE(w.paint_att, 0) AS paint_att,
    COALESCE(w.mid_att, 0) AS mid_att,
    COALESCE(w.three_att, 0) AS three_att,
    SAFE_DIVIDE(w.paint_made, w.paint_att) AS paint_pct,
    SAFE_DIVIDE(w.mid_made, w.mid_att) AS mid_pct,
    SAFE_DIVIDE(w.three_made, w.three_att) AS three_pct,
    l.paint_pct AS league_paint_pct,
    l.mid_pct AS league_mid_pct,
    l.three_pct AS league_three_pct,
    w.def_rating_x100, w.points_allowed, w.pace_x100,
    l.def_rating_x100 AS league_def_rating_x100,
    l.pace_x100 AS league_pace_x100
  FROM targets AS t
  LEFT JOIN team_window AS w
    ON w.game_date = t.game_date AND w.team_abbr = t.team_abbr
  LEFT JOIN league AS l
    ON l.game_date = t.game_date
)
SELECT
  game_date,
  team_abbr,
  opponent_team_abbr,
  season_year,
  games AS games_in_window,
  shot_games AS shot_games_in_window,
  paint_att AS paint_attempts_allowed,
  mid_att AS mid_range_attempts_allowed,
  three_att AS three_attempts_allowed,
  ROUND(paint_pct, 4) AS paint_fg_pct_allowed,
  ROUND(mid_pct, 4) AS mid_range_fg_pct_allowed,
  ROUND(three_pct, 4) AS three_fg_pct_allowed,
  ROUND(league_paint_pct, 4) AS league_paint_fg_pct,
  ROUND(league_mid_pct, 4) AS league_mid_range_fg_pct,
  ROUND(league_three_pct, 4) AS league_three_fg_pct,
  ROUND(paint_pct - league_paint_pct, 4) AS paint_pct_vs_league,
  ROUND(mid_pct - league_mid_pct, 4) AS mid_range_pct_vs_league,
  ROUND(three_pct - league_three_pct, 4) AS three_pct_vs_league,
  ROUND(def_rating_x100) / 100 AS defensive_rating_last_15,
  ROUND(points_allowed, 2) AS points_allowed_avg_last_15,
  ROUND(pace_x100) / 100 AS pace_last_15,
  ROUND(league_def_rating_x100) / 100 AS league_defensive_rating_last_15,
  ROUND(league_pace_x100) / 100 AS league_pace_last_15
FROM joined
