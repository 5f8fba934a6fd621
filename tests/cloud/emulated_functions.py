"""The functions of ``functions/main.py`` wired to the emulators (served by functions-framework).

The end-to-end test serves this file instead of ``functions/main.py``: it re-exports the real
``process``/``plan``/``progress``/``validate`` entry points unchanged and only swaps in the
adapters' emulator stand-ins, built on first use (``main.set_services``):

* BigQuery: ``BigQueryWarehouse`` on ``bqemulator`` (``BACKCOURT_TEST_BQ_ENDPOINT``, anonymous
  credentials, ``script_dates="literal"`` as in the contract suite), with the Firestore table
  writer lock as ``bootstrap`` wires it (its expiry and wait follow the lease TTL, so a test
  that scales the lease down scales them too);
* Firestore: the stock ``FirestoreStatusStore`` (the client honours ``FIRESTORE_EMULATOR_HOST``);
* GCS has no emulator: a ``FolderBucket`` on ``BACKCOURT_TEST_BUCKET_DIR`` is the one local
  stand-in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Request

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

from cloudevents.http import CloudEvent  # noqa: E402

import main  # noqa: E402  (functions/main.py, found through the path above)
from backcourt.adapters.local.bucket import FolderBucket  # noqa: E402
from backcourt.bootstrap import SystemClock  # noqa: E402
from backcourt.config import load_settings  # noqa: E402
from backcourt.ports import Services  # noqa: E402


def _services() -> Services:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse
    from backcourt.adapters.gcp.firestore_locks import FirestoreTableLocks
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore
    from backcourt.bootstrap import table_lock_times

    settings = load_settings()
    cfg = settings.gcp
    lock_ttl_s, lock_wait_s = table_lock_times(settings)
    endpoint = os.environ["BACKCOURT_TEST_BQ_ENDPOINT"]

    def client() -> Any:
        return bigquery.Client(project=cfg.project, credentials=AnonymousCredentials(),
                               location=cfg.location,
                               client_options=ClientOptions(api_endpoint=endpoint))

    return Services(
        settings=settings,
        warehouse=BigQueryWarehouse(cfg.project, cfg.location, cfg.dataset_prefix,
                                    max_bytes_billed=cfg.max_bytes_billed, job_timeout_s=60,
                                    script_dates="literal", client_factory=client,
                                    locks=FirestoreTableLocks(
                                        cfg.project, collection_prefix=cfg.collection_prefix),
                                    lock_ttl_s=lock_ttl_s, lock_wait_s=lock_wait_s),
        status=FirestoreStatusStore(cfg.project, collection_prefix=cfg.collection_prefix),
        bucket=FolderBucket(Path(os.environ["BACKCOURT_TEST_BUCKET_DIR"])),
        clock=SystemClock(),
    )


def _wired() -> None:
    if "services" not in main.RUNTIME.overrides:
        main.set_services(_services())


def process(event: CloudEvent) -> None:
    """``main.process`` on the emulator adapters."""
    _wired()
    main.process(event)
    print("DELIVERED", event["id"] if "id" in event else "?", flush=True)  # counted by the test


def plan(request: Request) -> Any:
    """``main.plan`` on the emulator adapters."""
    _wired()
    return main.plan(request)


def progress(request: Request) -> Any:
    """``main.progress`` on the emulator adapters."""
    _wired()
    return main.progress(request)


def validate(request: Request) -> Any:
    """``main.validate`` on the emulator adapters."""
    _wired()
    return main.validate(request)
