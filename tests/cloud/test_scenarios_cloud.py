"""The scenario suite (tests/scenarios/) with the ``emulators`` driver: the real
``backfill.workflows.yaml`` on workflows-emulator publishes to the Pub/Sub emulator, whose push
subscription delivers to the ``process`` function; the status store is Firestore (emulator).

As in test_incidents_cloud.py, the warehouse is the home's DuckDB file (the BigQuery path has
its own end-to-end test, test_end_to_end.py: bqemulator is too slow for phases 2 → 6) and the
functions run in this process (functions-framework apps) behind one local HTTP server that is
both the workflow's function URLs (``PLAN_URL`` = ``…/plan``, …) and the push endpoint. Each
scenario's final states and reasons are compared with the ``local`` driver's on a home of its own.

The push endpoint stands in for what delivers to the function: it turns each push into the
Pub/Sub CloudEvent, and adds the ``deliveryAttempt`` the Pub/Sub emulator leaves out of its push
body (it counts the deliveries of each message id; the subscription's dead-letter policy, which
the emulator honours, bounds them at 5).

The workflow runs every requested phase as the local driver does (per-input gating) and ends
the execution FAILED when a phase BLOCKed a date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cloud_stack import push_subscription

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))

import scenario_cases as sc  # noqa: E402
import scenario_kit  # noqa: E402
from faults import FUNCTIONS_SOURCE, functions_main, new_home  # noqa: E402
from scenario_kit import LocalDriver, Outcome, PhaseReport, same_as_local  # noqa: E402

from backcourt.domain.registry import Phase  # noqa: E402
from backcourt.ports import Services, StatusStore  # noqa: E402
from backcourt.services.plan import Window  # noqa: E402

pytestmark = pytest.mark.emulator

PROJECT = "scenarios"
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
TARGETS = {"plan": "http", "progress": "http", "validate": "http", "process": "cloudevent"}


class _Functions(BaseHTTPRequestHandler):
    """``/plan``, ``/progress``, ``/validate`` (the workflow's calls) and ``/process`` (the push
    endpoint) answered by the real functions in this process."""

    apps: dict[str, Any] = {}
    deliveries: Counter[str] = Counter()
    log: list[tuple[str, str, int, int]] = []
    """(phase, message id, deliveryAttempt, status) of every push."""
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.rstrip("/") or "/process"
        if path == "/process":
            status = self._push(json.loads(body))
            data, kind = b"", "text/plain"
        else:
            reply = self.apps[path.strip("/")].test_client().post("/", data=body, headers={
                "Content-Type": "application/json"})
            status, data = reply.status_code, reply.get_data()
            kind = reply.headers.get("Content-Type", "application/json")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _push(self, envelope: dict[str, Any]) -> int:
        import base64

        msg = envelope["message"]
        with self.lock:
            self.deliveries[msg["messageId"]] += 1
            attempt = self.deliveries[msg["messageId"]]
        attributes = msg.get("attributes") or {}
        headers, body = scenario_kit.pubsub_event(base64.b64decode(msg["data"]),
                                                  msg["messageId"], attempt, attributes)
        status = int(self.apps["process"].test_client().post("/", headers=headers,
                                                              data=body).status_code)
        with self.lock:
            self.log.append((attributes.get("phase", "?"), msg["messageId"], attempt, status))
        return status

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""


@pytest.fixture(scope="module")
def functions_url() -> Iterator[str]:
    """The local server in front of the functions (stopped afterwards)."""
    import functions_framework

    _Functions.apps = {name: functions_framework.create_app(name, source=FUNCTIONS_SOURCE,
                                                            signature_type=kind)
                       for name, kind in TARGETS.items()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Functions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class EmulatorDriver:
    """The real workflow on workflows-emulator, Pub/Sub emulator push to the functions."""

    name = "emulators"

    def __init__(self, pubsub: str, functions_url: str) -> None:
        self.pubsub = pubsub
        self.functions_url = functions_url
        self.results: list[dict[str, Any]] = []

    def run(self, services: Services, scope: scenario_kit.Scope,
            phases: Sequence[Phase | str], force: bool = False) -> Outcome:
        assert isinstance(scope, Window) and scope.start and scope.end
        suffix = uuid.uuid4().hex[:8]
        topic = f"projects/{PROJECT}/topics/scen-{suffix}"
        push_subscription(self.pubsub, topic, f"{self.functions_url}/process")
        main = functions_main()
        main.set_services(services)
        start = len(_Functions.log)
        args = {"start": scope.start.isoformat(), "end": scope.end.isoformat(),
                "phases": [p.value if isinstance(p, Phase) else str(p) for p in phases],
                "force": force}
        env = {**os.environ, **{f"{n.upper()}_URL": f"{self.functions_url}/{n}"
                                for n in ("plan", "progress", "validate")}, "WORK_TOPIC": topic,
               "POLL_INTERVAL_S": "1", "PHASE_DEADLINE_S": "90",
               "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": f"scen-{suffix}"}
        try:
            done = subprocess.run([str(WF_PYTHON), str(HERE / "wf_run.py"),
                                   str(REPO / "workflows" / "backfill.workflows.yaml"),
                                   json.dumps(args)], env=env, capture_output=True,
                                  timeout=300, cwd=REPO, check=False)
        finally:
            main.set_services(None)
        lines = [ln for ln in done.stdout.decode().splitlines() if ln.startswith("WORKFLOW_")]
        # Success returns the report; a BLOCK ends the execution FAILED with it in the error.
        ended = [ln for ln in lines if ln.startswith(("WORKFLOW_RESULT ", "WORKFLOW_ERROR "))]
        assert ended, (lines, done.stderr.decode()[-4000:])
        result: dict[str, Any] = json.loads(ended[-1].split(" ", 1)[1])
        assert ended[-1].startswith("WORKFLOW_RESULT ") or result.get("state") == "blocked", (
            result)
        self.results.append(result)
        pushes = _Functions.log[start:]
        out = Outcome(self.name, raw=result)
        for p in result["phases"]:
            mine = [x for x in pushes if x[0] == p["phase"]]
            out.phases.append(PhaseReport(
                p["phase"], p["verdict"], published=p["published"], deliveries=len(mine),
                redeliveries=sum(1 for x in mine if x[2] > 1),
                dead_lettered=sum(1 for x in mine if x[2] >= 5 and x[3] >= 500),
                in_flight_at_gate=p["in_flight_at_gate"]))
        return out


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario_kit.sample_bucket(tmp_path_factory)


@pytest.fixture
def make_home(sample_bucket: Path, tmp_path: Path) -> Callable[..., Path]:
    def make(days: Sequence[date], name: str = "home") -> Path:
        return new_home(sample_bucket, tmp_path / name, days)

    return make


@pytest.fixture
def driver(firestore_emulator: str, pubsub_emulator: str, functions_url: str) -> EmulatorDriver:
    if not WF_PYTHON.exists():
        message = f"workflows-emulator not found at {WF_PYTHON}: run scripts/wf-venv.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return EmulatorDriver(pubsub_emulator, functions_url)


def _firestore() -> StatusStore:
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    return FirestoreStatusStore(PROJECT, collection_prefix=f"s{uuid.uuid4().hex[:10]}")


def test_clean_window_on_the_emulators(make_home: Callable[..., Path],
                                       driver: EmulatorDriver) -> None:
    r = sc.clean(make_home, driver, status=_firestore())
    sc.check_clean(r)
    assert driver.results[-1]["state"] == "succeeded"
    same_as_local({}, "clean", driver.name, r,
                  lambda: sc.clean(make_home, LocalDriver(), name="reference"))


def test_point_in_time_sources_missing_on_the_emulators(make_home: Callable[..., Path],
                                                        driver: EmulatorDriver) -> None:
    r = sc.point_in_time_missing(make_home, driver, status=_firestore())
    sc.check_point_in_time_missing(r)
    same_as_local({}, "point_in_time_missing", driver.name, r,
                  lambda: sc.point_in_time_missing(make_home, LocalDriver(), name="reference"))


def test_transient_failure_redelivered_by_pubsub(make_home: Callable[..., Path],
                                                 driver: EmulatorDriver) -> None:
    r = sc.transient(make_home, driver, status=_firestore())
    sc.check_transient(r)
    same_as_local({}, "transient", driver.name, r,
                  lambda: sc.transient(make_home, LocalDriver(), name="reference"))


def test_missing_shot_chart_on_the_emulators(make_home: Callable[..., Path],
                                             driver: EmulatorDriver) -> None:
    r = sc.shot_chart_missing(make_home, driver, status=_firestore())
    same_as_local({}, "shot_chart_missing", driver.name, r,
                  lambda: sc.shot_chart_missing(make_home, LocalDriver(), name="reference"))
    sc.check_shot_chart_missing(r)
