-- nba_precompute.player_daily_cache (PDC): one row per upcoming_player_game_context row of the
-- date. Player history = his PLAYED games (player_game_summary, is_dnp FALSE) strictly before
-- game_date: "last N" = his N most recent within 365 days (counted in games, so a player who sat
-- out a week still averages his last N played games); "season" = those of game_date's
-- season_year. Team pace = the last 10 team_offense_game_summary rows of his game_date team.
-- Order-independent arithmetic (a re-run never flips a rounding digit): means of decimal inputs
-- are taken over the inputs ×100 rounded to integers; the standard deviation comes from exact
-- integer sums, sqrt((n·Σx² − (Σx)²) / (n·(n − 1))).
WITH targets AS (
  SELECT game_date, player_lookup, game_id, season_year, team_abbr, opponent_team_abbr
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),
played AS (
  SELECT game_date, player_lookup, season_year, points, minutes_played, usage_rate,
         ROW_NUMBER() OVER (PARTITION BY player_lookup ORDER BY game_date) AS seq
  FROM nba_analytics.player_game_summary
  WHERE game_date < @end_date
    AND DATE_DIFF(@start_date, game_date, DAY) <= 365
    AND NOT is_dnp
),
-- Per target, his history = played games strictly before game_date within 365 days, numbered by
-- seq: hi = the newest's seq, lo = the one before the oldest's, so rn = hi - seq + 1 counts back
-- from the newest without sorting every (target, history game) pair.
bounds AS (
  SELECT t.game_date, t.player_lookup, MAX(p.seq) AS hi, MIN(p.seq) - 1 AS lo
  FROM (SELECT DISTINCT game_date, player_lookup FROM targets) AS t
  JOIN played AS p
    ON p.player_lookup = t.player_lookup
  WHERE p.game_date < t.game_date
    AND DATE_DIFF(t.game_date, p.game_date, DAY) <= 365
  GROUP BY t.game_date, t.player_lookup
),
ranked AS (
  SELECT
    t.game_date, t.player_lookup, p.points, p.minutes_played, p.usage_rate,
    p.season_year = t.season_year AS same_season,
    b.hi - p.seq + 1 AS rn
  FROM targets AS t
  JOIN bounds AS b
    ON b.game_date = t.game_date AND b.player_lookup = t.player_lookup
  JOIN played AS p
    ON p.player_lookup = t.player_lookup
  WHERE p.seq > b.lo
    AND p.seq <= b.hi
),
form AS (
  SELECT
    game_date, player_lookup,
    COUNTIF(same_season) AS games_season,
    AVG(IF(rn <= 5, points, NULL)) AS points_5,
    AVG(IF(rn <= 10, points, NULL)) AS points_10,
    AVG(IF(same_season, points, NULL)) AS points_season,
    COUNT(IF(rn <= 10, points, NULL)) AS n_10,
    SUM(IF(rn <= 10, points, NULL)) AS sum_10,
    SUM(IF(rn <= 10, points * points, NULL)) AS sum_sq_10,
    AVG(IF(rn <= 10, ROUND(minutes_played * 100), NULL)) AS minutes_10_x100,
    AVG(IF(rn <= 10, ROUND(usage_rate * 100), NULL)) AS usage_10_x100
  FROM ranked
  GROUP BY game_date, player_lookup
),
teams AS (
  SELECT DISTINCT game_date, team_abbr
  FROM targets
),
team_games AS (
  SELECT
    t.game_date, t.team_abbr, o.pace, o.offensive_rating,
    ROW_NUMBER() OVER (PARTITION BY t.game_date, t.team_abbr ORDER BY o.game_date DESC) AS rn
  FROM teams AS t
  JOIN nba_analytics.team_offense_game_summary AS o
    ON o.team_abbr = t.team_abbr
  WHERE o.game_date < t.game_date
    AND DATE_DIFF(t.game_date, o.game_date, DAY) <= 365
    AND o.game_date < @end_date
    AND DATE_DIFF(@start_date, o.game_date, DAY) <= 365
),
team_form AS (
  SELECT game_date, team_abbr, AVG(ROUND(pace * 100)) AS pace_10_x100,
         AVG(ROUND(offensive_rating * 100)) AS off_rating_10_x100
  FROM team_games
  WHERE rn <= 10
  GROUP BY game_date, team_abbr
)
SELECT
  t.game_date,
  t.player_lookup,
  t.game_id,
  t.season_year,
  t.team_abbr,
  t.opponent_team_abbr,
  COALESCE(f.games_season, 0) AS games_played_season,
  ROUND(f.points_5, 2) AS points_avg_last_5,
  ROUND(f.points_10, 2) AS points_avg_last_10,
  ROUND(f.points_season, 2) AS points_avg_season,
  IF(f.n_10 >= 2,
     ROUND(SQRT(SAFE_DIVIDE(f.n_10 * f.sum_sq_10 - f.sum_10 * f.sum_10, f.n_10 * (f.n_10 - 1))),
           2),
     NULL) AS points_std_last_10,
  ROUND(f.minutes_10_x100) / 100 AS minutes_avg_last_10,
  ROUND(f.usage_10_x100) / 100 AS usage_rate_last_10,
  ROUND(tf.pace_10_x100) / 100 AS team_pace_last_10,
  ROUND(tf.off_rating_10_x100) / 100 AS team_off_rating_last_10
FROM targets AS t
LEFT JOIN form AS f
  ON f.game_date = t.game_date AND f.player_lookup = t.player_lookup
LEFT JOIN team_form AS tf
  ON tf.game_date = t.game_date AND tf.team_abbr = t.team_abbr
