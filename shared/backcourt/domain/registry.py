"""The processor registry: every processor declared once (name, phase, output table, natural key,
applicability, upstream with lookback, expectation, implementation). The planner, the gate, the
status matrix, Terraform's table list and the tests all read this one registry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backcourt.domain import tables_analytics as ta
from backcourt.domain import tables_exports as te
from backcourt.domain import tables_precompute as tp
from backcourt.domain import tables_predictions as tpr
from backcourt.domain import tables_raw as tr
from backcourt.domain.errors import BadInput
from backcourt.domain.schema import Table


class Phase(StrEnum):
    """The six pipeline phases, in run order."""

    RAW = "2"
    ANALYTICS = "3"
    PRECOMPUTE = "4"
    PREDICTIONS = "5A"
    GRADING = "5B"
    EXPORTS = "6"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class DateType(StrEnum):
    """What kind of day a calendar date is, from the schedule."""

    PRESEASON = "preseason"
    REGULAR = "regular"
    CUP_FINAL = "cup_final"
    ALL_STAR = "all_star"
    PLAY_IN = "play_in"
    PLAYOFFS = "playoffs"
    NO_GAMES = "no_games"


HISTORY_DAYS = 365
"""How far back the SQL reads a team's or a player's earlier games: the last N games played
within 365 days (``DATE_DIFF(…) <= 365``), across seasons and teams (a traded player, a player
back from injury), so what a processor may read on D is every date of those inputs in the 365
days before it."""

MODEL_WINDOW_DAYS = 400
"""Walk-forward training reads feature-store rows (and their results) of the 400 days before a
model's cutoff, across seasons (``models.walkforward``)."""

COMPETITIVE = frozenset({DateType.REGULAR, DateType.CUP_FINAL, DateType.PLAY_IN, DateType.PLAYOFFS})
ANY_GAMES = frozenset(DateType) - {DateType.NO_GAMES}


class Expectation(StrEnum):
    """How the gate derives a processor's expected rows for a date."""

    SCHEDULE_GAMES = "schedule_games"  # one row per game on the schedule
    TEAMS_PER_GAME = "teams_per_game"  # two rows (one per team) per final game
    PLAYERS_IN_BOX = "players_in_box"  # one row per player in the raw box score
    BEST_EFFORT = "best_effort"  # point-in-time sources: rows for most games; gaps WARN
    UPSTREAM_ROWS = "upstream_rows"  # expect_factor × the rows of ``expect_from`` that date
    FIXED = "fixed"  # expect_factor rows per date (export manifest)


@dataclass(frozen=True)
class Input:
    """Something a processor reads: another processor's output, and how far back.

    The span is one of: the same game date (the default); ``games=N``, the N previous game
    dates of each team playing that day (strictly before it, within the season); ``days=N``, the
    N days before it (across seasons); ``season=True``, every earlier date of the season.
    ``domain.readiness.dates_read`` turns a span into dates.
    """

    processor: str
    games: int = 0
    days: int = 0
    season: bool = False

    @property
    def same_date(self) -> bool:
        """Whether this input is read on the processor's own date only."""
        return not (self.games or self.days or self.season)

    def describe(self) -> str:
        """``player_game_summary (previous 10 games)`` and the like."""
        span = (f"previous {self.games} games" if self.games else
                f"previous {self.days} days" if self.days else
                "season to date" if self.season else "same date")
        return f"{self.processor} ({span})"


@dataclass(frozen=True)
class Processor:
    """One processor: what it writes, when it applies and what it needs."""

    name: str
    phase: Phase
    table: Table
    applies_to: frozenset[DateType]
    expectation: Expectation
    inputs: tuple[Input, ...] = ()
    python: str | None = None  # "module:function" for Python processors
    team_column: str = "team_abbr"
    description: str = ""
    expect_from: str | None = None  # with UPSTREAM_ROWS
    expect_factor: int = 1
    min_history_dates: int = 0  # fewer earlier game dates this season → degraded "bootstrap"

    @property
    def level(self) -> int:
        """Run order within the phase, derived from the inputs: 0 for a processor that reads
        nothing of its own phase, else one more than the deepest same-phase input."""
        return LEVELS[self.name]

    @property
    def reads(self) -> frozenset[str]:
        """The processors it reads, whatever the span."""
        return frozenset(i.processor for i in self.inputs)

    @property
    def sql_file(self) -> str | None:
        """``sql/<table>.sql`` for SQL processors, None for Python ones."""
        return None if self.python else f"{self.table.name}.sql"


def _raw(name: str, table: Table, expectation: Expectation, python: str, **kw: object) -> Processor:
    first = name == "schedule"  # the calendar of every other processor comes from it
    applies = ANY_GAMES if first else COMPETITIVE
    inputs = () if first else (Input("schedule"),)  # the day's games decide what is read
    return Processor(name, Phase.RAW, table, applies, expectation, inputs, python=python,
                     **kw)  # type: ignore[arg-type]


PROCESSORS: tuple[Processor, ...] = (
    _raw("schedule", tr.SCHEDULE, Expectation.SCHEDULE_GAMES,
         "backcourt.sources.loaders:load_schedule",
         description="NBA.com season schedule → one row per game."),
    _raw("player_boxscores", tr.PLAYER_BOXSCORES, Expectation.PLAYERS_IN_BOX,
         "backcourt.sources.loaders:load_player_boxscores",
         description="Player box scores; priority nbacom_boxscore > leaguegamelog > "
                     "balldontlie box_scores > balldontlie stats."),
    _raw("team_boxscores", tr.TEAM_BOXSCORES, Expectation.TEAMS_PER_GAME,
         "backcourt.sources.loaders:load_team_boxscores",
         description="Team box scores; NBA.com TeamStats or the sum of the players."),
    _raw("player_props", tr.PLAYER_PROPS, Expectation.BEST_EFFORT,
         "backcourt.sources.loaders:load_player_props",
         description="Odds API player points lines (point in time)."),
    _raw("game_lines", tr.GAME_LINES, Expectation.BEST_EFFORT,
         "backcourt.sources.loaders:load_game_lines",
         description="Odds API spreads and totals (point in time)."),
    _raw("injury_report", tr.INJURY_REPORT, Expectation.BEST_EFFORT,
         "backcourt.sources.loaders:load_injury_report",
         description="Parsed NBA.com injury reports (point in time)."),
    Processor(
        "team_offense_game_summary", Phase.ANALYTICS, ta.TEAM_OFFENSE_GAME_SUMMARY,
        COMPETITIVE, Expectation.TEAMS_PER_GAME,
        (Input("team_boxscores"), Input("schedule")),
        description="Team offense per game: possessions, pace, offensive rating, TS%.",
    ),
    Processor(
        "team_defense_game_summary", Phase.ANALYTICS, ta.TEAM_DEFENSE_GAME_SUMMARY,
        COMPETITIVE, Expectation.TEAMS_PER_GAME,
        (Input("team_boxscores"), Input("schedule")),
        team_column="defending_team_abbr",
        description="Team defense per game: the opponent's box, defensive rating.",
    ),
    Processor(
        "upcoming_team_game_context", Phase.ANALYTICS, ta.UPCOMING_TEAM_GAME_CONTEXT,
        COMPETITIVE, Expectation.TEAMS_PER_GAME,
        (Input("schedule"), Input("schedule", season=True), Input("game_lines"),
         Input("injury_report")),
        description="Pre-game team context: rest, back-to-backs, lines, streaks.",
    ),
    Processor(
        "player_game_summary", Phase.ANALYTICS, ta.PLAYER_GAME_SUMMARY,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("player_boxscores"), Input("team_offense_game_summary"),
         Input("player_props"), Input("schedule")),
        description="Player per game: minutes, TS%, eFG%, usage rate, prop line and result.",
    ),
    Processor(
        "upcoming_player_game_context", Phase.ANALYTICS, ta.UPCOMING_PLAYER_GAME_CONTEXT,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("player_game_summary", days=HISTORY_DAYS),
         Input("team_offense_game_summary", days=HISTORY_DAYS),
         Input("team_defense_game_summary", days=HISTORY_DAYS), Input("player_props"),
         Input("game_lines"), Input("injury_report"), Input("player_boxscores"),
         Input("schedule")),
        description="Pre-game player context: rest, L5/L10 form, lines, opponent, injuries.",
    ),
)

_P4 = dict(min_history_dates=7)

PROCESSORS += (
    _raw("shot_chart", tr.SHOT_CHART, Expectation.TEAMS_PER_GAME,
         "backcourt.sources.loaders:load_shot_chart",
         description="NBA.com shotchartdetail: one row per field-goal attempt."),
    Processor(
        "team_defense_zone_analysis", Phase.PRECOMPUTE, tp.TEAM_DEFENSE_ZONE_ANALYSIS,
        COMPETITIVE, Expectation.TEAMS_PER_GAME,
        (Input("team_defense_game_summary", days=HISTORY_DAYS),
         Input("team_offense_game_summary", days=HISTORY_DAYS),
         Input("shot_chart", days=HISTORY_DAYS), Input("schedule")),
        description="Per team: zone FG% allowed vs league, defensive rating, pace (last 15).",
        **_P4,  # type: ignore[arg-type]
    ),
    Processor(
        "player_shot_zone_analysis", Phase.PRECOMPUTE, tp.PLAYER_SHOT_ZONE_ANALYSIS,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("shot_chart", days=HISTORY_DAYS), Input("player_game_summary", days=HISTORY_DAYS),
         Input("upcoming_player_game_context")),
        description="Per player: shot mix and efficiency by zone (last 10/20 games).",
        **_P4,  # type: ignore[arg-type]
    ),
    Processor(
        "player_daily_cache", Phase.PRECOMPUTE, tp.PLAYER_DAILY_CACHE,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("player_game_summary", days=HISTORY_DAYS),
         Input("team_offense_game_summary", days=HISTORY_DAYS),
         Input("upcoming_player_game_context")),
        description="Per player: L5/L10/season points, spread, minutes, usage, team pace.",
        **_P4,  # type: ignore[arg-type]
    ),
    Processor(
        "player_composite_factors", Phase.PRECOMPUTE, tp.PLAYER_COMPOSITE_FACTORS,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("player_daily_cache"), Input("player_shot_zone_analysis"),
         Input("team_defense_zone_analysis"), Input("upcoming_player_game_context")),
        description="Per player: fatigue, zone mismatch, pace and usage-spike scores.",
        **_P4,  # type: ignore[arg-type]
    ),
    Processor(
        "ml_feature_store", Phase.PRECOMPUTE, tp.ML_FEATURE_STORE,
        COMPETITIVE, Expectation.PLAYERS_IN_BOX,
        (Input("player_daily_cache"), Input("player_composite_factors"),
         Input("player_shot_zone_analysis"), Input("team_defense_zone_analysis"),
         Input("upcoming_player_game_context")),
        description="One feature vector per player and date (catalog: domain/features.py).",
        **_P4,  # type: ignore[arg-type]
    ),
    Processor(
        "player_prop_predictions", Phase.PREDICTIONS, tpr.PLAYER_PROP_PREDICTIONS,
        COMPETITIVE, Expectation.UPSTREAM_ROWS,
        (Input("ml_feature_store"), Input("ml_feature_store", days=MODEL_WINDOW_DAYS),
         Input("player_game_summary", days=MODEL_WINDOW_DAYS)),
        python="backcourt.models.predict:compute", expect_from="ml_feature_store",
        expect_factor=2,
        description="Points predictions per system (moving average, gradient boosting).",
    ),
    Processor(
        "prediction_accuracy", Phase.GRADING, tpr.PREDICTION_ACCURACY,
        COMPETITIVE, Expectation.UPSTREAM_ROWS,
        (Input("player_prop_predictions"), Input("player_game_summary")),
        expect_from="player_prop_predictions",
        description="Grading: errors, hit/miss against the line, voids.",
    ),
    Processor(
        "exports", Phase.EXPORTS, te.EXPORT_FILES, COMPETITIVE, Expectation.FIXED,
        (Input("player_prop_predictions"), Input("prediction_accuracy"),
         Input("upcoming_player_game_context"), Input("player_game_summary")),
        python="backcourt.services.exports:compute", expect_factor=3,
        description="Publishes predictions, results and best-bets JSON for the date.",
    ),
)

BY_NAME: dict[str, Processor] = {p.name: p for p in PROCESSORS}


def _derive_levels(procs: tuple[Processor, ...]) -> dict[str, int]:
    """Each processor's level from its inputs, checking the declarations on the way: every
    input exists, is of the same or an earlier phase, and same-phase inputs have no cycle."""
    by_name = {p.name: p for p in procs}
    out: dict[str, int] = {}

    def level(name: str, path: tuple[str, ...]) -> int:
        if name in path:
            raise ValueError(f"processor inputs form a cycle: {' → '.join((*path, name))}")
        if name not in out:
            proc = by_name[name]
            same = []
            for inp in proc.inputs:
                up = by_name.get(inp.processor)
                if up is None:
                    raise ValueError(f"{name} reads unknown processor {inp.processor!r}")
                if PHASE_ORDER.index(up.phase) > PHASE_ORDER.index(proc.phase):
                    raise ValueError(f"{name} (phase {proc.phase}) reads {up.name} of a later "
                                     f"phase ({up.phase})")
                if up.phase == proc.phase:
                    same.append(level(up.name, (*path, name)))
            out[name] = 1 + max(same) if same else 0
        return out[name]

    for proc in procs:
        level(proc.name, ())
    return out


LEVELS: dict[str, int] = _derive_levels(PROCESSORS)
"""Each processor's level within its phase, derived from the declared inputs."""


def get(name: str) -> Processor:
    """The processor called ``name``; BadInput names the known ones when it does not exist."""
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise BadInput(f"unknown processor {name!r}; known: {known}") from None


def parse_phase(text: str) -> Phase:
    """Phase from "2", "3", "4", "5A", "5B" or "6" (case-insensitive)."""
    try:
        return Phase(text.strip().upper())
    except ValueError:
        known = ", ".join(p.value for p in Phase)
        raise BadInput(f"unknown phase {text!r}; known: {known}") from None


def of_phase(phase: Phase) -> tuple[Processor, ...]:
    """The processors of a phase, in level order (then declaration order)."""
    return tuple(sorted((p for p in PROCESSORS if p.phase == phase), key=lambda p: p.level))


def levels(phase: Phase) -> list[tuple[Processor, ...]]:
    """The processors of a phase grouped by level: each level runs after the previous one."""
    out: dict[int, list[Processor]] = {}
    for proc in of_phase(phase):
        out.setdefault(proc.level, []).append(proc)
    return [tuple(out[k]) for k in sorted(out)]


def phases_present() -> tuple[Phase, ...]:
    """The phases that have at least one processor registered, in run order."""
    return tuple(ph for ph in PHASE_ORDER if of_phase(ph))
