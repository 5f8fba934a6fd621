-- nba_precompute.player_shot_zone_analysis (PSZA): one row per upcoming_player_game_context row
-- of the date. Windows = the player's last 10 / 20 PLAYED games (player_game_summary, is_dnp
-- FALSE) before game_date within 365 days, counted in games; his shots in those games come from
-- nba_raw.shot_chart (zone paint | mid_range | three). A played game without shot-chart rows
-- counts as a game with no shots; a shot without a known zone is not counted. Rates and FG% are
-- fractions; NULL without attempts.
WITH targets AS (
  SELECT game_date, player_lookup, team_abbr
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date BETWEEN @start_date AND @end_date
),
played AS (
  SELECT game_date, player_lookup,
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
shots AS (
  SELECT
    game_date, player_lookup,
    COUNTIF(zone IN ('paint', 'mid_range', 'three')) AS att,
    COUNTIF(zone = 'paint') AS paint_att,
    COUNTIF(zone = 'paint' AND shot_made) AS paint_made,
    COUNTIF(zone = 'mid_range') AS mid_att,
    COUNTIF(zone = 'mid_range' AND shot_made) AS mid_made,
    COUNTIF(zone = 'three') AS three_att,
    COUNTIF(zone = 'three' AND shot_made) AS three_made
  FROM nba_raw.shot_chart
  WHERE game_date < @end_date
    AND DATE_DIFF(@start_date, game_date, DAY) <= 365
  GROUP BY game_date, player_lookup
),
ranked AS (
  SELECT
    t.game_date, t.player_lookup, p.game_date AS played_date, b.hi - p.seq + 1 AS rn
  FROM targets AS t
  JOIN bounds AS b
    ON b.game_date = t.game_date AND b.player_lookup = t.player_lookup
  JOIN played AS p
    ON p.player_lookup = t.player_lookup
  WHERE p.seq > b.lo
    AND p.seq > b.hi - 20
    AND p.seq <= b.hi
),
recent AS (
  SELECT
    r.game_date, r.player_lookup, r.rn,
    COALESCE(s.att, 0) AS att,
    COALESCE(s.paint_att, 0) AS paint_att,
    COALESCE(s.paint_made, 0) AS paint_made,
    COALESCE(s.mid_att, 0) AS mid_att,
    COALESCE(s.mid_made, 0) AS mid_made,
    COALESCE(s.three_att, 0) AS three_att,
    COALESCE(s.three_made, 0) AS three_made
  FROM ranked AS r
  LEFT JOIN shots AS s
    ON s.game_date = r.played_date AND s.player_lookup = r.player_lookup
  WHERE r.rn <= 20
),
sums AS (
  SELECT
    game_date, player_lookup,
    COUNT(*) AS games,
    COUNTIF(rn <= 10) AS games_10,
    SUM(IF(rn <= 10, att, 0)) AS att_10,
    SUM(IF(rn <= 10, paint_att, 0)) AS paint_att_10,
    SUM(IF(rn <= 10, paint_made, 0)) AS paint_made_10,
    SUM(IF(rn <= 10, mid_att, 0)) AS mid_att_10,
    SUM(IF(rn <= 10, mid_made, 0)) AS mid_made_10,
    SUM(IF(rn <= 10, three_att, 0)) AS three_att_10,
    SUM(IF(rn <= 10, three_made, 0)) AS three_made_10,
    SUM(att) AS att_20,
    SUM(paint_att) AS paint_att_20,
    SUM(paint_made) AS paint_made_20,
    SUM(mid_att) AS mid_att_20,
    SUM(mid_made) AS mid_made_20,
    SUM(three_att) AS three_att_20,
    SUM(three_made) AS three_made_20
  FROM recent
  GROUP BY game_date, player_lookup
),
rates AS (
  SELECT
    t.game_date, t.player_lookup, t.team_abbr,
    COALESCE(s.games, 0) AS games,
    COALESCE(s.att_10, 0) AS att_10,
    COALESCE(s.att_20, 0) AS att_20,
    SAFE_DIVIDE(s.att_10, s.games_10) AS att_per_game_10,
    SAFE_DIVIDE(s.paint_att_10, s.att_10) AS paint_rate_10,
    SAFE_DIVIDE(s.mid_att_10, s.att_10) AS mid_rate_10,
    SAFE_DIVIDE(s.three_att_10, s.att_10) AS three_rate_10,
    SAFE_DIVIDE(s.paint_made_10, s.paint_att_10) AS paint_pct_10,
    SAFE_DIVIDE(s.mid_made_10, s.mid_att_10) AS mid_pct_10,
    SAFE_DIVIDE(s.three_made_10, s.three_att_10) AS three_pct_10,
    SAFE_DIVIDE(s.paint_att_20, s.att_20) AS paint_rate_20,
    SAFE_DIVIDE(s.mid_att_20, s.att_20) AS mid_rate_20,
    SAFE_DIVIDE(s.three_att_20, s.att_20) AS three_rate_20,
    SAFE_DIVIDE(s.paint_made_20, s.paint_att_20) AS paint_pct_20,
    SAFE_DIVIDE(s.mid_made_20, s.mid_att_20) AS mid_pct_20,
    SAFE_DIVIDE(s.three_made_20, s.three_att_20) AS three_pct_20
  FROM targets AS t
  LEFT JOIN sums AS s
    ON s.game_date = t.game_date AND s.player_lookup = t.player_lookup
)
SELECT
  game_date,
  player_lookup,
  team_abbr,
  games AS games_in_window,
  att_10 AS shots_last_10,
  ROUND(paint_rate_10, 4) AS paint_rate_last_10,
  ROUND(mid_rate_10, 4) AS mid_range_rate_last_10,
  ROUND(three_rate_10, 4) AS three_rate_last_10,
  ROUND(paint_pct_10, 4) AS paint_fg_pct_last_10,
  ROUND(mid_pct_10, 4) AS mid_range_fg_pct_last_10,
  ROUND(three_pct_10, 4) AS three_fg_pct_last_10,
  ROUND(att_per_game_10, 2) AS attempts_per_game_last_10,
  att_20 AS shots_last_20,
  ROUND(paint_rate_20, 4) AS paint_rate_last_20,
  ROUND(mid_rate_20, 4) AS mid_range_rate_last_20,
  ROUND(three_rate_20, 4) AS three_rate_last_20,
  ROUND(paint_pct_20, 4) AS paint_fg_pct_last_20,
  ROUND(mid_pct_20, 4) AS mid_range_fg_pct_last_20,
  ROUND(three_pct_20, 4) AS three_fg_pct_last_20,
  CASE
    WHEN att_10 = 0 THEN NULL
    WHEN paint_rate_10 >= 0.40 THEN 'paint'
    WHEN three_rate_10 >= 0.40 THEN 'three'
    WHEN mid_rate_10 >= 0.35 THEN 'mid_range'
    ELSE 'balanced'
  END AS primary_zone
FROM rates
