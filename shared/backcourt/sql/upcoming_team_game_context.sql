-- nba_analytics.upcoming_team_game_context: pre-game context for both teams of every scheduled,
-- not postponed regular / cup_final / play_in / playoffs game of the date (DATA-MODEL §2.5).
-- History = the team's earlier FINAL games of the same season (schedule scores), strictly
-- before game_date. days_rest is calendar days (back-to-back = 1), as for players.
-- Lines: DraftKings > FanDuel > others alphabetically, latest snapshot not after tip-off;
-- spread = the outcome named after this team (team-relative sign), total = the Over outcome.
-- Injuries: the date's latest injury report (rows with the greatest report_time).
WITH sched AS (
  SELECT game_date, game_id, nba_game_id, season_year, game_type, game_status,
         home_team_abbr, away_team_abbr, home_team_score, away_team_score
  FROM nba_raw.schedule
  WHERE game_date <= @end_date
    AND NOT COALESCE(postponed, FALSE)
    AND game_type IN ('regular', 'cup_final', 'play_in', 'playoffs')
),
team_games AS (
  SELECT game_date, game_id, nba_game_id, season_year, game_type, game_status,
         home_team_abbr, away_team_abbr,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_team_abbr, TRUE AS home_game,
         home_team_score - away_team_score AS margin
  FROM sched
  UNION ALL
  SELECT game_date, game_id, nba_game_id, season_year, game_type, game_status,
         home_team_abbr, away_team_abbr,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_team_abbr, FALSE AS home_game,
         away_team_score - home_team_score AS margin
  FROM sched
),
targets AS (
  SELECT *
  FROM team_games
  WHERE game_date BETWEEN @start_date AND @end_date
),
prior AS (
  SELECT
    t.game_date, t.team_abbr, h.margin,
    DATE_DIFF(t.game_date, h.game_date, DAY) AS days_ago,
    ROW_NUMBER() OVER (PARTITION BY t.game_date, t.team_abbr ORDER BY h.game_date DESC) AS rn
  FROM targets AS t
  JOIN team_games AS h
    ON h.team_abbr = t.team_abbr AND h.season_year = t.season_year
  WHERE h.game_date < t.game_date
    AND h.game_status = 3
    AND h.margin IS NOT NULL
),
history AS (
  SELECT
    game_date, team_abbr,
    MIN(days_ago) AS days_rest,
    COUNTIF(days_ago <= 6) AS games_in_last_7_days,
    COUNTIF(days_ago <= 13) AS games_in_last_14_days,
    COUNT(*) AS prior_games,
    COALESCE(MIN(IF(margin <= 0, rn, NULL)) - 1, COUNT(*)) AS win_streak,
    COALESCE(MIN(IF(margin >= 0, rn, NULL)) - 1, COUNT(*)) AS loss_streak,
    MAX(IF(rn = 1, margin, NULL)) AS last_game_margin
  FROM prior
  GROUP BY game_date, team_abbr
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
  SELECT t.game_date, t.team_abbr, l.outcome_point AS game_spread, l.bookmaker
  FROM targets AS t
  JOIN lines AS l
    ON l.game_date = t.game_date AND l.outcome_name = t.team_abbr
  WHERE l.market = 'spreads'
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY t.game_date, t.team_abbr
    ORDER BY l.book_rank, l.bookmaker, l.snapshot_timestamp DESC, l.outcome_point
  ) = 1
),
totals AS (
  SELECT t.game_date, t.team_abbr, l.outcome_point AS game_total, l.bookmaker
  FROM targets AS t
  JOIN lines AS l
    ON l.game_date = t.game_date
   AND ((l.home_team_abbr = t.home_team_abbr AND l.away_team_abbr = t.away_team_abbr)
     OR (l.home_team_abbr = t.away_team_abbr AND l.away_team_abbr = t.home_team_abbr))
  WHERE l.market = 'totals' AND LOWER(l.outcome_name) = 'over'
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY t.game_date, t.team_abbr
    ORDER BY l.book_rank, l.bookmaker, l.snapshot_timestamp DESC, l.outcome_point
  ) = 1
),
injuries AS (
  SELECT game_date, team_abbr, player_lookup, LOWER(injury_status) AS injury_status
  FROM nba_raw.injury_report
  WHERE game_date BETWEEN @start_date AND @end_date
  QUALIFY report_time = MAX(report_time) OVER (PARTITION BY game_date)
),
injury_counts AS (
  SELECT
    game_date, team_abbr,
    COUNTIF(injury_status = 'out') AS players_out,
    COUNTIF(injury_status IN ('questionable', 'doubtful')) AS players_questionable
  FROM injuries
  GROUP BY game_date, team_abbr
)
SELECT
  t.game_date,
  t.game_id,
  t.nba_game_id,
  t.season_year,
  t.game_type,
  t.team_abbr,
  t.opponent_team_abbr,
  t.home_game,
  h.days_rest,
  COALESCE(h.days_rest = 1, FALSE) AS back_to_back,
  COALESCE(h.games_in_last_7_days, 0) AS games_in_last_7_days,
  COALESCE(h.games_in_last_14_days, 0) AS games_in_last_14_days,
  COALESCE(h.prior_games, 0) + 1 AS game_number_in_season,
  s.game_spread,
  tt.game_total,
  COALESCE(s.bookmaker, tt.bookmaker) AS lines_bookmaker,
  COALESCE(i.players_out, 0) AS players_out_count,
  COALESCE(i.players_questionable, 0) AS questionable_players_count,
  COALESCE(h.win_streak, 0) AS win_streak_entering,
  COALESCE(h.loss_streak, 0) AS loss_streak_entering,
  h.last_game_margin
FROM targets AS t
LEFT JOIN history AS h
  ON h.game_date = t.game_date AND h.team_abbr = t.team_abbr
LEFT JOIN spreads AS s
  ON s.game_date = t.game_date AND s.team_abbr = t.team_abbr
LEFT JOIN totals AS tt
  ON tt.game_date = t.game_date AND tt.team_abbr = t.team_abbr
LEFT JOIN injury_counts AS i
  ON i.game_date = t.game_date AND i.team_abbr = t.team_abbr
