"""BigQueryWarehouse offline: a fake client records jobs and injects faults (409, timeouts)."""

from __future__ import annotations

import concurrent.futures
import re
import time
from datetime import date
from typing import Any

import pytest
from google.api_core import exceptions as gexc

from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse, job_id, sanitize_job_id
from backcourt.adapters.gcp.errors import map_gcp_error
from backcourt.domain.errors import TerminalError, TransientError, WarehouseTimeout
from backcourt.domain.schema import Table, col
from backcourt.ports import RowsSource, SqlSource

OUT = Table("nba_analytics", "pts", (col("game_date", "DATE", required=True),
                                     col("player_id", "INT64", required=True),
                                     col("pts", "INT64")), key=("game_date", "player_id"))
D1, D2 = date(2024, 1, 1), date(2024, 1, 2)


class FakeJob:
    def __init__(self, job_id: str, rows: list[dict[str, Any]], *, hang: bool = False,
                 bytes_processed: int = 0) -> None:
        self.job_id, self.rows, self.hang = job_id, rows, hang
        self.total_bytes_processed = bytes_processed
        self.state, self.error_result = "DONE", None
        self.result_timeouts: list[float | None] = []

    def result(self, timeout: float | None = None) -> list[dict[str, Any]]:
        self.result_timeouts.append(timeout)
        if self.hang:
            raise concurrent.futures.TimeoutError()
        return self.rows


class FakeClient:
    """Answers the count query from ``old``/``new``; every other job returns no rows."""

    def __init__(self, old: dict[date, int] | None = None, new: dict[date, int] | None = None,
                 existing: dict[str, FakeJob] | None = None, hang: bool = False) -> None:
        self.old, self.new = old or {}, new or {}
        self.jobs: dict[str, FakeJob] = dict(existing or {})
        self.queries: list[tuple[str, Any, str | None]] = []
        self.loads: list[tuple[bytes, str, Any, str]] = []
        self.cancelled: list[str] = []
        self.tables: set[str] = set()
        self.hang = hang

    def query(self, sql: str, job_config: Any, job_id: str | None = None, **kw: Any) -> FakeJob:
        if job_id in self.jobs:
            raise gexc.Conflict(f"Already Exists: Job demo:US.{job_id}")
        self.queries.append((sql, job_config, job_id))
        rows: list[dict[str, Any]] = []
        if job_id and job_id.endswith("_count"):
            rows = [{"kind": "old", "game_date": d, "n": n} for d, n in self.old.items()]
            rows += [{"kind": "new", "game_date": d, "n": n} for d, n in self.new.items()]
        job = FakeJob(job_id or "anon", rows, hang=self.hang, bytes_processed=123_456)
        self.tables.update(re.findall(r"CREATE OR REPLACE TABLE `([^`]+)`", sql))
        if job_id:
            self.jobs[job_id] = job
        return job

    def get_job(self, job_id: str, **kw: Any) -> FakeJob:
        if job_id not in self.jobs:
            raise gexc.NotFound(f"Not found: Job demo:US.{job_id}")
        return self.jobs[job_id]

    def cancel_job(self, job_id: str, **kw: Any) -> None:
        self.cancelled.append(job_id)

    def load_table_from_file(self, f: Any, dest: str, job_config: Any, job_id: str,
                             **kw: Any) -> FakeJob:
        self.loads.append((f.read(), dest, job_config, job_id))
        self.tables.add(dest)
        return FakeJob(job_id, [])

    def get_table(self, ref: str) -> str:
        if ref not in self.tables:
            raise gexc.NotFound(f"Not found: Table {ref}")
        return ref

    def delete_table(self, ref: str, not_found_ok: bool = False) -> None:
        self.tables.discard(ref)

    def close(self) -> None:
        pass


def _wh(client: FakeClient, **kw: Any) -> BigQueryWarehouse:
    return BigQueryWarehouse("proj", "US", "dev_", max_bytes_billed=5_000_000,
                             job_timeout_s=60, client_factory=lambda: client, **kw)


def _params(cfg: Any) -> dict[str, Any]:
    out = {}
    for p in cfg.query_parameters:
        out[p.name] = p.values if hasattr(p, "values") else p.value
    return out


def test_job_id_format_and_sanitising() -> None:
    assert job_id("run 7", "p3.player", D1, D2, 2) == "run_7_p3_player_2024-01-01_2024-01-02_2"
    assert len(sanitize_job_id("x" * 3000)) == 1024
    with pytest.raises(Exception, match="empty"):
        sanitize_job_id("")


def test_client_is_lazy() -> None:
    made: list[int] = []
    wh = BigQueryWarehouse("p", "US", max_bytes_billed=1,
                           client_factory=lambda: made.append(1) or FakeClient())
    assert made == []
    wh.query("SELECT 1 AS x")
    assert made == [1]


def test_transaction_script_deletes_and_inserts_only_kept_dates_with_parameters() -> None:
    client = FakeClient(old={D1: 10, D2: 10}, new={D1: 2, D2: 9})
    res = _wh(client).replace(
        OUT, [D2, D1], SqlSource("SELECT * FROM nba_raw.box WHERE game_date BETWEEN "
                                 "@start_date AND @end_date"),
        max_shrink=0.5, job_key="r1_pts_2024-01-01_2024-01-02_1")
    assert res.refused == {D1: (10, 2)}
    assert res.rows_by_date == {D1: 10, D2: 9}
    ids = [q[2] for q in client.queries]
    key = "dev_r1_pts_2024-01-01_2024-01-02_1"  # job ids are per project: prefixed
    assert ids == [f"{key}_stage", f"{key}_count", f"{key}_tx"]
    stage_sql, stage_cfg, _ = client.queries[0]
    assert "`proj`.`dev_nba_raw`.`box`" in stage_sql  # dataset-qualified by sqlglot
    assert _params(stage_cfg) == {"start_date": D1, "end_date": D2, "days": [D1, D2]}
    tx_sql, tx_cfg, _ = client.queries[2]
    assert tx_sql.startswith("DECLARE keep ARRAY<DATE> DEFAULT @keep;\nBEGIN TRANSACTION;")
    assert "DELETE FROM `proj.dev_nba_analytics.pts` WHERE game_date IN UNNEST(keep)" in tx_sql
    assert "INSERT INTO `proj.dev_nba_analytics.pts`" in tx_sql
    assert tx_sql.rstrip().endswith("COMMIT TRANSACTION;")
    assert "DATE '" not in tx_sql and "'2024-01-02'" not in tx_sql  # a parameter, no literal
    assert _params(tx_cfg) == {"keep": [D2]}


def test_every_refused_date_means_no_transaction() -> None:
    client = FakeClient(old={D1: 10}, new={D1: 0})
    res = _wh(client).replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.2)
    assert res.refused == {D1: (10, 0)}
    assert not any(q[2] and q[2].endswith("_tx") for q in client.queries)


def test_max_bytes_billed_and_job_timeout_on_every_query_job() -> None:
    client = FakeClient(old={}, new={D1: 1})
    wh = _wh(client)
    wh.replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5)
    wh.query("SELECT 1")
    assert len(client.queries) == 4
    for _, cfg, _ in client.queries:
        assert cfg.maximum_bytes_billed == 5_000_000
        assert int(cfg.job_timeout_ms) == 60_000


def test_conflict_fetches_the_existing_job_instead_of_rerunning() -> None:
    key = "r1_pts_2024-01-01_2024-01-01_1"
    jid = f"dev_{key}"
    done = {f"{jid}_stage": FakeJob(f"{jid}_stage", []),
            f"{jid}_count": FakeJob(f"{jid}_count", [{"kind": "new", "game_date": D1, "n": 4}])}
    client = FakeClient(existing=done)
    client.tables.add(f"proj.dev_nba_analytics._stage_pts_{key}")  # its worker died: not dropped
    res = _wh(client).replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5, job_key=key)
    assert res.rows_by_date == {D1: 4}  # counts came from the existing job
    assert [q[2] for q in client.queries] == [f"{jid}_tx"]  # only the missing job ran
    assert done[f"{jid}_count"].result_timeouts  # it was waited for


def test_timeout_cancels_the_job_and_raises_warehouse_timeout() -> None:
    client = FakeClient(hang=True)
    with pytest.raises(WarehouseTimeout, match="cancelled"):
        _wh(client).query("SELECT 1", timeout_s=2)
    assert len(client.cancelled) == 1 and client.cancelled[0].startswith("bc_q_")
    assert int(client.queries[0][1].job_timeout_ms) == 2000


def test_reconcile_reports_real_state() -> None:
    failed = FakeJob("j1", [])
    failed.error_result = {"reason": "invalidQuery", "message": "Syntax error"}
    running = FakeJob("j2", [])
    running.state = "RUNNING"
    wh = _wh(FakeClient(existing={"j1": failed, "j2": running}))
    assert wh.reconcile("j1").error == "Syntax error"
    assert wh.reconcile("j2").state == "RUNNING"
    assert wh.reconcile("nope").state == "MISSING"


def test_dry_run_returns_bytes_processed() -> None:
    client = FakeClient()
    assert _wh(client).dry_run("SELECT * FROM nba_raw.box WHERE game_date = @d", {"d": D1}) \
        == 123_456
    assert client.queries[0][1].dry_run is True
    assert "`dev_nba_raw`" in client.queries[0][0]


def test_rows_source_is_a_csv_load_job_into_a_stage_table() -> None:
    client = FakeClient(new={D1: 1})
    rows = [{"game_date": D1, "player_id": 7, "pts": None},
            {"game_date": D2, "player_id": 8, "pts": 3}]
    _wh(client).replace(OUT, [D1], RowsSource(rows), max_shrink=0.5, job_key="k")
    data, dest, cfg, jid = client.loads[0]
    assert data == b"game_date,player_id,pts\n2024-01-01,7,\n"  # D2 is not owned: dropped
    assert dest == "proj.dev_nba_analytics._stage_pts_k" and jid == "dev_k_load"
    assert cfg.source_format == "CSV" and cfg.skip_leading_rows == 1


@pytest.mark.parametrize(("exc", "kind"), [
    (gexc.InternalServerError("boom"), TransientError),
    (gexc.ServiceUnavailable("down"), TransientError),
    (gexc.TooManyRequests("slow down"), TransientError),
    (gexc.BadRequest("Too many DML statements outstanding against table x"), TransientError),
    (gexc.BadRequest("Transaction is aborted due to concurrent update against table x"),
     TransientError),
    (gexc.Forbidden("Exceeded rate limits", errors=[{"reason": "rateLimitExceeded"}]),
     TransientError),
    (concurrent.futures.TimeoutError(), TransientError),
    (ConnectionError("reset"), TransientError),
    (RuntimeError("who knows"), TransientError),
    (gexc.BadRequest("Syntax error: Unexpected keyword"), TerminalError),
    (gexc.NotFound("Not found: Table x"), TerminalError),
    (gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied"}]), TerminalError),
])
def test_error_mapping(exc: BaseException, kind: type[Exception]) -> None:
    mapped = map_gcp_error(exc, "replace nba_analytics.pts")
    assert type(mapped) is kind
    assert "replace nba_analytics.pts" in str(mapped) and type(exc).__name__ in str(mapped)


def test_sdk_error_in_replace_is_mapped() -> None:
    class Failing(FakeClient):
        def query(self, sql: str, job_config: Any, job_id: str | None = None,
                  **kw: Any) -> FakeJob:
            raise gexc.BadRequest("Syntax error at [1:1]")
    with pytest.raises(TerminalError, match="stage nba_analytics.pts"):
        _wh(Failing()).replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5)


def test_literal_script_dates_mode_renders_typed_dates_only() -> None:
    wh = _wh(FakeClient(), script_dates="literal")
    script = wh.transaction_script(OUT, "_stage_pts_k", [D1, D2])
    assert script.splitlines()[0] == \
        "DECLARE keep ARRAY<DATE> DEFAULT [DATE '2024-01-01', DATE '2024-01-02'];"
    with pytest.raises(Exception, match="expected a date"):
        wh.transaction_script(OUT, "_stage_pts_k", ["2024-01-01'; DROP TABLE x; --"])  # type: ignore[list-item]


# -- concurrent writers (issue 13 item 2) ----------------------------------------------------
ABORT = ("Query error: Transaction is aborted due to concurrent update against table "
         "proj:dev_nba_analytics.pts. Transaction ID: 61e30eea at [4:1]")


class AbortingJob(FakeJob):
    def result(self, timeout: float | None = None) -> list[dict[str, Any]]:
        raise gexc.BadRequest(ABORT, errors=[{"reason": "invalidQuery", "message": ABORT}])


class AbortingClient(FakeClient):
    """Its transaction jobs fail with BigQuery's concurrency abort ``aborts`` times."""

    def __init__(self, aborts: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.aborts = aborts

    def query(self, sql: str, job_config: Any, job_id: str | None = None, **kw: Any) -> FakeJob:
        job = super().query(sql, job_config, job_id, **kw)
        if "BEGIN TRANSACTION" in sql and self.aborts > 0:
            self.aborts -= 1
            job = self.jobs[job.job_id] = AbortingJob(job.job_id, [])
        return job


def test_a_concurrency_abort_is_retried_under_a_new_job_id_with_backoff() -> None:
    """BigQuery: "Conflicting transactions are cancelled"
    (https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency). The abort
    is retried inside replace (it never reaches the caller, so no attempt is spent); the failed
    job keeps its id, so each try takes the next one. Old code: TransientError at once."""
    client, pauses = AbortingClient(2, new={D1: 3}), []
    wh = _wh(client, abort_pause_s=1.0, sleep=pauses.append)
    res = wh.replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5, job_key="k")
    assert res.rows_by_date == {D1: 3} and wh.aborts_retried == 2
    assert [q[2] for q in client.queries if "_tx" in (q[2] or "")] == [
        "dev_k_tx", "dev_k_tx_1", "dev_k_tx_2"]
    assert len(pauses) == 2 and 0 <= pauses[0] <= 1.0 and 0 <= pauses[1] <= 2.0  # full jitter


def test_the_abort_retry_is_bounded_then_transient() -> None:
    client, pauses = AbortingClient(9, new={D1: 3}), []
    wh = _wh(client, abort_tries=5, sleep=pauses.append)
    with pytest.raises(TransientError, match="Transaction is aborted"):
        wh.replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5, job_key="k")
    assert len(pauses) == 4 and client.aborts == 4  # 5 tries, 4 pauses


def test_other_transaction_errors_are_not_retried() -> None:
    class Broken(FakeClient):
        def query(self, sql: str, job_config: Any, job_id: str | None = None,
                  **kw: Any) -> FakeJob:
            if "BEGIN TRANSACTION" in sql:
                raise gexc.BadRequest("Syntax error: Unexpected keyword")
            return super().query(sql, job_config, job_id, **kw)

    pauses: list[float] = []
    with pytest.raises(TerminalError, match="Syntax error"):
        _wh(Broken(new={D1: 1}), sleep=pauses.append).replace(
            OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5)
    assert pauses == []


class RecordingLocks:
    """TableLocks in memory that log what happens (the Firestore one is tested on its
    emulator in tests/gcp_semantics/test_firestore_locks.py)."""

    def __init__(self, client: FakeClient, busy_for: int = 0) -> None:
        self.client, self.busy_for, self.events = client, busy_for, []
        self.owner: str | None = None

    def acquire(self, name: str, owner: str, ttl: Any) -> bool:
        if self.busy_for > 0:
            self.busy_for -= 1
            return False
        self.events.append(("acquire", name, len(self.client.queries)))
        self.owner = owner
        return True

    def release(self, name: str, owner: str) -> bool:
        self.events.append(("release", name, len(self.client.queries)))
        return owner == self.owner

    def holder(self, name: str) -> Any:
        return ("someone", None) if self.busy_for else None


def test_the_table_lock_covers_the_count_and_the_transaction_not_the_staging() -> None:
    client = FakeClient(new={D1: 1})
    locks = RecordingLocks(client)
    _wh(client, locks=locks).replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5)
    kinds = [q[2].rsplit("_", 1)[-1] for q in client.queries]
    assert kinds == ["stage", "count", "tx"]
    name = "proj.dev_nba_analytics.pts"
    acquire = [e for e in locks.events if e[0] == "acquire"]
    assert acquire[0] == ("acquire", name, 1)  # after the stage, before the count
    assert acquire[1:] == [("acquire", name, 2)]  # extended before the transaction
    assert locks.events[-1] == ("release", name, 3)


def test_a_busy_table_is_waited_for_then_given_back_as_transient() -> None:
    client = FakeClient(new={D1: 1})
    pauses: list[float] = []
    wh = _wh(client, locks=RecordingLocks(client, busy_for=10**6), lock_wait_s=0.2,
             sleep=lambda s: (pauses.append(s), time.sleep(s)))
    with pytest.raises(TransientError, match="being written by someone"):
        wh.replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5)
    assert pauses and all(p <= 5.0 for p in pauses)
    assert [q[2].rsplit("_", 1)[-1] for q in client.queries] == ["stage"]  # nothing written


def test_a_busy_table_that_frees_up_is_written() -> None:
    client = FakeClient(new={D1: 1})
    pauses: list[float] = []
    wh = _wh(client, locks=RecordingLocks(client, busy_for=3), sleep=pauses.append)
    assert wh.replace(OUT, [D1], SqlSource("SELECT 1"), max_shrink=0.5).rows_by_date == {D1: 1}
    assert len(pauses) == 3 and pauses[0] <= 0.2 and pauses[2] <= 0.8  # doubling, jittered


def test_bootstrap_wires_the_firestore_table_lock_within_the_lease_ttl(tmp_path: Any) -> None:
    """The lock's expiry and its waiters' patience are half the lease TTL each, and Terraform
    sets the lease TTL below the ``process`` timeout (functions.tf: timeout - 60 s): a killed
    writer's lock frees before the redelivery, and a waiter gives up in time to be retried."""
    from datetime import timedelta

    from backcourt.adapters.gcp.firestore_locks import FirestoreTableLocks
    from backcourt.bootstrap import build
    from backcourt.config import load_settings

    env = {"BACKCOURT_BACKEND": "gcp", "BACKCOURT_GCP__PROJECT": "p",
           "BACKCOURT_GCP__BUCKET": "b", "BACKCOURT_LEASE_TTL_S": "480"}
    wh = build(load_settings(tmp_path, env=env)).warehouse
    assert isinstance(wh, BigQueryWarehouse) and isinstance(wh.locks, FirestoreTableLocks)
    assert wh.lock_ttl == timedelta(seconds=240) and wh.lock_wait_s == 240
    assert wh._client is None  # nothing was contacted
