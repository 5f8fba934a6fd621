"""Acceptance over committed real data: the 2025 NBA Finals Game 7 (OKC 103, IND 91).

From an empty home: ingest the real 2024-25 schedule and the real balldontlie ``stats`` file of
2025-06-22, then ``backfill --phase 2 --phase 3`` of that one date. Gating is per input: the
three tables that read only that day's box scores and schedule are complete and exact, while
``shot_chart`` (no file that day) is gate-BLOCKed naming the game — and blocks nothing that does
not read it. The run exits 1: not everything in scope is done. A phase-4 run then leaves the
shot-zone processors blocked, their reasons naming ``shot_chart``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backcourt import cli
from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain.ids import player_lookup
from backcourt.domain.status import State, Verdict

pytestmark = pytest.mark.local

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = REPO / "shared" / "backcourt" / "data" / "nbacom-schedule-2024-25.json.gz"
STATS = REPO / "tests" / "fixtures" / "nba" / "balldontlie-stats-2025-06-22.json"
DAY = "2025-06-22"
DATE = date(2025, 6, 22)
GAME = "0042400407"
WINDOW = ["--season", "2024-25", "--start", DAY, "--end", DAY]
COMPLETE = ("team_offense_game_summary", "team_defense_game_summary", "player_game_summary")


def _cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(cli.app, ["--home", str(home), *args])


def _minutes(text: str) -> float:
    mm, _, ss = text.partition(":")
    return int(mm or 0) + int(ss or 0) / 60


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finals") / "home"
    got = _cli(root, "ingest", str(SCHEDULE), str(STATS))
    assert got.exit_code == 0, got.output
    return root


@pytest.fixture(scope="module")
def phase_2_3(home: Path) -> Any:
    return _cli(home, "backfill", *WINDOW, "--phase", "2", "--phase", "3")


def _query(home: Path, sql: str) -> list[dict[str, Any]]:
    s = build(load_settings(home, env={}))
    try:
        return s.warehouse.query(sql, {"d": DAY})
    finally:
        s.close()


def test_the_run_exits_1_and_says_what_is_not_done(phase_2_3: Any) -> None:
    assert phase_2_3.exit_code == 1, phase_2_3.output
    text = " ".join(phase_2_3.output.split())
    assert "gate phase 2: BLOCK" in text and "shot_chart" in text


def test_the_tables_that_read_only_the_box_scores_are_complete(home: Path,
                                                                phase_2_3: Any) -> None:
    s = build(load_settings(home, env={}))
    try:
        for name in COMPLETE:
            st = s.status.get(name, DATE)
            assert st is not None and st.state is State.SUCCEEDED, (name, st)
    finally:
        s.close()


def test_team_points_are_the_final_score(home: Path, phase_2_3: Any) -> None:
    games = {g["game"]["id"]: g["game"] for g in json.loads(STATS.read_text())["data"]}
    (game,) = games.values()
    teams = {r["team"]["id"]: r["team"]["abbreviation"]
             for r in json.loads(STATS.read_text())["data"]}
    want = {teams[game["home_team_id"]]: game["home_team_score"],
            teams[game["visitor_team_id"]]: game["visitor_team_score"]}
    assert want == {"OKC": 103, "IND": 91}
    got = {r["team_abbr"]: r["points_scored"] for r in _query(
        home, "SELECT team_abbr, points_scored FROM nba_analytics.team_offense_game_summary "
              "WHERE game_date = @d")}
    assert got == want
    allowed = {r["defending_team_abbr"]: r["points_allowed"] for r in _query(
        home, "SELECT defending_team_abbr, points_allowed "
              "FROM nba_analytics.team_defense_game_summary WHERE game_date = @d")}
    assert allowed == {"OKC": 91, "IND": 103}


def test_every_player_line_is_the_file(home: Path, phase_2_3: Any) -> None:
    lines = json.loads(STATS.read_text())["data"]
    got = {r["player_lookup"]: r for r in _query(
        home, "SELECT player_lookup, team_abbr, points, minutes_played "
              "FROM nba_analytics.player_game_summary WHERE game_date = @d")}
    assert len(got) == len(lines)
    for line in lines:
        p = line["player"]
        row = got[player_lookup(f"{p['first_name']} {p['last_name']}")]
        assert row["team_abbr"] == line["team"]["abbreviation"]
        played = _minutes(line["min"] or "0")
        if not played:  # did not play: no minutes, no points
            assert not row["minutes_played"] and not row["points"] and not line["pts"], p
            continue
        assert row["points"] == line["pts"], p
        assert row["minutes_played"] == pytest.approx(played, abs=0.051), p


def test_shot_chart_is_gate_blocked_naming_the_game(home: Path, phase_2_3: Any) -> None:
    s = build(load_settings(home, env={}))
    try:
        day = DATE
        check = s.status.verdicts("shot_chart", day, day)[-1]
        assert check.verdict is Verdict.BLOCK
        assert any(f"game {GAME} IND@OKC missing" in r for r in check.reasons), check.reasons
        phase = s.status.verdicts("2", day, day)[-1]
        assert phase.verdict is Verdict.BLOCK
        assert any(r.startswith("shot_chart: ") and GAME in r for r in phase.reasons)
        # Nothing that does not read shot charts is blocked by it.
        for name in COMPLETE:
            st = s.status.get(name, day)
            assert st is not None and "shot_chart" not in (st.reason or "")
    finally:
        s.close()


def test_phase_4_blocks_the_shot_zone_processors_naming_shot_chart(home: Path,
                                                                   phase_2_3: Any) -> None:
    got = _cli(home, "backfill", *WINDOW, "--phase", "4")
    assert got.exit_code == 1, got.output
    s = build(load_settings(home, env={}))
    try:
        for name in ("team_defense_zone_analysis", "player_shot_zone_analysis"):
            st = s.status.get(name, DATE)
            assert st is not None and st.state is State.BLOCKED, (name, st)
            assert st.reason and "shot_chart" in st.reason, st.reason
            assert st.reason.startswith("lookback_incomplete:"), st.reason  # earlier games
    finally:
        s.close()
