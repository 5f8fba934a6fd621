"""``backcourt plan`` and ``backfill --max-cost``: the plan is what the runner would do and
changes nothing; its cost comes from dry runs priced at on-demand rates.

BigQuery's dry-run figures are the recorded ones of ``tests/fixtures/dry_run_bytes.json``, fed
through a stand-in of the dry-run port only (the warehouse itself is the real DuckDB one). The
expected dollars below are worked out by hand from the pricing rules: bytes rounded up to the
MiB, at least 10 MiB per referenced table, 6.25 USD per TiB (2**40 bytes).
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backcourt import cli
from backcourt.adapters.local.bucket import FolderBucket
from backcourt.bootstrap import build
from backcourt.commands import common
from backcourt.config import Settings, load_settings
from backcourt.domain import registry
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import Phase
from backcourt.ports import Services, Warehouse
from backcourt.services.backfill import Runner
from backcourt.services.cost import MIB, TIB, billed_bytes, tables_referenced, usd
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW, SOURCES, schedule_path
from backcourt.sql import load_sql
from sample_cache import cached_season

pytestmark = pytest.mark.local

SEASON = "2024-25"
FIRST, LAST = date(2024, 10, 22), date(2024, 10, 28)  # the first 7 days of the sample season
W = Window(FIRST, LAST)
RECORDED = json.loads((Path(__file__).resolve().parents[1] / "fixtures"
                       / "dry_run_bytes.json").read_text())["bytes"]
PHASE3 = [p.name for p in registry.of_phase(Phase.ANALYTICS)]
WINDOW_ARGS = ["--start", FIRST.isoformat(), "--end", LAST.isoformat()]


class RecordedDryRuns:
    """The real warehouse plus a ``dry_run`` that answers the recorded figure of the
    processor whose SQL it is given, and records what it was asked."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.supports_transactions = inner.supports_transactions
        self.by_sql = {load_sql(name): name for name in RECORDED}
        self.calls: list[tuple[str, date, date]] = []

    def dry_run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        name = self.by_sql[sql]
        p = dict(params or {})
        self.calls.append((name, p["start_date"], p["end_date"]))
        return int(RECORDED[name])

    def __getattr__(self, name: str) -> Any:  # ensure_tables, replace, query, close
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def phase2_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose window W went through phase 2 (the sample files of W only)."""
    sample = cached_season(tmp_path_factory, SEASON)  # read only
    home = tmp_path_factory.mktemp("plan-home") / "home"
    bucket = load_settings(home, env={}).local.bucket_path
    shutil.copytree(sample / RAW / "nbacom_schedule", bucket / RAW / "nbacom_schedule")
    for source in SOURCES:
        for folder in (sample / RAW / source).glob("2024-10-2[2-8]"):
            shutil.copytree(folder, bucket / RAW / source / folder.name)
    s = build(load_settings(home, env={}))
    try:
        result = Runner(s).backfill([SEASON], [Phase.RAW], W)
        assert result.stopped_at is None
    finally:
        s.close()
    return home


@pytest.fixture
def home(phase2_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the phase-2 home; units of at most 4 dates (W = 2 units)."""
    copy = tmp_path / "home"
    shutil.copytree(phase2_home, copy)
    monkeypatch.setenv("BACKCOURT_CHUNK_DAYS", "4")
    monkeypatch.delenv("BACKCOURT_PRICE_PER_TIB_USD", raising=False)
    return copy


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RecordedDryRuns]]:
    """Make the CLI's warehouse answer dry runs with the recorded figures."""
    made: list[RecordedDryRuns] = []

    def build_with_dry_runs(settings: Settings) -> Services:
        s = build(settings)
        wh = RecordedDryRuns(s.warehouse)
        made.append(wh)
        return replace(s, warehouse=wh)

    monkeypatch.setattr(common, "build", build_with_dry_runs)  # what open_services builds with
    yield made


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(cli.app, ["--home", str(home), *args])


def _snapshot(home: Path) -> tuple[Any, ...]:
    s = build(load_settings(home, env={}))
    try:
        start, end = date(2024, 10, 1), date(2025, 6, 30)
        docs = s.status.list(None, start, end)
        counts = [s.warehouse.query(f"SELECT COUNT(*) AS n FROM {p.table.fqn}")[0]["n"]
                  for p in registry.PROCESSORS]
        return docs, s.status.runs(), s.status.verdicts(None, start, end), counts
    finally:
        s.close()


# -- the arithmetic -------------------------------------------------------------------------


def test_billed_bytes_round_up_to_the_mib_with_10_mib_per_referenced_table() -> None:
    assert billed_bytes(0, 3) == 30 * MIB  # nothing scanned still bills the minimum
    assert billed_bytes(1, 1) == 10 * MIB
    assert billed_bytes(25 * MIB + 1, 2) == 26 * MIB  # above the minimum: whole MiBs
    assert billed_bytes(TIB, 8) == TIB
    assert billed_bytes(5 * MIB, 0) == 10 * MIB  # the per-query minimum
    with pytest.raises(ValueError):
        billed_bytes(-1, 1)


def test_usd_is_tib_times_the_price() -> None:
    assert usd(3 * TIB, 6.25) == 18.75
    assert usd(TIB // 4, 6.25) == 1.5625
    assert usd(10 * MIB, 6.25) == pytest.approx(5.9604644775390625e-05)


def test_tables_referenced_counts_distinct_tables_not_ctes() -> None:
    sql = ("WITH a AS (SELECT * FROM nba_raw.x) SELECT * FROM a "
           "JOIN nba_raw.y USING (k) JOIN nba_raw.x AS x2 USING (k)")
    assert tables_referenced(sql) == 2
    assert tables_referenced(load_sql("team_offense_game_summary")) == 2


# -- plan ------------------------------------------------------------------------------------


def test_plan_prices_every_sql_unit_from_the_recorded_dry_runs(
        home: Path, recorded: list[RecordedDryRuns]) -> None:
    out = invoke(home, "plan", "--season", SEASON, "--phase", "3", *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    procs = {p["processor"]: p for ph in plan["phases"] for p in ph["processors"]}
    assert set(procs) == set(PHASE3)
    # Two units per processor (4 + 3 dates), each dry-run once with its own dates.
    asked = sorted(recorded[-1].calls)
    assert asked == sorted((n, date.fromisoformat(u["start"]), date.fromisoformat(u["end"]))
                           for n in PHASE3 for u in procs[n]["units"])
    assert len(asked) == 10
    for name in PHASE3:
        cost = procs[name]["cost"]
        assert (cost["kind"], cost["queries"]) == ("sql", 2)
        assert cost["scanned_bytes"] == 2 * RECORDED[name]
    # Every recorded figure is below its minimum: 10 MiB × tables (2, 2, 3, 4, 8) × 2 units.
    assert [procs[n]["cost"]["billed_bytes"] // MIB for n in PHASE3] == [40, 40, 60, 80, 160]
    assert plan["cost"]["usd"] == pytest.approx(380 / 2**20 * 6.25)  # 0.0022651…
    assert plan["cost"]["scanned_bytes"] == 2 * sum(RECORDED[n] for n in PHASE3)
    assert plan["cost"]["dry_run"] is True and plan["cost"]["price_per_tib_usd"] == 6.25


def test_price_per_tib_is_a_setting(home: Path, recorded: list[RecordedDryRuns],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKCOURT_PRICE_PER_TIB_USD", "5")
    out = invoke(home, "plan", "--season", SEASON, "--phase", "3", *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["cost"]["usd"] == pytest.approx(380 / 2**20 * 5)


def test_loaders_are_free_and_python_processors_are_named_as_not_estimated(
        home: Path, recorded: list[RecordedDryRuns]) -> None:
    out = invoke(home, "plan", "--season", SEASON, "--force", *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    procs = {p["processor"]: p for ph in plan["phases"] for p in ph["processors"]}
    box = procs["player_boxscores"]["cost"]
    assert (box["kind"], box["scanned_bytes"], box["usd"]) == ("loader", 0, 0.0)
    predictions = procs["player_prop_predictions"]
    assert predictions["to_run"] > 0 and predictions["cost"]["usd"] is None
    assert "player_prop_predictions" in plan["cost"]["unestimated"]
    assert "exports" in plan["cost"]["unestimated"]


def test_the_embedded_default_has_no_bytes_and_says_so(home: Path) -> None:
    out = invoke(home, "plan", "--season", SEASON, "--phase", "3", *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    assert plan["cost"]["dry_run"] is False
    assert plan["cost"]["usd"] is None and plan["cost"]["scanned_bytes"] is None
    assert "unknown" in plan["cost"]["note"]
    cost = plan["phases"][0]["processors"][0]["cost"]
    assert cost["scanned_bytes"] is None and "DuckDB" in cost["note"]
    text = invoke(home, "plan", "--season", SEASON, "--phase", "3", *WINDOW_ARGS)
    assert "bytes are unknown (not 0)" in " ".join(text.output.split())


def test_plan_changes_nothing_and_backfill_then_runs_exactly_the_plan(home: Path) -> None:
    before = _snapshot(home)
    out = invoke(home, "plan", "--season", SEASON, "--phase", "2", "--phase", "3",
                 *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    assert _snapshot(home) == before
    plan = json.loads(out.stdout)
    phase2, phase3 = plan["phases"]
    assert phase2["to_run"] == 0 and phase3["depends_on"] is None
    planned = {p["processor"]: p["dates"] for p in phase3["processors"]}
    assert all(len(days) == 7 for days in planned.values()), planned

    ran = invoke(home, "backfill", "--season", SEASON, "--phase", "2", "--phase", "3",
                 *WINDOW_ARGS)
    assert ran.exit_code == 0, ran.output
    s = build(load_settings(home, env={}))
    try:
        run_id = s.status.runs(1)[0].run_id
        done: dict[str, list[str]] = {}
        for doc in s.status.list(None, FIRST, LAST):
            if doc.run_id == run_id:
                done.setdefault(doc.processor, []).append(doc.game_date.isoformat())
    finally:
        s.close()
    assert done == planned


def test_an_empty_home_has_no_plan_it_names_the_missing_schedule(tmp_path: Path) -> None:
    """Issue 14 #1: without a schedule file the season's dates are unknown; planning them (as
    no games) is refused, naming the file and the command that loads it."""
    out = invoke(tmp_path / "empty", "plan", "--season", SEASON, "--phase", "2", *WINDOW_ARGS)
    assert out.exit_code != 0
    message = " ".join(str(out.exception).split())
    assert f"raw/nbacom_schedule/{SEASON}/scheduleLeagueV2.json" in message
    assert "backcourt ingest" in message


def test_a_home_with_only_the_schedule_file_plans_it_and_says_what_waits_for_it(
        tmp_path: Path) -> None:
    home = tmp_path / "schedule-only"
    gz = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
    FolderBucket(load_settings(home, env={}).local.bucket_path).write(
        schedule_path(SEASON), gzip.decompress(gz.read_bytes()))
    out = invoke(home, "plan", "--season", SEASON, "--phase", "2", "--phase", "3",
                 *WINDOW_ARGS, "--json")
    assert out.exit_code == 0, out.output
    phase2, phase3 = json.loads(out.stdout)["phases"]
    schedule, *others = phase2["processors"]
    # The schedule is season-grain: a window that needs it loads the whole season, as one
    # unit, so the calendar a lookback reads is whole and never half loaded.
    first, last = season_bounds(SEASON)
    assert schedule["processor"] == "schedule"
    assert schedule["to_run"] == (last - first).days + 1
    assert len(schedule["units"]) == 1
    assert all(p["to_run"] == 0 and "schedule" in p["depends_on"] for p in others)
    assert phase3["depends_on"] == "phase 2 gate"


# -- backfill --max-cost -------------------------------------------------------------------


def test_max_cost_refuses_an_over_budget_plan_before_anything_runs(
        home: Path, recorded: list[RecordedDryRuns]) -> None:
    before = _snapshot(home)
    out = invoke(home, "backfill", "--season", SEASON, "--phase", "3", *WINDOW_ARGS,
                 "--max-cost", "0.002")
    assert out.exit_code == 2, out.output
    message = " ".join(out.stderr.split())
    assert "refusing to start" in message
    assert "$0.0023" in message and "--max-cost $0.0020" in message
    assert _snapshot(home) == before  # no run record, no status change, no rows


def test_max_cost_lets_a_plan_within_budget_run(
        home: Path, recorded: list[RecordedDryRuns]) -> None:
    out = invoke(home, "backfill", "--season", SEASON, "--phase", "3", *WINDOW_ARGS,
                 "--max-cost", "0.01")
    assert out.exit_code == 0, out.output
    assert "within --max-cost $0.0100" in " ".join(out.stderr.split())
    s = build(load_settings(home, env={}))
    try:
        docs = s.status.list(PHASE3, FIRST, LAST)
        assert len(docs) == 35 and {d.state.value for d in docs} == {"succeeded"}
    finally:
        s.close()


def test_max_cost_on_the_embedded_default_is_not_applied_and_says_why(home: Path) -> None:
    out = invoke(home, "backfill", "--season", SEASON, "--phase", "3", *WINDOW_ARGS,
                 "--max-cost", "0")
    assert out.exit_code == 0, out.output
    assert "--max-cost $0.0000 not applied" in " ".join(out.stderr.split())
