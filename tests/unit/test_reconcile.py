"""Box-score reconciliation (issue 14, item 4): the named, versioned checks of ``gate.toml``
and the pure functions of ``domain.reconcile``, on made-up numbers and on real files (no false
alarm). Ingest refusing an inconsistent file: ``test_ingest_reconcile.py``; the gate:
``tests/incidents/test_box_reconcile.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_sql_lint import lint

from backcourt.adapters.local.duckdb_warehouse import to_duckdb
from backcourt.domain import reconcile as rc
from backcourt.domain.thresholds import Thresholds
from backcourt.services import reconciliation
from backcourt.sources import balldontlie, balldontlie_stats, box, nbacom_leaguegamelog

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
GAMELOG = FIXTURES / "nbacom-leaguegamelog-2025-01-15.json"
CHECKS = Thresholds.load().checks


def _spec(name: str) -> Any:
    return CHECKS[name]


# ------------------------------------------------------------------ the checks in gate.toml


def test_the_four_checks_are_named_and_versioned_in_gate_toml() -> None:
    assert {n: c.label for n, c in CHECKS.items()} == {
        "points_reconcile": "points_reconcile v1", "final_score": "final_score v1",
        "minutes_reconcile": "minutes_reconcile v1", "made_le_attempted": "made_le_attempted v1"}
    assert Thresholds.load().checks_of("team_boxscores") == list(CHECKS.values())
    assert [c.name for c in Thresholds.load().checks_of("player_boxscores")] == [
        "points_reconcile", "made_le_attempted"]


def test_points_problem_names_the_game_and_the_numbers() -> None:
    t = rc.TeamTotals("0022400123", "BOS", "nbacom_boxscore", 111, 94, 240, 10)
    assert rc.points_problem(_spec(rc.POINTS), t) == (
        "points_reconcile v1: game 0022400123 BOS 111 ≠ players 94")
    same = rc.TeamTotals("0022400123", "BOS", "nbacom_boxscore", 111, 111, 240, 10)
    assert rc.points_problem(_spec(rc.POINTS), same) is None


def test_final_score_problem() -> None:
    t = rc.TeamTotals("0022400123", "BOS", "nbacom_boxscore", 111, 111, 240, 10, 109)
    assert rc.final_score_problem(_spec(rc.FINAL_SCORE), t) == (
        "final_score v1: game 0022400123 BOS 111 ≠ schedule final 109")
    unknown = rc.TeamTotals("0022400123", "BOS", "nbacom_boxscore", 111, 111, 240, 10, None)
    assert rc.final_score_problem(_spec(rc.FINAL_SCORE), unknown) is None


@pytest.mark.parametrize(("source", "minutes", "played", "ok"), [
    ("nbacom_boxscore", 240, 10, True),
    ("nbacom_boxscore", 265, 10, True),      # one overtime
    ("nbacom_boxscore", 315, 10, True),      # three overtimes
    ("nbacom_boxscore", 242, 10, False),     # NBA.com gives team minutes: no rounding slack
    ("nbacom_boxscore", 250, 10, False),
    ("nbacom_leaguegamelog", 239, 9, True),  # whole minutes per player: ± (0.5 + 0.5 × 9)
    ("nbacom_leaguegamelog", 245, 9, True),
    ("nbacom_leaguegamelog", 246, 9, False),
    ("nbacom_leaguegamelog", 268, 10, True),
    ("balldontlie_boxscores", 241, 11, True),
    ("balldontlie_boxscores", 228, 11, False),  # a player's minutes missing
    ("balldontlie_stats", 252, 12, False),      # neither regulation nor one overtime
])
def test_minutes_within_the_sources_rounding(source: str, minutes: int, played: int,
                                             ok: bool) -> None:
    t = rc.TeamTotals("0022400123", "BOS", source, 100, 100, minutes, played)
    problem = rc.minutes_problem(_spec(rc.MINUTES), t)
    assert (problem is None) is ok, problem
    if problem:
        assert problem.startswith(f"minutes_reconcile v1: game 0022400123 BOS {minutes} "
                                  "team minutes ≠ ")


def test_made_over_attempted_names_the_player_and_the_shot_type() -> None:
    row = {"game_id": "20250115_NYK_PHI", "nba_game_id": "0022400561", "team_abbr": "PHI",
           "player_name": "Joel Embiid", "fg_made": 9, "fg_attempted": 8, "three_pt_made": 1,
           "three_pt_attempted": 1, "ft_made": 5, "ft_attempted": 4}
    assert rc.shot_problems(_spec(rc.SHOTS), row) == [
        "made_le_attempted v1: game 0022400561 PHI Joel Embiid FG 9 made > 8 attempted",
        "made_le_attempted v1: game 0022400561 PHI Joel Embiid FT 5 made > 4 attempted"]


def _summed(rows: list[box.Row]) -> list[str]:
    teams = box.team_rows_from_players(rows)
    spec = _spec(rc.MINUTES)
    return (rc.internal_problems(rows, teams)
            + [p for t in rc.team_totals(rows, teams) if (p := rc.minutes_problem(spec, t))])


@pytest.mark.parametrize("parse", [
    lambda: balldontlie.parse_players(
        json.loads((FIXTURES / "balldontlie-boxscores-2024-01-15.json").read_text()), "f"),
    lambda: balldontlie.parse_players(
        json.loads((FIXTURES / "balldontlie-boxscores-2026-01-09.json").read_text()), "f"),
    lambda: balldontlie_stats.parse_players(
        json.loads((FIXTURES / "balldontlie-stats-2025-06-22.json").read_text()), "f"),
    lambda: nbacom_leaguegamelog.parse_players(json.loads(GAMELOG.read_text()), "f"),
], ids=["bdl-2024-01-15", "bdl-2026-01-09", "bdl-stats-finals-g7", "leaguegamelog-nyk-phi"])
def test_real_files_pass_every_check(parse: Callable[[], list[box.Row]]) -> None:
    """Real days (22 + 20 + 2 teams, one game in overtime each day of box_scores) sum to
    240-241 or 265 team minutes; points and shots are consistent: no false alarm."""
    assert _summed(parse()) == []


@pytest.mark.parametrize("sql", [reconciliation.TEAM_TOTALS, *reconciliation.MADE_OVER_ATTEMPTED],
                         ids=["team_totals", "player_shots", "team_shots"])
def test_the_gate_sql_is_clean_bigquery_for_duckdb(sql: str) -> None:
    """The checks' SQL passes the packaged-SQL lint (one BigQuery SELECT, registry tables only,
    @start_date/@end_date only, nothing that differs on DuckDB) and transpiles to DuckDB."""
    assert lint(sql) == []
    assert "$start_date" in to_duckdb(sql)


def test_settings_with_the_checks_stay_hashable() -> None:
    """The functions cache their adapters per Settings (``bootstrap.Runtime``), so Settings,
    which hold the gate thresholds and their checks, must hash."""
    from backcourt.config import load_settings

    settings = load_settings(env={})
    assert settings.thresholds.checks
    assert hash(settings) == hash(load_settings(env={}))
