"""The composition root: settings → adapters. The only module that knows both worlds.

The CLI (``backcourt.cli``, ``backcourt.commands``) and the Cloud Functions
(``functions/main.py``) reach the adapters only through here: ``build`` for the ports,
``RUNTIME`` for the functions' per-process cache and the Workflows executions client.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backcourt.config import Settings
from backcourt.domain.errors import BadInput
from backcourt.domain.registry import PROCESSORS
from backcourt.ports import Clock, Services

if TYPE_CHECKING:
    from backcourt.adapters.gcp.workflows_executions import WorkflowStarter


def table_lock_times(settings: Settings) -> tuple[float, float]:
    """Expiry of a BigQuery table's writer lock, and how long a writer waits for a busy table
    before it gives the message back (TransientError): half the lease TTL each, and the lease
    TTL is below the ``process`` function's timeout (Terraform: timeout - 60 s, so 240 s each
    for 540 s). A killed writer's lock is free again before its message is redelivered, and a
    waiter gives up with time left for its own write."""
    half = settings.lease_ttl_s / 2
    return half, half


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock(SystemClock):
    """The real clock plus ``offset``: the soak and lease-expiry tests move time forward past
    the lease TTL instead of sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, by: timedelta) -> None:
        """Move this clock forward."""
        self.offset += by


def build(settings: Settings, clock: Clock | None = None) -> Services:
    """Build the adapters the settings ask for (cloud clients are created lazily); the
    settings' raw-file size limits become the parsers' limits."""
    from backcourt.sources import limits

    limits.configure(settings.limits)
    if settings.backend == "gcp":
        return _build_gcp(settings, clock)
    from backcourt.adapters.local.bucket import FolderBucket
    from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
    from backcourt.adapters.local.sqlite_status import SqliteStatusStore

    cfg = settings.local
    cfg.home.mkdir(parents=True, exist_ok=True)
    return Services(
        settings=settings,
        warehouse=DuckDBWarehouse(cfg.warehouse_path, query_timeout_s=settings.query_timeout_s),
        status=SqliteStatusStore(cfg.status_path),
        bucket=FolderBucket(cfg.bucket_path),
        clock=clock or SystemClock(),
    )


def _build_gcp(settings: Settings, clock: Clock | None) -> Services:
    """BigQuery, Firestore and GCS adapters; their clients are created on first use."""
    from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse
    from backcourt.adapters.gcp.firestore_locks import FirestoreTableLocks
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore
    from backcourt.adapters.gcp.gcs_bucket import GcsBucket

    cfg = settings.gcp
    lock_ttl_s, lock_wait_s = table_lock_times(settings)
    missing = [n for n, v in (("PROJECT", cfg.project), ("BUCKET", cfg.bucket)) if not v]
    if missing:
        raise BadInput("the gcp backend needs " + ", ".join(f"BACKCOURT_GCP__{n}" for n in missing))
    return Services(
        settings=settings,
        warehouse=BigQueryWarehouse(cfg.project, cfg.location, cfg.dataset_prefix,
                                    max_bytes_billed=cfg.max_bytes_billed,
                                    script_dates=cfg.bigquery_script_dates,
                                    api_endpoint=cfg.bigquery_endpoint,
                                    locks=FirestoreTableLocks(
                                        cfg.project, collection_prefix=cfg.collection_prefix),
                                    lock_ttl_s=lock_ttl_s, lock_wait_s=lock_wait_s),
        status=FirestoreStatusStore(cfg.project, collection_prefix=cfg.collection_prefix),
        bucket=GcsBucket(cfg.project, cfg.bucket),
        clock=clock or SystemClock(),
    )


class Runtime:
    """Per-process state of the functions: adapters built once per settings, and test
    overrides. Kept here (not in ``functions/main.py``) because functions-framework may load
    that file more than once in a process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: dict[Settings, Services] = {}
        self.overrides: dict[str, Any] = {}

    def services(self, settings: Settings) -> Services:
        """The override, or the adapters of these settings (built once; tables ensured)."""
        if "services" in self.overrides:
            found: Services = self.overrides["services"]
            return found
        with self.lock:
            if settings not in self.cache:
                services = build(settings)
                services.warehouse.ensure_tables([p.table for p in PROCESSORS])
                self.cache[settings] = services
            return self.cache[settings]

    def close_all(self) -> None:
        """Close every cached set of adapters."""
        with self.lock:
            for services in self.cache.values():
                services.close()
            self.cache.clear()

    def workflow_starter(self, workflow: str) -> WorkflowStarter:
        """Start, read and cancel executions of ``workflow`` (``projects/…/workflows/…``) with
        the real Executions client, or the test override (``overrides["executions"]``)."""
        from backcourt.adapters.gcp.workflows_executions import WorkflowStarter

        return WorkflowStarter(workflow, client=self.overrides.get("executions"))


RUNTIME = Runtime()
"""The process's runtime state (empty until a function runs)."""
