"""SqliteStatusStore: what only SQLite has (schema, WAL, locking, multi-process races).

The behaviour shared with the Firestore store (state machine, leases, attempts, seed, verdicts,
runs) is in tests/contract/test_status_store.py, parametrized over both stores.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.domain.errors import TerminalError, TransientError
from backcourt.domain.status import PartitionStatus, State

P = "player_game_summary"
D = date(2025, 1, 15)
T0 = datetime(2025, 1, 16, 4, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStatusStore]:
    s = SqliteStatusStore(tmp_path / "status.sqlite")
    yield s
    s.close()


def days(n: int, first: date = D) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


# -- the file itself -------------------------------------------------------------------------


def test_schema_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "status.sqlite"
    store = SqliteStatusStore(path)
    store.seed(P, [D], [])
    store.close()
    with pytest.raises(TerminalError, match="closed"):
        store.get(P, D)
    raw = sqlite3.connect(path)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"partitions", "verdicts", "runs"} <= tables
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2  # 2: the cancelled state
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    again = SqliteStatusStore(path)
    assert again.get(P, D) == PartitionStatus(P, D, State.PENDING)
    again.close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 7")
    raw.close()
    with pytest.raises(TerminalError, match="schema version 7"):
        SqliteStatusStore(path)


def test_locked_database_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "status.sqlite"
    store = SqliteStatusStore(path, busy_timeout_s=0.05)
    store.seed(P, [D], [])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(TransientError, match="locked"):
        store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=T0)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=T0) is not None
    store.close()


# -- a real race: 8 threads and 2 processes on the same 50 partitions ----------------------------

RACE_DAYS = days(50)


def _grab_all(store: SqliteStatusStore, owner: str, reverse: bool) -> list[date]:
    order = list(reversed(RACE_DAYS)) if reverse else RACE_DAYS
    return [d for d in order
            if store.acquire(P, d, owner=owner, run_id="race", ttl=timedelta(hours=1), now=T0)]


def _race_process(path: str, owner: str, reverse: bool, barrier: Any, out: Any) -> None:
    store = SqliteStatusStore(Path(path))
    barrier.wait(timeout=30)
    out.put((owner, _grab_all(store, owner, reverse)))
    store.close()


def test_threads_and_processes_acquire_each_partition_once(tmp_path: Path) -> None:
    path = tmp_path / "status.sqlite"
    store = SqliteStatusStore(path)
    store.seed(P, RACE_DAYS, [])
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_race_process, args=(str(path), f"proc{i}", i == 1, barrier, out))
             for i in range(2)]
    for proc in procs:
        proc.start()
    go, won = threading.Event(), {}

    def thread_main(owner: str, reverse: bool) -> None:
        go.wait(timeout=30)
        won[owner] = _grab_all(store, owner, reverse)

    threads = [threading.Thread(target=thread_main, args=(f"thread{i}", i % 2 == 1))
               for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        barrier.wait(timeout=30)  # both processes are up and about to start
    finally:
        go.set()
    for _ in procs:
        owner, got = out.get(timeout=30)
        won[owner] = got
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 10
    winners = [(d, owner) for owner, got in won.items() for d in got]
    assert sorted(d for d, _ in winners) == RACE_DAYS  # every partition exactly once
    docs = {d.game_date: d for d in store.list([P], RACE_DAYS[0], RACE_DAYS[-1])}
    assert all(docs[d].lease_owner == owner and docs[d].attempts == 1 for d, owner in winners)
    store.close()
