"""Incident: workers killed mid-run, hung leases and hand-restarted backfills (LESSONS #4, #12;
R4.3, R12.2/R12.3). Acceptance (§5): "Kill a step mid-run → the lease expires, the date is
retried, and there are no duplicates."

    "Backfills had to be killed and restarted by hand."  "A processor stuck "running" for 4 h
    blocked downstream work."  "The coordinator was killed at 540 s mid-load, so predictions
    were never dispatched."

Guarded here, with real processes killed by SIGKILL (never a simulated exception):

* the local runner (``backcourt backfill``) killed at a random moment mid-run: the rerun
  releases the dead process's leases (its pid is gone), retries those dates and ends exactly
  like a clean run — no lost dates, no duplicate keys, the same rows;
* a cloud-style worker (``process_message``, lease owner ``host:execution``, no pid to check)
  killed inside the warehouse write or after it committed but before finishing its lease: a
  redelivery while the lease is live leaves the date alone; once the lease has expired the
  next plan retries it (attempt 2), and the warehouse holds each row once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faults import (
    HERE,
    duplicate_keys,
    new_home,
    resume_after_lease_expiry,
    rows,
    services_on,
)

from backcourt.bootstrap import OffsetClock, build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import date_range
from backcourt.domain.errors import TransientError
from backcourt.domain.messages import parse_message
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.calendar import games_between, season_calendar
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW

pytestmark = pytest.mark.local

SEASON = "2024-25"
START, END = date(2024, 10, 22), date(2024, 11, 11)  # the season's first three weeks
WINDOW = Window(START, END)
PHASES = [Phase.RAW, Phase.ANALYTICS]
ENV = {"BACKCOURT_CHUNK_DAYS": "2"}
PROCS = [p for p in registry.PROCESSORS if p.phase in PHASES]
NAMES = tuple(p.name for p in PROCS)


def _states(status_file: Path) -> dict[tuple[bool, str], int]:
    """Phase-2/3 partitions by (is the schedule processor, state), read read-only."""
    if not status_file.exists():
        return {}
    marks = ", ".join("?" for _ in NAMES)
    try:
        con = sqlite3.connect(f"file:{status_file}?mode=ro", uri=True, timeout=0.2)
        try:
            found = con.execute(f"SELECT processor = 'schedule', state, COUNT(*) FROM partitions "
                                f"WHERE processor IN ({marks}) GROUP BY 1, 2", NAMES).fetchall()
        finally:
            con.close()
    except sqlite3.Error:  # not created yet, or busy for a moment
        return {}
    return {(bool(sched), str(state)): int(n) for sched, state, n in found}


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
        found = s.warehouse.query(f"SELECT * FROM {t.fqn} WHERE game_date BETWEEN @s AND @e",
                                  {"s": START, "e": END})
        out[t.name] = sorted(
            (tuple(round(v, 6) if isinstance(v, float) else v for v in r.values())
             for r in found), key=repr)
    return out


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
    window_days = list(date_range(START, END))
    clean = new_home(sample_bucket, tmp_path / "clean", window_days)
    _run(clean)

    code: int | None = None
    pid = 0
    seen: dict[tuple[bool, str], int] = {}
    for attempt in range(3):  # the kill must land while a partition is leased
        home = new_home(sample_bucket, tmp_path / f"crashed-{attempt}", window_days)
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
        assert duplicate_keys(crashed.warehouse, NAMES) == dict.fromkeys(NAMES, 0)
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


# -- a cloud-style worker: only lease expiry can free its dates --------------------------------

D1, D2 = date(2024, 10, 22), date(2024, 10, 23)  # opening week: no earlier history to read
TEAM = "team_offense_game_summary"
PHASE3 = [p.name for p in registry.of_phase(Phase.ANALYTICS)]


def _start_doomed(home: Path, marker: Path, where: str, body: str,
                  log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(HERE / "faults.py"), "worker", str(home), str(marker), TEAM,
             where, body], env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_hung(proc: subprocess.Popen[bytes], marker: Path, home: Path, log: Path) -> None:
    """Until the worker holds the leases of TEAM and is hung in its write."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        if marker.exists() and _running(home) == 2:
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the doomed worker never reached its write:\n" + log.read_text()[-3000:])


def _running(home: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{home / 'status.sqlite'}?mode=ro", uri=True, timeout=0.2)
        try:
            got = con.execute("SELECT COUNT(*) FROM partitions WHERE processor = ? AND "
                              "state = 'running'", (TEAM,)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return int(got[0])


@pytest.mark.parametrize("where", ["in_write", "after_write"])
def test_killed_worker_lease_expires_then_the_date_is_retried(
        make_home: Callable[..., Path], tmp_path: Path, where: str) -> None:
    home = make_home([D1, D2])
    s = services_on(home)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(D1, D2))
        games = games_between(s.warehouse, D1, D2)
        (unit,), = protocol.plan_phase(s, "3", start=D1, end=D2, run_id="doomed-run")["waves"]
    finally:
        s.close()
    body = json.dumps(unit)
    marker, log = tmp_path / "hung", tmp_path / "worker.log"
    proc = _start_doomed(home, marker, where, body, log)
    try:
        _wait_hung(proc, marker, home, log)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    clock = OffsetClock()
    s = services_on(home, clock=clock)
    try:
        written = {} if where == "in_write" else json.loads(marker.read_text())
        for day in (D1, D2):
            st = s.status.get(TEAM, day)
            assert st is not None and (st.state, st.attempts) == (State.RUNNING, 1), st
            assert st.lease_owner and st.lease_owner.endswith(":doomed")
            # killed inside the transaction: nothing; after the commit: the rows, once
            assert rows(s.warehouse, TEAM, day) == written.get(day.isoformat(), 0)

        # Pub/Sub redelivers the message while the lease is still live: the dead worker's
        # dates are left alone, the rest of the message is done, and what reads the dead
        # worker's output waits: the message asks to be redelivered again.
        msg = parse_message(body.encode())
        with pytest.raises(TransientError, match=r"\d date.s. wait for their inputs: "
                                                 "player_game_summary"):
            protocol.process_message(s, msg, execution_id="redelivery-1")
        for day in (D1, D2):
            st = s.status.get(TEAM, day)
            assert st is not None and st.state is State.RUNNING
            defense = s.status.get("team_defense_game_summary", day)
            assert defense is not None and defense.state is State.SUCCEEDED
        assert protocol.progress(s, "3", D1, D2)["finished"] is False

        # The lease runs out (nobody renews it): the next plan retries the dates.
        resume_after_lease_expiry(s, clock, "3", D1, D2, TEAM)
        assert protocol.progress(s, "3", D1, D2)["finished"] is True
        for day in (D1, D2):
            st = s.status.get(TEAM, day)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 2), st
            assert rows(s.warehouse, TEAM, day) == 2 * len(games[day])
            for name in PHASE3:
                doc = s.status.get(name, day)
                assert doc is not None and doc.state is State.SUCCEEDED, (name, doc)
        assert duplicate_keys(s.warehouse, PHASE3) == dict.fromkeys(PHASE3, 0)
        gate = protocol.validate(s, "3", D1, D2)
        assert gate["verdict"] in (Verdict.PASS.value, Verdict.WARN.value), gate
    finally:
        s.close()
