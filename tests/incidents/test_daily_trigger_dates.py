"""Incident: the wrong date processed (LESSONS #5, R5.1/R5.2/R5.4; lesson 4 of the top ten).

    ""Yesterday" had at least four meanings. It was resolved in ET, UTC, server-local time, or
    from a hard-coded list of workflow names, depending on the component. A day-boundary bug
    skipped all post-game scraping for 2026-02-04."  R5.4: "Unit tests cover 23:00–05:00 ET and
    the DST transitions."  Acceptance (§5): "23:30 ET and 04:00 ET triggers → correct
    game_date."

Guarded here: ``game_date`` is the America/New_York calendar date; the daily trigger resolves
"yesterday" (post-game) and "today" (pre-game) once, in New York time, at 23:30 and 04:00 and
around both DST changes of the 2024-25 season — in the pure resolver, in
``services.protocol.resolve_daily`` and through the real ``start_daily`` function, which resolves
the tick's publish time (a tick redelivered after midnight keeps its dates) and starts the
``daily`` workflow with explicit ISO dates.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from faults import Executions, function_client, functions_main, pubsub_event

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain.dates import resolve_relative
from backcourt.ports import Services
from backcourt.services.protocol import resolve_daily

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 New York on Jan 15 is 04:30 UTC on Jan 16: still the 15th's "today".
        (datetime(2025, 1, 16, 4, 30, tzinfo=UTC), date(2025, 1, 14)),
        # 04:00 New York (09:00 UTC): yesterday is the 15th.
        (datetime(2025, 1, 16, 9, 0, tzinfo=UTC), date(2025, 1, 15)),
        # Spring forward 2025-03-09 at 02:00 EST: 06:59 UTC is 01:59 EST on Mar 9.
        (datetime(2025, 3, 9, 6, 59, tzinfo=UTC), date(2025, 3, 8)),
        # Fall back 2024-11-03: 05:30 UTC is 01:30 EDT on Nov 3.
        (datetime(2024, 11, 3, 5, 30, tzinfo=UTC), date(2024, 11, 2)),
    ],
)
def test_yesterday_is_resolved_in_new_york(moment: datetime, expected: date) -> None:
    assert resolve_relative("yesterday", moment) == expected


# (instant in UTC, what it is in New York, post-game date, pre-game date)
TICKS = [
    (datetime(2025, 1, 16, 4, 30, tzinfo=UTC), "23:30 EST Jan 15", "2025-01-14", "2025-01-15"),
    (datetime(2025, 1, 16, 9, 0, tzinfo=UTC), "04:00 EST Jan 16", "2025-01-15", "2025-01-16"),
    (datetime(2024, 10, 23, 3, 30, tzinfo=UTC), "23:30 EDT opening night", "2024-10-21",
     "2024-10-22"),
    (datetime(2024, 10, 23, 8, 0, tzinfo=UTC), "04:00 EDT after opening night", "2024-10-22",
     "2024-10-23"),
    # fall back, 2024-11-03 02:00 EDT → 01:00 EST
    (datetime(2024, 11, 3, 3, 30, tzinfo=UTC), "23:30 EDT Nov 2", "2024-11-01", "2024-11-02"),
    (datetime(2024, 11, 3, 5, 30, tzinfo=UTC), "01:30 EDT Nov 3 (first)", "2024-11-02",
     "2024-11-03"),
    (datetime(2024, 11, 3, 6, 30, tzinfo=UTC), "01:30 EST Nov 3 (second)", "2024-11-02",
     "2024-11-03"),
    (datetime(2024, 11, 3, 9, 0, tzinfo=UTC), "04:00 EST Nov 3", "2024-11-02", "2024-11-03"),
    (datetime(2024, 11, 4, 4, 30, tzinfo=UTC), "23:30 EST Nov 3", "2024-11-02", "2024-11-03"),
    # spring forward, 2025-03-09 02:00 EST → 03:00 EDT
    (datetime(2025, 3, 9, 4, 30, tzinfo=UTC), "23:30 EST Mar 8", "2025-03-07", "2025-03-08"),
    (datetime(2025, 3, 9, 8, 0, tzinfo=UTC), "04:00 EDT Mar 9", "2025-03-08", "2025-03-09"),
    (datetime(2025, 3, 10, 3, 30, tzinfo=UTC), "23:30 EDT Mar 9", "2025-03-08", "2025-03-09"),
    (datetime(2025, 3, 10, 4, 30, tzinfo=UTC), "00:30 EDT Mar 10", "2025-03-09", "2025-03-10"),
]


@pytest.mark.parametrize(("moment", "local", "post", "pre"), TICKS,
                         ids=[t[1] for t in TICKS])
def test_resolve_daily(moment: datetime, local: str, post: str, pre: str) -> None:
    assert moment.astimezone(NY).strftime("%H:%M %Z") == " ".join(local.split()[:2])
    assert resolve_daily(moment) == {"post_game_date": post, "pre_game_date": pre}


def test_a_naive_instant_is_refused() -> None:
    from backcourt.domain.errors import BadInput

    with pytest.raises(BadInput, match="time zone"):
        resolve_daily(datetime(2025, 1, 16, 4, 30))


@pytest.fixture
def home_services(tmp_path: Path) -> Any:
    """The function's adapters on a SQLite home of this test (the tick claims live there)."""
    services = build(load_settings(home=tmp_path / "home", env={}))
    yield services
    services.close()


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch, home_services: Services) -> Any:
    monkeypatch.setenv("BACKCOURT_DAILY_WORKFLOW", "projects/demo/locations/x/workflows/daily")
    main = functions_main()
    fake = Executions()
    main.set_executions_client(fake)
    main.set_services(home_services)
    yield fake
    main.set_executions_client(None)
    main.set_services(None)


def _tick(event_id: str, published: datetime | None = None) -> int:
    headers, body = pubsub_event(b"{}", event_id, time_=published)
    return int(function_client("start_daily", "cloudevent").post(
        "/", headers=headers, data=body).status_code)


def test_start_daily_starts_the_workflow_with_explicit_dates(executions: Executions) -> None:
    assert _tick("tick-1") == 200
    (parent, execution), = executions.calls
    assert parent == "projects/demo/locations/x/workflows/daily"
    arg = json.loads(execution.argument)
    post, pre = date.fromisoformat(arg["post_game_date"]), date.fromisoformat(arg["pre_game_date"])
    assert (pre - post).days == 1
    assert arg["trigger_event"] == "tick-1"


@pytest.mark.parametrize(("moment", "local", "post", "pre"), TICKS,
                         ids=[t[1] for t in TICKS])
def test_start_daily_resolves_the_tick_in_new_york(executions: Executions, moment: datetime,
                                                   local: str, post: str, pre: str) -> None:
    """The function runs now (years later) yet resolves the tick's own publish time."""
    assert _tick(f"tick-{moment:%Y%m%d%H%M}", moment) == 200
    (_, execution), = executions.calls
    arg = json.loads(execution.argument)
    assert (arg["post_game_date"], arg["pre_game_date"]) == (post, pre)


TICK = datetime(2025, 1, 16, 9, 0, tzinfo=UTC)


def test_a_redelivered_tick_starts_one_daily_execution(executions: Executions) -> None:
    """Issue 13 #11. Eventarc, like Pub/Sub push, delivers at least once, so one tick can reach
    ``start_daily`` twice; the Executions API has no caller-chosen execution id to make the
    create idempotent, so the execution carries its tick's dates as a label and a second delivery
    finds it with ``executions.list``'s filter.

    "Eventarc Standard supports at-least-once event delivery. ... Because of at-least-once
    delivery, event handlers might receive duplicate events." https://cloud.google.com/eventarc/docs/retry-events
    "POST .../{parent=projects/*/locations/*/workflows/*}/executions ... The request body contains
    an instance of Execution" (its ``name`` is output only: no caller-chosen id)
    https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/create
    "filter: ... The following fields are supported for filtering: executionId, state,
    startTime, endTime, duration, workflowRevisionId, stepName, and label."
    https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list
    """
    assert _tick("tick-a", TICK) == 200
    assert _tick("tick-a", TICK) == 200  # the same event delivered again
    (_, execution), = executions.calls
    assert dict(execution.labels) == {"backcourt_tick": "2025-01-15_2025-01-16"}
    assert json.loads(execution.argument)["trigger_event"] == "tick-a"


def test_a_republished_tick_starts_one_daily_execution(executions: Executions) -> None:
    """Issue 13 #11: Cloud Scheduler retrying its publish sends the same tick as another message
    (another event id, the same dates): still one execution. A tick of other dates starts its
    own. (GCP-LIMITS.md §2.2, from https://cloud.google.com/pubsub/docs/exactly-once-delivery:
    duplicate publishes still arrive as distinct message ids.)"""
    assert _tick("tick-a", TICK) == 200
    assert _tick("tick-b", TICK) == 200
    assert len(executions.calls) == 1
    assert _tick("tick-c", datetime(2025, 1, 17, 9, 0, tzinfo=UTC)) == 200
    assert [json.loads(e.argument)["post_game_date"] for _, e in executions.calls] == [
        "2025-01-15", "2025-01-16"]


class _SlowList(Executions):
    """The Executions API answering ``list`` slowly: two deliveries of one tick both list
    before either creates, the window a check-then-create cannot close."""

    def list_executions(self, request: Any) -> list[Any]:
        found = super().list_executions(request)
        time.sleep(0.3)
        return found


class _FailingCreate(Executions):
    """The Executions API refusing the first create (503), then accepting."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def create_execution(self, parent: str, execution: Any) -> Any:
        if not self.refused:
            self.refused += 1
            from google.api_core import exceptions as gexc

            raise gexc.ServiceUnavailable("try again")
        return super().create_execution(parent, execution)


def test_two_deliveries_at_the_same_instant_start_one_daily_execution(
        executions: Executions) -> None:
    """Issue 13 #11: the label check alone is check-then-create; two deliveries of one tick
    arriving together both list before either creates. The tick is claimed first in the status
    store with a create-if-absent record (Firestore ``create()``: ALREADY_EXISTS when the
    document exists), so exactly one starts; the other is nacked (500) while the claim is
    fresh and acks once the execution is recorded."""
    main = functions_main()
    slow = _SlowList()
    main.set_executions_client(slow)
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def deliver(event_id: str) -> None:
        barrier.wait()
        answers.append(_tick(event_id, TICK))

    threads = [threading.Thread(target=deliver, args=(f"tick-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slow.calls) == 1
    assert sorted(answers) == [200, 500]  # the loser is redelivered later ...
    assert _tick("tick-9", TICK) == 200  # ... and then finds the tick started
    assert len(slow.calls) == 1


def test_a_tick_whose_start_failed_is_started_by_its_redelivery(
        executions: Executions, home_services: Services) -> None:
    """A create that fails (503) leaves the claim ``failed`` with the error, the delivery is
    nacked, and its redelivery takes the claim over and starts the execution: a failed start
    never loses the day's run."""
    main = functions_main()
    failing = _FailingCreate()
    main.set_executions_client(failing)
    assert _tick("tick-a", TICK) >= 500
    claim = home_services.status.get_run("daily-2025-01-15_2025-01-16")
    assert claim is not None and claim.state == "failed" and "try again" in claim.summary["error"]
    assert _tick("tick-a", TICK) == 200
    assert len(failing.calls) == 1
    claim = home_services.status.get_run("daily-2025-01-15_2025-01-16")
    assert claim is not None and claim.state == "started"
    assert claim.summary["execution"].endswith("/executions/exec-1")


def test_start_daily_needs_the_workflow_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 #7: no guessed name or region (``daily``, ``us-central1``): without
    ``BACKCOURT_DAILY_WORKFLOW`` the tick fails (Pub/Sub redelivers it) and starts nothing."""
    monkeypatch.delenv("BACKCOURT_DAILY_WORKFLOW", raising=False)
    monkeypatch.setenv("BACKCOURT_GCP__PROJECT", "demo")
    main = functions_main()
    fake = Executions()
    main.set_executions_client(fake)
    try:
        assert _tick("tick-x", TICK) >= 500
    finally:
        main.set_executions_client(None)
    assert fake.calls == []
