"""The legacy incidents on the cloud path, where it differs from the embedded default: Pub/Sub
delivery and the Firestore status store (Google's emulators), the ``process``, ``validate`` and
``start_daily`` functions (functions-framework, in process) and the ``backfill`` workflow
(workflows-emulator). The warehouse is the embedded DuckDB file (the BigQuery path has its own
end-to-end test); the incident tests on the embedded default are in tests/incidents/.

* duplicate delivery (LESSONS #5, "blind WRITE_APPEND with Pub/Sub redelivery (up to 115× row
  amplification)"): five copies published to Pub/Sub and delivered at once, one ack lost so
  the message comes back — each (processor, date) is leased in Firestore and written once;
* a killed worker (LESSONS #4, R4.3, "A processor stuck "running" for 4 h blocked downstream
  work"): a real process SIGKILLed in its write leaves a Firestore lease nobody renews; a
  redelivery leaves it alone, and once it has expired the next plan retries the date;
* a validator that raises (LESSONS #10, R10.2, "a broad `except` swallows the raise"): the
  ``validate`` function answers BLOCK, Firestore keeps the verdict, what reads the blocked
  phase is blocked naming the validator error, and the execution ends FAILED;
* the daily trigger (LESSONS #5, R5.2): ``start_daily`` resolves the tick's Pub/Sub publish
  time in America/New_York and starts the workflow with explicit dates.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cloud_stack import push_subscription

from emulator_fixtures import rest
from sample_cache import cached_season

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "incidents"))

from faults import (  # noqa: E402
    BrokenQueries,
    Executions,
    FaultyWarehouse,
    copy_window,
    duplicate_keys,
    faulty_on,
    function_client,
    functions_main,
    pubsub_event,
    resume_after_lease_expiry,
    rows,
)

from backcourt.bootstrap import OffsetClock, build  # noqa: E402
from backcourt.config import load_settings  # noqa: E402
from backcourt.domain.errors import TransientError  # noqa: E402
from backcourt.domain.messages import parse_message  # noqa: E402
from backcourt.domain.registry import Phase, of_phase  # noqa: E402
from backcourt.domain.status import State  # noqa: E402
from backcourt.ports import Services, StatusStore  # noqa: E402
from backcourt.services import protocol  # noqa: E402
from backcourt.services.backfill import Runner  # noqa: E402
from backcourt.services.plan import Window  # noqa: E402

pytestmark = pytest.mark.emulator

PROJECT = "incidents"
REPO = Path(__file__).resolve().parents[2]
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
SEASON = "2024-25"
D1, D2 = date(2024, 10, 22), date(2024, 10, 23)  # opening week: no earlier history to read
TEAM = "team_offense_game_summary"
PHASE3 = [p.name for p in of_phase(Phase.ANALYTICS)]


def _store() -> StatusStore:
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    return FirestoreStatusStore(PROJECT, collection_prefix=f"i{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season (a bucket folder, read only), generated once per test run."""
    return cached_season(tmp_path_factory, SEASON)


def _home(sample: Path, root: Path, days: list[date]) -> Path:
    copy_window(sample, load_settings(root, env={}).local.bucket_path, days)
    return root


def _loaded(sample: Path, root: Path, status: StatusStore) -> tuple[Services, FaultyWarehouse]:
    """Phase 2 of D1..D2 on Firestore + DuckDB, and phase 3 planned (seeded)."""
    s, wh = faulty_on(_home(sample, root, [D1, D2]), status=status)
    Runner(s).backfill([SEASON], [Phase.RAW], Window(D1, D2))
    return s, wh


# -- duplicate delivery through Pub/Sub, leases in Firestore ----------------------------------


def _pull(host: str, sub: str, want: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(got) < want and time.monotonic() < deadline:
        got += rest(host, "POST", f"{sub}:pull", {"maxMessages": want - len(got),
                                                   "returnImmediately": False}).get(
            "receivedMessages", [])
    assert len(got) == want, got
    return got


def _deliver_pulled(received: dict[str, Any]) -> int:
    """What Eventarc does with a pulled message: one CloudEvent to ``process``."""
    msg = received["message"]
    headers, body = pubsub_event(base64.b64decode(msg["data"]), msg["messageId"],
                                 attributes=msg.get("attributes"))
    return int(function_client("process", "cloudevent").post("/", headers=headers,
                                                             data=body).status_code)


def test_duplicate_deliveries_lease_each_partition_once(
        firestore_emulator: str, pubsub_emulator: str, sample: Path, tmp_path: Path) -> None:
    s, wh = _loaded(sample, tmp_path / "home", _store())
    main = functions_main()
    main.set_services(s)
    topic = f"projects/{PROJECT}/topics/dup-{uuid.uuid4().hex[:8]}"
    sub = topic.replace("/topics/", "/subscriptions/")
    try:
        (unit,), = protocol.plan_phase(s, "3", start=D1, end=D2, run_id="dup")["waves"]
        rest(pubsub_emulator, "PUT", topic)
        rest(pubsub_emulator, "PUT", sub, {"topic": topic, "ackDeadlineSeconds": 30})
        data = base64.b64encode(json.dumps(unit).encode()).decode()
        rest(pubsub_emulator, "POST", f"{topic}:publish",
              {"messages": [{"data": data, "attributes": {"run_id": "dup", "phase": "3"}}] * 5})
        wh.delay_s = 0.05  # writes take a moment: the five deliveries overlap
        received = _pull(pubsub_emulator, sub, 5)
        codes: dict[str, int] = {}
        threads = [threading.Thread(
            target=lambda r=r: codes.__setitem__(r["ackId"], _deliver_pulled(r)))
            for r in received]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        # A copy that finds an input still being written by another copy answers 5xx (a nack:
        # Pub/Sub redelivers it); redelivered, it finds nothing left to do.
        assert set(codes.values()) <= {200, 500} and 200 in codes.values(), codes
        for r in received:
            if codes[r["ackId"]] != 200:
                assert _deliver_pulled(r) == 200
        # Four acks arrive; one is lost, so Pub/Sub delivers that message again.
        rest(pubsub_emulator, "POST", f"{sub}:acknowledge",
              {"ackIds": [r["ackId"] for r in received[1:]]})
        rest(pubsub_emulator, "POST", f"{sub}:modifyAckDeadline",
              {"ackIds": [received[0]["ackId"]], "ackDeadlineSeconds": 0})
        (again,) = _pull(pubsub_emulator, sub, 1)
        assert again["message"]["messageId"] == received[0]["message"]["messageId"]
        assert _deliver_pulled(again) == 200
        rest(pubsub_emulator, "POST", f"{sub}:acknowledge", {"ackIds": [again["ackId"]]})

        written = Counter((w.table, d) for w in wh.writes for d in w.days
                          if w.table in {p.table.name for p in of_phase(Phase.ANALYTICS)})
        assert set(written.values()) == {1} and len(written) == len(PHASE3) * 2, written
        for name in PHASE3:
            for day in (D1, D2):
                st = s.status.get(name, day)
                assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 1), st
        assert duplicate_keys(s.warehouse, PHASE3) == dict.fromkeys(PHASE3, 0)
    finally:
        main.set_services(None)
        s.close()


# -- a worker killed mid-write: its Firestore lease expires ------------------------------------


def test_killed_worker_lease_expires_on_firestore_then_the_date_is_retried(
        firestore_emulator: str, sample: Path, tmp_path: Path) -> None:
    prefix = f"k{uuid.uuid4().hex[:10]}"
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    store = FirestoreStatusStore(PROJECT, collection_prefix=prefix)
    home = tmp_path / "home"
    s, _ = _loaded(sample, home, store)
    (unit,), = protocol.plan_phase(s, "3", start=D1, end=D2, run_id="doomed-run")["waves"]
    s.close()
    marker, log = tmp_path / "hung", tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}
    env["BACKCOURT_TEST_PROJECT"] = PROJECT
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "incidents" / "faults.py"), "worker",
             str(home), str(marker), TEAM, "in_write", json.dumps(unit), prefix],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    watcher = FirestoreStatusStore(PROJECT, collection_prefix=prefix)
    try:
        deadline = time.monotonic() + 90
        while not (marker.exists() and all(
                (d := watcher.get(TEAM, day)) is not None and d.state is State.RUNNING
                for day in (D1, D2))):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        watcher.close()
    assert proc.returncode == -signal.SIGKILL

    clock = OffsetClock()
    s, wh = faulty_on(home, status=FirestoreStatusStore(PROJECT, collection_prefix=prefix),
                      clock=clock)
    try:
        msg = parse_message(json.dumps(unit).encode())
        # A redelivery while the dead worker's lease is live leaves its dates alone; what reads
        # them waits, so the message asks to be redelivered again.
        with pytest.raises(TransientError, match="wait for their inputs"):
            protocol.process_message(s, msg, execution_id="redelivery")
        for day in (D1, D2):
            st = s.status.get(TEAM, day)
            assert st is not None and (st.state, st.attempts) == (State.RUNNING, 1)
            assert rows(wh, TEAM, day) == 0  # killed inside its transaction: nothing
        assert protocol.progress(s, "3", D1, D2)["finished"] is False

        resume_after_lease_expiry(s, clock, "3", D1, D2, TEAM)
        assert protocol.progress(s, "3", D1, D2)["finished"] is True
        for day in (D1, D2):
            st = s.status.get(TEAM, day)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 2), st
        assert duplicate_keys(s.warehouse, PHASE3) == dict.fromkeys(PHASE3, 0)
        assert protocol.validate(s, "3", D1, D2)["verdict"] != "BLOCK"
    finally:
        s.close()


# -- a validator that raises: BLOCK, persisted, readers blocked, the execution FAILED --------


class _Router(BaseHTTPRequestHandler):
    """The workflow's function URLs (``PLAN_URL`` = ``…/plan``, …) and the push endpoint of
    Pub/Sub: each path goes to the real function (functions-framework test client) in this
    process."""

    calls: list[tuple[str, str]] = []
    broken: BrokenQueries | None = None
    services: Services | None = None
    busy = threading.Semaphore(64)  # one permit per request being answered

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        with _Router.busy:
            self._answer()

    @classmethod
    def drain(cls, timeout_s: float = 120) -> None:
        """Wait until no request is being answered (a late redelivery may still be running
        when the workflow ends: the services it uses must outlive it)."""
        deadline = time.monotonic() + timeout_s
        taken = 0
        while taken < 64 and time.monotonic() < deadline:
            taken += cls.busy.acquire(timeout=1)
        for _ in range(taken):
            cls.busy.release()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.rstrip("/") or "/process"
        args = json.loads(body or b"{}")
        _Router.calls.append((path, str(args.get("phase", ""))))
        if path == "/process":
            reply = function_client("process", "cloudevent").post("/", json=args)
        elif path == "/validate":  # the gate's queries fail while the validator runs
            assert _Router.services is not None and _Router.broken is not None
            real = _Router.services.warehouse
            _Router.services.warehouse = _Router.broken  # type: ignore[assignment]
            try:
                reply = function_client("validate", "http").post("/", json=args)
            finally:
                _Router.services.warehouse = real
        else:
            reply = function_client(path.strip("/"), "http").post("/", json=args)
        data = reply.get_data()
        self.send_response(reply.status_code)
        self.send_header("Content-Type", reply.headers.get("Content-Type", "text/plain"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""


@pytest.fixture
def router() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Router.calls = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_validator_raising_blocks_what_reads_it_and_the_execution_fails(
        firestore_emulator: str, pubsub_emulator: str, sample: Path, tmp_path: Path,
        router: str) -> None:
    """Google's Workflows reference (error types): "When a workflow throws an error during
    execution that isn't caught, the execution fails, and an error map (a JSON dictionary)
    describing the error is returned"; raised errors "can be either a string or a map" with
    user-defined keys. The BLOCK is such an uncaught raise: the execution is FAILED, so the
    failed-execution alert fires, and the error map carries the phase report."""
    if not WF_PYTHON.exists():
        message = f"workflows-emulator not found at {WF_PYTHON}: run scripts/wf-venv.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    s, _ = faulty_on(_home(sample, tmp_path / "home", [D1]), status=_store())
    s.warehouse.ensure_tables([p.table for p in of_phase(Phase.RAW)])
    main = functions_main()
    main.set_services(s)
    _Router.services = s
    # The gate's own measurements of the box scores fail (their key-statistics query); the
    # schedule's pass, so the box scores themselves run (a validator error on an input blocks
    # its readers: had the schedule's check failed, the box scores would block too).
    _Router.broken = BrokenQueries(s.warehouse, KeyError("injected: a bug in the validator"),
                                   when="_boxscores WHERE game_date BETWEEN @s")
    suffix = uuid.uuid4().hex[:8]
    topic = f"projects/{PROJECT}/topics/wf-{suffix}"
    try:
        push_subscription(pubsub_emulator, topic, f"{router}/process", max_deliveries=None)
        env = {**os.environ, **{f"{n.upper()}_URL": f"{router}/{n}"
                                for n in ("plan", "progress", "validate")}, "WORK_TOPIC": topic,
               "POLL_INTERVAL_S": "1", "PHASE_DEADLINE_S": "150",
               "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": f"wf-{suffix}"}
        args = {"start": D1.isoformat(), "end": D1.isoformat(), "phases": ["2", "3"]}
        done = subprocess.run([str(WF_PYTHON), str(REPO / "tests" / "cloud" / "wf_run.py"),
                               str(REPO / "workflows" / "backfill.workflows.yaml"),
                               json.dumps(args)], env=env, capture_output=True, timeout=240,
                              cwd=REPO, check=False)
        lines = [ln for ln in done.stdout.decode().splitlines() if ln.startswith("WORKFLOW_")]
        # A BLOCK ends the execution FAILED (an uncaught raise), after every phase ran.
        assert lines and lines[-1].startswith("WORKFLOW_FAILED "), (
            lines, done.stderr.decode()[-6000:], _Router.calls)
        assert "the gate BLOCKed dates" in lines[-1], lines[-1]

        assert _Router.broken.queries >= 1  # the validator did run, and failed
        assert ("/validate", "2") in _Router.calls and ("/validate", "3") in _Router.calls
        verdicts = s.status.verdicts("2", D1, D1)
        assert verdicts and verdicts[-1].verdict.value == "BLOCK"
        assert any("validator error" in r and "KeyError" in r for r in verdicts[-1].reasons)
        box = s.status.get("player_boxscores", D1)  # phase 2 itself did run
        assert box is not None and box.state is State.SUCCEEDED
        # Phase 3 reads phase 2, whose newest checks failed closed: nothing ran, each date
        # blocked naming the input and the validator error.
        for name in PHASE3:
            st = s.status.get(name, D1)
            assert st is not None and st.state is State.BLOCKED, (name, st)
            assert st.reason and "validator error" in st.reason, st
            assert rows(s.warehouse, name, D1) == 0
    finally:
        with contextlib.suppress(Exception):  # stop pushes, then let those under way end
            rest(pubsub_emulator, "DELETE", f"{topic.replace('/topics/', '/subscriptions/')}-push")
        _Router.drain()
        main.set_services(None)
        _Router.services = _Router.broken = None
        s.close()


# -- the daily trigger: the tick's publish time, in New York ---------------------------------


def test_start_daily_resolves_the_pubsub_publish_time_in_new_york(
        pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BACKCOURT_DAILY_WORKFLOW", "projects/demo/locations/x/workflows/daily")
    topic = f"projects/{PROJECT}/topics/tick-{uuid.uuid4().hex[:8]}"
    sub = topic.replace("/topics/", "/subscriptions/")
    rest(pubsub_emulator, "PUT", topic)
    rest(pubsub_emulator, "PUT", sub, {"topic": topic, "ackDeadlineSeconds": 10})
    rest(pubsub_emulator, "POST", f"{topic}:publish",
          {"messages": [{"data": base64.b64encode(b"{}").decode()}]})
    (received,) = _pull(pubsub_emulator, sub, 1)
    published = datetime.fromisoformat(received["message"]["publishTime"])
    main = functions_main()
    fake = Executions()
    main.set_executions_client(fake)
    # The tick's claim lives in this test's own store: emulator message ids restart with each
    # emulator (one per xdist worker), unlike Pub/Sub's.
    services = build(load_settings(tmp_path / "home", env={}))
    main.set_services(services)
    try:
        headers, body = pubsub_event(b"{}", received["message"]["messageId"], time_=published)
        reply = function_client("start_daily", "cloudevent").post("/", headers=headers,
                                                                  data=body)
        assert reply.status_code == 200
    finally:
        main.set_executions_client(None)
        main.set_services(None)
        services.close()
    (_, execution), = fake.calls
    arg = json.loads(execution.argument)
    new_york_day = published.astimezone(ZoneInfo("America/New_York")).date()
    assert arg["post_game_date"] == (new_york_day - timedelta(days=1)).isoformat()
    assert arg["pre_game_date"] == new_york_day.isoformat()
