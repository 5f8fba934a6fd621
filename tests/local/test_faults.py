"""Fault injection into the local runner: flaky and broken warehouse writes, a validator that
errors, and the shrink guard. The faults come from small fakes wrapping the real DuckDB
warehouse (no library mocks); the status store, bucket and phase-2 loaders are the real ones."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backcourt import cli
from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.bootstrap import Services, SystemClock
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.errors import BackcourtError, TerminalError, TransientError
from backcourt.domain.registry import Phase
from backcourt.domain.schema import Table
from backcourt.domain.status import MAX_ATTEMPTS, State, Verdict
from backcourt.ports import RowsSource, SqlSource, Warehouse, WriteResult
from backcourt.services.backfill import Runner
from backcourt.services.gate import Gate
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW, SOURCES

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1, D2 = date(2025, 1, 14), date(2025, 1, 15)
WINDOW = Window(D1, D2)
TARGET = "player_props"  # best effort: a failed date there WARNs, it does not block phase 2
PHASE3 = [p.table.name for p in registry.of_phase(Phase.ANALYTICS)]


class FaultyWarehouse:
    """The real DuckDB warehouse, with faults injected into ``replace`` of one table."""

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, inner: DuckDBWarehouse) -> None:
        self.inner = inner
        self.fail_table: str | None = None
        self.failures_left = 0  # how many more calls fail; negative: every call
        self.error: type[BackcourtError] = TransientError
        self.shrink_table: str | None = None  # rows of this table are cut to 30 % per date
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        self.inner.ensure_tables(tables)

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False) -> WriteResult:
        with self._lock:
            self.calls[table.name] += 1
            fail = table.name == self.fail_table and self.failures_left != 0
            if fail and self.failures_left > 0:
                self.failures_left -= 1
        if fail:
            raise self.error(f"injected fault writing {table.name}")
        if table.name == self.shrink_table and isinstance(source, RowsSource):
            source = RowsSource(_cut(source.rows, 0.3))
        return self.inner.replace(table, days, source, max_shrink=max_shrink, force=force)

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        return self.inner.query(sql, params, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()


class BrokenQueries:
    """A warehouse whose every query raises (what the gate's validator sees)."""

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.queries = 0

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        self.inner.ensure_tables(tables)

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False) -> WriteResult:
        raise AssertionError("the gate never writes")

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        self.queries += 1
        raise TransientError("injected: warehouse unreachable")

    def close(self) -> None:
        self.inner.close()


def _cut(rows: Sequence[Mapping[str, Any]], keep: float) -> list[Mapping[str, Any]]:
    by_day: dict[Any, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(r["game_date"], []).append(r)
    return [r for day_rows in by_day.values() for r in day_rows[: int(len(day_rows) * keep)]]


# -- homes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season generated once for this module (a bucket folder)."""
    from backcourt.sample import generate_season

    root = tmp_path_factory.mktemp("faults-sample") / "bucket"
    generate_season(FolderBucket(root), SEASON)
    return root


def _copy_window(src: Path, dst: Path, days: Sequence[date]) -> None:
    """Copy the schedule and the raw files of ``days`` from one bucket folder to another."""
    shutil.copytree(src / RAW / "nbacom_schedule", dst / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in days:
            folder = src / RAW / source / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, dst / RAW / source / day.isoformat())


@pytest.fixture
def home(sample_bucket: Path, tmp_path: Path) -> Path:
    """A fresh home whose bucket holds the sample files of the window's dates."""
    root = tmp_path / "home"
    _copy_window(sample_bucket, load_settings(root, env={}).local.bucket_path, [D1, D2])
    return root


def _services(home: Path, warehouse: Warehouse) -> Services:
    settings = load_settings(home, env={})
    cfg = settings.local
    return Services(settings, warehouse=warehouse, status=SqliteStatusStore(cfg.status_path),
                    bucket=FolderBucket(cfg.bucket_path), clock=SystemClock())


@pytest.fixture
def faulty(home: Path) -> Iterator[tuple[Services, FaultyWarehouse]]:
    wh = FaultyWarehouse(DuckDBWarehouse(load_settings(home, env={}).local.warehouse_path))
    s = _services(home, wh)
    yield s, wh
    s.close()


def _rows(wh: Warehouse, table: str, day: date) -> int:
    fqn = registry.get(table).table.fqn if table in registry.BY_NAME else table
    got = wh.query(f"SELECT COUNT(*) AS n FROM {fqn} WHERE game_date = @d", {"d": day})
    return int(got[0]["n"])


# -- write faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("failures", [1, 2])
def test_transient_write_fault_is_retried_until_it_succeeds(
        faulty: tuple[Services, FaultyWarehouse], failures: int) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left = TARGET, failures
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == failures + 1  # both dates are one unit: one write per round
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error) == (State.SUCCEEDED, failures + 1, None)
        assert _rows(wh, TARGET, day) > 0
        other = s.status.get("player_boxscores", day)
        assert other is not None and (other.state, other.attempts) == (State.SUCCEEDED, 1)


def test_persistent_transient_fault_fails_after_three_attempts_until_retry_failed(
        faulty: tuple[Services, FaultyWarehouse], home: Path) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left = TARGET, -1
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == MAX_ATTEMPTS == 3
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error_kind) == (State.FAILED, 3, "transient")
        assert st.error and "injected fault" in st.error
        assert _rows(wh, TARGET, day) == 0
    # A later backfill leaves failed dates alone: no new write, no new attempt.
    again = Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == 3
    assert not again.did_work
    st = s.status.get(TARGET, D1)
    assert st is not None and (st.state, st.attempts) == (State.FAILED, 3)
    s.close()

    out = CliRunner().invoke(cli.app, ["--home", str(home), "retry-failed", "--season", SEASON,
                                       "--processor", TARGET])
    assert out.exit_code == 0, out.output
    assert "re-armed 2 failed date(s)" in " ".join(out.output.split())

    healthy = FaultyWarehouse(DuckDBWarehouse(load_settings(home, env={}).local.warehouse_path))
    s2 = _services(home, healthy)
    try:
        st = s2.status.get(TARGET, D1)
        assert st is not None and (st.state, st.attempts) == (State.PENDING, 0)
        Runner(s2).backfill([SEASON], [Phase.RAW], WINDOW)
        assert healthy.calls[TARGET] == 1  # only the re-armed processor ran
        assert healthy.calls["player_boxscores"] == 0
        for day in (D1, D2):
            st = s2.status.get(TARGET, day)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 1)
            assert _rows(healthy, TARGET, day) > 0
    finally:
        s2.close()


def test_terminal_write_fault_fails_at_once(faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left, wh.error = TARGET, -1, TerminalError
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == 1
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error_kind) == (State.FAILED, 1, "terminal")


# -- the gate fails closed -------------------------------------------------------------------


def test_validator_error_blocks_every_date_and_phase_3_never_runs(
        faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    runner = Runner(s)
    broken = BrokenQueries(s.warehouse)
    runner.gate = Gate(broken, s.status, s.settings.thresholds)
    result = runner.backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)

    assert broken.queries >= 1
    assert result.stopped_at is Phase.RAW
    # Phase 3 is visited only to record its dates as blocked: no unit runs, no gate.
    assert [p.phase for p in result.phases] == [Phase.RAW, Phase.ANALYTICS]
    assert result.phases[1].units_run == 0 and not result.phases[1].verdicts
    for day in (D1, D2):
        st = s.status.get("player_game_summary", day)
        assert st is not None and st.state is State.BLOCKED, st
    raw = result.phases[0].verdicts
    assert set(raw) == {D1, D2}
    for day in (D1, D2):
        assert raw[day].verdict is Verdict.BLOCK
        assert any("validator error" in r for r in raw[day].reasons), raw[day].reasons
    stored = {v.game_date: v for v in s.status.verdicts(Phase.RAW.value, D1, D2)}
    assert {d: v.verdict for d, v in stored.items()} == {D1: Verdict.BLOCK, D2: Verdict.BLOCK}
    # Phase 3 wrote nothing and holds no rows.
    assert not any(wh.calls[t] for t in PHASE3)
    for t in PHASE3:
        assert _rows(wh, f"nba_analytics.{t}", D1) == 0

    # Asking for phase 3 alone: every date is blocked by the upstream verdict, nothing runs.
    alone = Runner(s).backfill([SEASON], [Phase.ANALYTICS], WINDOW)
    assert not alone.did_work
    assert not any(wh.calls[t] for t in PHASE3)
    for proc in registry.of_phase(Phase.ANALYTICS):
        for day in (D1, D2):
            st = s.status.get(proc.name, day)
            assert st is not None and st.state is State.BLOCKED, (proc.name, day, st)
            assert st.reason and "upstream gate" in st.reason and "validator error" in st.reason


def test_a_validator_error_does_not_block_forever_once_the_warehouse_is_back(
        faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    runner = Runner(s)
    runner.gate = Gate(BrokenQueries(s.warehouse), s.status, s.settings.thresholds)
    assert runner.backfill([SEASON], [Phase.RAW], WINDOW).stopped_at is Phase.RAW
    # The outage is over: the same command with a working gate validates again and goes on.
    result = Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)
    assert result.stopped_at is None
    assert {v.verdict for v in result.phases[0].verdicts.values()} <= {Verdict.PASS,
                                                                        Verdict.WARN}
    st = s.status.get("player_game_summary", D1)
    assert st is not None and st.state is State.SUCCEEDED


# -- the shrink guard ------------------------------------------------------------------------


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
            return _rows(wh, table.fqn, day)

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
    before = _rows(wh, "player_boxscores", D1)
    assert before > 0
    wh.shrink_table = "player_boxscores"  # the source now yields 30 % of each date's rows
    s.status.mark_stale("player_boxscores", [D1])
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    st = s.status.get("player_boxscores", D1)
    assert st is not None
    assert (st.state, st.reason) == (State.DEGRADED, "shrink_refused")
    assert st.error and str(before) in st.error
    assert _rows(wh, "player_boxscores", D1) == before
    # --force writes the smaller output.
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW, force=True)
    assert _rows(wh, "player_boxscores", D1) < before * 0.5
