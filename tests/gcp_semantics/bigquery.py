"""BigQuery as Google runs it, on top of the real bqemulator: two faults the emulator lacks.

1. **Concurrent transactions on one table are cancelled, not queued.** Google: "If a
   transaction mutates (update or deletes) rows in a table, then other transactions or DML
   statements that mutate rows in the same table cannot run concurrently. Conflicting
   transactions are cancelled. Conflicting DML statements that run outside of a transaction
   are queued to run later, subject to queuing limits."
   (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency). BigQuery
   reports it as a failed query job, 400 / reason ``invalidQuery``: "Transaction is aborted due
   to concurrent update against table acmeCo:dataset.flow_checkpoints_v1. Transaction ID: …"
   (as quoted in github.com/estuary/connectors/issues/111 and dlt-hub/dlt#2892). bqemulator
   runs both. Here a job whose SQL holds ``BEGIN TRANSACTION`` takes an exclusive, non-blocking
   ``fcntl.flock`` on one lock file per mutated table (``DELETE FROM``/``INSERT INTO``/
   ``UPDATE``/``MERGE`` targets) in a directory shared by every process, for as long as the job
   runs plus ``hold_s``; when a lock is busy the job is aborted instead: a real job with that id
   is run on the emulator as ``SELECT ERROR('Transaction is aborted …')``, so the id is used up
   and the caller sees what BigQuery shows (the job's ``result()`` raises
   ``google.api_core.exceptions.BadRequest``, reason ``invalidQuery``).
2. **A job id can be used once.** "If the BigQuery REST API receives a jobs.insert request for a
   job with the same ID, the REST API fails because the job already exists."
   (https://googleapis.dev/python/bigquery/latest/design/query-retries.html). bqemulator
   overwrites the old job instead. Here ``query`` and ``load_table_from_file`` with a ``job_id``
   the emulator already knows raise ``google.api_core.exceptions.Conflict`` ("409 Already
   Exists: Job …"), as BigQuery does.

bqemulator runs every request on one shared DuckDB connection (``bqemulator/storage/engine.py``),
which DuckDB does not promise to be safe from several threads at once. So that only the faults
injected here reach a test, and not the emulator's own races, the layer sends one request at a
time to the emulator (an exclusive ``flock`` on ``{dir}/emulator.lock``, re-entrant per
thread), while a transaction keeps its table locks for its whole span: the overlap BigQuery
would see is still detected. ``BACKCOURT_GCP_SEMANTICS_BQ_SERIAL=0`` turns this off.

Every abort is appended as one JSON line to ``{dir}/txn_aborts.log`` (``aborts(dir)`` counts
them); every job started through the layer is appended to ``{dir}/jobs.log`` (``started(dir)``).
``inject_aborts(dir, n)`` makes the next ``n`` transactions (in any process) abort whatever
else runs, to exercise a retry deterministically.

Use in a test: ``SemanticsClient(real_client, dir)`` as the warehouse's client (it delegates
everything else to the real client). Use in another process (a functions-framework ``process``
instance of a scale test): put ``tests/gcp_semantics/autoload`` on its ``PYTHONPATH`` and set
``BACKCOURT_GCP_SEMANTICS_BQ_DIR`` to the shared directory (the same for every instance);
``BACKCOURT_GCP_SEMANTICS_BQ_HOLD_S`` optionally widens each transaction's window. Its
``sitecustomize`` calls ``install_from_env()``, which patches ``google.cloud.bigquery.Client``
for the whole process. Afterwards, ``aborts(dir)`` is the ``txn_aborts`` count.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from google.api_core import exceptions as gexc

DIR_ENV = "BACKCOURT_GCP_SEMANTICS_BQ_DIR"
HOLD_ENV = "BACKCOURT_GCP_SEMANTICS_BQ_HOLD_S"
SERIAL_ENV = "BACKCOURT_GCP_SEMANTICS_BQ_SERIAL"
_TXN = re.compile(r"\bBEGIN\s+TRANSACTION\b", re.IGNORECASE)
_TARGET = re.compile(r"\b(?:DELETE\s+FROM|INSERT\s+INTO|UPDATE|MERGE\s+INTO|MERGE)\s+"
                     r"(`[^`]+`|[\w.-]+)", re.IGNORECASE)
ABORT_TEXT = ("Transaction is aborted due to concurrent update against table {table}. "
              "Transaction ID: {txn}")


def mutated_tables(sql: str) -> list[str]:
    """The tables a transaction script mutates (``project.dataset.table``), sorted; [] when
    ``sql`` holds no ``BEGIN TRANSACTION``."""
    if not _TXN.search(sql):
        return []
    return sorted({m.strip("`") for m in _TARGET.findall(sql)})


def aborts(state_dir: Path) -> int:
    """How many transactions the layer aborted (all processes sharing ``state_dir``)."""
    log = state_dir / "txn_aborts.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def started(state_dir: Path) -> list[str]:
    """The job ids started through the layer, in order (all processes)."""
    log = state_dir / "jobs.log"
    return log.read_text().split() if log.exists() else []


def inject_aborts(state_dir: Path, n: int) -> None:
    """Abort the next ``n`` transactions, whatever else runs."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with _flocked(state_dir / "inject.lock"):
        (state_dir / "inject").write_text(str(n))


@contextmanager
def _flocked(path: Path) -> Iterator[IO[str]]:
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _append(path: Path, line: str) -> None:
    with _flocked(path.with_suffix(".lock")), path.open("a") as fh:
        fh.write(line + "\n")


SERIALISED = ("load_table_from_file", "delete_table", "create_table", "create_dataset",
              "get_table", "get_dataset", "get_job", "cancel_job", "list_rows")
"""Client methods sent to the emulator one at a time (with ``query``)."""


class Semantics:
    """The fault logic, over the real client's own ``query``/``load``/``get_job`` calls."""

    def __init__(self, state_dir: Path, hold_s: float = 0.0, serial: bool = True) -> None:
        self.dir = state_dir
        self.hold_s = hold_s
        self.serial = serial
        self._depth = threading.local()
        (state_dir / "locks").mkdir(parents=True, exist_ok=True)

    @contextmanager
    def emulator(self) -> Iterator[None]:
        """One request at a time on the emulator (all processes; re-entrant per thread)."""
        depth = getattr(self._depth, "n", 0)
        if depth or not self.serial:
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
            return
        with _flocked(self.dir / "emulator.lock"):
            self._depth.n = 1
            try:
                yield
            finally:
                self._depth.n = 0

    def serialised(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` run under ``emulator()``."""
        def call(*args: Any, **kw: Any) -> Any:
            with self.emulator():
                return fn(*args, **kw)
        return call

    def refuse_known_id(self, get_job: Callable[..., Any], job_id: str | None,
                        kw: dict[str, Any]) -> None:
        """409 when the emulator already has a job ``job_id``."""
        if not job_id:
            return
        try:
            get_job(job_id, project=kw.get("project"), location=kw.get("location"))
        except gexc.NotFound:
            _append(self.dir / "jobs.log", job_id)
            return
        raise gexc.Conflict(f"Already Exists: Job {kw.get('project')}:"
                            f"{kw.get('location') or 'US'}.{job_id}")

    def query(self, real_query: Callable[..., Any], get_job: Callable[..., Any], sql: str,
              job_config: Any = None, job_id: str | None = None, **kw: Any) -> Any:
        tables = mutated_tables(sql)
        with ExitStack() as stack:
            busy = [t for t in tables if not self._try_lock(stack, t)]
            with self.emulator():
                self.refuse_known_id(get_job, job_id, kw)
                if tables and (busy or self._take_injected()):
                    return self._abort(real_query, busy[0] if busy else tables[0], job_id, kw)
                job = real_query(sql, job_config=job_config, job_id=job_id, **kw)
                try:
                    job.result()
                except Exception:  # noqa: BLE001 - the caller reads the job's error itself
                    pass
            if tables:
                time.sleep(self.hold_s)
            return job

    def _try_lock(self, stack: ExitStack, table: str) -> bool:
        fh = stack.enter_context((self.dir / "locks" / f"{_safe(table)}.lock").open("a+"))
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        stack.callback(fcntl.flock, fh, fcntl.LOCK_UN)
        return True

    def _take_injected(self) -> bool:
        with _flocked(self.dir / "inject.lock"):
            path = self.dir / "inject"
            left = int(path.read_text() or 0) if path.exists() else 0
            if left <= 0:
                return False
            path.write_text(str(left - 1))
            return True

    def _abort(self, real_query: Callable[..., Any], table: str, job_id: str | None,
               kw: dict[str, Any]) -> Any:
        from google.cloud import bigquery

        project, dataset, name = (table.split(".") + ["", ""])[:3]
        message = ABORT_TEXT.format(table=f"{project}:{dataset}.{name}", txn=uuid.uuid4())
        _append(self.dir / "txn_aborts.log",
                json.dumps({"table": table, "job_id": job_id, "pid": os.getpid()}))
        cfg = bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("m", "STRING", message)])
        return real_query("SELECT ERROR(@m)", job_config=cfg, job_id=job_id, **kw)


def _safe(table: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", table)


class SemanticsClient:
    """A real ``bigquery.Client`` behind the layer; everything else is delegated."""

    def __init__(self, client: Any, state_dir: Path, hold_s: float = 0.0) -> None:
        self.client = client
        self.semantics = Semantics(state_dir, hold_s)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.client, name)
        return self.semantics.serialised(found) if name in SERIALISED else found

    def query(self, sql: str, job_config: Any = None, job_id: str | None = None,
              **kw: Any) -> Any:
        return self.semantics.query(self.client.query, self.client.get_job, sql,
                                    job_config=job_config, job_id=job_id, **kw)

    def load_table_from_file(self, file_obj: Any, destination: Any, *args: Any,
                             job_id: str | None = None, **kw: Any) -> Any:
        with self.semantics.emulator():
            self.semantics.refuse_known_id(self.client.get_job, job_id, kw)
            job = self.client.load_table_from_file(file_obj, destination, *args, job_id=job_id,
                                                   **kw)
            _settle(job)
            return job


def _settle(job: Any) -> None:
    """Wait for a job while the emulator is held (its error stays for the caller to read)."""
    try:
        job.result()
    except Exception:  # noqa: BLE001 - the caller reads the job's error itself
        pass


def install_from_env() -> bool:
    """Patch ``google.cloud.bigquery.Client`` in this process when ``DIR_ENV`` is set.

    Returns:
        Whether the layer is on.
    """
    state = os.environ.get(DIR_ENV)
    if not state:
        return False
    from google.cloud import bigquery

    semantics = Semantics(Path(state), float(os.environ.get(HOLD_ENV, "0") or 0),
                          serial=os.environ.get(SERIAL_ENV, "1") != "0")
    real_query = bigquery.Client.query
    real = {name: getattr(bigquery.Client, name) for name in SERIALISED}

    def query(self: Any, sql: str, job_config: Any = None, job_id: str | None = None,
              **kw: Any) -> Any:
        return semantics.query(lambda *a, **k: real_query(self, *a, **k), self.get_job, sql,
                               job_config=job_config, job_id=job_id, **kw)

    def load(self: Any, file_obj: Any, destination: Any, *args: Any,
             job_id: str | None = None, **kw: Any) -> Any:
        with semantics.emulator():
            semantics.refuse_known_id(self.get_job, job_id, kw)
            job = real["load_table_from_file"](self, file_obj, destination, *args,
                                               job_id=job_id, **kw)
            _settle(job)
            return job

    for name, fn in real.items():
        setattr(bigquery.Client, name, semantics.serialised(fn))
    bigquery.Client.query = query  # type: ignore[method-assign]
    bigquery.Client.load_table_from_file = load  # type: ignore[method-assign]
    return True
