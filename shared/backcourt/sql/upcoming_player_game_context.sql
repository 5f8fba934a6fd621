-- nba_analytics.upcoming_player_game_context: pre-game context, one row per player listed in the
-- raw box score of a final game of the date (the backfill-mode driver of DATA-MODEL §2.4).
-- Float sums and averages are rounded to 9 places before their output rounding: the order
-- in which an engine adds them varies between runs, and a mean on a .xx5 tie rounded up in
-- one run and down in another (found by bench/soak.py, issue 14).
-- Every "last N" reads nba_analytics rows strictly before game_date and within 365 days;
-- player history = player_game_summary rows with is_dnp FALSE ("played games"), counted in games.
-- Lines: DraftKings > FanDuel > others alphabetically; current = that bookmaker's latest
-- pre-tip snapshot, opening = its earliest. Spread is relative to the player's team.
-- Injuries: the date's latest injury report; a star = averages >= 18 points over his last 10
-- played games.
WITH games AS (
  SELECT game_date, game_id, nba_game_id, season_year, home_team_abbr, away_team_abbr
  FROM nba_raw.schedule
  WHERE game_date BETWEEN @start_date AND @end_date
    AND game_status = 3
    AND NOT COALESCE(postponed, FALSE)
    AND game_type IN ('regular', 'cup_final', 'play_in', 'playoffs')
),
sides AS (
  SELECT game_date, game_id, nba_game_id, season_year, home_team_abbr, away_team_abbr,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_team_abbr, TRUE AS home_game
  FROM games
  UNION ALL
  SELECT game_date, game_id, nba_game_id, season_year, home_team_abbr, away_team_abbr,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_team_abbr, FALSE AS home_game
  FROM games
),
targets AS (
  SELECT s.game_date, s.game_id, s.nba_game_id, s.season_year, s.team_abbr,
         s.opponent_team_abbr, s.home_game, b.player_lookup, b.player_name
  FROM nba_raw.player_boxscores AS b
  JOIN sides AS s
    ON s.game_date = b.game_date AND s.team_abbr = b.team_abbr
  WHERE b.game_date BETWEEN @start_date AND @end_date
),
played AS (
  SELECT game_date, player_lookup, points, minutes_played, usage_rate,
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
prior AS (
  SELECT
    b.game_date, b.player_lookup, p.points, p.minutes_played, p.usage_rate,
    DATE_DIFF(b.game_date, p.game_date, DAY) AS days_ago,
    b.hi - p.seq + 1 AS rn, b.hi - b.lo AS games_before
  FROM bounds AS b
  JOIN played AS p
    ON p.player_lookup = b.player_lookup
  WHERE p.seq > b.lo
    AND p.seq > b.hi - 14
    AND p.seq <= b.hi
),
form AS (
  SELECT
    game_date, player_lookup,
    MIN(days_ago) AS days_rest,
    COUNTIF(days_ago <= 6) AS games_7,
    COUNTIF(days_ago <= 13) AS games_14,
    SUM(IF(days_ago <= 6, minutes_played, 0.0)) AS minutes_7,
    SUM(IF(days_ago <= 13, minutes_played, 0.0)) AS minutes_14,
    AVG(IF(rn <= 7, minutes_played, NULL)) AS minutes_avg_7,
    AVG(IF(rn <= 5, points, NULL)) AS points_avg_5,
    AVG(IF(rn <= 10, points, NULL)) AS points_avg_10,
    AVG(IF(rn <= 10, minutes_played, NULL)) AS minutes_avg_10,
    AVG(IF(rn <= 10, usage_rate, NULL)) AS usage_avg_10,
    MAX(games_before) AS games_before
  FROM prior
  GROUP BY game_date, player_lookup
),
opponents AS (
  SELECT DISTINCT game_date, opponent_team_abbr AS team_abbr
  FROM sides
),
opp_defense AS (
  SELECT
    o.game_date, o.team_abbr, d.defensive_rating,
    ROW_NUMBER() OVER (PARTITION BY o.game_date, o.team_abbr ORDER BY d.game_date DESC) AS rn
  FROM opponents AS o
  JOIN nba_analytics.team_defense_game_summary AS d
    ON d.defending_team_abbr = o.team_abbr
  WHERE d.game_date < o.game_date
    AND DATE_DIFF(o.game_date, d.game_date, DAY) <= 365
),
opp_offense AS (
  SELECT
    o.game_date, o.team_abbr, f.pace,
    ROW_NUMBER() OVER (PARTITION BY o.game_date, o.team_abbr ORDER BY f.game_date DESC) AS rn
  FROM opponents AS o
  JOIN nba_analytics.team_offense_game_summary AS f
    ON f.team_abbr = o.team_abbr
  WHERE f.game_date < o.game_date
    AND DATE_DIFF(o.game_date, f.game_date, DAY) <= 365
),
opp_def_form AS (
  SELECT game_date, team_abbr, AVG(defensive_rating) AS def_rating_10
  FROM opp_defense
  WHERE rn <= 10
  GROUP BY game_date, team_abbr
),
opp_pace_form AS (
  SELECT game_date, team_abbr, AVG(pace) AS pace_10
  FROM opp_offense
  WHERE rn <= 10
  GROUP BY game_date, team_abbr
),
props AS (
  SELECT
    game_date, player_lookup, points_line, LOWER(bookmaker) AS bookmaker,
    ROW_NUMBER() OVER (
      PARTITION BY game_date, player_lookup
      ORDER BY CASE LOWER(bookmaker) WHEN 'draftkings' THEN 0 WHEN 'fanduel' THEN 1 ELSE 2 END,
               LOWER(bookmaker), snapshot_timestamp DESC, points_line
    ) AS rn_current,
    ROW_NUMBER() OVER (
      PARTITION BY game_date, player_lookup
      ORDER BY CASE LOWER(bookmaker) WHEN 'draftkings' THEN 0 WHEN 'fanduel' THEN 1 ELSE 2 END,
               LOWER(bookmaker), snapshot_timestamp, points_line
    ) AS rn_opening
  FROM nba_raw.player_props
  WHERE game_date BETWEEN @start_date AND @end_date
    AND COALESCE(minutes_before_tipoff >= 0, snapshot_timestamp <= commence_time, FALSE)
),
prop_lines AS (
  SELECT
    game_date, player_lookup,
    MAX(IF(rn_current = 1, points_line, NULL)) AS current_line,
    MAX(IF(rn_opening = 1, points_line, NULL)) AS opening_line,
    MAX(IF(rn_current = 1, bookmaker, NULL)) AS bookmaker
  FROM props
  GROUP BY game_date, player_lookup
),
lines AS (
  SELECT
    l.game_date, l.market, l.outcome_name, l.outcome_point, l.home_team_abbr,
    l.away_team_abbr, l.snapshot_timestamp, LOWER(l.bookmaker) AS bookmaker,
    CASE LOWER(l.bookmaker) WHEN 'draftkings' THEN 0 WHEN 'fanduel' THEN 1 ELSE 2 END
      AS book_rank
  FROM nba_raw.game_lines AS l
  WHERE l.game_date BETWEEN @start_date AND @end_date
    AND (l.commence_time IS NULL OR l.snapshot_timestamp <= l.commence_time)
),
spreads AS (
  SELECT s.game_date, s.team_abbr, l.outcome_point AS game_spread
  FROM sides AS s
  JOIN lines AS l
    ON l.game_date = s.game_date AND l.outcome_name = s.team_abbr
  WHERE l.market = 'spreads'
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY s.game_date, s.team_abbr
    ORDER BY l.book_rank, l.bookmaker, l.snapshot_timestamp DESC, l.outcome_point
  ) = 1
),
totals AS (
  SELECT s.game_date, s.team_abbr, l.outcome_point AS game_total
  FROM sides AS s
  JOIN lines AS l
    ON l.game_date = s.game_date
   AND ((l.home_team_abbr = s.home_team_abbr AND l.away_team_abbr = s.away_team_abbr)
     OR (l.home_team_abbr = s.away_team_abbr AND l.away_team_abbr = s.home_team_abbr))
  WHERE l.market = 'totals' AND LOWER(l.outcome_name) = 'over'
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY s.game_date, s.team_abbr
    ORDER BY l.book_rank, l.bookmaker, l.snapshot_timestamp DESC, l.outcome_point
  ) = 1
),
injuries AS (
  SELECT game_date, team_abbr, player_lookup, LOWER(injury_status) AS injury_status
  FROM nba_raw.injury_report
  WHERE game_date BETWEEN @start_date AND @end_date
  QUALIFY report_time = MAX(report_time) OVER (PARTITION BY game_date)
),
out_history AS (
  SELECT
    i.game_date, i.team_abbr, i.player_lookup, p.points,
    ROW_NUMBER() OVER (PARTITION BY i.game_date, i.player_lookup ORDER BY p.game_date DESC) AS rn
  FROM injuries AS i
  JOIN played AS p
    ON p.player_lookup = i.player_lookup
  WHERE i.injury_status = 'out'
    AND p.game_date < i.game_date
    AND DATE_DIFF(i.game_date, p.game_date, DAY) <= 365
),
stars_out AS (
  SELECT game_date, team_abbr, player_lookup
  FROM out_history
  WHERE rn <= 10
  GROUP BY game_date, team_abbr, player_lookup
  HAVING AVG(points) >= 18
),
star_counts AS (
  SELECT t.game_date, t.player_lookup, COUNT(*) AS stars
  FROM targets AS t
  JOIN stars_out AS s
    ON s.game_date = t.game_date AND s.team_abbr = t.team_abbr
  WHERE s.player_lookup != t.player_lookup
  GROUP BY t.game_date, t.player_lookup
)
SELECT
  t.game_date,
  t.game_id,
  t.nba_game_id,
  t.season_year,
  t.player_lookup,
  t.player_name AS player_full_name,
  t.team_abbr,
  t.opponent_team_abbr,
  t.home_game,
  f.days_rest,
  COALESCE(f.days_rest = 1, FALSE) AS back_to_back,
  COALESCE(f.games_7, 0) AS games_in_last_7_days,
  COALESCE(f.games_14, 0) AS games_in_last_14_days,
  ROUND(ROUND(COALESCE(f.minutes_7, 0.0), 9), 1) AS minutes_in_last_7_days,
  ROUND(ROUND(COALESCE(f.minutes_14, 0.0), 9), 1) AS minutes_in_last_14_days,
  ROUND(ROUND(f.minutes_avg_7, 9), 2) AS avg_minutes_last_7,
  ROUND(f.points_avg_5, 2) AS points_avg_last_5,
  ROUND(f.points_avg_10, 2) AS points_avg_last_10,
  ROUND(ROUND(f.minutes_avg_10, 9), 2) AS minutes_avg_last_10,
  ROUND(ROUND(f.usage_avg_10, 9), 2) AS usage_avg_last_10,
  COALESCE(f.games_before, 0) AS games_played_before,
  pl.current_line AS current_points_line,
  pl.opening_line AS opening_points_line,
  pl.current_line - pl.opening_line AS line_movement,
  pl.current_line IS NOT NULL AS has_prop_line,
  pl.bookmaker AS line_bookmaker,
  sp.game_spread,
  tt.game_total,
  ROUND(ROUND(od.def_rating_10, 9), 2) AS opponent_def_rating_last_10,
  ROUND(ROUND(op.pace_10, 9), 2) AS opponent_pace_last_10,
  i.injury_status,
  COALESCE(sc.stars, 0) AS star_teammates_out
FROM targets AS t
LEFT JOIN form AS f
  ON f.game_date = t.game_date AND f.player_lookup = t.player_lookup
LEFT JOIN prop_lines AS pl
  ON pl.game_date = t.game_date AND pl.player_lookup = t.player_lookup
LEFT JOIN spreads AS sp
  ON sp.game_date = t.game_date AND sp.team_abbr = t.team_abbr
LEFT JOIN totals AS tt
  ON tt.game_date = t.game_date AND tt.team_abbr = t.team_abbr
LEFT JOIN opp_def_form AS od
  ON od.game_date = t.game_date AND od.team_abbr = t.opponent_team_abbr
LEFT JOIN opp_pace_form AS op
  ON op.game_date = t.game_date AND op.team_abbr = t.opponent_team_abbr
LEFT JOIN injuries AS i
  ON i.game_date = t.game_date AND i.player_lookup = t.player_lookup
LEFT JOIN star_counts AS sc
  ON sc.game_date = t.game_date AND sc.player_lookup = t.player_lookup
