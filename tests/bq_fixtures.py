"""The ``bqemulator`` session fixture: starts bqemulator from ``.venv-bq`` on free ports.

It never installs anything: ``scripts/bq-venv.sh`` (``make bq-venv``) creates the venv. When
``.venv-bq/bin/bqemulator`` is missing the fixture fails if ``CI=true`` and skips otherwise.
The process is stopped by PID at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BQEMULATOR = REPO / ".venv-bq" / "bin" / "bqemulator"
BQ_PROJECT = "demo"
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(endpoint: str) -> bool:
    url = f"{endpoint}/bigquery/v2/projects/{BQ_PROJECT}/datasets"
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


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
