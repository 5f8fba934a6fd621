"""Session fixture that starts a GCS emulator (``gcp-storage-emulator``, registered as a plugin).

``gcs_emulator`` runs ``python -m gcp_storage_emulator start --in-memory`` with the test
interpreter on 127.0.0.1 and a free port, waits until it answers, exports
``STORAGE_EMULATOR_HOST=http://127.0.0.1:<port>`` for the session (the storage client wants the
scheme in it) and yields that URL. The process is stopped by its PID at teardown. When the
package is not installed the fixture skips, or fails when ``CI=true``.

``gcs_bucket`` gives each test a ``GcsBucket`` on a fresh, uniquely named bucket, with an
injected anonymous client pointed at the emulator.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from backcourt.adapters.gcp.gcs_bucket import GcsBucket
from emulator_fixtures import HOST, READY_TIMEOUT_S, answers_ok, free_port, stop

MODULE = "gcp_storage_emulator"
PROJECT = "backcourt-contract"
INSTALL_HINT = "pip install gcp-storage-emulator (it is in the dev extra: pip install -e .[dev])"


def _missing() -> NoReturn:
    """Fail (CI) or skip (elsewhere) because the emulator package is not importable."""
    message = (f"GCS emulator not found: no module {MODULE!r} in {sys.executable}; "
               f"{INSTALL_HINT}")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A GCS emulator for the session; ``STORAGE_EMULATOR_HOST`` is set meanwhile (a URL)."""
    if importlib.util.find_spec(MODULE) is None:
        _missing()
    port = free_port()
    command = [sys.executable, "-m", MODULE, "start", f"--host={HOST}", f"--port={port}",
               "--in-memory"]
    log: Path = tmp_path_factory.mktemp("gcs-emulator") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers_ok(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"GCS emulator did not start on port {port} "
                            f"(exit code {proc.poll()}):\n{tail}", pytrace=False)
            time.sleep(0.1)
        url = f"http://{HOST}:{port}"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("STORAGE_EMULATOR_HOST", url)
            yield url
    finally:
        stop(proc)


def emulator_client(url: str) -> Any:
    """An anonymous ``google.cloud.storage.Client`` talking to the emulator at ``url``."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call, unused-ignore]
    return storage.Client(project=PROJECT, credentials=anonymous,
                          client_options={"api_endpoint": url})


@pytest.fixture
def gcs_bucket(gcs_emulator: str) -> GcsBucket:
    """A ``GcsBucket`` on a new bucket (unique name) in the session's emulator."""
    client = emulator_client(gcs_emulator)
    name = f"bc-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(name)
    return GcsBucket(PROJECT, name, client=client)
