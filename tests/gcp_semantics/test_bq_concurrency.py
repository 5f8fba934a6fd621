"""Concurrent writers on one BigQuery table, on bqemulator behind the GCP-semantics layer
(``gcp_semantics/bigquery.py``: BigQuery cancels the second of two overlapping transactions on
one table, and refuses a job id twice), with the table lock on the Firestore emulator.

Google: "If a transaction mutates (update or deletes) rows in a table, then other transactions
or DML statements that mutate rows in the same table cannot run concurrently. Conflicting
transactions are cancelled." (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency)
An attempt is spent when ``replace`` raises: ``services.process.run_unit`` records the
TransientError as a transient failure, ``finish`` returns the date to ``pending``, and the
redelivery's ``acquire`` counts the next attempt (``domain.transitions``; 3 at most).
"""

from __future__ import annotations

import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse
from backcourt.domain.errors import TransientError
from backcourt.domain.schema import Table, col
from backcourt.ports import RowsSource, SqlSource, TableLocks, WriteResult
from gcp_semantics.bigquery import SemanticsClient, aborts, inject_aborts, started

pytestmark = pytest.mark.emulator

SRC = Table("nba_raw", "box", (col("game_date", "DATE", required=True),
                               col("player_id", "INT64", required=True),
                               col("pts", "INT64")), key=("game_date", "player_id"))
OUT = Table("nba_analytics", "pts", (col("game_date", "DATE", required=True),
                                     col("player_id", "INT64", required=True),
                                     col("pts", "INT64")), key=("game_date", "player_id"))
D1, D2 = date(2024, 1, 1), date(2024, 1, 2)
SELECT_SRC = ("SELECT game_date, player_id, pts FROM nba_raw.box "
              "WHERE game_date BETWEEN @start_date AND @end_date")


def _rows(day: date, n: int, pts: int = 10) -> list[dict[str, Any]]:
    return [{"game_date": day, "player_id": i, "pts": pts + i} for i in range(n)]


def _warehouse(endpoint: str, prefix: str, state: Path, *, hold_s: float = 0.0,
               locks: TableLocks | None = None, **kw: Any) -> BigQueryWarehouse:
    """One ``process`` instance's warehouse: its own client, behind the semantics layer."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    def client() -> Any:
        real = bigquery.Client(project="demo", credentials=AnonymousCredentials(),
                               location="US", client_options=ClientOptions(api_endpoint=endpoint))
        return SemanticsClient(real, state, hold_s)

    extra = {"locks": locks} if locks is not None else {}
    return BigQueryWarehouse("demo", "US", prefix, max_bytes_billed=10**10, job_timeout_s=30,
                             script_dates="literal", client_factory=client, **extra, **kw)


def _counts(wh: BigQueryWarehouse) -> dict[date, int]:
    got = wh.query("SELECT game_date, COUNT(*) AS n FROM nba_analytics.pts GROUP BY game_date")
    return {r["game_date"]: int(r["n"]) for r in got}


def _setup(endpoint: str, state: Path) -> tuple[str, BigQueryWarehouse]:
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    wh = _warehouse(endpoint, prefix, state)
    wh.ensure_tables([SRC, OUT])
    wh.replace(SRC, [D1, D2], RowsSource(_rows(D1, 3) + _rows(D2, 4)), max_shrink=1.0)
    return prefix, wh


def _race(writers: list[BigQueryWarehouse], days: list[date]) -> list[WriteResult | Exception]:
    """Each writer replaces its own date of OUT at the same moment (as two instances would)."""
    out: list[WriteResult | Exception] = [RuntimeError("did not run")] * len(writers)
    gate = threading.Barrier(len(writers))

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = writers[i].replace(OUT, [days[i]], SqlSource(SELECT_SRC), max_shrink=0.5,
                                        job_key=f"r_{i}_{days[i]}_1")
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_the_layer_aborts_the_second_of_two_overlapping_transactions(
        bqemulator: str, tmp_path: Path) -> None:
    """Without a cross-instance lock and with no retry (today's behaviour), one of two writers
    of one table fails with BigQuery's error: the fault fires, as it does on Google Cloud."""
    prefix, _ = _setup(bqemulator, tmp_path)
    writers = [_warehouse(bqemulator, prefix, tmp_path, hold_s=4.0, abort_tries=1)
               for _ in range(2)]
    results = _race(writers, [D1, D2])
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], TransientError)
    assert "Transaction is aborted due to concurrent update against table" in str(failed[0])
    assert aborts(tmp_path) == 1


def test_two_instances_writing_one_table_both_succeed_under_the_table_lock(
        bqemulator: str, firestore_emulator: str, tmp_path: Path) -> None:
    """Fails on the old code (a per-process semaphore only: the second transaction is
    cancelled and the unit spends an attempt). Now the Firestore lock serialises the two
    writers: both succeed, and the layer never had to abort anything."""
    from backcourt.adapters.gcp.firestore_locks import FirestoreTableLocks

    prefix, reader = _setup(bqemulator, tmp_path)
    locks = [FirestoreTableLocks("demo", collection_prefix=f"l{uuid.uuid4().hex[:8]}")] * 2
    writers = [_warehouse(bqemulator, prefix, tmp_path, hold_s=2.0, locks=lk) for lk in locks]
    results = _race(writers, [D1, D2])
    assert all(isinstance(r, WriteResult) for r in results), results
    assert aborts(tmp_path) == 0
    assert _counts(reader) == {D1: 3, D2: 4}
    assert locks[0].holder(reader.table_ref("nba_analytics", "pts")) is None  # released


def test_an_abort_is_retried_inside_replace_without_spending_an_attempt(
        bqemulator: str, tmp_path: Path) -> None:
    """Fails on the old code (the abort surfaces as TransientError: one attempt spent). Now the
    aborted transaction is retried under the next job id and the write succeeds."""
    prefix, _ = _setup(bqemulator, tmp_path)
    wh = _warehouse(bqemulator, prefix, tmp_path, abort_pause_s=0.05)
    inject_aborts(tmp_path, 1)
    res = wh.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, job_key="k_d1_1")
    assert res.rows_by_date == {D1: 3}
    assert aborts(tmp_path) == 1 and wh.aborts_retried == 1
    assert [j for j in started(tmp_path) if "k_d1_1_tx" in j] == [
        f"{prefix}k_d1_1_tx", f"{prefix}k_d1_1_tx_1"]
    assert _counts(wh) == {D1: 3}


def test_a_unit_whose_write_is_aborted_once_keeps_its_attempt(
        bqemulator: str, tmp_path: Path) -> None:
    """Through ``run_unit`` with a real status store: an abort during the write leaves the
    date finished on its first attempt. Old code: the date is back to ``pending`` with the
    abort recorded, and its next delivery would take attempt 2 of 3."""
    from backcourt.adapters.local.bucket import FolderBucket
    from backcourt.adapters.local.sqlite_status import SqliteStatusStore
    from backcourt.bootstrap import SystemClock
    from backcourt.config import load_settings
    from backcourt.domain import registry
    from backcourt.domain.status import State
    from backcourt.ports import Services
    from backcourt.services.process import run_unit

    proc = registry.get("team_offense_game_summary")
    wh = _warehouse(bqemulator, f"t{uuid.uuid4().hex[:8]}_", tmp_path / "bq",
                    abort_pause_s=0.05)
    wh.ensure_tables([p.table for p in registry.PROCESSORS
                      if p.name in proc.reads | {proc.name}])
    services = Services(settings=load_settings(tmp_path / "home", env={}), warehouse=wh,
                        status=SqliteStatusStore(tmp_path / "status.sqlite"),
                        bucket=FolderBucket(tmp_path / "bucket"), clock=SystemClock())
    services.status.seed(proc.name, [D1], [])
    inject_aborts(tmp_path / "bq", 1)
    run_unit(services, proc, [D1], run_id="r1", owner="test")
    doc = services.status.get(proc.name, D1)
    assert doc is not None and aborts(tmp_path / "bq") == 1
    assert (doc.state, doc.attempts) == (State.DEGRADED, 1), doc  # empty inputs: empty_output
    services.status.close()


def test_a_write_retried_within_its_attempt_reuses_the_committed_jobs(
        bqemulator: str, tmp_path: Path) -> None:
    """Same job key twice (a worker died after the commit; the redelivery runs the same
    attempt): the second call finds the committed transaction by its job id (BigQuery answers
    409 to the same id) and returns its result without running anything, even though the
    source has changed meanwhile. (Passes on the old code too: it reused every existing job.)"""
    prefix, wh = _setup(bqemulator, tmp_path)
    first = wh.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, job_key="k_d1_1")
    jobs = len(started(tmp_path))
    wh.replace(SRC, [D1], RowsSource(_rows(D1, 5)), max_shrink=1.0)
    jobs_after_source = len(started(tmp_path))
    again = wh.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, job_key="k_d1_1")
    assert again == first and first.rows_by_date == {D1: 3}
    assert len(started(tmp_path)) == jobs_after_source > jobs  # no new job for the retry
    assert _counts(wh) == {D1: 3}  # the committed write stands


def test_a_failed_job_id_is_skipped_not_reraised(bqemulator: str, tmp_path: Path) -> None:
    """A write whose transaction aborted every time (bounded retry spent) is retried with the
    same key: its failed job ids are skipped and the next one commits. Fails on the old code,
    which fetched the failed job on 409 and raised its abort again, forever for that key."""
    prefix, wh = _setup(bqemulator, tmp_path)
    wh = _warehouse(bqemulator, prefix, tmp_path, abort_tries=2, abort_pause_s=0.05)
    inject_aborts(tmp_path, 2)
    with pytest.raises(TransientError, match="Transaction is aborted"):
        wh.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, job_key="k_d1_1")
    res = wh.replace(OUT, [D1], SqlSource(SELECT_SRC), max_shrink=0.5, job_key="k_d1_1")
    assert res.rows_by_date == {D1: 3}
    assert [j for j in started(tmp_path) if "k_d1_1_tx" in j] == [
        f"{prefix}k_d1_1_tx", f"{prefix}k_d1_1_tx_1", f"{prefix}k_d1_1_tx_2"]


_TXN_CLIENT = """
import sys
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

client = bigquery.Client(project="demo", credentials=AnonymousCredentials(), location="US",
                         client_options=ClientOptions(api_endpoint=sys.argv[1]))
sql = ("BEGIN TRANSACTION; DELETE FROM `" + sys.argv[2] + "` WHERE game_date = DATE '2024-01-01';"
       " COMMIT TRANSACTION;")
try:
    client.query(sql, job_retry=None).result()
    print("committed")
except Exception as exc:
    print("failed:", exc)
"""


def test_the_layer_is_on_in_other_processes_through_the_environment(
        bqemulator: str, tmp_path: Path) -> None:
    """What a scale test does with its ``process`` instances: each is a separate process with
    ``tests/gcp_semantics/autoload`` on PYTHONPATH and the shared directory in the environment;
    two of them committing to one table at once: one is cancelled, and the abort is counted."""
    import os
    import subprocess
    import sys

    prefix, wh = _setup(bqemulator, tmp_path / "setup")
    state = tmp_path / "shared"
    env = {**os.environ, "BACKCOURT_GCP_SEMANTICS_BQ_DIR": str(state),
           "BACKCOURT_GCP_SEMANTICS_BQ_HOLD_S": "4",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent / "autoload"),
                                          os.environ.get("PYTHONPATH", "")])}
    table = wh.table_ref("nba_analytics", "pts")
    procs = [subprocess.Popen([sys.executable, "-c", _TXN_CLIENT, bqemulator, table], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = sorted((p.communicate(timeout=120)[0] or "").strip() for p in procs)
    assert outs[0] == "committed", outs
    assert outs[1].startswith("failed:") and "Transaction is aborted due to concurrent update" \
        in outs[1], outs
    assert aborts(state) == 1
