-- nba_analytics.player_game_summary: one row per player listed in the raw box score of a final
-- game, DNP and inactive rows included (DATA-MODEL §2.1). Reads the same dates of
-- nba_analytics.team_offense_game_summary (built first) for usage rate and win_flag.
-- Prop line: DraftKings > FanDuel > other bookmakers alphabetically, then the latest snapshot
-- taken before tip-off (minutes_before_tipoff >= 0; when it is unknown, snapshot <= tip-off).
WITH games AS (
  SELECT game_date, game_id, nba_game_id, season_year,
         home_team_abbr, away_team_abbr
  FROM nba_raw.schedule
  WHERE game_date BETWEEN @start_date AND @end_date
    AND game_status = 3
    AND NOT COALESCE(postponed, FALSE)
    AND game_type IN ('regular', 'cup_final', 'play_in', 'playoffs')
),
sides AS (
  SELECT game_date, game_id, nba_game_id, season_year,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_team_abbr, TRUE AS home_game
  FROM games
  UNION ALL
  SELECT game_date, game_id, nba_game_id, season_year,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_team_abbr, FALSE AS home_game
  FROM games
),
box AS (
  SELECT
    s.game_date, s.game_id, s.nba_game_id, s.season_year, s.team_abbr, s.opponent_team_abbr,
    s.home_game, b.player_lookup, b.player_id, b.player_name, b.player_status, b.dnp_reason,
    b.starter, b.minutes, b.points, b.fg_made, b.fg_attempted, b.three_pt_made,
    b.three_pt_attempted, b.ft_made, b.ft_attempted, b.offensive_rebounds,
    b.defensive_rebounds, b.total_rebounds, b.assists, b.steals, b.blocks, b.turnovers,
    b.personal_fouls, b.plus_minus,
    b.player_status IN ('dnp', 'inactive') OR COALESCE(b.minutes, 0) <= 0 AS is_dnp,
    LOWER(b.dnp_reason) AS reason
  FROM nba_raw.player_boxscores AS b
  JOIN sides AS s
    ON s.game_date = b.game_date AND s.team_abbr = b.team_abbr
  WHERE b.game_date BETWEEN @start_date AND @end_date
),
team AS (
  SELECT game_date, team_abbr, fg_attempts, ft_attempts, turnovers, team_minutes, win_flag
  FROM nba_analytics.team_offense_game_summary
  WHERE game_date BETWEEN @start_date AND @end_date
),
props AS (
  SELECT game_date, player_lookup, points_line, LOWER(bookmaker) AS bookmaker
  FROM nba_raw.player_props
  WHERE game_date BETWEEN @start_date AND @end_date
    AND COALESCE(minutes_before_tipoff >= 0, snapshot_timestamp <= commence_time, FALSE)
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY game_date, player_lookup
    ORDER BY CASE LOWER(bookmaker) WHEN 'draftkings' THEN 0 WHEN 'fanduel' THEN 1 ELSE 2 END,
             LOWER(bookmaker), snapshot_timestamp DESC, points_line
  ) = 1
),
calc AS (
  SELECT
    b.*,
    t.win_flag AS team_win_flag,
    p.points_line,
    p.bookmaker AS points_line_bookmaker,
    CASE
      WHEN b.is_dnp OR t.team_abbr IS NULL THEN NULL
      ELSE SAFE_DIVIDE(
        100 * (b.fg_attempted + 0.44 * b.ft_attempted + b.turnovers)
          * (COALESCE(t.team_minutes, 240) / 5),
        b.minutes * (t.fg_attempts + 0.44 * t.ft_attempts + t.turnovers))
    END AS usage_raw
  FROM box AS b
  LEFT JOIN team AS t
    ON t.game_date = b.game_date AND t.team_abbr = b.team_abbr
  LEFT JOIN props AS p
    ON p.game_date = b.game_date AND p.player_lookup = b.player_lookup
)
SELECT
  game_date,
  game_id,
  nba_game_id,
  season_year,
  player_lookup,
  player_id,
  player_name AS player_full_name,
  team_abbr,
  opponent_team_abbr,
  home_game,
  player_status,
  is_dnp,
  dnp_reason,
  CASE
    WHEN NOT is_dnp THEN NULL
    WHEN reason IS NULL THEN 'other'
    WHEN REGEXP_CONTAINS(reason, r'injur|illness|health|protocol|surgery|sprain|sore')
      THEN 'injury'
    WHEN REGEXP_CONTAINS(reason, r'\brest\b') THEN 'rest'
    WHEN REGEXP_CONTAINS(reason, r'personal|family|bereavement') THEN 'personal'
    WHEN REGEXP_CONTAINS(reason, r'coach') THEN 'coach_decision'
    ELSE 'other'
  END AS dnp_reason_category,
  starter,
  IF(is_dnp, 0.0, ROUND(minutes, 1)) AS minutes_played,
  points,
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
  plus_minus,
  IF(usage_raw > 100, NULL, ROUND(usage_raw, 2)) AS usage_rate,
  ROUND(SAFE_DIVIDE(points, 2 * (fg_attempted + 0.44 * ft_attempted)), 3) AS ts_pct,
  ROUND(SAFE_DIVIDE(fg_made + 0.5 * three_pt_made, fg_attempted), 3) AS efg_pct,
  team_win_flag AS win_flag,
  points_line,
  points_line_bookmaker,
  CASE
    WHEN is_dnp OR points IS NULL OR points_line IS NULL THEN NULL
    WHEN points > points_line THEN 'OVER'
    WHEN points < points_line THEN 'UNDER'
    ELSE 'PUSH'
  END AS over_under_result,
  IF(is_dnp, NULL, points - points_line) AS margin_vs_line
FROM calc
