"""The StatusStore port on a SQLite file (the embedded default; Firestore in the cloud).

Tables: ``partitions`` (one row per processor and game_date), ``verdicts`` (append-only gate
history) and ``runs`` (one row per run_id). Datetimes are stored as ISO-8601 UTC text with a fixed
format, so text order is time order. The schema version lives in ``PRAGMA user_version``.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from backcourt.domain import transitions as tr
from backcourt.domain.errors import BadInput, TerminalError, TransientError
from backcourt.domain.status import GateVerdict, Outcome, PartitionStatus, RunRecord, State, Verdict

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: the ``cancelled`` state joined the partitions CHECK constraint
_COLUMNS = tuple(f.name for f in fields(PartitionStatus))
_TIMES = frozenset({"lease_expires_at", "started_at", "finished_at"})
_DOC = f"SELECT {', '.join(_COLUMNS)} FROM partitions"
"""The partition columns in ``_COLUMNS`` order (``_decode`` reads them by position)."""
_DATE_AT, _STATE_AT = _COLUMNS.index("game_date"), _COLUMNS.index("state")
_TIMES_AT = tuple(i for i, name in enumerate(_COLUMNS) if name in _TIMES)
_STATE_OF = {s.value: s for s in State}
_STATES = ", ".join(f"'{s.value}'" for s in State)


def _partitions_ddl(name: str) -> str:
    """CREATE TABLE of the partition documents (the CHECK lists every State)."""
    return f"""CREATE TABLE IF NOT EXISTS {name} (
        processor TEXT NOT NULL, game_date TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ({_STATES})), attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT, lease_expires_at TEXT, run_id TEXT, started_at TEXT, finished_at TEXT,
        rows_written INTEGER, expected_rows INTEGER, error_kind TEXT, error TEXT, reason TEXT,
        code_version TEXT, verdict TEXT, PRIMARY KEY (processor, game_date)) WITHOUT ROWID"""


_INDEXES = (
    "CREATE INDEX IF NOT EXISTS partitions_lease ON partitions (state, lease_expires_at)",
    "CREATE INDEX IF NOT EXISTS partitions_date ON partitions (game_date, processor)",
)
_SCHEMA = (
    _partitions_ddl("partitions"),
    *_INDEXES,
    """CREATE TABLE IF NOT EXISTS verdicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT, phase TEXT NOT NULL, game_date TEXT NOT NULL,
        verdict TEXT NOT NULL, reasons TEXT NOT NULL, metrics TEXT NOT NULL, run_id TEXT,
        decided_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS verdicts_phase_date ON verdicts (phase, game_date)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL,
        who TEXT NOT NULL, scope TEXT NOT NULL, state TEXT NOT NULL, finished_at TEXT,
        summary TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at)",
)
_PUT = (f"INSERT OR REPLACE INTO partitions ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
_RUN_UPSERT = """INSERT INTO runs (run_id, command, started_at, who, scope, state, finished_at,
    summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET
    command = excluded.command, started_at = excluded.started_at, who = excluded.who,
    scope = excluded.scope, state = excluded.state, finished_at = excluded.finished_at,
    summary = excluded.summary"""

_RUN_CLAIM = """INSERT INTO runs (run_id, command, started_at, who, scope, state, finished_at,
    summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING"""


def _iso(moment: datetime | None, what: str = "datetime") -> str | None:
    """Fixed-format UTC text of an aware datetime (None stays None)."""
    if moment is None:
        return None
    return tr.require_aware(moment, what).astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    """The aware datetime stored as ``text``."""
    return None if text is None else datetime.fromisoformat(text)


def _encode(name: str, value: Any) -> Any:
    """One PartitionStatus field as a SQLite value."""
    if name in _TIMES:
        return _iso(value, name)
    if isinstance(value, State):
        return value.value
    return value.isoformat() if isinstance(value, date) else value


def _decode(row: Sequence[Any]) -> PartitionStatus:
    """A ``partitions`` row, selected by ``_DOC`` (columns in ``_COLUMNS`` order), as a
    document."""
    values = list(row)
    values[_DATE_AT] = date.fromisoformat(values[_DATE_AT])
    values[_STATE_AT] = _STATE_OF.get(values[_STATE_AT]) or State(values[_STATE_AT])
    for at in _TIMES_AT:
        if values[at] is not None:
            values[at] = datetime.fromisoformat(values[at])
    return PartitionStatus(*values)


def _json(text: str) -> Any:
    """Stored JSON text as Python values: orjson, or the standard parser for what orjson
    refuses (``json.dumps`` may write NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _run(row: sqlite3.Row) -> RunRecord:
    """A ``runs`` row as a run record."""
    return RunRecord(row["run_id"], row["command"], datetime.fromisoformat(row["started_at"]),
                     row["who"], row["scope"], row["state"], _time(row["finished_at"]),
                     json.loads(row["summary"]))


def _in(column: str, values: Sequence[str] | None) -> tuple[str, list[str]]:
    """An ``AND column IN (...)`` clause and its parameters; empty when ``values`` is None."""
    if values is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' for _ in values)})", list(values)


class SqliteStatusStore:
    """StatusStore on a SQLite file, safe for many threads and several processes at once.

    One connection per thread, WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` around every
    read-modify-write so a lease is a compare-and-set. A locked database is a TransientError.
    ``acquire`` never creates a document: the planner seeds first, and an absent document means
    "not planned" (None is returned). The transition rules live in ``backcourt.domain.transitions``.
    """

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # -- connections and transactions ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise TerminalError(f"status store {self.path.name} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._guard:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked, busy, I/O: retrying may help
            raise TransientError(f"status store {self.path.name}: {exc}") from exc
        except sqlite3.Error as exc:
            raise TerminalError(f"status store {self.path.name}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        with self._errors():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self._errors():
            return self._conn().execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._errors():
            self._conn().execute("PRAGMA journal_mode = WAL")
        with self._tx() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise TerminalError(f"status store {self.path} has schema version {version}, "
                                    f"newer than this code's {SCHEMA_VERSION}")
            if version < SCHEMA_VERSION:
                if version == 1:  # rebuild partitions: SQLite cannot alter a CHECK constraint
                    conn.execute(_partitions_ddl("partitions_v2"))
                    conn.execute("INSERT INTO partitions_v2 SELECT * FROM partitions")
                    conn.execute("DROP TABLE partitions")
                    conn.execute("ALTER TABLE partitions_v2 RENAME TO partitions")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- partition documents ------------------------------------------------------------------

    @staticmethod
    def _put(conn: sqlite3.Connection, docs: Iterable[PartitionStatus]) -> int:
        rows = [tuple(_encode(n, getattr(d, n)) for n in _COLUMNS) for d in docs]
        conn.executemany(_PUT, rows)
        return len(rows)

    @staticmethod
    def _fetch(conn: sqlite3.Connection, processor: str, game_date: date) -> PartitionStatus | None:
        row = conn.execute(f"{_DOC} WHERE processor = ? AND game_date = ?",
                           (processor, game_date.isoformat())).fetchone()
        return None if row is None else _decode(row)

    @staticmethod
    def _fetch_many(conn: sqlite3.Connection, processor: str,
                    days: set[date]) -> dict[date, PartitionStatus]:
        if not days:
            return {}
        rows = conn.execute(
            f"{_DOC} WHERE processor = ? AND game_date BETWEEN ? AND ?",
            (processor, min(days).isoformat(), max(days).isoformat())).fetchall()
        docs = (_decode(r) for r in rows)
        return {d.game_date: d for d in docs if d.game_date in days}

    def _rewrite(self, processor: str, dates: Sequence[date],
                 change: Callable[[PartitionStatus], PartitionStatus | None]) -> int:
        """Apply ``change`` to the existing documents of ``dates`` in one transaction."""
        with self._tx() as conn:
            docs = self._fetch_many(conn, processor, set(dates)).values()
            return self._put(conn, [n for n in map(change, docs) if n is not None])

    def seed(self, processor: str, expected: Sequence[date], not_expected: Sequence[date]) -> None:
        if not processor:
            raise BadInput("seed needs a processor name")
        tr.check_seed(expected, not_expected)
        plan = [(d, True) for d in expected] + [(d, False) for d in not_expected]
        with self._tx() as conn:
            have = self._fetch_many(conn, processor, {d for d, _ in plan})
            new = (tr.seed_partition(have.get(d), processor, d, expected=e) for d, e in plan)
            self._put(conn, [n for n in new if n is not None])

    def acquire(self, processor: str, game_date: date, *, owner: str, run_id: str,
                ttl: timedelta, now: datetime, last: bool = False) -> PartitionStatus | None:
        tr.require_aware(now)
        tr.require_ttl(ttl)
        with self._tx() as conn:
            new = tr.take_lease(self._fetch(conn, processor, game_date), owner=owner,
                                run_id=run_id, ttl=ttl, now=now, last=last)
            if new is not None:
                self._put(conn, [new])
        return new if tr.granted(new, owner) else None

    def renew(self, processor: str, game_date: date, owner: str, ttl: timedelta,
              now: datetime) -> bool:
        tr.require_aware(now)
        tr.require_ttl(ttl)
        with self._tx() as conn:
            new = tr.renew_lease(self._fetch(conn, processor, game_date), owner, ttl, now)
            if new is not None:
                self._put(conn, [new])
        return new is not None

    def finish(self, processor: str, game_date: date, owner: str, outcome: Outcome,
               now: datetime) -> PartitionStatus:
        tr.require_aware(now)
        with self._tx() as conn:
            new = tr.finish_lease(self._fetch(conn, processor, game_date), owner, outcome, now)
            self._put(conn, [new])
        return new

    def release_expired(self, now: datetime, dead_owners: Sequence[str] = ()) -> int:
        dead = sorted(set(dead_owners))
        sql = (f"{_DOC} WHERE state = 'running' AND (lease_expires_at IS NULL "
               f"OR lease_expires_at <= ? OR lease_owner IN ({', '.join('?' for _ in dead)}))")
        with self._tx() as conn:
            docs = [_decode(r) for r in conn.execute(sql, [_iso(now, "now"), *dead]).fetchall()]
            new = [tr.release_lease(d, now, dead) for d in docs]
            changed = self._put(conn, [n for n in new if n is not None])
        if changed:
            logger.info("released %d expired or orphaned leases", changed)
        return changed

    def reset(self, processor: str, dates: Sequence[date], states: Sequence[State]) -> int:
        wanted = frozenset(State(s) for s in states)
        return self._rewrite(processor, dates, lambda d: tr.reset_partition(d, wanted))

    def mark_stale(self, processor: str, dates: Sequence[date]) -> int:
        return self._rewrite(processor, dates, tr.stale_partition)

    def cancel(self, processor: str, dates: Sequence[date], reason: str) -> int:
        if not reason:
            raise BadInput("cancel needs a reason (who cancelled which run)")
        return self._rewrite(processor, dates, lambda d: tr.cancel_partition(d, reason))

    def annotate(self, processor: str, game_date: date, state: State, reason: str) -> None:
        with self._tx() as conn:
            current = self._fetch(conn, processor, game_date)
            self._put(conn, [tr.annotate_partition(current, processor, game_date, state, reason)])

    def get(self, processor: str, game_date: date) -> PartitionStatus | None:
        with self._errors():
            return self._fetch(self._conn(), processor, game_date)

    def list(self, processors: Sequence[str] | None, start: date,
             end: date) -> list[PartitionStatus]:
        tr.require_range(start, end)
        where, names = _in("processor", processors)
        sql = f"{_DOC} WHERE game_date BETWEEN ? AND ?{where} ORDER BY 1, 2"
        return [_decode(r) for r in self._read(sql, [start.isoformat(), end.isoformat(), *names])]

    def counts(self, processors: Sequence[str] | None, start: date,
               end: date) -> dict[tuple[str, State], int]:
        tr.require_range(start, end)
        where, names = _in("processor", processors)
        sql = (f"SELECT processor, state, COUNT(*) FROM partitions WHERE game_date BETWEEN ? AND ?"
               f"{where} GROUP BY processor, state")
        rows = self._read(sql, [start.isoformat(), end.isoformat(), *names])
        return {(r[0], State(r[1])): int(r[2]) for r in rows}

    # -- gate verdicts and runs -----------------------------------------------------------------

    def record_verdict(self, verdict: GateVerdict) -> None:
        self.record_verdicts([verdict])

    def record_verdicts(self, verdicts: Sequence[GateVerdict]) -> None:
        rows = [(v.phase, v.game_date.isoformat(), Verdict(v.verdict).value,
                 json.dumps(list(v.reasons)), json.dumps(v.metrics, default=str),
                 v.run_id, _iso(v.decided_at, "decided_at")) for v in verdicts]
        if not rows:
            return
        with self._tx() as conn:
            conn.executemany("INSERT INTO verdicts (phase, game_date, verdict, reasons, metrics, "
                             "run_id, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def verdicts(self, phase: str | None, start: date, end: date) -> builtins.list[GateVerdict]:
        tr.require_range(start, end)
        where, names = _in("phase", None if phase is None else [phase])
        sql = f"SELECT * FROM verdicts WHERE game_date BETWEEN ? AND ?{where} ORDER BY id"
        return [
            GateVerdict(r["phase"], date.fromisoformat(r["game_date"]), Verdict(r["verdict"]),
                        tuple(_json(r["reasons"])), _json(r["metrics"]), r["run_id"],
                        _time(r["decided_at"]))
            for r in self._read(sql, [start.isoformat(), end.isoformat(), *names])
        ]

    def record_run(self, run: RunRecord) -> None:
        summary = json.dumps(run.summary, default=str)
        row = (run.run_id, run.command, _iso(run.started_at, "started_at"), run.who, run.scope,
               run.state, _iso(run.finished_at, "finished_at"), summary)
        with self._tx() as conn:
            conn.execute(_RUN_UPSERT, row)

    def claim_run(self, run: RunRecord) -> bool:
        summary = json.dumps(run.summary, default=str)
        row = (run.run_id, run.command, _iso(run.started_at, "started_at"), run.who, run.scope,
               run.state, _iso(run.finished_at, "finished_at"), summary)
        with self._tx() as conn:
            cur = conn.execute(_RUN_CLAIM, row)
            return bool(cur.rowcount)

    def runs(self, limit: int = 50) -> builtins.list[RunRecord]:
        if limit < 0:
            raise BadInput(f"runs limit must be >= 0, got {limit}")
        sql = "SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?"
        return [_run(r) for r in self._read(sql, [limit])]

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._read("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return _run(rows[0]) if rows else None

    def close(self) -> None:
        with self._guard:
            self._closed = True
            for conn in self._conns:
                conn.close()
            self._conns.clear()
