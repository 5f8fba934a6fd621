"""Crash recovery: a real ``backcourt backfill`` process is SIGKILLed mid-run; rerunning the same
backfill finishes it, and the warehouse ends exactly as after a clean run of the same window
(no lost dates, no duplicate keys, the same rows)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.bootstrap import Services, build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import date_range
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.services.backfill import Runner
from backcourt.services.calendar import season_calendar
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW, SOURCES

pytestmark = pytest.mark.local

SEASON = "2024-25"
START, END = date(2025, 1, 6), date(2025, 1, 26)  # three weeks of January
WINDOW = Window(START, END)
PHASES = [Phase.RAW, Phase.ANALYTICS]
ENV = {"BACKCOURT_CHUNK_DAYS": "2"}
PROCS = [p for p in registry.PROCESSORS if p.phase in PHASES]
NAMES = tuple(p.name for p in PROCS)


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season generated once for this module (a bucket folder)."""
    from backcourt.sample import generate_season

    root = tmp_path_factory.mktemp("crash-sample") / "bucket"
    generate_season(FolderBucket(root), SEASON)
    return root


def _new_home(sample: Path, root: Path) -> Path:
    """A home whose bucket holds the schedule and the window's raw files."""
    bucket = load_settings(root, env={}).local.bucket_path
    shutil.copytree(sample / RAW / "nbacom_schedule", bucket / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in date_range(START, END):
            folder = sample / RAW / source / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, bucket / RAW / source / day.isoformat())
    return root


def _states(status_file: Path) -> dict[tuple[bool, str], int]:
    """Phase-2/3 partitions by (is the schedule processor, state), read read-only."""
    if not status_file.exists():
        return {}
    marks = ", ".join("?" for _ in NAMES)
    try:
        con = sqlite3.connect(f"file:{status_file}?mode=ro", uri=True, timeout=0.2)
        try:
            rows = con.execute(f"SELECT processor = 'schedule', state, COUNT(*) FROM partitions "
                               f"WHERE processor IN ({marks}) GROUP BY 1, 2", NAMES).fetchall()
        finally:
            con.close()
    except sqlite3.Error:  # not created yet, or busy for a moment
        return {}
    return {(bool(sched), str(state)): int(n) for sched, state, n in rows}


def _mid_run(seen: dict[tuple[bool, str], int]) -> bool:
    """The schedule of the window is loaded, some other partition succeeded, some is leased
    and more are waiting: a good moment for a crash."""
    schedule_left = sum(n for (sched, st), n in seen.items()
                        if sched and st in (State.PENDING.value, State.RUNNING.value))
    succeeded = seen.get((False, State.SUCCEEDED.value), 0)
    running = seen.get((False, State.RUNNING.value), 0)
    pending = seen.get((False, State.PENDING.value), 0)
    return bool(seen) and schedule_left == 0 and succeeded >= 1 and running >= 1 and pending >= 1


def _kill_mid_run(home: Path) -> tuple[int | None, int, dict[tuple[bool, str], int]]:
    """Start the backfill in a real process and SIGKILL it once some partition has succeeded
    while others are still leased or waiting. Returns (exit code, pid, states seen at the
    kill)."""
    env = {**os.environ, **ENV, "COLUMNS": "200"}
    env.pop("BACKCOURT_HOME", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "backcourt", "--home", str(home), "backfill", "--season", SEASON,
         "--start", START.isoformat(), "--end", END.isoformat()],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[tuple[bool, str], int] = {}
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            seen = _states(home / "status.sqlite")
            if _mid_run(seen):
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        proc.wait(timeout=60)
    return proc.returncode, proc.pid, seen


def _open(home: Path) -> Services:
    return build(load_settings(home, env=dict(ENV)))


def _run(home: Path) -> None:
    s = _open(home)
    try:
        result = Runner(s).backfill([SEASON], PHASES, WINDOW)
        assert result.stopped_at is None, [p.verdicts for p in result.phases]
    finally:
        s.close()


def _snapshot(s: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every phase-2/3 table's rows in the window, sorted (floats rounded)."""
    out = {}
    for proc in PROCS:
        t = proc.table
        rows = s.warehouse.query(f"SELECT * FROM {t.fqn} WHERE game_date BETWEEN @s AND @e",
                                 {"s": START, "e": END})
        out[t.name] = sorted(
            (tuple(round(v, 6) if isinstance(v, float) else v for v in r.values())
             for r in rows), key=repr)
    return out


def _duplicate_keys(s: Services) -> dict[str, int]:
    dups = {}
    for proc in PROCS:
        keys = ", ".join(dict.fromkeys(("game_date", *proc.table.key)))
        got = s.warehouse.query(f"SELECT COUNT(*) AS n FROM (SELECT {keys}, COUNT(*) AS c FROM "
                                f"{proc.table.fqn} GROUP BY {keys} HAVING COUNT(*) > 1)")
        dups[proc.name] = int(got[0]["n"])
    return dups


def _not_succeeded(s: Services, cal: SeasonCalendar) -> list[tuple[str, date, str]]:
    """(processor, date, state) of every expected date of the window that did not succeed."""
    bad = []
    for proc in PROCS:
        for day in WINDOW.clip(cal.expected_dates(proc)):
            st = s.status.get(proc.name, day)
            if st is None or st.state is not State.SUCCEEDED:
                bad.append((proc.name, day, st.state.value if st else "absent"))
    return bad


def _box_score_dates(bucket: Path) -> list[date]:
    """Window dates with at least one NBA.com box score file (one per competitive game)."""
    return [d for d in date_range(START, END)
            if any((bucket / RAW / "nbacom_boxscore" / d.isoformat()).glob("*.json"))]


def test_sigkill_mid_backfill_then_rerun_equals_a_clean_run(sample_bucket: Path,
                                                            tmp_path: Path) -> None:
    clean = _new_home(sample_bucket, tmp_path / "clean")
    _run(clean)

    code: int | None = None
    pid = 0
    seen: dict[tuple[bool, str], int] = {}
    for attempt in range(3):  # the kill must land while a partition is leased
        home = _new_home(sample_bucket, tmp_path / f"crashed-{attempt}")
        code, pid, seen = _kill_mid_run(home)
        left = _states(home / "status.sqlite")
        if code == -signal.SIGKILL and left.get((False, State.RUNNING.value)):
            break
    assert code == -signal.SIGKILL, f"the backfill finished before the kill ({code}, {seen})"
    assert _mid_run(seen), seen

    # What the crash left: leases of the dead process, and its run record still "running".
    after_kill = _open(home)
    try:
        leftover = [st for st in after_kill.status.list(list(NAMES), START, END)
                    if st.state is State.RUNNING]
        runs = after_kill.status.runs()
    finally:
        after_kill.close()
    assert leftover, "the kill left no leased partition (nothing to recover)"
    assert {st.lease_owner for st in leftover} == {f"{socket.gethostname()}:{pid}"}
    assert [r.state for r in runs] == ["running"]

    # The same backfill again, in this process: it releases the dead leases and finishes.
    _run(home)

    crashed, fresh = _open(home), _open(clean)
    try:
        cal = season_calendar(fresh.warehouse, SEASON)
        competitive = WINDOW.clip(cal.expected_dates(registry.get("player_game_summary")))
        assert competitive == _box_score_dates(load_settings(clean, env={}).local.bucket_path)
        assert _not_succeeded(fresh, cal) == []
        assert _not_succeeded(crashed, cal) == []
        assert not [st for st in crashed.status.list(None, START, END)
                    if st.state is State.RUNNING]
        assert _duplicate_keys(crashed) == dict.fromkeys(NAMES, 0)
        want, got = _snapshot(fresh), _snapshot(crashed)
        assert all(len(v) > 0 for v in want.values()), {k: len(v) for k, v in want.items()}
        assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in want.items()}
        assert got == want
        # A date leased by the killed process spent one attempt there and one in the rerun.
        for st in crashed.status.list(list(NAMES), START, END):
            assert st.attempts <= 2, st
    finally:
        crashed.close()
        fresh.close()


def test_a_partly_loaded_schedule_is_completed_by_a_wider_backfill(sample_bucket: Path,
                                                                  tmp_path: Path) -> None:
    home = _new_home(sample_bucket, tmp_path / "partial")
    s = _open(home)
    try:
        narrow = Window(date(2025, 1, 14), date(2025, 1, 15))
        Runner(s).backfill([SEASON], [Phase.RAW], narrow)  # loads the schedule of 2 dates
        Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
        got = s.warehouse.query("SELECT DISTINCT game_date FROM nba_raw.player_boxscores "
                                "ORDER BY game_date")
        assert [r["game_date"] for r in got] == _box_score_dates(s.settings.local.bucket_path)
    finally:
        s.close()
