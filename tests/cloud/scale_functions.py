"""The functions of the scale run (test_scale_cloud.py): ``emulated_functions.py`` (the real entry
points on bqemulator, the Firestore emulator and the bucket folder) with Google Cloud's behaviour
switched on where the emulators are kinder, each fault a wrapper around the real component:

* ``BACKCOURT_TEST_HANG_ONCE=<table>``: the first ``replace`` of that table, across all worker
  processes (an ``O_EXCL`` marker file in ``BACKCOURT_TEST_FAULT_DIR``), hangs past the handler's
  deadline, so gunicorn kills the worker at ``CLOUD_RUN_TIMEOUT_SECONDS`` as Cloud Run ends a
  request at the function's timeout; Pub/Sub then redelivers the same message id.
* BigQuery's "Transaction is aborted due to concurrent update" for the second of two overlapping
  transactions on one table, and 409 for a reused job id: ``tests/gcp_semantics/bigquery.py``,
  switched on in the whole process by its ``autoload`` folder on ``PYTHONPATH`` and
  ``BACKCOURT_GCP_SEMANTICS_BQ_DIR``.

Every delivery prints ``SCALE_DELIVERED <pid> <message id>`` so the test counts the instances.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent
from flask import Request

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import emulated_functions as ef  # noqa: E402

HANG_S = 3600.0


class _HangOnce:
    """The warehouse, except that the first ``replace`` of one table never finishes."""

    def __init__(self, inner: Any, table: str, marker: Path) -> None:
        self._inner = inner
        self._table = table
        self._marker = marker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def replace(self, table: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(table, "name", None) == self._table and self._first():
            print(f"SCALE_HANG {os.getpid()} {self._table}", flush=True)
            time.sleep(HANG_S)
        return self._inner.replace(table, *args, **kwargs)

    def _first(self) -> bool:
        try:
            fd = os.open(self._marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.close(fd)
        return True


def _services() -> Any:
    services = ef._services()
    hang = os.environ.get("BACKCOURT_TEST_HANG_ONCE")
    if hang:
        marker = Path(os.environ["BACKCOURT_TEST_FAULT_DIR"]) / f"hang-{hang}"
        services = dataclasses.replace(services, warehouse=_HangOnce(services.warehouse,
                                                                     hang, marker))
    return services


def _wired() -> None:
    if "services" not in ef.main.RUNTIME.overrides:
        ef.main.set_services(_services())


def process(event: CloudEvent) -> None:
    """``main.process`` on the emulator adapters, faults on."""
    _wired()
    print(f"SCALE_DELIVERED {os.getpid()} {event['id'] if 'id' in event else '?'}", flush=True)
    ef.main.process(event)


def plan(request: Request) -> Any:
    """``main.plan`` on the emulator adapters."""
    return ef.plan(request)


def progress(request: Request) -> Any:
    """``main.progress`` on the emulator adapters."""
    return ef.progress(request)


def validate(request: Request) -> Any:
    """``main.validate`` on the emulator adapters."""
    return ef.validate(request)
