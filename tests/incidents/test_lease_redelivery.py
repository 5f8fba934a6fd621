"""Issue 13, finding 3 ("Leases outlive retries") on the in-process functions and SQLite.

A ``process`` delivery that dies (killed at the function's timeout, its instance lost) leaves its
dates ``running`` under a live lease, and its message unacknowledged, so Pub/Sub redelivers the
*same* message: "The endpoint acknowledges the message by returning an HTTP success status code.
A non-success response indicates that Pub/Sub must resend the messages"
(https://cloud.google.com/pubsub/docs/push), and a timed-out function answers one: "When
function execution reaches its timeout, a response message with an HTTP 504 error status is
immediately returned to the caller" (https://cloud.google.com/functions/docs/configuring/timeout).
Every delivery of a message runs as the same lease owner (the CloudEvent id is the message
id), so:

* the redelivery reclaims the lease its dead delivery held and finishes the dates (before: they
  were skipped, the message acknowledged, and the dates stayed ``running`` until the phase
  deadline, then the gate BLOCKed);
* ``progress`` releases expired leases as ``plan`` does (before: only ``plan`` did);
* on the message's last delivery (the subscription's ``max_delivery_attempts``; Pub/Sub then
  dead-letters it: "After an approximately configured number of delivery attempts, Pub/Sub can
  forward the undeliverable message to a dead-letter topic",
  https://cloud.google.com/pubsub/docs/handling-failures) the dates
  end final and recorded (``failed``, reason ``dead_lettered``), never ``running`` or
  ``pending`` with nothing left to retry them.

The killed delivery is reproduced as state here (its lease, taken under the message's owner id)
or by a ``WorkerKilled`` raised in the write; ``tests/cloud/test_deadlines_cloud.py`` kills a real
gunicorn worker at its timeout on the Pub/Sub emulator.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from faults import (
    FaultyWarehouse,
    WorkerKilled,
    deliver,
    faulty_on,
    function_client,
    functions_main,
    services_on,
)

from backcourt.bootstrap import OffsetClock
from backcourt.domain.messages import parse_message
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import State
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

RECLAIM_MARKER = "LEASE_RECLAIMED"  # services.process.RECLAIM_MARKER, the log line to count
DEAD_LETTERED = "dead_lettered"  # transitions.DEAD_LETTERED

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1 = date(2024, 10, 22)
TEAM = "team_offense_game_summary"  # level 0 of phase 3: the first write of the unit


@pytest.fixture
def home(make_home: Callable[..., Path]) -> Path:
    """A home whose phase 2 is loaded for D1 (phase 3 is ready to run)."""
    h = make_home([D1])
    loader = services_on(h)
    try:
        Runner(loader).backfill([SEASON], [Phase.RAW], Window(D1, D1))
    finally:
        loader.close()
    return h


@pytest.fixture
def wired(home: Path) -> Iterator[tuple[Services, FaultyWarehouse, OffsetClock]]:
    """Services on ``home`` (a faulty warehouse, a clock the test moves) behind the functions."""
    clock = OffsetClock()
    s, wh = faulty_on(home, clock=clock)
    main = functions_main()
    main.set_services(s)
    try:
        yield s, wh, clock
    finally:
        main.set_services(None)
        s.close()


def _unit(s: Services, run_id: str) -> bytes:
    """The one work message of phase 3 on D1, as the workflow publishes it."""
    planned = protocol.plan_phase(s, "3", start=D1, end=D1, run_id=run_id)
    (unit,), = planned["waves"]
    return parse_message(json.dumps(unit).encode()).to_json()


def _push(body: bytes, message_id: str, attempt: int) -> int:
    """One delivery as the work subscription POSTs it (raw push body with deliveryAttempt)."""
    envelope = {"message": {"data": base64.b64encode(body).decode(), "messageId": message_id,
                            "attributes": {}},
                "subscription": "projects/demo/subscriptions/work-push",
                "deliveryAttempt": attempt}
    return int(function_client("process", "cloudevent").post("/", json=envelope).status_code)


def _states(s: Services) -> dict[str, Any]:
    return {p.name: (d.state, d.attempts) if (d := s.status.get(p.name, D1)) else None
            for p in of_phase(Phase.ANALYTICS)}


def test_a_redelivery_reclaims_the_lease_its_dead_delivery_held(
        wired: tuple[Services, FaultyWarehouse, OffsetClock],
        caplog: pytest.LogCaptureFixture) -> None:
    """Delivery 1 of message m took TEAM's lease and died; delivery 2 of m (same message id,
    within the lease) reclaims it as attempt 2, finishes every date and is acknowledged, and
    logs ``LEASE_RECLAIMED``. Before: TEAM was skipped (a live lease), the dates reading it
    waited, and TEAM stayed ``running``."""
    s, wh, _ = wired
    body = _unit(s, "reclaim")
    owner = protocol.owner_id("m-1")  # what the function computes from the CloudEvent id
    assert s.status.acquire(TEAM, D1, owner=owner, run_id="reclaim",
                            ttl=timedelta(seconds=s.settings.lease_ttl_s), now=s.clock.now())
    with caplog.at_level(logging.WARNING, logger="backcourt.services.process"):
        assert deliver(body, "m-1") == 200
    assert _states(s) == {p.name: (State.SUCCEEDED, 2 if p.name == TEAM else 1)
                          for p in of_phase(Phase.ANALYTICS)}
    assert wh.calls[TEAM] == 1
    marked = [r.getMessage() for r in caplog.records if r.getMessage().startswith(RECLAIM_MARKER)]
    assert len(marked) == 1 and TEAM in marked[0] and D1.isoformat() in marked[0], marked


def test_progress_releases_a_dead_deliverys_expired_lease_and_the_redelivery_finishes(
        wired: tuple[Services, FaultyWarehouse, OffsetClock]) -> None:
    """The killed delivery's lease expires (480 s, below the function's 540 s): ``progress``
    counts the date pending again at once, instead of running until the phase deadline, and
    the redelivery of the message takes it and finishes. The loop converges."""
    s, _, clock = wired
    body = _unit(s, "release")
    wired_owner = protocol.owner_id("m-2")
    assert s.status.acquire(TEAM, D1, owner=wired_owner, run_id="release",
                            ttl=timedelta(seconds=s.settings.lease_ttl_s), now=s.clock.now())
    clock.advance(timedelta(seconds=s.settings.lease_ttl_s + 1))
    seen = protocol.progress(s, "3", D1, D1)
    assert seen["by_state"].get("running", 0) == 0 and seen["released"] == 1, seen
    team = s.status.get(TEAM, D1)
    assert team is not None and (team.state, team.attempts) == (State.PENDING, 1)
    assert deliver(body, "m-2") == 200
    assert protocol.progress(s, "3", D1, D1)["finished"]
    assert set(_states(s).values()) <= {(State.SUCCEEDED, 1), (State.SUCCEEDED, 2)}


def test_the_last_delivery_fails_a_transient_error_for_good(
        wired: tuple[Services, FaultyWarehouse, OffsetClock]) -> None:
    """Delivery 5 of 5 fails TEAM transiently: the date is ``failed`` (dead_lettered) and the
    message acknowledged, not left ``pending`` behind a message Pub/Sub dead-letters."""
    s, wh, _ = wired
    body = _unit(s, "last")
    wh.fail_table, wh.failures_left = TEAM, -1
    assert _push(body, "m-3", protocol.MAX_DELIVERIES) == 200
    team = s.status.get(TEAM, D1)
    assert team is not None and (team.state, team.reason) == (State.FAILED, DEAD_LETTERED)
    assert team.error is not None and "injected fault" in team.error
    assert protocol.progress(s, "3", D1, D1)["finished"]


def test_a_last_delivery_that_dies_leaves_its_dates_failed_not_running(
        wired: tuple[Services, FaultyWarehouse, OffsetClock]) -> None:
    """Delivery 5 of 5 dies in TEAM's write (nothing catches ``WorkerKilled``): Pub/Sub then
    dead-letters the message. Once the lease runs out, ``progress`` records TEAM ``failed``
    (dead_lettered), instead of counting it running, then pending with nothing to retry it,
    until the phase deadline. (The unit's later processors, which the dead delivery never
    reached, hold no lease: they stay pending; see the report of issue 13.)"""
    s, wh, clock = wired
    msg = parse_message(_unit(s, "died"))
    wh.fail_table, wh.failures_left, wh.error = TEAM, -1, WorkerKilled
    last = protocol.Delivery(protocol.MAX_DELIVERIES, protocol.MAX_DELIVERIES)
    with pytest.raises(WorkerKilled):
        protocol.process_message(s, msg, execution_id="m-4", delivery=last)
    team = s.status.get(TEAM, D1)
    assert team is not None and team.state is State.RUNNING
    clock.advance(timedelta(seconds=s.settings.lease_ttl_s + 1))
    seen = protocol.progress(s, "3", D1, D1)
    team = s.status.get(TEAM, D1)
    assert team is not None and (team.state, team.reason) == (State.FAILED, DEAD_LETTERED)
    assert seen["by_state"].get("running", 0) == 0
    assert seen["by_state"].get("failed", 0) == 1, seen


# -- the worker never works past its lease -------------------------------------------------


def test_a_worker_renews_its_leases_while_it_works(home: Path) -> None:
    """A write longer than the lease TTL (2 s here, 3.5 s of work): the worker's keeper renews
    the lease, so another owner asking meanwhile is refused and the worker records its own
    outcome. Before: nothing renewed, the other owner took the date mid-write and the first
    worker's outcome was "lease lost"."""
    import threading

    from backcourt.domain.registry import get
    from backcourt.services.process import UnitReport, run_unit

    s, wh = faulty_on(home, env={"BACKCOURT_LEASE_TTL_S": "2"})
    s.status.seed(TEAM, [D1], [])
    wh.delay_s, wh.delay_table = 3.5, TEAM
    done: list[UnitReport] = []
    worker = threading.Thread(target=lambda: done.append(
        run_unit(s, get(TEAM), [D1], run_id="renew", owner="w1")))
    try:
        worker.start()
        threading.Event().wait(2.8)  # past the first lease's expiry, mid-write
        assert s.status.acquire(TEAM, D1, owner="w2", run_id="renew", ttl=timedelta(seconds=2),
                                now=s.clock.now()) is None
        worker.join(timeout=30)
        assert done and done[0].outcomes[D1].state is State.SUCCEEDED
        team = s.status.get(TEAM, D1)
        assert team is not None and (team.state, team.attempts) == (State.SUCCEEDED, 1)
    finally:
        worker.join(timeout=30)
        s.close()


def test_past_its_deadline_a_worker_starts_nothing(home: Path) -> None:
    """A delivery whose function has timed out (its deadline passed: the caller got its 504,
    the instance may run on) leases nothing and raises, so the redelivery does the work."""
    from backcourt.domain.errors import TransientError
    from backcourt.domain.registry import get
    from backcourt.services.process import run_unit

    s = services_on(home)
    try:
        s.status.seed(TEAM, [D1], [])
        with pytest.raises(TransientError, match="deadline"):
            run_unit(s, get(TEAM), [D1], run_id="late", owner="w1",
                     deadline=s.clock.now() - timedelta(seconds=1))
        team = s.status.get(TEAM, D1)
        assert team is not None and (team.state, team.attempts) == (State.PENDING, 0)
    finally:
        s.close()
