"""The ``process`` function of ``functions/main.py`` served with a fault hook, for the deadline
tests (``tests/cloud/test_deadlines_cloud.py``). Not production code: the hook lives here only.

Adapters: Firestore (the emulator, the stock ``FirestoreStatusStore``; collection prefix
``BACKCOURT_TEST_STATUS_PREFIX``), the home's DuckDB warehouse and folder bucket
(``BACKCOURT_HOME``; the BigQuery path has its own tests), the system clock.

The hook: ``BACKCOURT_TEST_HANG_PROCESSOR=name:seconds`` makes the write of processor ``name``
sleep ``seconds`` before it starts (after its leases are taken), so the gunicorn worker timeout
kills the handler there. With ``BACKCOURT_TEST_HANG_MARKER=path`` it hangs only while ``path``
does not exist (it creates it first): the killed delivery hangs, the redelivery, in a fresh
worker process, does not.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

import main  # noqa: E402  (functions/main.py)
from backcourt.adapters.local.bucket import FolderBucket  # noqa: E402
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse  # noqa: E402
from backcourt.bootstrap import SystemClock  # noqa: E402
from backcourt.config import load_settings  # noqa: E402
from backcourt.domain.schema import Table  # noqa: E402
from backcourt.ports import RowsSource, Services, SqlSource, Warehouse, WriteResult  # noqa: E402

HANG = "BACKCOURT_TEST_HANG_PROCESSOR"
MARKER = "BACKCOURT_TEST_HANG_MARKER"


class HangingWarehouse:
    """The real warehouse; a write of the hanging processor's table sleeps first."""

    def __init__(self, inner: Warehouse, table: str, seconds: float,
                 marker: Path | None) -> None:
        self.inner, self.table, self.seconds, self.marker = inner, table, seconds, marker
        self.dialect = inner.dialect

    @property
    def supports_transactions(self) -> bool:
        return bool(getattr(self.inner, "supports_transactions", False))

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False,
                job_key: str | None = None) -> WriteResult:
        if table.name == self.table and not (self.marker and self.marker.exists()):
            if self.marker:
                self.marker.touch()
            print(f"HANGING {table.name} for {self.seconds}s (pid {os.getpid()})", flush=True)
            time.sleep(self.seconds)
        return self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                  job_key=job_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _services() -> Services:
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    settings = load_settings()
    cfg = settings.local
    warehouse: Any = DuckDBWarehouse(cfg.warehouse_path, query_timeout_s=settings.query_timeout_s)
    spec = os.environ.get(HANG, "")
    if spec:
        name, seconds = spec.rsplit(":", 1)
        marker = os.environ.get(MARKER)
        warehouse = HangingWarehouse(warehouse, name, float(seconds),
                                     Path(marker) if marker else None)
    status = FirestoreStatusStore(os.environ["BACKCOURT_TEST_PROJECT"],
                                  collection_prefix=os.environ["BACKCOURT_TEST_STATUS_PREFIX"])
    return Services(settings=settings, warehouse=warehouse, status=status,
                    bucket=FolderBucket(cfg.bucket_path), clock=SystemClock())


def process(event: CloudEvent) -> None:
    """``main.process`` on these adapters."""
    if "services" not in main.RUNTIME.overrides:
        main.set_services(_services())
    main.process(event)
