"""Cloud Run functions and Pub/Sub push as Google runs them, around the real pieces
(functions-framework served by gunicorn, the Pub/Sub emulator): what the emulators leave out.

1. **A handler is stopped at its timeout.** "The maximum timeout duration is 60 minutes (3600
   seconds) for HTTP functions and 9 minutes (540 seconds) for event-driven functions. When
   function execution reaches its timeout, a response message with an HTTP 504 error status is
   immediately returned to the caller." (https://cloud.google.com/functions/docs/configuring/timeout).
   :func:`serve` runs ``functions-framework --target …`` as deployed (gunicorn, one worker, one
   thread) with ``CLOUD_RUN_TIMEOUT_SECONDS`` set: functions-framework 3.10 passes it to
   gunicorn as the worker ``timeout`` (``functions_framework/_http/gunicorn.py``), and gunicorn's
   arbiter kills a sync worker whose request runs longer and starts a fresh one. So a handler
   that hangs is really killed at its (scaled-down) deadline, mid-work, with whatever leases it
   holds; the process it ran in is gone.
2. **The push caller sees the timeout as a failed delivery and Pub/Sub redelivers the same
   message id.** "The endpoint acknowledges the message by returning an HTTP success status
   code. A non-success response indicates that Pub/Sub must resend the messages"
   (https://cloud.google.com/pubsub/docs/push); "For push delivery, this value [the ack
   deadline] is used to set the request timeout for the call to the push endpoint" (the
   ``Subscription.ackDeadlineSeconds`` reference). :class:`PushProxy` is the push endpoint the
   emulator's subscription calls: it forwards each push to the function and answers 504, as
   Cloud Run does, when the function's connection dies (the worker was killed), or its answer
   comes after the function's timeout or the ack deadline. The Pub/Sub emulator then
   redelivers the same message id.
3. **The delivery count and the dead-letter limit.** The push body carries ``deliveryAttempt``
   when the subscription has a dead-letter policy ("The number of delivery attempts is defined
   as 1 + (the sum of number of NACKs and number of times the acknowledgement deadline has been
   exceeded for the message)", the ``DeadLetterPolicy`` reference,
   https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions). The emulator
   counts attempts and dead-letters after ``maxDeliveryAttempts`` but leaves ``deliveryAttempt``
   out of its push body, so the proxy counts the deliveries of each message id and adds it.

Every delivery is recorded (message id, attempt, HTTP status) for the test to count.
"""

from __future__ import annotations

import http.client
import json
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
from typing import Any

from processes import free_port
from processes import listening as _listening
from processes import stop_group as _stop

FF = Path(sys.executable).parent / "functions-framework"
HOST = "127.0.0.1"
GATEWAY_TIMEOUT = 504


@dataclass
class Served:
    """A function served by functions-framework under gunicorn."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def output(self) -> str:
        """What the server printed so far (gunicorn, the function's logs)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def serve(source: Path, target: str, kind: str, env: Mapping[str, str], *, timeout_s: int,
          log: Path, cwd: Path, ready_s: float = 60.0) -> Iterator[Served]:
    """``functions-framework --source source --target target`` as Cloud Run runs it: gunicorn,
    one worker with one thread (a sync worker, so a request running past ``timeout_s`` gets the
    worker killed and replaced), until the block ends.

    Raises:
        RuntimeError: the server did not answer within ``ready_s``.
    """
    port = free_port()
    full = {**env, "CLOUD_RUN_TIMEOUT_SECONDS": str(timeout_s), "WORKERS": "1", "THREADS": "1",
            "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(FF), "--source", str(source), "--target", target, "--signature-type", kind,
             "--host", HOST, "--port", str(port)],
            env=full, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=cwd)
    served = Served(port, proc, log)
    try:
        deadline = time.monotonic() + ready_s
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"functions-framework {target} did not start:\n"
                                   + served.output()[-3000:])
            time.sleep(0.1)
        yield served
    finally:
        _stop(proc)


@dataclass
class Delivery:
    """One push delivery as the proxy saw it."""

    message_id: str
    attempt: int
    status: int
    seconds: float


@dataclass
class PushProxy:
    """The push endpoint of a Pub/Sub emulator subscription, in front of a function.

    ``ack_deadline_s`` is the subscription's ack deadline: the request timeout of a push."""

    target: str
    ack_deadline_s: float
    function_timeout_s: float | None = None
    """The function's timeout: an answer that comes after it is a 504, whatever the killed
    worker sent (gunicorn answers 500 while aborting it; Cloud Run answers 504)."""
    refuse_first: int = 0
    """Deliveries of each message answered 503 before reaching the function (a delivery that
    fails at the endpoint: "If the endpoint returns an error response code, then the message
    delivery is considered to have failed and is retried later",
    https://cloud.google.com/pubsub/docs/push-troubleshooting); they count as attempts."""
    deliveries: list[Delivery] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, envelope: dict[str, Any]) -> int:
        """Forward one push (with ``deliveryAttempt``); the status Pub/Sub gets back."""
        msg = envelope.get("message") or {}
        message_id = str(msg.get("messageId") or msg.get("message_id") or "?")
        with self.lock:
            self.counts[message_id] += 1
            attempt = self.counts[message_id]
        body = json.dumps({**envelope, "deliveryAttempt": attempt}).encode()
        started = time.monotonic()
        if attempt <= self.refuse_first:
            with self.lock:
                self.deliveries.append(Delivery(message_id, attempt, 503, 0.0))
            return 503
        request = urllib.request.Request(self.target, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.ack_deadline_s) as reply:
                status = int(reply.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (OSError, http.client.HTTPException):  # killed worker, or past the deadline
            status = GATEWAY_TIMEOUT
        took = time.monotonic() - started
        if self.function_timeout_s is not None and took >= self.function_timeout_s:
            status = GATEWAY_TIMEOUT
        with self.lock:
            self.deliveries.append(Delivery(message_id, attempt, status, took))
        return status

    def of(self, message_id: str) -> list[Delivery]:
        """The deliveries of one message, in order."""
        with self.lock:
            return [d for d in self.deliveries if d.message_id == message_id]

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free port; yields the push endpoint URL."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = proxy.push(json.loads(raw or b"{}"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

        server = ThreadingHTTPServer((HOST, 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{HOST}:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
