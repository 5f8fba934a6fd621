"""The Cloud Functions in process (functions-framework test client) on the local adapters:
real phase-2/3 units on sample data, transient errors raised for redelivery, HTTP bad input.
(Redelivery, malformed messages and start_daily are incident tests: tests/incidents/.)"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import functions_framework
import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from flask.testing import FlaskClient

from backcourt.config import load_settings
from backcourt.domain.errors import TransientError
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import State
from backcourt.ports import Services
from sample_cache import copy_season

pytestmark = pytest.mark.local

SOURCE = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
START, END = date(2024, 10, 22), date(2024, 10, 23)
PHASE3 = [p.name for p in of_phase(Phase.ANALYTICS)]


def _client(target: str, kind: str) -> FlaskClient:
    return functions_framework.create_app(target, source=SOURCE, signature_type=kind).test_client()


def _main() -> ModuleType:
    _client("plan", "http")  # loads functions/main.py
    return next(m for m in sys.modules.values()
                if getattr(m, "__file__", None) == SOURCE)


def _body(msg: dict[str, Any] | bytes) -> str:
    raw = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
    return base64.b64encode(raw).decode()


def _event(msg: dict[str, Any] | bytes, event_id: str) -> tuple[dict[str, str], bytes]:
    ce = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                     "source": "//pubsub.googleapis.com/projects/demo/topics/work",
                     "id": event_id},
                    {"message": {"data": _body(msg), "messageId": event_id,
                                 "attributes": {"run_id": "r1", "phase": "3"}},
                     "subscription": "projects/demo/subscriptions/work-push"})
    headers, body = to_structured(ce)
    return dict(headers), body


def _message(phase: str, processors: list[str], start: date = START, end: date = END,
             ) -> dict[str, Any]:
    return {"run_id": "r1", "phase": phase, "processors": processors,
            "start_date": start.isoformat(), "end_date": end.isoformat(), "mode": "backfill",
            "attempt": 0}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Env pointing the functions at a fresh local home holding the 2024-25 sample raw files."""
    root = tmp_path_factory.mktemp("fn")
    mp = pytest.MonkeyPatch()
    mp.setenv("BACKCOURT_BACKEND", "local")
    mp.setenv("BACKCOURT_HOME", str(root))
    main = _main()
    services = main.get_services()
    copy_season(tmp_path_factory, "2024-25", load_settings(root, env={}).local.bucket_path)
    yield services
    main.close_all()
    mp.undo()


def _post_plan(args: dict[str, Any]) -> Any:
    reply = _client("plan", "http").post("/", json=args)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def _publish_plan(phase: str) -> list[dict[str, Any]]:
    """What the workflow does: plan, deliver every unit, replan while asked to."""
    process = _client("process", "cloudevent")
    sent = []
    for _ in range(3):
        plan = _post_plan({"phase": phase, "start": START.isoformat(), "end": END.isoformat()})
        for wave in plan["waves"]:
            for unit in wave:
                msg = _message(phase, unit["processors"], date.fromisoformat(unit["start_date"]),
                               date.fromisoformat(unit["end_date"]))
                headers, body = _event(msg, f"plan-{phase}-{len(sent)}")
                assert process.post("/", headers=headers, data=body).status_code == 200
                sent.append(msg)
        if not plan["replan"]:
            break
    return sent


def _counts(services: Services) -> dict[str, int]:
    return {name: services.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {p.table.fqn} WHERE game_date BETWEEN @s AND @e",
        {"s": START, "e": END})[0]["n"] for name, p in
        ((p.name, p) for p in of_phase(Phase.ANALYTICS))}


@pytest.fixture(scope="module")
def loaded(home: Services) -> Services:
    """Phases 2 and 3 run through plan → process for two opening-week dates."""
    SENT["2"] = _publish_plan("2")
    SENT["3"] = _publish_plan("3")
    assert SENT["2"] and SENT["3"]
    return home


SENT: dict[str, list[dict[str, Any]]] = {}
"""The messages the ``loaded`` fixture published, per phase."""


def test_the_season_schedule_is_one_message_then_the_window_in_spans(loaded: Services) -> None:
    """The first phase-2 plan loads the schedule, the whole season in one message (one file,
    one transaction); the replan sends the window's raw processors."""
    schedule = [m for m in SENT["2"] if m["processors"] == ["schedule"]]
    assert [(m["start_date"], m["end_date"]) for m in schedule] == [("2024-07-01",
                                                                      "2025-06-30")]
    rest = [m for m in SENT["2"] if m not in schedule]
    assert rest and all("schedule" not in m["processors"] and m["start_date"] >= START.isoformat()
                        and m["end_date"] <= END.isoformat() for m in rest)


def test_valid_messages_process_the_dates(loaded: Services) -> None:
    for proc in ("schedule", "player_boxscores", "team_boxscores", *PHASE3):
        for day in (START, END):
            st = loaded.status.get(proc, day)
            assert st is not None and st.state is State.SUCCEEDED, (proc, day, st)
    counts = _counts(loaded)
    # The real schedule: 2 games on opening night 2024-10-22 and 10 on 10-23 → 24 team rows.
    assert counts["team_offense_game_summary"] == 24
    assert counts["player_game_summary"] > 24 * 5
    reply = _client("progress", "http").post("/", json={
        "phase": "3", "start": START.isoformat(), "end": END.isoformat()})
    assert reply.get_json()["finished"] is True
    assert reply.get_json()["by_state"] == {"succeeded": 2 * len(PHASE3)}


class _FlakyWarehouse:
    """Delegates to the real warehouse but every replace hits a lock conflict."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.dialect = real.dialect
        self.supports_transactions = real.supports_transactions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def replace(self, *args: Any, **kwargs: Any) -> Any:
        raise TransientError("concurrent update: too many DML statements outstanding")


def test_transient_error_is_raised_for_redelivery(loaded: Services) -> None:
    """On the loaded home (its inputs are ready), a write that hits a lock conflict answers
    5xx so Pub/Sub redelivers; the date is pending again with its attempt counted. The date is
    recomputed for real at the end, so the module's home is left as it was."""
    services = replace(loaded, warehouse=_FlakyWarehouse(loaded.warehouse))
    assert services.status.mark_stale("team_offense_game_summary", [START]) == 1
    main = _main()
    main.set_services(services)
    try:
        headers, body = _event(_message("3", ["team_offense_game_summary"], START, START), "tr")
        reply = _client("process", "cloudevent").post("/", headers=headers, data=body)
        assert reply.status_code >= 500
        st = services.status.get("team_offense_game_summary", START)
        assert st is not None and st.state is State.PENDING and st.attempts == 1
        assert "concurrent update" in (st.error or "")
        main.set_services(None)  # back to the module's home (the cached adapters)
        reply = _client("process", "cloudevent").post("/", headers=headers, data=body)
        assert reply.status_code == 200
    finally:
        main.set_services(None)


@pytest.mark.parametrize("target, args, needle", [
    ("plan", {"phase": "9", "season": "2024-25"}, "unknown phase"),
    ("plan", {"phase": "3"}, "seasons, or both start and end"),
    ("progress", {"phase": "3", "start": "2024-10-40", "end": "2024-10-23"}, "start"),
    ("validate", {"phase": "3", "start": "2024-10-22"}, "start and end"),
])
def test_http_bad_input_is_400(loaded: Services, target: str, args: dict[str, Any],
                               needle: str) -> None:
    reply = _client(target, "http").post("/", json=args)
    assert reply.status_code == 400
    assert needle in reply.get_json()["error"]


def test_validate_answers_the_gate_verdict(loaded: Services) -> None:
    reply = _client("validate", "http").post("/", json={
        "phase": "3", "start": START.isoformat(), "end": END.isoformat()})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["dates"] == 2 and sum(body["counts"].values()) == 2
    assert body["verdict"] in ("PASS", "WARN")


def test_phase_2_progress_waits_for_the_whole_season_schedule_it_published(
        services: Services) -> None:
    """A window's phase-2 plan loads each season's schedule whole (``plan._schedule_plan``), so
    the phase is not finished while schedule dates outside the window are still pending; other
    processors count only inside the window."""
    from backcourt.domain.dates import date_range
    from backcourt.domain.ids import season_bounds
    from backcourt.services import protocol

    first, last = season_bounds("2024-25")
    inside = [date(2024, 11, 1), date(2024, 11, 2)]
    outside = [d for d in date_range(first, last) if d not in inside]
    services.status.seed("schedule", outside, inside)  # window done, the rest published
    services.status.seed("player_boxscores", outside, inside)
    got = protocol.progress(services, "2", inside[0], inside[-1])
    assert got["finished"] is False
    assert got["by_state"] == {"pending": len(outside), "not_expected": 2 * len(inside)}
    services.status.seed("schedule", [], outside)  # the season's load finished
    assert protocol.progress(services, "2", inside[0], inside[-1])["finished"] is True
