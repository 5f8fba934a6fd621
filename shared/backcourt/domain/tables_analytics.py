"""Phase-3 analytics tables (dataset ``nba_analytics``), one per processor; the SQL in
``backcourt/sql/<table>.sql`` selects exactly these columns in this order.

Conscious deviations from the legacy tables (DATA-MODEL §8) are stated in the column
descriptions: possessions kept as FLOAT64 (not truncated to INT), opponent_pace minutes-normalised
like pace, win_flag from points everywhere, a prop push is its own result ``PUSH``, one prop-line
rule (DraftKings > FanDuel > others, latest pre-tip snapshot) shared by every table, and rest days
counted the same way (calendar days, back-to-back = 1) for teams and players.
"""

from __future__ import annotations

from backcourt.domain.schema import Column, Table, col

_GAME = (
    col("game_date", "DATE", "America/New_York calendar date of the game", True),
    col("game_id", "STRING", "system id YYYYMMDD_AWAY_HOME, taken from the schedule", True),
    col("nba_game_id", "STRING", "NBA.com 10-character game id from the schedule"),
    col("season_year", "INT64", "first year of the season (2024 = 2024-25)"),
)


def _ints(*names: str) -> tuple[Column, ...]:
    return tuple(col(n, "INT64") for n in names)


_TEAM_BOX = _ints(
    "fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts", "ft_makes", "ft_attempts",
    "offensive_rebounds", "defensive_rebounds", "total_rebounds", "assists", "steals", "blocks",
    "turnovers", "personal_fouls",
)

TEAM_OFFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_offense_game_summary",
    (
        *_GAME,
        col("game_type", "STRING", "regular | cup_final | play_in | playoffs"),
        col("team_abbr", "STRING", "the team on offense", True),
        col("opponent_team_abbr", "STRING", "from the schedule"),
        col("home_game", "BOOL", "team is the schedule's home team"),
        col("points_scored", "INT64"),
        *_TEAM_BOX,
        col("team_minutes", "INT64", "team player-minutes: 240 regulation, +25 per overtime"),
        col("possessions", "FLOAT64",
            "FGA + 0.44·FTA + TOV − OREB rounded to 0.1; kept FLOAT64 on purpose (legacy "
            "truncated to INT); ratings and pace use the unrounded value"),
        col("offensive_rating", "FLOAT64", "100 · points / possessions, 2 decimals"),
        col("pace", "FLOAT64", "possessions · 48 / (team_minutes / 5), 1 decimal"),
        col("ts_pct", "FLOAT64", "points / (2 · (FGA + 0.44·FTA)), 3 decimals"),
        col("efg_pct", "FLOAT64", "(FGM + 0.5·3PM) / FGA, 3 decimals"),
        col("opponent_points", "INT64", "the opponent's points (its team box row)"),
        col("win_flag", "BOOL", "points_scored > opponent_points; NULL without the opponent row"),
        col("margin_of_victory", "INT64", "points_scored − opponent_points"),
        col("overtime_periods", "INT64",
            "(team_minutes − 240) / 25 rounded to the nearest period, never negative"),
    ),
    key=("game_date", "team_abbr"),
    cluster=("team_abbr",),
    description="Team offense per final game: box totals, possessions, pace, ratings. "
    "2 rows per game; a team row whose box has no field-goal attempts is dropped.",
)

TEAM_DEFENSE_GAME_SUMMARY = Table(
    "nba_analytics",
    "team_defense_game_summary",
    (
        *_GAME,
        col("game_type", "STRING", "regular | cup_final | play_in | playoffs"),
        col("defending_team_abbr", "STRING", "the team on defense", True),
        col("opponent_team_abbr", "STRING", "the team on offense"),
        col("home_game", "BOOL", "defending team is the schedule's home team"),
        col("points_allowed", "INT64", "opponent points"),
        *_ints("opp_fg_makes", "opp_fg_attempts", "opp_three_pt_makes", "opp_three_pt_attempts",
               "opp_ft_makes", "opp_ft_attempts", "opp_offensive_rebounds",
               "opp_total_rebounds", "opp_assists"),
        col("turnovers_forced", "INT64", "opponent turnovers"),
        col("fouls_committed", "INT64", "own personal fouls"),
        *_ints("steals", "blocks", "defensive_rebounds"),
        col("opponent_possessions", "FLOAT64",
            "oppFGA + 0.44·oppFTA + oppTOV − oppOREB rounded to 0.1 (FLOAT64, see TOGS)"),
        col("defensive_rating", "FLOAT64", "100 · points_allowed / opponent possessions"),
        col("opponent_pace", "FLOAT64",
            "opponent possessions · 48 / (team_minutes / 5), 1 decimal: minutes-normalised like "
            "TOGS pace on purpose (legacy stored raw possessions here)"),
        col("opponent_ts_pct", "FLOAT64", "opp points / (2 · (oppFGA + 0.44·oppFTA))"),
        col("opponent_efg_pct", "FLOAT64", "(oppFGM + 0.5·opp3PM) / oppFGA"),
        col("win_flag", "BOOL", "own points > points_allowed (legacy used the plus_minus sign)"),
        col("margin_of_victory", "INT64", "own points − points_allowed"),
    ),
    key=("game_date", "defending_team_abbr"),
    cluster=("defending_team_abbr",),
    description="Team defense per final game: the opponent's box and defensive rating. "
    "2 rows per game; needs both teams' box rows.",
)

PLAYER_GAME_SUMMARY = Table(
    "nba_analytics",
    "player_game_summary",
    (
        *_GAME,
        col("player_lookup", "STRING", "normalised name (backcourt.domain.ids)", True),
        col("player_id", "INT64", "the source's player id"),
        col("player_full_name", "STRING"),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING", "from the schedule"),
        col("home_game", "BOOL", "team is the schedule's home team"),
        col("player_status", "STRING", "active | dnp | inactive (raw box score)"),
        col("is_dnp", "BOOL", "status dnp/inactive, or active with no minutes"),
        col("dnp_reason", "STRING", "source comment for players who did not play"),
        col("dnp_reason_category", "STRING",
            "injury | rest | personal | coach_decision | other for DNP rows, else NULL"),
        col("starter", "BOOL", "source starter flag (a real START_POSITION, not minutes > 20)"),
        col("minutes_played", "FLOAT64", "decimal minutes rounded to 0.1; 0.0 for DNP rows"),
        col("points", "INT64", "NULL when the source has no stats (DNP)"),
        *_ints("fg_makes", "fg_attempts", "three_pt_makes", "three_pt_attempts", "ft_makes",
               "ft_attempts", "offensive_rebounds", "defensive_rebounds", "total_rebounds",
               "assists", "steals", "blocks", "turnovers", "personal_fouls", "plus_minus"),
        col("usage_rate", "FLOAT64",
            "100·(FGA + 0.44·FTA + TOV)·(team_minutes/5) / (minutes·(TmFGA + 0.44·TmFTA + "
            "TmTOV)), 2 decimals; NULL for 0 minutes, no team row, or a value over 100"),
        col("ts_pct", "FLOAT64", "points / (2 · (FGA + 0.44·FTA)), 3 decimals"),
        col("efg_pct", "FLOAT64", "(FGM + 0.5·3PM) / FGA, 3 decimals"),
        col("win_flag", "BOOL", "the team's win_flag (legacy: always FALSE)"),
        col("points_line", "FLOAT64",
            "Odds API line: DraftKings > FanDuel > others alphabetically, latest snapshot with "
            "minutes_before_tipoff ≥ 0 (legacy picked an arbitrary snapshot)"),
        col("points_line_bookmaker", "STRING", "bookmaker of points_line"),
        col("over_under_result", "STRING",
            "OVER (points > line) | UNDER (points < line) | PUSH (equal; legacy counted OVER); "
            "NULL without a line or for DNP"),
        col("margin_vs_line", "FLOAT64", "points − points_line; NULL without a line or for DNP"),
    ),
    key=("game_date", "player_lookup"),
    cluster=("team_abbr", "player_lookup"),
    description="One row per player in the raw box score of a final game, DNP rows included "
    "(is_dnp TRUE): consumers filter.",
)

_LINES = (
    col("game_spread", "FLOAT64",
        "this team's spread (negative = favourite), DraftKings > FanDuel > others, latest "
        "pre-tip snapshot"),
    col("game_total", "FLOAT64", "the Over outcome point, same bookmaker/snapshot rule"),
)

UPCOMING_TEAM_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_team_game_context",
    (
        *_GAME,
        col("game_type", "STRING", "regular | cup_final | play_in | playoffs"),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("home_game", "BOOL"),
        col("days_rest", "INT64",
            "calendar days since the team's previous final game this season (back-to-back = 1; "
            "legacy UTGC used days − 1); NULL for the first game"),
        col("back_to_back", "BOOL", "days_rest = 1"),
        col("games_in_last_7_days", "INT64", "final games on D−6 … D−1 (legacy date > D−7)"),
        col("games_in_last_14_days", "INT64", "final games on D−13 … D−1"),
        col("game_number_in_season", "INT64", "earlier final games this season + 1"),
        *_LINES,
        col("lines_bookmaker", "STRING", "bookmaker of game_spread (or of game_total)"),
        col("players_out_count", "INT64",
            "team players listed out in the date's latest injury report"),
        col("questionable_players_count", "INT64",
            "team players listed questionable or doubtful in that report"),
        col("win_streak_entering", "INT64", "consecutive wins ending with the previous game"),
        col("loss_streak_entering", "INT64", "consecutive losses ending with the previous game"),
        col("last_game_margin", "INT64", "points margin of the previous final game this season"),
    ),
    key=("game_date", "team_abbr"),
    cluster=("team_abbr",),
    description="Pre-game team context: 2 rows per scheduled (not postponed) game of the date.",
)

UPCOMING_PLAYER_GAME_CONTEXT = Table(
    "nba_analytics",
    "upcoming_player_game_context",
    (
        *_GAME,
        col("player_lookup", "STRING", required=True),
        col("player_full_name", "STRING"),
        col("team_abbr", "STRING", required=True),
        col("opponent_team_abbr", "STRING"),
        col("home_game", "BOOL"),
        col("days_rest", "INT64",
            "calendar days since the player's previous played game (back-to-back = 1), within "
            "365 days; NULL without one"),
        col("back_to_back", "BOOL", "days_rest = 1"),
        col("games_in_last_7_days", "INT64", "played games on D−6 … D−1"),
        col("games_in_last_14_days", "INT64", "played games on D−13 … D−1"),
        col("minutes_in_last_7_days", "FLOAT64", "minutes in those games"),
        col("minutes_in_last_14_days", "FLOAT64", "minutes in those games"),
        col("avg_minutes_last_7", "FLOAT64", "mean minutes over the last 7 played games"),
        col("points_avg_last_5", "FLOAT64", "mean points over the last 5 played games"),
        col("points_avg_last_10", "FLOAT64", "mean points over the last 10 played games"),
        col("minutes_avg_last_10", "FLOAT64", "mean minutes over the last 10 played games"),
        col("usage_avg_last_10", "FLOAT64", "mean usage_rate over the last 10 played games"),
        col("games_played_before", "INT64",
            "played games in the 365 days before the date (history depth)"),
        col("current_points_line", "FLOAT64",
            "latest pre-tip Odds API line, DraftKings > FanDuel > others"),
        col("opening_points_line", "FLOAT64", "earliest pre-tip line of the same bookmaker"),
        col("line_movement", "FLOAT64", "current − opening"),
        col("has_prop_line", "BOOL", "a pre-tip line exists for the date"),
        col("line_bookmaker", "STRING", "bookmaker of the lines"),
        *_LINES,
        col("opponent_def_rating_last_10", "FLOAT64",
            "mean defensive_rating of the opponent's last 10 games (TDGS)"),
        col("opponent_pace_last_10", "FLOAT64", "mean pace of the opponent's last 10 games (TOGS)"),
        col("injury_status", "STRING",
            "lowercase status in the date's latest injury report; NULL if not listed"),
        col("star_teammates_out", "INT64",
            "teammates listed out in that report averaging ≥ 18 points over their last 10 "
            "played games"),
    ),
    key=("game_date", "player_lookup"),
    cluster=("team_abbr", "player_lookup"),
    description="Pre-game player context, one row per player in the raw box score of the date "
    "(backfill driver, DATA-MODEL §2.4). Every 'last N' uses only games before game_date; "
    "played games are player_game_summary rows with is_dnp FALSE.",
)

ANALYTICS_TABLES = (
    TEAM_OFFENSE_GAME_SUMMARY,
    TEAM_DEFENSE_GAME_SUMMARY,
    PLAYER_GAME_SUMMARY,
    UPCOMING_TEAM_GAME_CONTEXT,
    UPCOMING_PLAYER_GAME_CONTEXT,
)
