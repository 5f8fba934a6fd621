"""Session fixtures that start Google's Firestore and Pub/Sub emulators (registered as a plugin).

Each fixture finds the Google Cloud SDK (``$GCLOUD_SDK_ROOT``, else
``gcloud info --format=value(installation.sdk_root)``), starts the emulator jar with java on
127.0.0.1 and a free port, waits until it answers, exports ``FIRESTORE_EMULATOR_HOST`` /
``PUBSUB_EMULATOR_HOST`` for the session and yields ``"host:port"``. The process is stopped by its
PID at teardown. When the emulator is missing the fixture skips, or fails when ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

from processes import free_port

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
FIRESTORE_JAR = Path("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
PUBSUB_LIB = Path("platform/pubsub-emulator/lib")
FIRESTORE_MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
INSTALL_HINT = ("install google-cloud-cli with its Firestore and Pub/Sub emulator components "
                "and a Java runtime, or set GCLOUD_SDK_ROOT to the SDK root")


def missing(what: str, where: str) -> NoReturn:
    """Fail (CI) or skip (elsewhere) because the emulator ``what`` is not at ``where``."""
    message = f"{what} emulator not found at {where}: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@cache
def sdk_root() -> Path | None:
    """The Google Cloud SDK root, or None when neither the variable nor gcloud is available."""
    configured = os.environ.get("GCLOUD_SDK_ROOT")
    if configured:
        return Path(configured)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    try:
        done = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return Path(text) if text else None


def rest(host: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One JSON call to an emulator's REST API (``http://host/v1/path``)."""
    req = urllib.request.Request(f"http://{host}/v1/{path}", method=method,
                                 data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def answers_ok(port: int) -> bool:
    """Whether the emulator at ``port`` answers ``GET /`` with 200 (both emulators do)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=1) as reply:
            return int(reply.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the emulator process we started (its own process group, by PID)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)  # start_new_session=True: the group id is the PID we started
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


def run_emulator(name: str, command: list[str], port: int, log: Path,
                 env_var: str) -> Iterator[str]:
    """Start ``command``, wait for readiness, export ``env_var`` and yield ``host:port``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not answers_ok(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"{name} emulator did not start on port {port} "
                            f"(exit code {proc.poll()}):\n{tail}", pytrace=False)
            time.sleep(0.1)
        address = f"{HOST}:{port}"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(env_var, address)
            yield address
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Firestore emulator for the session; ``FIRESTORE_EMULATOR_HOST`` is set meanwhile."""
    root = sdk_root()
    jar = root / FIRESTORE_JAR if root else None
    java = shutil.which("java")
    if jar is None or not jar.is_file() or java is None:
        missing("Firestore", str(jar or "<no gcloud SDK>") + ("" if java else " (no java)"))
    port = free_port()
    command = [java, "-cp", str(jar), FIRESTORE_MAIN, "start", f"--host={HOST}", f"--port={port}"]
    log = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    yield from run_emulator("Firestore", command, port, log, "FIRESTORE_EMULATOR_HOST")


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Pub/Sub emulator for the session; ``PUBSUB_EMULATOR_HOST`` is set meanwhile."""
    root = sdk_root()
    lib = root / PUBSUB_LIB if root else None
    jars = sorted(lib.glob("cloud-pubsub-emulator-*-all.jar")) if lib and lib.is_dir() else []
    java = shutil.which("java")
    if not jars or java is None:
        where = str(lib / "cloud-pubsub-emulator-*-all.jar") if lib else "<no gcloud SDK>"
        missing("Pub/Sub", where + ("" if java else " (no java)"))
    port = free_port()
    command = [java, "-jar", str(jars[-1]), f"--host={HOST}", f"--port={port}"]
    log = tmp_path_factory.mktemp("pubsub-emulator") / "emulator.log"
    yield from run_emulator("Pub/Sub", command, port, log, "PUBSUB_EMULATOR_HOST")
