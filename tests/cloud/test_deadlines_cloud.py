"""Issue 13, finding 3 on the emulators: a ``process`` handler killed at its deadline, the same
message redelivered by Pub/Sub, and the last delivery dead-lettered (``tests/gcp_semantics``).

The ``process`` function is served as deployed (functions-framework under gunicorn, one sync
worker) with ``CLOUD_RUN_TIMEOUT_SECONDS`` scaled down to a few seconds: a processor that hangs
(the fault hook of ``tests/gcp_semantics/deadline_functions.py``) gets its worker killed mid-write,
holding its leases in Firestore (the emulator). The Pub/Sub emulator's push subscription reaches
it through ``gcp_semantics.functions.PushProxy``, which answers 504 for the killed request as
Cloud Run does and adds ``deliveryAttempt``; the emulator redelivers the same message id, and
dead-letters it after ``maxDeliveryAttempts``.

Phase 3 of one date is the work (phase 2 is loaded first into the home's DuckDB file; the
BigQuery path has its own tests): ``team_offense_game_summary`` is its first write.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import PartitionStatus, State
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from conftest import SUMMARY_LINE
from emulator_fixtures import rest
from gcp_semantics.functions import PushProxy, Served, serve

RECLAIM_MARKER = "LEASE_RECLAIMED"  # services.process.RECLAIM_MARKER, the log line to count
DEAD_LETTERED = "dead_lettered"  # transitions.DEAD_LETTERED

pytestmark = pytest.mark.emulator

PROJECT = "deadlines"
SEASON = "2024-25"
D1 = date(2024, 10, 22)
TEAM = "team_offense_game_summary"
REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "gcp_semantics" / "deadline_functions.py"
PHASE3 = [p.name for p in of_phase(Phase.ANALYTICS)]
FINAL = frozenset({State.SUCCEEDED, State.DEGRADED, State.BLOCKED, State.FAILED,
                   State.NOT_EXPECTED})


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season (a bucket folder), generated once for this module."""
    import sys

    sys.path.insert(0, str(REPO / "tests" / "incidents"))
    from faults import shared_sample_bucket

    return Path(shared_sample_bucket(tmp_path_factory, SEASON))


@dataclass
class Stack:
    """A phase-3 message published to the topic; the function behind the push proxy."""

    message_id: str
    proxy: PushProxy
    served: Served
    store: FirestoreStatusStore
    pubsub: str
    dead_sub: str

    def docs(self) -> dict[str, PartitionStatus | None]:
        return {p: self.store.get(p, D1) for p in PHASE3}

    def wait(self, done: object, timeout_s: float) -> None:
        """Poll until ``done()`` is true (a callable), or fail with what is known."""
        deadline = time.monotonic() + timeout_s
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline:
                states = {p: d and (d.state.value, d.attempts) for p, d in self.docs().items()}
                pytest.fail(f"timed out: deliveries {self.proxy.of(self.message_id)}, docs "
                            f"{states}\n{self.served.output()[-3000:]}", pytrace=False)
            time.sleep(0.5)

    def dead_lettered(self) -> list[dict[str, object]]:
        got = rest(self.pubsub, "POST", f"{self.dead_sub}:pull",
                   {"maxMessages": 10, "returnImmediately": True})
        return list(got.get("receivedMessages", []))


@contextmanager
def stack(pubsub: str, sample: Path, root: Path, env: dict[str, str], *, timeout_s: int,
          ack_deadline_s: int = 10, refuse_first: int = 0) -> Iterator[Stack]:
    """Phase 2 of D1 loaded, phase 3 planned on Firestore, the function served with ``env``,
    a topic with a push subscription (dead-letter policy, 5 attempts) through the proxy, and the
    phase-3 message published."""
    import sys

    sys.path.insert(0, str(REPO / "tests" / "incidents"))
    from faults import new_home, services_on

    prefix = f"d{uuid.uuid4().hex[:10]}"
    home = new_home(sample, root / "home", [D1])
    store = FirestoreStatusStore(PROJECT, collection_prefix=prefix)
    s = services_on(home, status=FirestoreStatusStore(PROJECT, collection_prefix=prefix))
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(D1, D1))
        (unit,), = protocol.plan_phase(s, "3", start=D1, end=D1, run_id="deadline")["waves"]
    finally:
        s.close()  # the served function opens the DuckDB file next
    base = {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}
    full = {**base, **env, "BACKCOURT_HOME": str(home), "BACKCOURT_TEST_PROJECT": PROJECT,
            "BACKCOURT_TEST_STATUS_PREFIX": prefix}
    topic = f"projects/{PROJECT}/topics/t-{prefix}"
    dead_sub = f"projects/{PROJECT}/subscriptions/t-{prefix}-dead"
    with serve(SOURCE, "process", "cloudevent", full, timeout_s=timeout_s,
               log=root / "process.log", cwd=REPO) as served:
        proxy = PushProxy(served.url, ack_deadline_s, function_timeout_s=timeout_s,
                          refuse_first=refuse_first)
        with proxy.running() as endpoint:
            rest(pubsub, "PUT", topic)
            rest(pubsub, "PUT", f"{topic}-dead")
            rest(pubsub, "PUT", dead_sub, {"topic": f"{topic}-dead"})
            rest(pubsub, "PUT", topic.replace("/topics/", "/subscriptions/"), {
                "topic": topic, "ackDeadlineSeconds": ack_deadline_s,
                "pushConfig": {"pushEndpoint": endpoint},
                "deadLetterPolicy": {"deadLetterTopic": f"{topic}-dead",
                                     "maxDeliveryAttempts": protocol.MAX_DELIVERIES}})
            data = base64.b64encode(json.dumps(unit).encode()).decode()
            (message_id,) = rest(pubsub, "POST", f"{topic}:publish", {"messages": [
                {"data": data, "attributes": {"run_id": "deadline", "phase": "3"}}]})[
                "messageIds"]
            try:
                yield Stack(message_id, proxy, served, store, pubsub, dead_sub)
            finally:
                rest(pubsub, "DELETE", topic.replace("/topics/", "/subscriptions/"))
                store.close()


def test_a_handler_killed_at_its_deadline_is_redelivered_and_reclaims_its_lease(
        firestore_emulator: str, pubsub_emulator: str, sample: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    """The first delivery hangs in TEAM's write and gunicorn kills it at its 4 s timeout,
    holding TEAM's lease (60 s, scaled: a lease the worker cannot cut to its deadline, as before
    ``BACKCOURT_FUNCTION_TIMEOUT_S``). The proxy answers 504 and Pub/Sub redelivers the same
    message id to a fresh worker: that delivery, the same lease owner, reclaims TEAM (logged
    ``LEASE_RECLAIMED``, attempt 2) and finishes phase 3. Before: the redelivery skipped TEAM's
    live lease, what reads TEAM waited, and TEAM stayed ``running``."""
    env = {"BACKCOURT_TEST_HANG_PROCESSOR": f"{TEAM}:60",
           "BACKCOURT_TEST_HANG_MARKER": str(tmp_path / "hung-once"),
           "BACKCOURT_LEASE_TTL_S": "60"}
    with stack(pubsub_emulator, sample, tmp_path, env, timeout_s=4) as st:
        st.wait(lambda: all(d is not None and d.state in FINAL for d in st.docs().values()),
                timeout_s=120)
        docs = st.docs()
        deliveries = st.proxy.of(st.message_id)
        output = st.served.output()
    team = docs[TEAM]
    assert team is not None and (team.state, team.attempts) == (State.SUCCEEDED, 2), team
    assert all(d is not None and d.state in (State.SUCCEEDED, State.DEGRADED)
               for d in docs.values()), docs
    assert deliveries[0].status == 504 and deliveries[-1].status == 200, deliveries
    assert "WORKER TIMEOUT" in output  # gunicorn's arbiter killed the hung worker
    assert output.count("HANGING") == 1 and output.count(RECLAIM_MARKER) == 1, output[-3000:]
    line = (f"deadline-kill: deliveries={len(deliveries)} redeliveries={len(deliveries) - 1} "
            f"lease_reclaims={output.count(RECLAIM_MARKER)}")
    print(line)
    record_property(SUMMARY_LINE, line)


def test_the_last_delivery_killed_is_dead_lettered_and_its_dates_end_failed(
        firestore_emulator: str, pubsub_emulator: str, sample: Path, tmp_path: Path) -> None:
    """Production's proportions, scaled down: the function's timeout 4 s
    (``BACKCOURT_FUNCTION_TIMEOUT_S``, gunicorn's ``CLOUD_RUN_TIMEOUT_SECONDS``), the lease 3 s.
    Deliveries 1–4 fail at the endpoint (503 from the proxy), delivery 5 — the last — reaches
    the function, which hangs in TEAM's write and is killed. Pub/Sub then stops: the message
    goes to the dead-letter topic ("After an approximately configured number of delivery
    attempts, Pub/Sub can forward the undeliverable message to a dead-letter topic",
    https://cloud.google.com/pubsub/docs/handling-failures), and nothing redelivers TEAM. Its
    lease ran out with the function, so ``progress`` records it ``failed`` (dead_lettered)
    instead of counting it running until the phase deadline. Before: ``running``."""
    env = {"BACKCOURT_TEST_HANG_PROCESSOR": f"{TEAM}:60", "BACKCOURT_FUNCTION_TIMEOUT_S": "4",
           "BACKCOURT_LEASE_TTL_S": "3", "BACKCOURT_MAX_DELIVERIES": str(protocol.MAX_DELIVERIES)}
    with stack(pubsub_emulator, sample, tmp_path, env, timeout_s=4,
               refuse_first=protocol.MAX_DELIVERIES - 1) as st:
        st.wait(lambda: len(st.proxy.of(st.message_id)) >= protocol.MAX_DELIVERIES
                and st.proxy.of(st.message_id)[-1].status == 504, timeout_s=180)
        dead: list[dict[str, object]] = []
        st.wait(lambda: bool(dead.extend(st.dead_lettered()) or dead), timeout_s=60)
        time.sleep(5)  # no sixth delivery follows
        deliveries = st.proxy.of(st.message_id)
        output = st.served.output()
        watcher = _services(st.store)
        seen = protocol.progress(watcher, "3", D1, D1)
        team = st.store.get(TEAM, D1)
    assert [d.attempt for d in deliveries] == list(range(1, protocol.MAX_DELIVERIES + 1))
    assert [d.status for d in deliveries] == [503] * 4 + [504], deliveries
    assert "WORKER TIMEOUT" in output and output.count("HANGING") == 1, output[-3000:]
    assert len(dead) == 1, dead  # the emulator honours the dead-letter policy
    assert team is not None and (team.state, team.reason) == (State.FAILED, DEAD_LETTERED)
    assert seen["by_state"].get("running", 0) == 0, seen
    assert seen["released"] == 1


def _services(store: FirestoreStatusStore) -> Services:
    """What ``progress`` reads: the status store and the clock (no warehouse query)."""
    from backcourt.bootstrap import SystemClock
    from backcourt.config import load_settings

    return Services(load_settings(env={}), warehouse=None, status=store,  # type: ignore[arg-type]
                    bucket=None, clock=SystemClock())  # type: ignore[arg-type]

