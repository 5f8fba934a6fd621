"""Incident: writes that silently replaced good data with less (LESSONS #1 and #5).

    "An overnight backfill reported 613/613 dates successful, but usage_rate coverage was 36%
    because team_offense wrote 2 of 16 teams on some dates."  ARCHITECTURE.md: "A write that
    would shrink a date's rows by more than a configured fraction is refused (degraded) unless
    forced."

Guarded here: a rerun whose input lost most of a date's games (12 team rows → 2) keeps the old
rows and records the date ``degraded`` with reason ``shrink_refused`` naming both counts; only
``--force`` writes the smaller output. The guard itself is exercised at the adapter boundary
(exactly 50 % allowed, one date refused while another is written in the same call).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faults import FaultyWarehouse, faulty_on, rows
from typer.testing import CliRunner

from backcourt import cli
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import registry
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.ports import RowsSource, Services
from backcourt.services.backfill import Runner
from backcourt.services.calendar import games_between
from backcourt.services.plan import Window
from backcourt.sources.layout import raw_prefix

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1, D2 = date(2025, 1, 14), date(2025, 1, 15)
WINDOW = Window(D1, D2)
SIX_GAMES = date(2025, 1, 13)  # 6 games on the real schedule, no balldontlie file that day


@pytest.fixture
def faulty(make_home: Callable[..., Path]) -> Iterator[tuple[Services, FaultyWarehouse]]:
    s, wh = faulty_on(make_home([D1, D2]))
    yield s, wh
    s.close()


def _box_rows(day: date, n: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [{"game_date": day, "game_id": f"{day:%Y%m%d}_AAA_BBB", "team_abbr": "AAA",
             "player_lookup": f"{prefix}{i}", "player_status": "active", "points": i}
            for i in range(n)]


def test_shrink_guard_refuses_a_big_drop_unless_forced(tmp_path: Path) -> None:
    table = registry.get("player_boxscores").table
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    try:
        wh.ensure_tables([table])
        a, b = date(2025, 1, 14), date(2025, 1, 15)

        def count(day: date) -> int:
            return rows(wh, table.fqn, day)

        first = wh.replace(table, [a], RowsSource(_box_rows(a, 10)), max_shrink=0.5)
        assert (first.rows_by_date, first.refused) == ({a: 10}, {})
        # 10 → 4 is a 60 % drop, past the 50 % guard: refused, the old rows stay.
        refused = wh.replace(table, [a], RowsSource(_box_rows(a, 4, "new")), max_shrink=0.5)
        assert refused.refused == {a: (10, 4)}
        assert refused.rows_by_date == {a: 10}
        kept = wh.query(f"SELECT player_lookup FROM {table.fqn} WHERE game_date = @d "
                        "ORDER BY player_lookup", {"d": a})
        assert [r["player_lookup"] for r in kept] == sorted(f"p{i}" for i in range(10))
        # An empty source is the worst shrink of all: refused too.
        assert wh.replace(table, [a], RowsSource([]), max_shrink=0.5).refused == {a: (10, 0)}
        # In one call, the shrinking date is refused while a new date is written.
        mixed = wh.replace(table, [a, b], RowsSource(_box_rows(a, 2) + _box_rows(b, 3)),
                           max_shrink=0.5)
        assert mixed.refused == {a: (10, 2)}
        assert (count(a), count(b)) == (10, 3)
        # Exactly a 50 % drop is within the guard.
        assert wh.replace(table, [a], RowsSource(_box_rows(a, 5)), max_shrink=0.5).refused == {}
        assert count(a) == 5
        # force writes whatever the drop.
        forced = wh.replace(table, [a], RowsSource(_box_rows(a, 1, "f")), max_shrink=0.5,
                            force=True)
        assert (forced.refused, forced.rows_by_date, count(a)) == ({}, {a: 1}, 1)
    finally:
        wh.close()


def test_shrinking_rerun_through_the_runner_keeps_old_rows_and_is_degraded(
        faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    before = rows(wh, "player_boxscores", D1)
    assert before > 0
    wh.shrink_table = "player_boxscores"  # the source now yields 30 % of each date's rows
    s.status.mark_stale("player_boxscores", [D1])
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    st = s.status.get("player_boxscores", D1)
    assert st is not None
    assert (st.state, st.reason) == (State.DEGRADED, "shrink_refused")
    assert st.error and str(before) in st.error
    assert rows(wh, "player_boxscores", D1) == before
    # --force writes the smaller output.
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW, force=True)
    assert rows(wh, "player_boxscores", D1) < before * 0.5


def test_twelve_team_rows_to_two_is_refused_unless_forced(make_home: Callable[..., Path]
                                                          ) -> None:
    """A re-scrape that lost 5 of the day's 6 box scores: team_boxscores would go 12 → 2."""
    home = make_home([SIX_GAMES])
    s, wh = faulty_on(home)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(SIX_GAMES, SIX_GAMES))
        games = games_between(s.warehouse, SIX_GAMES, SIX_GAMES)[SIX_GAMES]
        assert len(games) == 6
        assert rows(wh, "team_boxscores", SIX_GAMES) == 12
        box = s.bucket.list(raw_prefix("nbacom_boxscore", SIX_GAMES))
        assert len(box) == 6
        for path in box[1:]:
            s.bucket.move(path, "lost/" + path)
        s.status.mark_stale("team_boxscores", [SIX_GAMES])
        s.status.mark_stale("player_boxscores", [SIX_GAMES])
        Runner(s).backfill([SEASON], [Phase.RAW], Window(SIX_GAMES, SIX_GAMES))

        st = s.status.get("team_boxscores", SIX_GAMES)
        assert st is not None and (st.state, st.reason) == (State.DEGRADED, "shrink_refused")
        assert st.error and "from 12 to 2 rows" in st.error and "--force" in st.error
        assert st.rows_written == 12
        assert rows(wh, "team_boxscores", SIX_GAMES) == 12  # the good rows are kept
    finally:
        s.close()

    # The CLI's --force writes it (an operator who knows the games are really gone).
    got = CliRunner().invoke(cli.app, ["--home", str(home), "backfill", "--season", SEASON,
                                       "--phase", "2", "--start", SIX_GAMES.isoformat(),
                                       "--end", SIX_GAMES.isoformat(), "--force"])
    assert got.exit_code in (0, 1), got.output  # 1: the gate blocks the 5 missing games
    s2, wh2 = faulty_on(home)
    try:
        assert rows(wh2, "team_boxscores", SIX_GAMES) == 2
        st = s2.status.get("team_boxscores", SIX_GAMES)
        assert st is not None and st.reason != "shrink_refused"
    finally:
        s2.close()
