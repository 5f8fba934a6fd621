"""BigQuery warehouse: the Warehouse port on BigQuery, with atomic per-date replaces.

``replace`` runs three jobs, each with a deterministic id derived from ``job_key``:

1. ``…_stage``: stage the new rows in a scratch table ``{dataset}._stage_{table}_{suffix}``
   (a parameterised CTAS for a SqlSource; a CSV load job for a RowsSource: never streaming
   inserts), restricted to ``days``.
2. ``…_count``: one parameterised query returning the old and new row counts per date. The
   shrink guard decides in Python which dates to ``keep``. (A dry count first, then the
   transaction: the table's writer lock (below) keeps anyone else from writing in between.)
3. ``…_tx``: one multi-statement transaction script::

       DECLARE keep ARRAY<DATE> DEFAULT @keep;
       BEGIN TRANSACTION;
       DELETE FROM `p.ds.t` WHERE game_date IN UNNEST(keep);
       INSERT INTO `p.ds.t` (…) SELECT … FROM `p.ds._stage_…` WHERE game_date IN UNNEST(keep);
       COMMIT TRANSACTION;

The scratch table is dropped afterwards (and expires after a day in any case).

Job ids: ``{dataset_prefix}{job_key}_stage`` etc., the key
``{run_id}_{processor}_{start}_{end}_{attempt}`` (``ports.job_key``, passed by
``services.process``; job ids are unique per project, so the prefix keeps deployments that
share a project apart). A write whose ``…_tx`` job already succeeded is not run again: its
``…_count`` result gives the WriteResult. Otherwise BigQuery refuses a second job with an id it
knows (409 Already Exists), so each job is started under the first usable id of ``base``,
``base_1``, ``base_2`` …: on 409 the existing job is awaited; when it succeeded its result is
reused (a staging job only while its scratch table still exists, a count only when the staging
was reused), when it failed the next id is tried. No write commits twice under one key.

Writers: BigQuery cancels the second of two transactions mutating one table at the same time
("Transaction is aborted due to concurrent update against table …"; it does not queue them).
Staging touches only a private scratch table and runs freely; the count and the transaction
run under the table's cross-instance lock (``TableLocks``, Firestore in the cloud; bootstrap
wires it) and a per-process semaphore. An abort that still happens (a lock that expired under a
slow writer, a writer outside backcourt) is retried inside ``replace`` up to ``abort_tries``
times with exponential backoff and full jitter, under a fresh job id each time; only then does
it surface as TransientError (which costs the unit one of its attempts), as does a lock that
stays busy for ``lock_wait_s``. Every job has ``job_timeout_ms``; every query job has
``maximum_bytes_billed``; a job that outlives its timeout is cancelled (WarehouseTimeout).
``script_dates="literal"`` exists only for bqemulator 1.4, which does not bind query parameters
inside multi-statement scripts: it renders the ``keep`` dates (typed ``date`` values only) as
DATE literals in the DECLARE line; the script body is unchanged.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlglot
from google.api_core import exceptions as gexc
from sqlglot import exp

from backcourt.adapters.gcp.errors import is_concurrent_abort, map_gcp_error
from backcourt.adapters.gcp.firestore_locks import held
from backcourt.domain.errors import BadInput, TerminalError, TransientError, WarehouseTimeout
from backcourt.domain.schema import Table
from backcourt.ports import RowsSource, SqlSource, TableLocks, WriteResult, job_key

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

_JOB_ID_BAD = re.compile(r"[^A-Za-z0-9_-]")
_MAX_JOB_ID = 1024
_MAX_KEY = 1000  # room for the ``_stage_7`` style suffixes
_ID_TRIES = 25  # ids tried per job: base, base_1, … (each failed try leaves its id behind)


def job_id(run_id: str, processor: str, start: date, end: date, attempt: int) -> str:
    """The deterministic job key ``{run_id}_{processor}_{start}_{end}_{attempt}``, sanitised."""
    return sanitize_job_id(job_key(run_id, processor, start, end, attempt))


def sanitize_job_id(raw: str) -> str:
    """Replace characters BigQuery refuses in a job id with ``_``; cap at 1,024 characters."""
    if not raw:
        raise BadInput("job id must not be empty")
    return _JOB_ID_BAD.sub("_", raw)[:_MAX_JOB_ID]


@dataclass(frozen=True)
class JobReport:
    """A job's real state as BigQuery reports it (``MISSING`` when it does not exist)."""

    job_id: str
    state: str
    error: str | None = None


def _param(name: str, value: Any) -> Any:
    from google.cloud import bigquery

    if isinstance(value, list | tuple):
        items = list(value)
        kind = _scalar_type(items[0]) if items else "STRING"
        return bigquery.ArrayQueryParameter(name, kind, items)
    return bigquery.ScalarQueryParameter(name, _scalar_type(value), value)


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, str) or value is None:
        return "STRING"
    raise BadInput(f"query parameter of unsupported type {type(value).__name__}: {value!r}")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


class BigQueryWarehouse:
    """Warehouse port on BigQuery; datasets are ``{dataset_prefix}{table.dataset}``."""

    dialect = "bigquery"
    supports_transactions = True

    def __init__(
        self,
        project: str,
        location: str,
        dataset_prefix: str = "",
        *,
        max_bytes_billed: int,
        job_timeout_s: float = 300,
        client_factory: Callable[[], Any] | None = None,
        max_writers_per_table: int = 1,
        script_dates: Literal["param", "literal"] = "param",
        poll_slack_s: float = 5.0,
        api_endpoint: str = "",
        locks: TableLocks | None = None,
        lock_ttl_s: float = 240.0,
        lock_wait_s: float = 240.0,
        abort_tries: int = 5,
        abort_pause_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not project or not location:
            raise BadInput("BigQueryWarehouse needs an explicit project and location")
        if max_bytes_billed <= 0:
            raise BadInput(f"max_bytes_billed must be positive, got {max_bytes_billed}")
        self.project = project
        self.location = location
        self.prefix = dataset_prefix
        self.max_bytes_billed = max_bytes_billed
        self.job_timeout_s = job_timeout_s
        self.script_dates = script_dates
        self.poll_slack_s = poll_slack_s
        self.api_endpoint = api_endpoint
        self._factory = client_factory
        self._client: Any = None
        self._lock = threading.Lock()
        self._max_writers = max_writers_per_table
        self._writers: dict[str, threading.BoundedSemaphore] = {}
        self.locks = locks
        self.lock_ttl = timedelta(seconds=lock_ttl_s)
        self.lock_wait_s = lock_wait_s
        self.abort_tries = abort_tries
        self.abort_pause_s = abort_pause_s
        self.sleep = sleep
        self.aborts_retried = 0
        """Concurrency aborts retried inside ``replace`` since this warehouse was built."""

    # -- client --------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The BigQuery client, created on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._factory() if self._factory else self._default_client()
            return self._client

    def _default_client(self) -> Any:
        """A client on Google's endpoint, or on ``api_endpoint``; a plain ``http://`` endpoint
        is an emulator, reached without credentials."""
        from google.cloud import bigquery

        if not self.api_endpoint:
            return bigquery.Client(project=self.project, location=self.location)
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        anonymous = (AnonymousCredentials()  # type: ignore[no-untyped-call, unused-ignore]
                     if self.api_endpoint.startswith("http://") else None)
        return bigquery.Client(project=self.project, location=self.location,
                               credentials=anonymous,
                               client_options=ClientOptions(api_endpoint=self.api_endpoint))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- names ---------------------------------------------------------------------------
    def dataset_id(self, dataset: str) -> str:
        """``{prefix}{dataset}``."""
        return f"{self.prefix}{dataset}"

    def table_ref(self, dataset: str, name: str) -> str:
        """``project.{prefix}dataset.name`` (unquoted, for API calls)."""
        return f"{self.project}.{self.dataset_id(dataset)}.{name}"

    def _sql_name(self, dataset: str, name: str) -> str:
        return f"`{self.table_ref(dataset, name)}`"

    def qualify(self, sql: str) -> str:
        """Rewrite every ``dataset.table`` of ``sql`` to `` `project.{prefix}dataset.table` ``.

        Tables that already name a project, and unqualified names (CTEs), are left alone.

        Raises:
            TerminalError: the SQL does not parse as BigQuery.
        """
        try:
            trees = sqlglot.parse(sql, read="bigquery")
        except sqlglot.errors.ParseError as exc:
            raise TerminalError(f"SQL does not parse as BigQuery: {exc}") from exc
        out = []
        for tree in trees:
            if tree is None:
                continue
            for tbl in tree.find_all(exp.Table):
                if tbl.args.get("db") is not None and tbl.args.get("catalog") is None:
                    tbl.set("catalog", exp.to_identifier(self.project, quoted=True))
                    tbl.set("db", exp.to_identifier(self.dataset_id(tbl.db), quoted=True))
                    tbl.set("this", exp.to_identifier(tbl.name, quoted=True))
            out.append(tree.sql(dialect="bigquery"))
        if len(out) != 1:
            raise TerminalError(f"expected one SQL statement, got {len(out)}")
        return out[0]

    # -- jobs ----------------------------------------------------------------------------
    def _query_config(self, params: Mapping[str, Any], *, dry_run: bool = False) -> Any:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[_param(k, v) for k, v in params.items()],
            maximum_bytes_billed=self.max_bytes_billed,
            job_timeout_ms=int(self.job_timeout_s * 1000),
            dry_run=dry_run,
            use_query_cache=not dry_run,
        )

    def _run_query(
        self,
        sql: str,
        params: Mapping[str, Any],
        job: str,
        what: str,
        timeout_s: float | None = None,
    ) -> list[dict[str, Any]]:
        try:
            rows, _ = self._query_raw(sql, params, job, timeout_s)
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, what) from exc
        return [dict(r.items()) for r in rows]

    def _query_raw(self, sql: str, params: Mapping[str, Any], job: str,
                   timeout_s: float | None = None,
                   reuse: Callable[[], bool] = lambda: True) -> tuple[Any, bool]:
        """Run a query job under the first usable id of ``job``: its rows, and whether they
        come from a job that had already run. SDK errors are raised as they are."""
        cfg = self._query_config(params)
        if timeout_s is not None:
            cfg.job_timeout_ms = int(timeout_s * 1000)
        return self._submit(job, lambda jid: self.client.query(
            sql, job_config=cfg, job_id=jid, project=self.project, location=self.location,
            job_retry=None), timeout_s, reuse)

    def _submit(self, base: str, start: Callable[[str], Any], timeout_s: float | None,
                reuse: Callable[[], bool] = lambda: True) -> tuple[Any, bool]:
        """Start a job (``start(job_id)``) and wait for its result, under ``base``, ``base_1``…

        On 409 the existing job of that id is awaited: its result is returned when it
        succeeded and ``reuse()`` holds; when it failed (or may not be reused) the next id is
        tried. BigQuery keeps every job id, a failed job's too ("If the BigQuery REST API
        receives a jobs.insert request for a job with the same ID, the REST API fails because
        the job already exists": googleapis.dev/python/bigquery/latest/design/query-retries).
        """
        for n in range(_ID_TRIES):
            job = base if n == 0 else f"{base}_{n}"
            try:
                handle = start(job)
            except gexc.Conflict:
                handle = self.client.get_job(job, project=self.project, location=self.location)
                try:
                    result = self._wait(handle, job, timeout_s)
                except WarehouseTimeout:
                    raise
                except Exception as exc:  # noqa: BLE001 - that run failed; ours is a new job
                    log.info("job %s exists and failed (%s); trying the next id", job, exc)
                    continue
                if reuse():
                    log.info("job %s already ran and succeeded: reusing its result", job)
                    return result, True
                continue
            return self._wait(handle, job, timeout_s), False
        raise TransientError(f"job ids {base} to {base}_{_ID_TRIES - 1} are all taken")

    def _succeeded(self, base: str) -> Any | None:
        """The result of the job of ``base`` (or ``base_1``…) that succeeded, awaiting a
        running one; None when there is none."""
        for n in range(_ID_TRIES):
            job = base if n == 0 else f"{base}_{n}"
            try:
                handle = self.client.get_job(job, project=self.project, location=self.location)
            except gexc.NotFound:
                return None
            try:
                return self._wait(handle, job, None)
            except WarehouseTimeout:
                raise
            except Exception:  # noqa: BLE001 - a failed try; look at the next id
                continue
        return None

    def _wait(self, handle: Any, job: str, timeout_s: float | None) -> Any:
        limit = (timeout_s if timeout_s is not None else self.job_timeout_s) + self.poll_slack_s
        try:
            return handle.result(timeout=limit)
        except (concurrent.futures.TimeoutError, TimeoutError) as exc:
            try:
                self.client.cancel_job(job, project=self.project, location=self.location)
            except Exception as cancel_exc:  # noqa: BLE001 - the timeout is the error to report
                raise WarehouseTimeout(
                    f"job {job} ran past {limit:g} s; cancelling it failed: {cancel_exc}"
                ) from exc
            raise WarehouseTimeout(f"job {job} ran past {limit:g} s and was cancelled") from exc

    def reconcile(self, job: str) -> JobReport:
        """The real state of a job after a restart: PENDING, RUNNING, DONE or MISSING.

        A DONE job that failed carries its error message.
        """
        try:
            handle = self.client.get_job(job, project=self.project, location=self.location)
        except gexc.NotFound:
            return JobReport(job, "MISSING")
        except Exception as exc:
            raise map_gcp_error(exc, f"reconcile {job}") from exc
        err = handle.error_result
        return JobReport(job, str(handle.state), err.get("message") if err else None)

    def dry_run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Bytes the query would process (a dry run: free, nothing runs)."""
        cfg = self._query_config(params or {}, dry_run=True)
        try:
            handle = self.client.query(
                self.qualify(sql), job_config=cfg, project=self.project,
                location=self.location, job_retry=None,
            )
        except Exception as exc:
            raise map_gcp_error(exc, "dry run") from exc
        return int(handle.total_bytes_processed or 0)

    # -- DDL -----------------------------------------------------------------------------
    def ensure_tables(self, tables: Sequence[Table]) -> None:
        """Create what is missing. Existing datasets and tables are only read (``get``): a
        ``create`` needs create permission even when the target exists, and the deployed
        read-only functions (terraform/: plan, progress, validate, status) may only read."""
        from google.cloud import bigquery

        try:
            for ds in sorted({t.dataset for t in tables}):
                dataset = bigquery.Dataset(f"{self.project}.{self.dataset_id(ds)}")
                dataset.location = self.location
                try:
                    self.client.get_dataset(dataset.reference)
                except gexc.NotFound:
                    self.client.create_dataset(dataset, exists_ok=True)
            for table in tables:
                bq_table = self.bq_table(table)
                try:
                    self.client.get_table(bq_table.reference)
                except gexc.NotFound:
                    self.client.create_table(bq_table, exists_ok=True)
        except Exception as exc:
            raise map_gcp_error(exc, "ensure_tables") from exc

    def bq_table(self, table: Table) -> Any:
        """The ``bigquery.Table`` of a declaration: DAY partitions on game_date, clustering,
        REQUIRED modes and descriptions."""
        from google.cloud import bigquery

        schema = [
            bigquery.SchemaField(
                c.name, c.type, mode="REQUIRED" if c.required else "NULLABLE",
                description=c.description,
            )
            for c in table.columns
        ]
        out = bigquery.Table(self.table_ref(table.dataset, table.name), schema=schema)
        out.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field="game_date"
        )
        if table.cluster:
            out.clustering_fields = list(table.cluster)
        if table.description:
            out.description = table.description
        return out

    # -- writes --------------------------------------------------------------------------
    def replace(
        self,
        table: Table,
        days: Sequence[date],
        source: SqlSource | RowsSource,
        *,
        max_shrink: float,
        force: bool = False,
        job_key: str | None = None,
    ) -> WriteResult:
        wanted = sorted(set(days))
        if not wanted:
            return WriteResult({}, {})
        name = sanitize_job_id(job_key)[:_MAX_KEY] if job_key else f"bc_{uuid.uuid4().hex}"
        stage = f"_stage_{table.name}_{name}"[:1000]
        key = sanitize_job_id(self.prefix + name)[:_MAX_KEY] if job_key else name
        counted = self._committed(key) if job_key else None
        if counted is not None:
            log.info("%s: write %s already committed; reusing its jobs", table.fqn, key)
            return _result(wanted, *_split(counted), max_shrink, force)
        try:
            staged_before = self._stage(table, wanted, source, stage, key)
            with self._writer(table) as extend:
                old, new = self._counts(table, wanted, stage, key, reuse=staged_before)
                result = _result(wanted, old, new, max_shrink, force)
                keep = [d for d in wanted if d not in result.refused]
                if keep:
                    if not extend():
                        log.warning("lock on %s expired during the count", table.fqn)
                    self._transaction(table, stage, keep, key)
        finally:
            self._drop(table.dataset, stage)
        return result

    def _committed(self, key: str) -> list[dict[str, Any]] | None:
        """The count rows of this write when its transaction already committed (a retry of a
        write whose worker died after the commit); None otherwise."""
        try:
            if self._succeeded(f"{key}_tx") is None:
                return None
            rows = self._succeeded(f"{key}_count")
            return None if rows is None else [dict(r.items()) for r in rows]
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, f"look up jobs of {key}") from exc

    @contextmanager
    def _writer(self, table: Table) -> Iterator[Callable[[], bool]]:
        """One writer per table: this process's semaphore, then the cross-instance lock
        (when wired). Yields ``extend()``, which renews the lock (True while it is held)."""
        with self._lock:
            local = self._writers.setdefault(
                table.fqn, threading.BoundedSemaphore(self._max_writers))
        if not local.acquire(timeout=self.lock_wait_s):
            raise TransientError(f"table {table.fqn} is being written by this process; "
                                 f"waited {self.lock_wait_s:g} s")
        try:
            if self.locks is None:
                yield lambda: True
                return
            with held(self.locks, self.table_ref(table.dataset, table.name),
                      ttl=self.lock_ttl, wait_s=self.lock_wait_s, sleep=self.sleep) as extend:
                yield extend
        finally:
            local.release()

    def _transaction(self, table: Table, stage: str, keep: list[date], key: str) -> None:
        """Commit the DELETE + INSERT; a concurrency abort is retried here (new job id,
        exponential backoff with full jitter) up to ``abort_tries`` times, not reported."""
        script = self.transaction_script(table, stage, keep)
        params = {"keep": keep} if self.script_dates == "param" else {}
        what = f"replace {table.fqn}"
        for n in range(self.abort_tries):
            try:
                self._query_raw(script, params, f"{key}_tx")
                return
            except WarehouseTimeout:
                raise
            except Exception as exc:
                if not is_concurrent_abort(exc) or n == self.abort_tries - 1:
                    raise map_gcp_error(exc, what) from exc
                self.aborts_retried += 1
                pause = random.uniform(0, self.abort_pause_s * 2 ** n)
                log.warning("%s: transaction aborted by a concurrent update (try %d of %d); "
                            "retrying in %.1f s", what, n + 1, self.abort_tries, pause)
                self.sleep(pause)

    def transaction_script(self, table: Table, stage: str, keep: Sequence[date]) -> str:
        """The DELETE + INSERT transaction for the ``keep`` dates (see the module doc)."""
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        target = self._sql_name(table.dataset, table.name)
        if self.script_dates == "param":
            declare = "DECLARE keep ARRAY<DATE> DEFAULT @keep;"
        else:
            literals = ", ".join(f"DATE '{_typed_date(d).isoformat()}'" for d in keep)
            declare = f"DECLARE keep ARRAY<DATE> DEFAULT [{literals}];"
        return "\n".join([
            declare,
            "BEGIN TRANSACTION;",
            f"DELETE FROM {target} WHERE game_date IN UNNEST(keep);",
            f"INSERT INTO {target} ({cols})",
            f"SELECT {cols} FROM {self._sql_name(table.dataset, stage)}"
            " WHERE game_date IN UNNEST(keep);",
            "COMMIT TRANSACTION;",
        ])

    def _stage(
        self, table: Table, days: list[date], source: SqlSource | RowsSource, stage: str,
        key: str,
    ) -> bool:
        """Fill the scratch table; True when an earlier run of this write had filled it."""
        if isinstance(source, RowsSource):
            return self._load_rows(table, days, source, stage, key)
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        params = {"start_date": days[0], "end_date": days[-1], **source.params, "days": days}
        sql = (
            f"CREATE OR REPLACE TABLE {self._sql_name(table.dataset, stage)} "
            "OPTIONS(expiration_timestamp=TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) "
            f"AS SELECT {cols} FROM ({self.qualify(source.sql)}) AS q "
            "WHERE game_date IN UNNEST(@days)"
        )
        used = {k: v for k, v in params.items() if f"@{k}" in sql}
        cfg = self._query_config(used)
        try:
            _, reused = self._submit(f"{key}_stage", lambda jid: self.client.query(
                sql, job_config=cfg, job_id=jid, project=self.project, location=self.location,
                job_retry=None), None, reuse=lambda: self._exists(table.dataset, stage))
            return reused
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, f"stage {table.fqn}") from exc

    def _exists(self, dataset: str, name: str) -> bool:
        """Whether a table exists (a finished staging job is reusable only while it does)."""
        try:
            self.client.get_table(self.table_ref(dataset, name))
        except gexc.NotFound:
            return False
        return True

    def _load_rows(
        self, table: Table, days: list[date], source: RowsSource, stage: str, key: str
    ) -> bool:
        from google.cloud import bigquery

        wanted = set(days)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in source.rows:
            if row.get("game_date") in wanted:
                writer.writerow([_csv_cell(row.get(c)) for c in table.column_names])
        cfg = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.CSV,
            schema=self.bq_table(table).schema,
            skip_leading_rows=1,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            job_timeout_ms=int(self.job_timeout_s * 1000),
        )
        data = buf.getvalue().encode()
        try:
            _, reused = self._submit(f"{key}_load", lambda jid: self.client.load_table_from_file(
                io.BytesIO(data), self.table_ref(table.dataset, stage), job_config=cfg,
                job_id=jid, project=self.project, location=self.location,
            ), None, reuse=lambda: self._exists(table.dataset, stage))
            return reused
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, f"load {table.fqn}") from exc

    def _counts(
        self, table: Table, days: list[date], stage: str, key: str, *, reuse: bool
    ) -> tuple[dict[date, int], dict[date, int]]:
        """Old (target) and new (scratch) rows per date; an earlier count of this write is
        reused only when ``reuse`` (its scratch table was the one counted)."""
        sql = (
            "SELECT 'old' AS kind, game_date, COUNT(*) AS n FROM "
            f"{self._sql_name(table.dataset, table.name)} WHERE game_date IN UNNEST(@days) "
            "GROUP BY game_date UNION ALL SELECT 'new' AS kind, game_date, COUNT(*) AS n FROM "
            f"{self._sql_name(table.dataset, stage)} WHERE game_date IN UNNEST(@days) "
            "GROUP BY game_date"
        )
        try:
            found, _ = self._query_raw(sql, {"days": days}, f"{key}_count", None, lambda: reuse)
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, f"count {table.fqn}") from exc
        return _split([dict(r.items()) for r in found])

    def _drop(self, dataset: str, name: str) -> None:
        try:
            self.client.delete_table(self.table_ref(dataset, name), not_found_ok=True)
        except Exception:  # noqa: BLE001 - best effort: the scratch table expires anyway
            pass

    # -- reads ---------------------------------------------------------------------------
    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        return self._run_query(
            self.qualify(sql), params or {}, f"bc_q_{uuid.uuid4().hex}", "query", timeout_s
        )

    def query_arrow(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> pa.Table:
        try:
            rows, _ = self._query_raw(self.qualify(sql), params or {},
                                      f"bc_q_{uuid.uuid4().hex}", timeout_s)
            # the REST pages, not the (separately billed) Storage Read API: like ``query``
            table: pa.Table = rows.to_arrow(create_bqstorage_client=False)
        except WarehouseTimeout:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, "query") from exc
        return table


def _split(rows: list[dict[str, Any]]) -> tuple[dict[date, int], dict[date, int]]:
    """The count query's rows as (old, new) row counts per date."""
    old = {r["game_date"]: int(r["n"]) for r in rows if r["kind"] == "old"}
    new = {r["game_date"]: int(r["n"]) for r in rows if r["kind"] == "new"}
    return old, new


def _result(wanted: list[date], old: dict[date, int], new: dict[date, int], max_shrink: float,
            force: bool) -> WriteResult:
    """The write's outcome per date: the shrink guard refuses a date whose row count would fall
    by more than ``max_shrink`` (unless ``force``); the other dates get the new rows."""
    refused = {d: (old[d], new.get(d, 0)) for d in wanted
               if not force and old.get(d, 0) > 0 and new.get(d, 0) < old[d] * (1 - max_shrink)}
    rows = {d: (old.get(d, 0) if d in refused else new.get(d, 0)) for d in wanted}
    return WriteResult(rows, {d: old.get(d, 0) for d in wanted}, refused)


def _typed_date(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise BadInput(f"expected a date, got {type(value).__name__}: {value!r}")
    return value
