"""The gate's reconciliation SQL (``services.reconciliation``) finds the same problems on DuckDB
(through the sqlglot transpile path) and on BigQuery (bqemulator): one game written to
``nba_raw.schedule`` / ``player_boxscores`` / ``team_boxscores`` with every kind of mismatch."""

from __future__ import annotations

from datetime import date
from typing import Any

from test_warehouse import warehouse  # noqa: F401  (the DuckDB / BigQuery fixture)

from backcourt.domain import tables_raw as tr
from backcourt.domain.schema import Table
from backcourt.domain.thresholds import Thresholds
from backcourt.ports import RowsSource
from backcourt.services import reconciliation

DAY = date(2025, 1, 15)
GAME = {"game_date": DAY, "game_id": "20250115_NYK_PHI", "nba_game_id": "0022400561"}


def _row(table: Table, **values: Any) -> dict[str, Any]:
    return {**dict.fromkeys(table.column_names), **GAME, **values}


def _players(team: str, points: list[int]) -> list[dict[str, Any]]:
    return [_row(tr.PLAYER_BOXSCORES, team_abbr=team, player_lookup=f"{team.lower()}{i}",
                 player_name=f"{team} Player {i}", player_status="active", minutes=24.0,
                 points=p, fg_made=3, fg_attempted=7, three_pt_made=1, three_pt_attempted=3,
                 ft_made=2, ft_attempted=2, source="nbacom_boxscore")
            for i, p in enumerate(points)]


def test_the_checks_find_the_same_problems_on_both_backends(warehouse: Any) -> None:  # noqa: F811
    wh = warehouse
    wh.ensure_tables([tr.SCHEDULE, tr.PLAYER_BOXSCORES, tr.TEAM_BOXSCORES])
    wh.replace(tr.SCHEDULE, [DAY], RowsSource([_row(
        tr.SCHEDULE, season="2024-25", season_year=2024, game_type="regular", game_status=3,
        postponed=False, home_team_abbr="PHI", away_team_abbr="NYK", home_team_score=119,
        away_team_score=128)]), max_shrink=1.0)
    players = _players("NYK", [30, 25, 20, 25, 25]) + _players("PHI", [20, 20, 20, 20, 14])
    players[0].update(ft_made=5, ft_attempted=4)
    wh.replace(tr.PLAYER_BOXSCORES, [DAY], RowsSource(players), max_shrink=1.0)
    teams = [_row(tr.TEAM_BOXSCORES, team_abbr="NYK", is_home=False, minutes=265, points=125,
                  fg_made=40, fg_attempted=90, three_pt_made=12, three_pt_attempted=30,
                  ft_made=20, ft_attempted=25, source="nbacom_boxscore"),
             _row(tr.TEAM_BOXSCORES, team_abbr="PHI", is_home=True, minutes=250, points=111,
                  fg_made=40, fg_attempted=90, three_pt_made=12, three_pt_attempted=30,
                  ft_made=20, ft_attempted=25, source="nbacom_boxscore")]
    wh.replace(tr.TEAM_BOXSCORES, [DAY], RowsSource(teams), max_shrink=1.0)

    found = reconciliation.measure(wh, list(Thresholds.load().checks.values()), DAY, DAY)

    g = "game 0022400561"
    assert found == {
        "points_reconcile": [(DAY, f"points_reconcile v1: {g} PHI 111 ≠ players 94")],
        "final_score": [(DAY, f"final_score v1: {g} NYK 125 ≠ schedule final 128"),
                        (DAY, f"final_score v1: {g} PHI 111 ≠ schedule final 119")],
        "minutes_reconcile": [(DAY, f"minutes_reconcile v1: {g} PHI 250 team minutes ≠ 240 "
                                    "(regulation) ± 1 (nbacom_boxscore, 5 players)")],
        "made_le_attempted": [(DAY, f"made_le_attempted v1: {g} NYK NYK Player 0 FT 5 made > "
                                    "4 attempted")],
    }
