"""Operations on the embedded default: retry-failed filters, cancelling a running backfill from
another thread (it stops after the unit in flight, a rerun resumes), cancelling a cloud
execution through a stand-in Executions client, and invalidate (the plan then shows exactly the
invalidated dates, and a backfill recomputes exactly those)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backcourt import cli
from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.calendar import ScheduledGame, build_calendar
from backcourt.domain.registry import DateType, Phase
from backcourt.domain.status import Outcome, RunRecord, State
from backcourt.ports import Services
from backcourt.services import backfill as bf
from backcourt.services import runs
from backcourt.services.plan import Window, invalidation
from backcourt.sources.layout import RAW, SOURCES
from sample_cache import cached_season

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAYS = [date(2024, 10, 22) + timedelta(days=i) for i in range(7)]  # the first week
W = Window(DAYS[0], DAYS[-1])
WINDOW_ARGS = ["--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat()]
T0 = datetime(2025, 1, 1, tzinfo=UTC)
BROKEN = Outcome(State.FAILED, error_kind="terminal", error="injected: column not found")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season, generated once per test run (a bucket folder, read only)."""
    return cached_season(tmp_path_factory, SEASON)


@pytest.fixture
def home(sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home whose bucket holds the schedule and the sample files of DAYS."""
    root = tmp_path / "home"
    bucket = load_settings(root, env={}).local.bucket_path
    shutil.copytree(sample / RAW / "nbacom_schedule", bucket / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in DAYS:
            if (sample / RAW / source / day.isoformat()).is_dir():
                shutil.copytree(sample / RAW / source / day.isoformat(),
                                bucket / RAW / source / day.isoformat())
    for name in ("BACKCOURT_CHUNK_DAYS", "BACKCOURT_WORKERS", "BACKCOURT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return root


def services(home: Path, **env: str) -> Services:
    return build(load_settings(home, env=env))


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(cli.app, ["--home", str(home), *args])


def backfill(home: Path, phases: list[Phase]) -> bf.BackfillResult:
    s = services(home)
    try:
        result = bf.Runner(s).backfill([SEASON], phases, W)
        assert result.stopped_at is None
        return result
    finally:
        s.close()


def states(home: Path, names: list[str]) -> dict[tuple[str, date], State]:
    s = services(home)
    try:
        return {(d.processor, d.game_date): d.state for d in s.status.list(names, DAYS[0],
                                                                           DAYS[-1])}
    finally:
        s.close()


# -- retry-failed ------------------------------------------------------------------------------


def _fail(s: Services, name: str, days: list[date]) -> None:
    s.status.seed(name, days, [])
    s.status.mark_stale(name, days)
    for d in days:
        assert s.status.acquire(name, d, owner="t", run_id="r", ttl=timedelta(minutes=5),
                                now=T0)
        s.status.finish(name, d, "t", BROKEN, T0)


def test_retry_failed_re_arms_only_failed_dates_of_the_chosen_processor_or_phase(
        home: Path) -> None:
    backfill(home, [Phase.RAW])
    targets = {"player_props": Phase.RAW, "team_offense_game_summary": Phase.ANALYTICS,
               "player_game_summary": Phase.ANALYTICS}
    s = services(home)
    try:
        for name in targets:
            _fail(s, name, DAYS[1:3])
    finally:
        s.close()
    names = [*targets, "player_boxscores"]

    def failed() -> set[str]:
        return {p for (p, _), st in states(home, names).items() if st is State.FAILED}

    out = invoke(home, "retry-failed", "--season", SEASON, "--processor",
                 "team_offense_game_summary")
    assert out.exit_code == 0, out.output
    assert "re-armed 2 failed date(s)" in out.output
    assert failed() == {"player_props", "player_game_summary"}
    after = states(home, ["team_offense_game_summary"])
    assert [after[("team_offense_game_summary", d)] for d in DAYS[1:3]] == [State.PENDING] * 2

    out = invoke(home, "retry-failed", "--season", SEASON, "--phase", "3")
    assert "re-armed 2 failed date(s)" in out.output
    assert failed() == {"player_props"}
    bad = invoke(home, "retry-failed", "--season", SEASON, "--phase", "3", "--processor",
                 "player_props")
    assert bad.exit_code != 0 and "phase 2, not 3" in str(bad.exception)
    out = invoke(home, "retry-failed", "--season", SEASON)
    assert "re-armed 2 failed date(s)" in out.output
    assert failed() == set()
    assert states(home, ["player_boxscores"])[("player_boxscores", DAYS[0])] is State.SUCCEEDED


def test_retry_failed_marks_later_dates_computed_over_the_hole_stale(home: Path) -> None:
    """A later date's lookback read the failed date's missing rows: once the hole is re-armed,
    those later dates must be recomputed too, or they keep values built over the hole."""
    backfill(home, [Phase.RAW, Phase.ANALYTICS])
    hole = DAYS[2]
    s = services(home)
    try:
        _fail(s, "player_game_summary", [hole])
    finally:
        s.close()
    out = invoke(home, "retry-failed", "--season", SEASON, "--processor", "player_game_summary")
    assert out.exit_code == 0, out.output
    assert "re-armed 1 failed date(s)" in out.output  # the hole only, not what is now stale
    assert states(home, ["player_game_summary"])[("player_game_summary", hole)] is State.PENDING
    ctx = states(home, ["upcoming_player_game_context", "player_boxscores"])
    game_days = sorted(d for (p, d) in ctx if p == "upcoming_player_game_context")
    before = [d for d in game_days if d < hole]
    after = [d for d in game_days if d > hole]
    assert after, "the window must have game dates after the hole"
    assert {ctx[("upcoming_player_game_context", d)] for d in after} == {State.PENDING}
    assert {ctx[("upcoming_player_game_context", d)] for d in before} == {State.SUCCEEDED}
    assert {st for (p, _), st in ctx.items() if p == "player_boxscores"} == {State.SUCCEEDED}


def test_ingesting_a_late_file_marks_its_date_and_later_lookbacks_stale(
        home: Path, tmp_path: Path) -> None:
    backfill(home, [Phase.RAW, Phase.ANALYTICS])
    day = DAYS[2]
    bucket = load_settings(home, env={}).local.bucket_path
    box = sorted((bucket / RAW / "nbacom_boxscore" / day.isoformat()).glob("*.json"))[0]
    late = tmp_path / box.name
    shutil.copy(box, late)
    out = invoke(home, "ingest", str(late))
    assert out.exit_code == 0, out.output
    assert f"from {day} on marked for" in " ".join(out.output.split())
    ctx = states(home, ["upcoming_player_game_context", "player_game_summary"])
    later = {st for (p, d), st in ctx.items() if p == "upcoming_player_game_context" and d > day}
    earlier = {st for (p, d), st in ctx.items() if d < day}
    assert later == {State.PENDING}
    assert ctx[("player_game_summary", day)] is State.PENDING
    assert earlier == {State.SUCCEEDED}


# -- cancel, embedded default ----------------------------------------------------------------


class _PauseAfterFirstRawUnit(bf.Progress):
    """Blocks the runner after its first phase-2 unit (not the schedule) until released."""

    def __init__(self) -> None:
        self.first_done = threading.Event()
        self.release = threading.Event()
        self.done: list[str] = []

    def unit_done(self, phase: Phase, processor: str, dates: int) -> None:
        self.done.append(processor)
        if processor != "schedule" and not self.first_done.is_set():
            self.first_done.set()
            assert self.release.wait(60), "the test never released the runner"


def test_cancel_stops_a_running_backfill_after_the_unit_in_flight_and_a_rerun_resumes(
        home: Path) -> None:
    env = {"BACKCOURT_CHUNK_DAYS": "2", "BACKCOURT_WORKERS": "1"}
    runner_services = services(home, **env)
    progress = _PauseAfterFirstRawUnit()
    run_id = bf.new_run_id()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = bf.Runner(runner_services, progress).backfill(
                [SEASON], [Phase.RAW, Phase.ANALYTICS], W, run_id=run_id)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="backfill")
    thread.start()
    try:
        assert progress.first_done.wait(60), outcome
        out = invoke(home, "cancel", run_id)  # the operator, from another thread
        assert out.exit_code == 0, out.output
        assert "cancel requested" in out.output
    finally:
        progress.release.set()
        thread.join(60)
        runner_services.close()
    assert not thread.is_alive() and "error" not in outcome, outcome
    result: bf.BackfillResult = outcome["result"]
    who = f"@{socket.gethostname()}"
    assert result.cancelled_by is not None and result.cancelled_by.endswith(who)
    ran = [r for r in progress.done if r != "schedule"]
    assert len(ran) == 1  # the unit in flight finished; nothing started after the request
    first = ran[0]
    assert [p.phase for p in result.phases] == [Phase.RAW]  # phase 3 never started
    # 6 raw processors × 4 units (7 dates in units of 2), minus the one that ran
    assert result.cancelled_units == 23

    raw = [p.name for p in registry.of_phase(Phase.RAW) if p.name != "schedule"]
    got = states(home, raw)
    done = {(first, d) for d in DAYS[:2]}  # its first unit: 2 dates, in date order
    assert {k for k, v in got.items() if v is State.SUCCEEDED} == done
    assert {k for k, v in got.items() if v is State.CANCELLED} == {
        (p, d) for p in raw for d in DAYS} - done
    s = services(home)
    try:
        record = s.status.get_run(run_id)
        assert record is not None and record.state == "cancelled"
        assert record.summary["cancelled_by"] == result.cancelled_by
        doc = s.status.get(raw[-1], DAYS[-1])
        assert doc is not None and doc.reason == f"cancelled by {result.cancelled_by} " \
                                                 f"(run {run_id})"
        phases = {p.value for p in Phase}  # no phase gate: the phase did not finish
        assert not [v for v in s.status.verdicts(None, DAYS[0], DAYS[-1])
                    if v.run_id == run_id and v.phase in phases]
    finally:
        s.close()

    # The plan re-arms the cancelled dates; a rerun runs exactly those, then phase 3.
    planned = invoke(home, "plan", "--season", SEASON, "--phase", "2", *WINDOW_ARGS, "--json")
    assert planned.exit_code == 0, planned.output
    to_run = {(p["processor"], date.fromisoformat(d))
              for p in json.loads(planned.stdout)["phases"][0]["processors"] for d in p["dates"]}
    assert to_run == {(p, d) for p in raw for d in DAYS} - done
    again = invoke(home, "backfill", "--season", SEASON, "--phase", "2", "--phase", "3",
                   *WINDOW_ARGS)
    assert again.exit_code == 0, again.output
    final = states(home, raw + [p.name for p in registry.of_phase(Phase.ANALYTICS)])
    assert set(final.values()) == {State.SUCCEEDED} and len(final) == 11 * 7
    s = services(home)
    try:
        kept = s.status.get(first, DAYS[0])
        assert kept is not None and kept.run_id == run_id  # not recomputed
    finally:
        s.close()


def test_cancel_names_the_problem_for_unknown_finished_and_orphaned_runs(home: Path) -> None:
    s = services(home)
    try:
        s.status.record_run(RunRecord("run-done", "backfill", T0, "me@here", "x", "succeeded",
                                      T0))
        s.status.record_run(RunRecord("run-live", "backfill", T0, "me@here", "x"))
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        s.status.record_run(RunRecord("run-orphan", "backfill", T0, "me@here", "x",
                                      summary={"owner": f"{socket.gethostname()}:{dead.pid}"}))
    finally:
        s.close()
    unknown = invoke(home, "cancel", "run-nope")
    assert unknown.exit_code != 0
    assert "no run 'run-nope'" in str(unknown.exception) and "run-live" in str(unknown.exception)
    finished = invoke(home, "cancel", "run-done")
    assert "already finished (succeeded)" in str(finished.exception)
    orphan = invoke(home, "cancel", "run-orphan")
    assert orphan.exit_code == 0 and "its process is gone" in orphan.output
    s = services(home)
    try:
        record = s.status.get_run("run-orphan")
        assert record is not None and record.state == "cancelled"
        assert record.finished_at is not None
    finally:
        s.close()


def test_a_run_whose_process_died_is_recorded_failed_by_the_next_backfill(home: Path) -> None:
    """A SIGKILLed run cannot record its own end; the next run closes its record."""
    s = services(home)
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        owner = f"{socket.gethostname()}:{dead.pid}"
        s.status.record_run(RunRecord("run-killed", "backfill", T0, "me@here", "x",
                                      summary={"owner": owner}))
        s.status.record_run(RunRecord("run-alive", "backfill", T0, "me@here", "x",
                                      summary={"owner": f"{socket.gethostname()}:{os.getpid()}"}))
        bf.Runner(s).backfill([SEASON], [Phase.RAW], Window(DAYS[0], DAYS[0]))
        killed, alive = s.status.get_run("run-killed"), s.status.get_run("run-alive")
        assert killed is not None and killed.state == "failed"
        assert killed.finished_at is not None and "died" in str(killed.summary.get("note"))
        assert alive is not None and alive.state == "running"
    finally:
        s.close()


V1_PARTITIONS = """CREATE TABLE partitions (
    processor TEXT NOT NULL, game_date TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('not_expected', 'pending', 'running', 'succeeded',
        'degraded', 'blocked', 'failed')), attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT, lease_expires_at TEXT, run_id TEXT, started_at TEXT, finished_at TEXT,
    rows_written INTEGER, expected_rows INTEGER, error_kind TEXT, error TEXT, reason TEXT,
    code_version TEXT, verdict TEXT, PRIMARY KEY (processor, game_date)) WITHOUT ROWID"""


def test_a_version_1_status_file_is_migrated_so_it_can_hold_cancelled(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "status.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(V1_PARTITIONS)
    conn.execute("INSERT INTO partitions (processor, game_date, state, attempts, reason) "
                 "VALUES ('player_props', ?, 'pending', 1, 'stale')", (DAYS[0].isoformat(),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):  # what version 1 would do with the new state
        conn.execute("UPDATE partitions SET state = 'cancelled'")
    conn.close()
    store = SqliteStatusStore(path)
    try:
        doc = store.get("player_props", DAYS[0])
        assert doc is not None and (doc.state, doc.attempts, doc.reason) == (
            State.PENDING, 1, "stale")
        assert store.cancel("player_props", [DAYS[0]], "cancelled by me (run r)") == 1
        assert store.counts(None, DAYS[0], DAYS[0]) == {("player_props", State.CANCELLED): 1}
    finally:
        store.close()
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 2
    finally:
        check.close()


def test_cancel_wait_returns_once_the_run_finished(home: Path) -> None:
    s = services(home)
    try:
        s.status.record_run(RunRecord("run-w", "backfill", T0, "me@here", "x",
                                      summary={"owner": f"{socket.gethostname()}:{os.getpid()}"}))

        def runner_stops() -> None:  # what the runner does when it sees the request
            other = SqliteStatusStore(load_settings(home, env={}).local.status_path)
            try:
                for _ in range(200):
                    run = other.get_run("run-w")
                    if run is not None and run.state == "cancelling":
                        other.record_run(RunRecord("run-w", "backfill", T0, "me@here", "x",
                                                   "cancelled", T0))
                        return
                    threading.Event().wait(0.05)
            finally:
                other.close()

        thread = threading.Thread(target=runner_stops)
        thread.start()
        out = invoke(home, "cancel", "run-w", "--wait", "--timeout", "20")
        thread.join(20)
    finally:
        s.close()
    assert out.exit_code == 0, out.output
    assert "run run-w cancelled" in out.output


# -- cancel, Google Cloud (stand-in Executions client: there is no executions emulator) ----


class _Execution:
    def __init__(self, name: str, state: str, argument: dict[str, Any]) -> None:
        from google.cloud.workflows import executions_v1

        self.name = name
        self.state = executions_v1.Execution.State[state]
        self.argument = json.dumps(argument)


class _Executions:
    """Stand-in of ``executions_v1.ExecutionsClient``: get and cancel, recording the calls."""

    def __init__(self, state: str, argument: dict[str, Any]) -> None:
        self.state, self.argument = state, argument
        self.calls: list[tuple[str, str]] = []

    def get_execution(self, name: str) -> _Execution:
        self.calls.append(("get", name))
        return _Execution(name, self.state, self.argument)

    def cancel_execution(self, name: str) -> _Execution:
        self.calls.append(("cancel", name))
        self.state = "CANCELLED"
        return _Execution(name, self.state, self.argument)


WORKFLOW = "projects/demo/locations/us-central1/workflows/backfill"


@pytest.fixture
def cloud_store(tmp_path: Path) -> Iterator[Services]:
    s = build(load_settings(tmp_path / "cloudish", env={}))
    d1, d2, d3 = DAYS[:3]
    s.status.seed("team_offense_game_summary", [d1, d2, d3], [])
    s.status.seed("player_boxscores", [d1, d2], [])
    s.status.seed("ml_feature_store", [d1], [])  # phase 4: not in the execution's phases
    ttl = timedelta(minutes=5)
    assert s.status.acquire("team_offense_game_summary", d1, owner="w", run_id="exec-1",
                            ttl=ttl, now=datetime.now(UTC))  # in flight: left alone
    assert s.status.acquire("player_boxscores", d2, owner="w", run_id="daily-9", ttl=ttl,
                            now=T0)
    s.status.finish("player_boxscores", d2, "w",
                    Outcome(State.FAILED, error_kind="transient", error="503"), T0)
    yield s  # player_boxscores d2: pending again, but another run's retry
    s.close()


def test_cloud_cancel_cancels_the_execution_and_marks_its_pending_tasks(
        cloud_store: Services) -> None:
    from backcourt.adapters.gcp.workflows_executions import WorkflowStarter

    client = _Executions("ACTIVE", {"start": DAYS[0].isoformat(), "end": DAYS[2].isoformat(),
                                    "phases": ["2", "3"]})
    done = runs.cancel_execution(cloud_store, WorkflowStarter(WORKFLOW, client=client), "exec-1",
                               "ops@laptop")
    name = f"{WORKFLOW}/executions/exec-1"
    assert client.calls == [("get", name), ("cancel", name)]
    assert (done.state_before, done.state_after) == ("ACTIVE", "CANCELLED")
    assert done.cancelled == {"team_offense_game_summary": 2, "player_boxscores": 1}
    got = {(d.processor, d.game_date): (d.state, d.reason)
           for d in cloud_store.status.list(None, DAYS[0], DAYS[2])}
    why = "cancelled by ops@laptop (run exec-1)"
    assert got == {
        ("team_offense_game_summary", DAYS[0]): (State.RUNNING, None),
        ("team_offense_game_summary", DAYS[1]): (State.CANCELLED, why),
        ("team_offense_game_summary", DAYS[2]): (State.CANCELLED, why),
        ("player_boxscores", DAYS[0]): (State.CANCELLED, why),
        ("player_boxscores", DAYS[1]): (State.PENDING, None),
        ("ml_feature_store", DAYS[0]): (State.PENDING, None),
    }
    # A queued work message for a cancelled date does nothing: no lease is granted.
    assert cloud_store.status.acquire("player_boxscores", DAYS[0], owner="w2", run_id="exec-1",
                                      ttl=timedelta(minutes=5), now=T0) is None
    record = cloud_store.status.get_run("exec-1")
    assert record is not None and record.state == "cancelled"
    assert record.summary["partitions_cancelled"] == 3


def test_cloud_cancel_of_a_finished_execution_cancels_nothing(cloud_store: Services) -> None:
    from backcourt.adapters.gcp.workflows_executions import WorkflowStarter

    client = _Executions("SUCCEEDED", {"season": SEASON})
    done = runs.cancel_execution(cloud_store, WorkflowStarter(WORKFLOW, client=client),
                               f"{WORKFLOW}/executions/exec-2", "ops@laptop")
    assert [c[0] for c in client.calls] == ["get"]
    assert (done.state_after, done.cancelled) == ("SUCCEEDED", {})
    assert cloud_store.status.counts(None, DAYS[0], DAYS[-1]).get(
        ("team_offense_game_summary", State.CANCELLED)) is None
    with pytest.raises(Exception, match="not one of"):
        WorkflowStarter(WORKFLOW, client=client).get(
            "projects/demo/locations/us-central1/workflows/daily/executions/x")


# -- invalidate ------------------------------------------------------------------------------


def test_invalidate_marks_downstream_within_lookback_plan_shows_it_backfill_recomputes_it(
        home: Path) -> None:
    first = backfill(home, [Phase.RAW, Phase.ANALYTICS])
    d2, d3 = DAYS[1], DAYS[2]
    out = invoke(home, "invalidate", "team_boxscores", "--start", d2.isoformat(), "--end",
                 d3.isoformat())
    assert out.exit_code == 0, out.output
    # Readers of team_boxscores on the same date, and the 10-game context reading team
    # offense: every later date of the window (each team's 10th next game is past it).
    expected = {"team_boxscores": [d2, d3], "team_offense_game_summary": [d2, d3],
                "team_defense_game_summary": [d2, d3], "player_game_summary": [d2, d3],
                "upcoming_player_game_context": DAYS[1:]}
    for name, days in expected.items():
        assert f"{name}: {len(days)} date(s) marked stale" in out.output
    assert "upcoming_team_game_context" not in out.output
    assert f"{sum(len(d) for d in expected.values())} processor-date(s)" in out.output

    planned = invoke(home, "plan", "--season", SEASON, "--phase", "2", "--phase", "3",
                     *WINDOW_ARGS, "--json")
    assert planned.exit_code == 0, planned.output
    to_run = {p["processor"]: [date.fromisoformat(d) for d in p["dates"]]
              for ph in json.loads(planned.stdout)["phases"] for p in ph["processors"]
              if p["dates"]}
    assert to_run == expected

    again = invoke(home, "backfill", "--season", SEASON, "--phase", "2", "--phase", "3",
                   *WINDOW_ARGS)
    assert again.exit_code == 0, again.output
    s = services(home)
    try:
        docs = s.status.list(None, DAYS[0], DAYS[-1])
        rerun = {}
        for doc in docs:
            assert doc.state in (State.SUCCEEDED, State.NOT_EXPECTED), doc
            if doc.run_id not in (None, first.run_id):
                rerun.setdefault(doc.processor, []).append(doc.game_date)
    finally:
        s.close()
    assert rerun == expected


def _league(first: date, last: date) -> list[ScheduledGame]:
    """Two teams playing each other every other day (a toy regular season)."""
    games = []
    day, n = first, 0
    while day <= last:
        n += 1
        games.append(ScheduledGame(f"00224{n:05d}", f"{day:%Y%m%d}_AAA_BBB", day, SEASON,
                                   DateType.REGULAR, "BBB", "AAA"))
        day += timedelta(days=2)
    return games


def test_invalidation_reaches_through_game_and_day_lookbacks_within_the_season() -> None:
    """Spans: N previous games reach each team's N-th next game, N days reach N days later
    (within the season)."""
    cal = build_calendar(SEASON, _league(date(2024, 11, 1), date(2025, 1, 30)))
    d = date(2024, 12, 1)
    got = invalidation(registry.get("player_game_summary"), d, d, [cal])
    expected = cal.expected_dates(registry.get("player_game_summary"))
    assert got["player_game_summary"] == [d]
    assert "team_offense_game_summary" not in got  # upstream, not downstream
    # 365 days of history (the SQL's reach): the rest of the season.
    assert got["upcoming_player_game_context"] == [x for x in expected if x >= d]
    assert got["player_daily_cache"] == [x for x in expected if x >= d]
    assert got["exports"][-1] == cal.end
    ctx = invalidation(registry.get("upcoming_player_game_context"), d, d, [cal])
    # read on its own date only (phase 4 reads the context of the day it runs for)
    assert ctx["player_shot_zone_analysis"] == [d]
    # ...but what reads player_shot_zone_analysis reads it on its own date too, while the
    # predictions' training reads 400 days of the feature store: the rest of the season.
    assert ctx["player_prop_predictions"] == [x for x in expected if x >= d]
    other = build_calendar("2025-26", [])
    assert invalidation(registry.get("player_game_summary"), d, d, [other]) == {}
