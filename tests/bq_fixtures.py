"""The ``bqemulator`` session fixture: starts bqemulator from ``.venv-bq`` on free ports.

It never installs anything: ``scripts/bq-venv.sh`` (``make bq-venv``) creates the venv. When
``.venv-bq/bin/bqemulator`` is missing the fixture fails if ``CI=true`` and skips otherwise.
The process is stopped by PID at teardown.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from processes import free_port as _free_port
from processes import stop_group as _stop

REPO = Path(__file__).resolve().parents[1]
BQEMULATOR = REPO / ".venv-bq" / "bin" / "bqemulator"
BQ_PROJECT = "demo"
START_TIMEOUT_S = 60.0


def _answers(endpoint: str) -> bool:
    url = f"{endpoint}/bigquery/v2/projects/{BQ_PROJECT}/datasets"
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def bqemulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The REST endpoint (``http://127.0.0.1:P``) of a bqemulator serving project ``demo``."""
    if not BQEMULATOR.exists():
        message = (f"bqemulator not found at {BQEMULATOR}: "
                   "run scripts/bq-venv.sh (make bq-venv)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    rest, grpc = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "bqemulator.log"
    endpoint = f"http://127.0.0.1:{rest}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BQEMULATOR), "start", "--project", BQ_PROJECT, "--rest-port", str(rest),
             "--grpc-port", str(grpc), "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(endpoint):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"bqemulator did not start on port {rest}:\n{tail}", pytrace=False)
            time.sleep(0.2)
        yield endpoint
    finally:
        _stop(proc)
