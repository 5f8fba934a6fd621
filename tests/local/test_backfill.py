"""The embedded default end to end: sample season → phases 2–3 → status, gate, rerun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.backfill import Runner
from backcourt.services.calendar import season_calendar
from backcourt.services.plan import Window
from backcourt.services.report import matrix
from sample_cache import copy_season

pytestmark = [pytest.mark.local, pytest.mark.slow]

SEASON = "2024-25"
PHASES = [Phase.RAW, Phase.ANALYTICS]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nba"


@pytest.fixture(scope="module")
def season_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A home with the whole 2024-25 sample season backfilled through phase 3 (once)."""
    home = tmp_path_factory.mktemp("season")
    settings = load_settings(home, env={})
    s = build(settings)
    copy_season(tmp_path_factory, SEASON, settings.local.bucket_path)
    result = Runner(s).backfill([SEASON], PHASES, Window())
    assert result.stopped_at is None
    yield s
    s.close()


def test_every_phase3_table_covers_all_214_expected_dates(season_home: Services) -> None:
    cal = season_calendar(season_home.warehouse, SEASON)
    cells = {c.processor: c for c in matrix(season_home.status, season_home.warehouse, [cal])}
    for proc in registry.of_phase(Phase.ANALYTICS):
        cell = cells[proc.name]
        assert (cell.complete, cell.expected) == (214, 214), cell.as_dict()
        assert cell.rows > 0
    # The All-Star break is not expected anywhere in phase 3, and is not failed.
    for day in (date(2025, 2, 14), date(2025, 2, 15), date(2025, 2, 17)):
        st = season_home.status.get("player_game_summary", day)
        assert st is not None and st.state is State.NOT_EXPECTED


def test_gate_passes_every_date(season_home: Services) -> None:
    for phase in PHASES:
        verdicts = season_home.status.verdicts(phase.value, date(2024, 10, 1), date(2025, 6, 30))
        latest = {v.game_date: v for v in verdicts}
        assert len(latest) >= 214
        blocked = [v for v in latest.values() if v.verdict is Verdict.BLOCK]
        assert not blocked, blocked[:3]


def test_each_processor_date_is_measured_once_per_run(season_home: Services) -> None:
    """The phase gate decides from the checks its waves measured after their writes: one
    persisted verdict per (processor, date) and run, not a second measurement of the same rows
    (issue 15: the gate's queries and verdict rows were a per-phase fixed cost)."""
    for proc in registry.of_phase(Phase.ANALYTICS):
        verdicts = season_home.status.verdicts(proc.name, date(2024, 10, 1), date(2025, 6, 30))
        per_date: dict[tuple[date, str | None], int] = {}
        for v in verdicts:
            per_date[(v.game_date, v.run_id)] = per_date.get((v.game_date, v.run_id), 0) + 1
        assert len(per_date) >= 214, proc.name
        assert set(per_date.values()) == {1}, (proc.name, max(per_date.values()))


def test_rerun_does_no_processing_work(season_home: Services) -> None:
    again = Runner(season_home).backfill([SEASON], PHASES, Window())
    assert not again.did_work
    assert all(p.units_run == 0 for p in again.phases)


def test_no_duplicate_keys_and_teams_equal_sum_of_players(season_home: Services) -> None:
    wh = season_home.warehouse
    dup = wh.query("SELECT COUNT(*) AS n FROM (SELECT game_date, player_lookup, COUNT(*) c "
                   "FROM nba_analytics.player_game_summary GROUP BY 1, 2 HAVING c > 1)")
    assert dup[0]["n"] == 0
    mismatch = wh.query(
        "SELECT COUNT(*) AS n FROM nba_analytics.team_offense_game_summary t JOIN ("
        "SELECT game_date, team_abbr, SUM(points) AS pts FROM nba_analytics.player_game_summary "
        "GROUP BY 1, 2) p USING (game_date, team_abbr) WHERE t.points_scored != p.pts")
    assert mismatch[0]["n"] == 0


def test_ingest_real_box_score_then_backfill_matches_the_file(season_home: Services) -> None:
    """Runs last in this module: it replaces one sample game with the real NYK@PHI file."""
    from typer.testing import CliRunner

    from backcourt.cli import app
    from backcourt.domain.ids import player_lookup

    home = str(season_home.settings.local.home)
    season_home.close()
    real = FIXTURES / "nbacom-boxscore-0022400561.json"
    cli = CliRunner()
    got = cli.invoke(app, ["--home", home, "ingest", str(real)])
    assert got.exit_code == 0, got.output
    assert "raw/nbacom_boxscore/2025-01-15/0022400561.json" in got.output
    got = cli.invoke(app, ["--home", home, "backfill", "--season", SEASON, "--phase", "2",
                           "--phase", "3", "--start", "2025-01-15", "--end", "2025-01-15"])
    assert got.exit_code == 0, got.output

    doc = json.loads(real.read_text())
    sets = {rs["name"]: rs for rs in doc["resultSets"]}
    players = [dict(zip(sets["PlayerStats"]["headers"], r, strict=True))
               for r in sets["PlayerStats"]["rowSet"]]
    s = build(load_settings(season_home.settings.local.home, env={}))
    try:
        rows = {r["player_lookup"]: r for r in s.warehouse.query(
            "SELECT player_lookup, team_abbr, points, minutes_played, ts_pct "
            "FROM nba_analytics.player_game_summary WHERE game_date = '2025-01-15' "
            "AND team_abbr IN ('NYK', 'PHI')")}
        teams = {r["team_abbr"]: r["points_scored"] for r in s.warehouse.query(
            "SELECT team_abbr, points_scored FROM nba_analytics.team_offense_game_summary "
            "WHERE game_date = '2025-01-15' AND team_abbr IN ('NYK', 'PHI')")}
    finally:
        s.close()
    assert len(rows) == len(players)  # the sample's synthetic players for this game are gone
    for p in players:
        row = rows[player_lookup(p["PLAYER_NAME"])]
        if p["MIN"] is None:
            continue
        mm, ss = p["MIN"].split(":")
        assert row["points"] == p["PTS"]
        assert row["minutes_played"] == pytest.approx(int(mm) + int(ss) / 60, abs=0.051)
        if p["FGA"] or p["FTA"]:
            ts = p["PTS"] / (2 * (p["FGA"] + 0.44 * p["FTA"]))
            assert row["ts_pct"] == pytest.approx(ts, abs=0.0006)
    assert teams == {"PHI": 119, "NYK": 125}
    for team, pts in teams.items():
        assert sum(r["points"] or 0 for r in rows.values() if r["team_abbr"] == team) == pts
