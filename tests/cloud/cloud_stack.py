"""Pieces of a local Google Cloud stack shared by the emulator tests: functions-framework servers
started and stopped by process group, and the Pub/Sub push proxy that adds what the emulator
leaves out of a push body.

The Pub/Sub emulator pushes the envelope without ``deliveryAttempt``; Pub/Sub adds it when the
subscription has a dead-letter policy ("deliveryAttempt ... is set when a dead-letter policy is
configured on the subscription", https://cloud.google.com/pubsub/docs/push#receive_push). The
proxy counts the deliveries of each message id and puts the count in the body it forwards, so
the function sees what it would see on Google Cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emulator_fixtures import rest
from processes import listening

REPO = Path(__file__).resolve().parents[2]
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
FF = Path(sys.executable).parent / "functions-framework"


def require_workflows_emulator() -> None:
    """Skip (fail under CI) when the workflows-emulator venv is missing."""
    if WF_PYTHON.exists():
        return
    message = f"workflows-emulator not found at {WF_PYTHON}: run scripts/wf-venv.sh"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def start_function(source: Path, target: str, kind: str, port: int, env: Mapping[str, str],
                   log: Path) -> subprocess.Popen[bytes]:
    """``functions-framework --target`` on ``port`` (gunicorn: env WORKERS, THREADS and
    CLOUD_RUN_TIMEOUT_SECONDS set its worker processes, threads and request deadline)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(FF), "--source", str(source), "--target", target, "--signature-type", kind,
             "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=REPO)


def wait_listening(procs: Mapping[str, tuple[subprocess.Popen[bytes], int, Path]],
                   timeout_s: float = 30) -> None:
    """Wait until every server answers; fail with its log when one exits or times out."""
    deadline = time.monotonic() + timeout_s
    for name, (proc, port, log) in procs.items():
        while not listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"functions-framework {name} did not start:\n"
                            + log.read_text(errors="replace")[-2000:], pytrace=False)
            time.sleep(0.1)


TEST_BACKOFF = {"minimumBackoff": "2s", "maximumBackoff": "20s"}
"""The tests' retry policy: Terraform's (10 s … 600 s, ``terraform/modules/work_topic``) scaled
down, so a unit waiting on its inputs still has 2 + 4 + 8 + 16 = 30 s before its last of 5
deliveries (1–5 s left a transient retry upstream too little time). Google's reference
(RetryPolicy): "Retry delay will be exponential based on provided
minimum and maximum backoffs ... RetryPolicy will be triggered on NACKs or acknowledgement
deadline exceeded events for a given message" (https://cloud.google.com/pubsub/docs/reference/
rest/v1/projects.subscriptions#RetryPolicy). Without one, the emulator's own backoff can outlast
a test's phase deadline while a unit waits for its inputs."""


def push_subscription(pubsub: str, topic: str, endpoint: str, *, ack_deadline_s: int = 60,
                      max_deliveries: int | None = 5) -> str:
    """Create ``topic`` (a full ``projects/…/topics/…`` name), its dead-letter topic and a push
    subscription to ``endpoint`` with the tests' retry policy; returns the subscription name."""
    rest(pubsub, "PUT", topic)
    body: dict[str, object] = {"topic": topic, "pushConfig": {"pushEndpoint": endpoint},
                               "ackDeadlineSeconds": ack_deadline_s, "retryPolicy": TEST_BACKOFF}
    if max_deliveries is not None:
        rest(pubsub, "PUT", f"{topic}-dead")
        body["deadLetterPolicy"] = {"deadLetterTopic": f"{topic}-dead",
                                    "maxDeliveryAttempts": max_deliveries}
    subscription = topic.replace("/topics/", "/subscriptions/") + "-push"
    rest(pubsub, "PUT", subscription, body)
    return subscription


@dataclass
class PushLog:
    """Every push the proxy forwarded: (message id, phase attribute, deliveryAttempt, HTTP
    status, seconds to answer)."""

    entries: list[tuple[str, str, int, int, float]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_attempt(self, message_id: str) -> int:
        with self.lock:
            self.counts[message_id] += 1
            return self.counts[message_id]

    def add(self, message_id: str, phase: str, attempt: int, status: int,
            seconds: float) -> None:
        with self.lock:
            self.entries.append((message_id, phase, attempt, status, seconds))

    @property
    def redeliveries(self) -> int:
        """Deliveries beyond the first of each message id."""
        with self.lock:
            return sum(n - 1 for n in self.counts.values())


@contextmanager
def push_proxy(target_port: int, log: PushLog, timeout_s: float) -> Iterator[str]:
    """A local push endpoint that forwards each push to ``target_port`` with
    ``deliveryAttempt`` added; answers 504 when the target does not answer in ``timeout_s`` or
    drops the connection (a killed worker), as a push endpoint that timed out."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            envelope = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            message = envelope.get("message", {})
            message_id = str(message.get("messageId", "?"))
            phase = str((message.get("attributes") or {}).get("phase", "?"))
            began = time.monotonic()
            attempt = log.next_attempt(message_id)
            envelope["deliveryAttempt"] = attempt
            request = urllib.request.Request(
                f"http://127.0.0.1:{target_port}/", data=json.dumps(envelope).encode(),
                headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                    status = int(reply.status)
            except urllib.error.HTTPError as exc:
                status = int(exc.code)
            except OSError:
                status = 504
            log.add(message_id, phase, attempt, status, time.monotonic() - began)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
