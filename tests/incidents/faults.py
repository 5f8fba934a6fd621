"""Fault-injection fakes and helpers shared by the incident tests (LESSONS.md §5).

The fakes wrap the real adapters (DuckDB warehouse, SQLite/Firestore status store, folder
bucket) and inject one kind of fault each; nothing here replaces a library with a mock:

* ``FaultyWarehouse``   the real warehouse with faults in ``replace`` per table (and optionally per
                        date): transient/terminal errors, a genuinely slow SQL source (so the
                        adapter's own query timeout fires), rows cut to a few teams or a fraction,
                        a delay, a worker that hangs (for SIGKILL tests); every write is recorded.
* ``BrokenQueries``     a warehouse whose every query raises (what a failing validator sees).

Run as a script it is the *doomed worker* of the SIGKILL tests: it processes work messages
through ``backcourt.services.protocol.process_message`` and hangs at a chosen point of a write so
the test can kill it there (see ``worker_main``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.bootstrap import OffsetClock, SystemClock
from backcourt.config import Settings, load_settings
from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.schema import Table
from backcourt.ports import (
    Clock,
    RowsSource,
    Services,
    SqlSource,
    StatusStore,
    Warehouse,
    WriteResult,
)
from backcourt.sources.layout import RAW, SOURCES

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES_NBA = REPO / "tests" / "fixtures" / "nba"

SLOW_SQL = ("SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a "
            "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7919) = 13")
"""A genuinely slow query (4·10¹⁰ pairs): DuckDB runs it until the adapter interrupts it."""


def slow(source: SqlSource) -> SqlSource:
    """``source`` made to hang: the same rows, gated on ``SLOW_SQL`` finishing first."""
    return SqlSource(f"SELECT q.* FROM ({source.sql}) AS q WHERE ({SLOW_SQL}) >= 0",
                     source.params)


def cut(rows: Sequence[Mapping[str, Any]], keep: float) -> list[Mapping[str, Any]]:
    """The first ``keep`` fraction of each date's rows."""
    by_day: dict[Any, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_day.setdefault(r["game_date"], []).append(r)
    return [r for day_rows in by_day.values() for r in day_rows[: int(len(day_rows) * keep)]]


class WorkerKilled(BaseException):
    """A worker dying mid-unit (not an ``Exception``: nothing in the runner catches it)."""


@dataclass
class Write:
    """One ``replace`` call that reached the real warehouse."""

    table: str
    days: tuple[date, ...]
    thread: str
    rows: dict[date, int] = field(default_factory=dict)


class FaultyWarehouse:
    """The real warehouse, with faults injected into ``replace`` of chosen tables.

    Attributes set by the test (all off by default):
        fail_table / fail_days / failures_left / error: ``failures_left`` more calls writing
            ``fail_table`` (restricted to calls touching ``fail_days`` when set) raise
            ``error``; negative means every call.
        hang_table / hangs_left: that many calls get a genuinely slow SQL source, so the
            adapter's query timeout interrupts them (a real ``WarehouseTimeout``).
        shrink_table: rows of that table are cut to ``shrink_keep`` of each date's rows.
        teams_table / keep_teams: rows of that table keep only these teams (``team_column``).
        delay_s / delay_table: writes (of ``delay_table`` only, when set) sleep this long
            first, to make concurrent runs overlap.
    """

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.fail_table: str | None = None
        self.fail_days: frozenset[date] = frozenset()
        self.failures_left = 0
        self.error: type[BaseException] = TransientError
        self.hang_table: str | None = None
        self.hangs_left = 0
        self.shrink_table: str | None = None
        self.shrink_keep = 0.3
        self.teams_table: str | None = None
        self.keep_teams: tuple[str, ...] = ()
        self.delay_s = 0.0
        self.delay_table: str | None = None
        self.calls: Counter[str] = Counter()
        self.writes: list[Write] = []
        self._lock = threading.Lock()

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        self.inner.ensure_tables(tables)

    def _fault(self, table: str, days: Sequence[date]) -> tuple[bool, bool]:
        with self._lock:
            self.calls[table] += 1
            fail = (table == self.fail_table and self.failures_left != 0
                    and (not self.fail_days or bool(self.fail_days & set(days))))
            if fail and self.failures_left > 0:
                self.failures_left -= 1
            hang = table == self.hang_table and self.hangs_left > 0
            if hang:
                self.hangs_left -= 1
        return fail, hang

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False, job_key: str | None = None) -> WriteResult:
        fail, hang = self._fault(table.name, days)
        if self.delay_s and self.delay_table in (None, table.name):
            time.sleep(self.delay_s)
        if fail:
            raise self.error(f"injected fault writing {table.name}")
        if hang and isinstance(source, SqlSource):
            source = slow(source)
        if table.name == self.shrink_table and isinstance(source, RowsSource):
            source = RowsSource(cut(source.rows, self.shrink_keep))
        if table.name == self.teams_table:
            source = self._only_teams(table, source)
        result = self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                    job_key=job_key)
        with self._lock:
            self.writes.append(Write(table.name, tuple(sorted(days)),
                                     threading.current_thread().name,
                                     dict(result.rows_by_date)))
        return result

    def _only_teams(self, table: Table, source: SqlSource | RowsSource) -> SqlSource | RowsSource:
        column = next(p.team_column for p in registry.PROCESSORS if p.table.name == table.name)
        if isinstance(source, RowsSource):
            return RowsSource([r for r in source.rows if r[column] in self.keep_teams])
        return SqlSource(f"SELECT q.* FROM ({source.sql}) AS q "
                         f"WHERE q.{column} IN UNNEST(@keep_teams)",
                         {**source.params, "keep_teams": list(self.keep_teams)})

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        return self.inner.query(sql, params, timeout_s=timeout_s)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    timeout_s: float | None = None) -> Any:
        return self.inner.query_arrow(sql, params, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()

    def written(self, table: str) -> list[tuple[date, str]]:
        """(date, thread) of every date a write of ``table`` replaced."""
        return [(d, w.thread) for w in self.writes if w.table == table for d in w.days]


class BrokenGate:
    """The real warehouse, except that the gate's measuring queries raise ``error`` (the
    validator is down or has a bug); processors still read and write."""

    SIGNATURES = ("COUNTIF(", "AS team, COUNT(*)")

    def __init__(self, inner: Warehouse, error: Exception | None = None) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.supports_transactions = inner.supports_transactions
        self.error = error or TransientError("injected: warehouse unreachable")
        self.queries = 0

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        if any(sig in sql for sig in self.SIGNATURES):
            self.queries += 1
            raise self.error
        return self.inner.query(sql, params, timeout_s=timeout_s)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    timeout_s: float | None = None) -> Any:
        if any(sig in sql for sig in self.SIGNATURES):
            self.queries += 1
            raise self.error
        return self.inner.query_arrow(sql, params, timeout_s=timeout_s)

    def __getattr__(self, name: str) -> Any:  # ensure_tables, replace, close
        return getattr(self.inner, name)


class BrokenQueries:
    """A warehouse whose every query raises ``error`` (what the gate's validator sees); with
    ``when``, only the queries whose SQL contains that text raise (the others are answered)."""

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, inner: Warehouse, error: Exception | None = None,
                 when: str | None = None) -> None:
        self.inner = inner
        self.error = error or TransientError("injected: warehouse unreachable")
        self.when = when
        self.queries = 0

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        self.inner.ensure_tables(tables)

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False, job_key: str | None = None) -> WriteResult:
        raise AssertionError("the gate never writes")

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        if self.when is not None and self.when not in sql:
            return self.inner.query(sql, params, timeout_s=timeout_s)
        self.queries += 1
        raise self.error

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    timeout_s: float | None = None) -> Any:
        if self.when is not None and self.when not in sql:
            return self.inner.query_arrow(sql, params, timeout_s=timeout_s)
        self.queries += 1
        raise self.error

    def close(self) -> None:
        self.inner.close()


# -- homes -----------------------------------------------------------------------------------


def copy_window(src: Path, dst: Path, days: Sequence[date]) -> None:
    """Copy the schedule and the raw files of ``days`` from one bucket folder to another."""
    if not (dst / RAW / "nbacom_schedule").exists():
        shutil.copytree(src / RAW / "nbacom_schedule", dst / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in days:
            folder = src / RAW / source / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, dst / RAW / source / day.isoformat(), dirs_exist_ok=True)


def new_home(sample: Path, root: Path, days: Sequence[date]) -> Path:
    """A home folder whose bucket holds the sample schedule and the raw files of ``days``."""
    copy_window(sample, load_settings(root, env={}).local.bucket_path, days)
    return root


def services_on(home: Path, warehouse: Warehouse | None = None, *,
                status: StatusStore | None = None, clock: Clock | None = None,
                env: dict[str, str] | None = None) -> Services:
    """Adapters on ``home`` with an optional wrapped warehouse, status store and clock."""
    settings: Settings = load_settings(home, env=env or {})
    cfg = settings.local
    return Services(settings,
                    warehouse=warehouse or DuckDBWarehouse(
                        cfg.warehouse_path, query_timeout_s=settings.query_timeout_s),
                    status=status or SqliteStatusStore(cfg.status_path),
                    bucket=FolderBucket(cfg.bucket_path), clock=clock or SystemClock())


def faulty_on(home: Path, *, env: dict[str, str] | None = None,
              status: StatusStore | None = None,
              clock: Clock | None = None) -> tuple[Services, FaultyWarehouse]:
    """Adapters on ``home`` whose warehouse is a ``FaultyWarehouse`` on the real DuckDB file."""
    settings = load_settings(home, env=env or {})
    wh = FaultyWarehouse(DuckDBWarehouse(settings.local.warehouse_path,
                                         query_timeout_s=settings.query_timeout_s))
    return services_on(home, wh, status=status, clock=clock, env=env), wh


def rows(wh: Warehouse, table: str, day: date) -> int:
    """Rows of a registry processor's table (or a ``dataset.table``) on one date."""
    fqn = registry.get(table).table.fqn if table in registry.BY_NAME else table
    got = wh.query(f"SELECT COUNT(*) AS n FROM {fqn} WHERE game_date = @d", {"d": day})
    return int(got[0]["n"])


def duplicate_keys(wh: Warehouse, processors: Sequence[str]) -> dict[str, int]:
    """Per processor: how many natural keys appear more than once in its table."""
    out = {}
    for name in processors:
        t = registry.get(name).table
        keys = ", ".join(dict.fromkeys(("game_date", *t.key)))
        got = wh.query(f"SELECT COUNT(*) AS n FROM (SELECT {keys}, COUNT(*) AS c FROM {t.fqn} "
                       f"GROUP BY {keys} HAVING COUNT(*) > 1)")
        out[name] = int(got[0]["n"])
    return out


# -- the Cloud Functions in process (functions-framework test client) -----------------------

FUNCTIONS_SOURCE = str(REPO / "functions" / "main.py")


class Executions:
    """Stands in for the Workflows ExecutionsClient (no emulator exists): records the
    executions ``start_daily`` would start, and lists them back by label as
    ``executions.list``'s ``filter`` does (``labels.KEY="VALUE"`` joined by ``AND``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def create_execution(self, parent: str, execution: Any) -> Any:
        with self.lock:
            self.calls.append((parent, execution))
            execution.name = f"{parent}/executions/exec-{len(self.calls)}"
        return execution

    def list_executions(self, request: Mapping[str, Any]) -> list[Any]:
        want = dict(term.strip().removeprefix("labels.").split("=", 1)
                    for term in str(request.get("filter") or "").split(" AND ") if term)
        want = {k: v.strip('"') for k, v in want.items()}
        with self.lock:
            return [e for parent, e in self.calls if parent == request["parent"]
                    and all(dict(e.labels).get(k) == v for k, v in want.items())]


def resume_after_lease_expiry(services: Services, clock: OffsetClock, phase: str, start: date,
                              end: date, processor: str) -> None:
    """The cloud path's recovery of a killed worker: move the clock past the lease TTL, plan the
    phase again (the plan must hand out ``processor`` once more) and process every unit."""
    from backcourt.domain.messages import parse_message
    from backcourt.services import protocol

    clock.advance(timedelta(seconds=services.settings.lease_ttl_s + 1))
    again = protocol.plan_phase(services, phase, start=start, end=end, run_id="resume")
    units = [u for wave in again["waves"] for u in wave]
    assert units and all(processor in u["processors"] for u in units), again
    for u in units:
        protocol.process_message(services, parse_message(json.dumps(u).encode()),
                              execution_id=f"resume-{u['start_date']}")


def function_client(target: str, kind: str) -> Any:
    """A Flask test client of one entry point of ``functions/main.py`` (http/cloudevent)."""
    import functions_framework

    return functions_framework.create_app(target, source=FUNCTIONS_SOURCE,
                                          signature_type=kind).test_client()


def functions_main() -> Any:
    """The loaded ``functions/main.py`` module (for ``set_services`` and friends)."""
    function_client("plan", "http")
    return next(m for m in list(sys.modules.values())
                if getattr(m, "__file__", None) == FUNCTIONS_SOURCE)


@contextmanager
def installed(services: Services) -> Iterator[Services]:
    """``services`` installed in the functions' runtime for the block (``main.set_services``),
    then removed and closed."""
    main = functions_main()
    main.set_services(services)
    try:
        yield services
    finally:
        main.set_services(None)
        services.close()


def pubsub_event(data: bytes, event_id: str, *, time_: datetime | None = None,
                 attributes: dict[str, str] | None = None) -> tuple[dict[str, str], bytes]:
    """Headers and body of the CloudEvent Eventarc delivers for one Pub/Sub message."""
    import base64

    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    published = (time_ or datetime.now(UTC)).astimezone(UTC)
    stamp = published.isoformat().replace("+00:00", "Z")
    ce = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                     "source": "//pubsub.googleapis.com/projects/demo/topics/work",
                     "id": event_id, "time": stamp},
                    {"message": {"data": base64.b64encode(data).decode(), "messageId": event_id,
                                 "publishTime": stamp, "attributes": attributes or {}},
                     "subscription": "projects/demo/subscriptions/work-push"})
    headers, body = to_structured(ce)
    return dict(headers), body


def deliver(data: bytes, event_id: str) -> int:
    """Deliver one Pub/Sub message to the ``process`` function; its HTTP status."""
    headers, body = pubsub_event(data, event_id)
    reply = function_client("process", "cloudevent").post("/", headers=headers, data=body)
    return int(reply.status_code)


# -- the doomed worker (a real process the SIGKILL tests kill) -------------------------------


def worker_main(argv: Sequence[str]) -> int:
    """``faults.py worker HOME MARKER HANG_TABLE WHERE MESSAGE_JSON [FIRESTORE_PREFIX]``.

    Processes one work message through ``protocol.process_message`` (execution id ``doomed``).
    The write of ``HANG_TABLE`` hangs: ``WHERE=in_write`` runs a slow SQL source inside the
    warehouse transaction (no timeout), ``after_write`` commits the rows and then hangs before
    the lease is finished. ``MARKER`` is created when the hang starts. With a Firestore prefix
    the status store is Firestore (``FIRESTORE_EMULATOR_HOST``), else the home's SQLite file.
    """
    from backcourt.domain.messages import parse_message
    from backcourt.services import protocol

    home, marker, hang_table, where, body = argv[:5]
    prefix = argv[5] if len(argv) > 5 else ""
    settings = load_settings(Path(home), env={})
    inner = DuckDBWarehouse(settings.local.warehouse_path, query_timeout_s=3600)
    status: StatusStore | None = None
    if prefix:
        from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

        status = FirestoreStatusStore(os.environ.get("BACKCOURT_TEST_PROJECT", "incidents"),
                                      collection_prefix=prefix)

    class Doomed(FaultyWarehouse):
        def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource,
                    *, max_shrink: float, force: bool = False,
                    job_key: str | None = None) -> WriteResult:
            if table.name != hang_table:
                return super().replace(table, days, source, max_shrink=max_shrink, force=force,
                                       job_key=job_key)
            if where == "in_write":
                Path(marker).write_text("in_write")
                assert isinstance(source, SqlSource)
                return self.inner.replace(table, days, slow(source), max_shrink=max_shrink)
            result = self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                        job_key=job_key)
            Path(marker).write_text(json.dumps({d.isoformat(): n
                                                for d, n in result.rows_by_date.items()}))
            time.sleep(3600)
            return result

    services = services_on(Path(home), Doomed(inner), status=status)
    protocol.process_message(services, parse_message(body.encode()), execution_id="doomed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit(f"usage: {sys.argv[0]} worker HOME MARKER HANG_TABLE WHERE MESSAGE_JSON [PREFIX]")


def shared_sample_bucket(tmp_path_factory: Any, season: str = "2024-25") -> Path:
    """The sample season (real schedule, synthetic box scores), generated once per test run
    and shared by the xdist workers (``sample_cache.cached_season``). Tests copy from it, never
    write to it."""
    from sample_cache import cached_season  # tests/ is on sys.path under pytest

    return cached_season(tmp_path_factory, season)
