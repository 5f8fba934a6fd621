"""Incident (issue 14 #5): valid-looking messages crashed the ``process`` function instead of
being recorded and acknowledged — ``OverflowError`` for 0001-01-01 (a lookback taken from it),
``IndexError`` on a season with no schedule — and ``plan``, ``progress`` and ``validate``
answered 500 for ``season=9999-00`` (``date(10000, 6, 30)``).

Guarded here, on the local adapters (DuckDB, SQLite, a folder bucket holding one sample date):

* over 10,000 generated and mutated Pub/Sub deliveries go through ``functions/main.py``
  ``process`` itself (direct calls with CloudEvents, as functions-framework makes them, and a
  share through its test client): not one raises anything but the ``TransientError`` that asks
  for a redelivery, and every message ends either processed (the "processed" log line) or with
  a recorded failure (a ``malformed-…`` or ``…-terminal-…`` run record) and is acknowledged;
* the HTTP functions (``plan``, ``progress``, ``validate``, ``status``) answer 4xx, never 5xx,
  to generated bad requests.

"When you enable retries on an event-driven function, Cloud Functions retries a failed function
invocation until it completes successfully or the retry window expires."
(https://cloud.google.com/functions/docs/bestpractices/retries), and among the failures it
lists: "The function contains a bug and the runtime throws an exception."
(https://cloud.google.com/functions/docs/writing/retries). An exception the handler does not
mean is a message redelivered until the dead-letter limit, so each must be a decision.
"""

from __future__ import annotations

import base64
import json
import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import CloudEvent
from faults import (
    function_client,
    functions_main,
    installed,
    new_home,
    pubsub_event,
    services_on,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.registry import Phase
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAY = date(2025, 1, 16)
"""The one date whose raw files are in the home (phase 2 loaded)."""
MESSAGES = 10_000
"""Deliveries the property test sends at least."""
VIA_CLIENT_EVERY = 20
"""One delivery in this many goes through the functions-framework test client (HTTP + the
CloudEvent envelope); the others call ``process`` directly with the CloudEvent."""

DATES = [DAY, DAY - timedelta(days=1), DAY + timedelta(days=1),
         date(2024, 10, 22),  # the season's first game date (lookbacks reach nothing)
         date(2025, 2, 16),  # all-star Sunday
         date(2024, 7, 1), date(2025, 6, 30),  # the season's bounds
         date(2023, 11, 1), date(2025, 11, 1), date(1999, 12, 31),  # seasons with no schedule
         date(1946, 7, 1), date(2099, 6, 30)]  # the supported bounds
BAD_DATES = ["0001-01-01", "9999-12-31", "1946-06-30", "2099-07-01", "2025-02-29", "2025-13-01",
             "2025-1-16", "20250116", "2025-01-16T00:00:00", " 2025-01-16", "٢٠٢٥-٠١-١٦", ""]
EDGE_DATES = ["0001-01-01", "0001-01-02", "9999-12-31", "1900-03-01", "2100-01-01"]
"""Calendar dates, well formed, outside the supported 1946-07-01 … 2099-06-30."""
FIELDS = ["run_id", "phase", "processors", "start_date", "end_date", "mode", "attempt"]


@dataclass
class Outcomes:
    """What the ``backcourt.functions`` logger said about each execution id."""

    processed: set[str]
    recorded: dict[str, str]  # execution id → run id of its failure record


class _Capture(logging.Handler):
    def __init__(self, outcomes: Outcomes) -> None:
        super().__init__(logging.DEBUG)
        self.outcomes = outcomes

    def emit(self, record: logging.LogRecord) -> None:
        execution = getattr(record, "execution_id", None)
        if execution is None:
            return
        if record.levelno == logging.INFO and record.msg.startswith("processed"):
            self.outcomes.processed.add(execution)
        elif record.levelno >= logging.ERROR:
            self.outcomes.recorded[execution] = str(getattr(record, "run_id", ""))


@pytest.fixture(scope="module")
def home(sample_bucket: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The functions on a home with the 2024-25 schedule and phase 2 of DAY loaded."""
    root = new_home(sample_bucket, tmp_path_factory.mktemp("msgfuzz") / "home", [DAY])
    with installed(services_on(root)) as s:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(DAY, DAY))
        yield s


# -- the messages ------------------------------------------------------------------------------
# A seeded generator, not hypothesis, for the 10,000: it keeps the mix exact (4 % valid, which
# run for real; the rest fail validation fast) and costs microseconds a message. A failure
# prints the message's index and payload, which reproduce it.

SCALARS: list[Any] = [None, True, False, 0, -1, 1.5, 2**64, -2**63, "", "x", "null", "\u0000",
                      "2025-01-16", "3", [], {}, [None], {"a": 1}, "é" * 40]


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.6:
        return rng.choice(SCALARS)
    if roll < 0.8:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "run_id", "", "data"]): _json_value(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def valid_body(rng: random.Random) -> dict[str, Any]:
    """A message that parses: a phase, 1–3 of its processors, a span of ≤ 3 days."""
    phase = rng.choice(list(Phase))
    names = [p.name for p in registry.of_phase(phase)]
    procs = rng.sample(names, rng.randint(1, min(3, len(names))))
    start = rng.choice(DATES)
    end = min(start + timedelta(days=rng.randint(0, 2)), date(2099, 6, 30))
    return {"run_id": rng.choice(["fuzz", "r-1", "daily:2025-01-16"]),
            "phase": rng.choice([phase.value, phase.value.lower(), f" {phase.value} "]),
            "processors": procs, "start_date": start.isoformat(), "end_date": end.isoformat(),
            "mode": rng.choice(["backfill", "daily"]), "attempt": rng.randint(0, 100)}


def mutate(rng: random.Random, body: dict[str, Any]) -> dict[str, Any]:
    """One change that makes ``body`` invalid, or valid-looking but out of range."""
    kind = rng.choice(["drop", "extra", "value", "date", "swap", "long", "procs", "phase",
                       "attempt", "run_id", "edge"])
    out = dict(body)
    if kind == "drop":
        out.pop(rng.choice(FIELDS), None)
    elif kind == "extra":
        out[rng.choice(["surprise", "Run_id", "run_id ", "data", "deliveryAttempt"])] = \
            _json_value(rng)
    elif kind == "value":
        out[rng.choice(FIELDS)] = _json_value(rng)
    elif kind == "date":
        out[rng.choice(["start_date", "end_date"])] = rng.choice(BAD_DATES)
    elif kind == "swap":
        out["start_date"], out["end_date"] = "2025-01-20", "2025-01-10"
    elif kind == "long":
        out["start_date"], out["end_date"] = "2024-10-22", "2025-04-13"
    elif kind == "procs":
        out["processors"] = rng.choice([[], ["nope"], ["schedule", "schedule"],
                                        ["schedule", "player_game_summary"],
                                        [p.name for p in registry.PROCESSORS]])
    elif kind == "phase":
        out["phase"] = rng.choice(["0", "7", "5", "5C", "", "3 4", "phase3", "Ⅲ", "٣"])
    elif kind == "edge":  # a well-formed one-day span on a date no season holds
        out["start_date"] = out["end_date"] = rng.choice(EDGE_DATES)
    elif kind == "attempt":
        out["attempt"] = rng.choice([-1, 101, 2**63, 1.5, "0", True])
    else:
        out["run_id"] = rng.choice(["", "-x", "a/b", "x" * 129, "ü", "a b", "a\n"])
    return out


def payload(rng: random.Random, i: int) -> bytes:
    """Message ``i``: 4 % valid, 4 % random bytes, 4 % random JSON, the rest 1–3 mutations of
    a valid message, a third of those also mutated byte by byte."""
    kind = i % 100
    body = valid_body(rng)
    if kind < 4:
        return json.dumps(body).encode()
    if kind < 8:
        return rng.randbytes(rng.randint(0, 64))
    if kind < 12:
        return json.dumps(_json_value(rng)).encode()
    for _ in range(rng.randint(1, 3)):
        body = mutate(rng, body)
    text = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode()
    if kind < 40:
        at = rng.randint(0, len(text))
        text = text[:at] + rng.randbytes(rng.randint(0, 3)) + text[at + rng.randint(0, 3):]
    return text


BROKEN_ENVELOPES: list[Any] = [
    None, "not json", {}, {"message": None}, {"message": {"data": 5}},
    {"message": {"data": "%%%not base64"}}, {"message": {"data": ""}}, [1, 2],
    {"message": {"data": base64.b64encode(b"{}").decode()}, "deliveryAttempt": "x"},
    {"message": {"data": base64.b64encode(b"{}").decode()}, "deliveryAttempt": -5},
]
"""Deliveries whose Pub/Sub envelope itself is broken."""

json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                           | st.floats(allow_nan=False) | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)
"""Any JSON value (the HTTP property test's wrong-typed arguments)."""


# -- the property --------------------------------------------------------------------------------


def _event(event_id: str, data: Any, attempt: Any = None) -> CloudEvent:
    attrs = {"type": "google.cloud.pubsub.topic.v1.messagePublished",
             "source": "//pubsub.googleapis.com/projects/demo/topics/work", "id": event_id}
    if attempt is not None and isinstance(data, dict) and "deliveryAttempt" not in data:
        data = {**data, "deliveryAttempt": attempt}
    return CloudEvent(attrs, data)


def _pubsub(payload: bytes) -> dict[str, Any]:
    return {"message": {"data": base64.b64encode(payload).decode(), "attributes": {}},
            "subscription": "projects/demo/subscriptions/work-push"}


def test_ten_thousand_generated_messages_all_end_processed_or_recorded(home: Services) -> None:
    """Each delivery returns (ack) or raises TransientError (nack); a nacked message is
    delivered again as the last attempt, which must return. Every execution id then has a
    "processed" log line or a failure record in the status store, never neither."""
    main = functions_main()
    outcomes = Outcomes(set(), {})
    capture = _Capture(outcomes)
    logger = logging.getLogger("backcourt.functions")
    logger.addHandler(capture)
    kinds: Counter[str] = Counter()
    client = function_client("process", "cloudevent")
    rng = random.Random(14)

    def deliver(i: int, event_id: str, data: Any, raw: bytes | None) -> None:
        if raw is not None and i % VIA_CLIENT_EVERY == 0:
            headers, body = pubsub_event(raw, event_id)
            if client.post("/", headers=headers, data=body).status_code < 500:
                return
            kinds["nacked"] += 1  # the last delivery, called directly, shows any crash
        else:
            try:
                main.process(_event(event_id, data, attempt=1))
                return
            except TransientError:
                kinds["nacked"] += 1
        main.process(_event(event_id, data, attempt=protocol.MAX_DELIVERIES))

    try:
        for i in range(MESSAGES):
            event_id = f"fz-{i}"
            raw: bytes | None = None
            if i % 100 in (97, 98, 99):
                data = rng.choice(BROKEN_ENVELOPES)
            else:
                raw = payload(rng, i)
                data = _pubsub(raw)
            try:
                deliver(i, event_id, data, raw)
            except Exception as exc:  # name the message, then fail
                raise AssertionError(f"message {i} raised {exc!r}: {raw or data!r}") from exc
            if event_id in outcomes.processed:
                kinds["processed"] += 1
                continue
            run_id = outcomes.recorded.get(event_id)
            assert run_id, f"message {i} neither processed nor recorded: {raw or data!r}"
            run = home.status.get_run(run_id)
            assert run is not None and run.state == "failed" and run.summary["error"], run
            kinds[run.command] += 1
    finally:
        logger.removeHandler(capture)
    assert sum(kinds[k] for k in ("processed", "malformed-message",
                                  "process-terminal-error")) == MESSAGES, kinds
    # The mix is what the test claims: real work, and every kind of failure.
    assert kinds["processed"] >= MESSAGES * 3 // 100, kinds
    assert kinds["malformed-message"] >= MESSAGES * 85 // 100, kinds


# -- the HTTP functions --------------------------------------------------------------------------

SEASONS = ["9999-00", "0000-01", "1945-46", "2099-00", "2024-25 ", "2024-26", "24-25", "", "x",
           "2023-24"]
HTTP_DATES = ["0001-01-01", "9999-12-31", "2025-02-30", "2025-01-16", "2025-01-10", "tomorrow",
              "", "1946-06-30"]


@st.composite
def http_args(draw: st.DrawFn) -> dict[str, Any]:
    """A request body: a phase, a season or dates, processors, force, run id — each possibly
    bad or of a wrong JSON type."""
    pick: dict[str, Any] = {
        "phase": st.sampled_from(["2", "3", "4", "5A", "9", "", "3; DROP"]) | json_values,
        "season": st.sampled_from(SEASONS) | json_values,
        "seasons": st.lists(st.sampled_from(SEASONS), max_size=2) | json_values,
        "start": st.sampled_from(HTTP_DATES) | json_values,
        "end": st.sampled_from(HTTP_DATES) | json_values,
        "processors": st.lists(st.sampled_from(["player_game_summary", "nope", ""]),
                               max_size=2) | json_values,
        "force": json_values, "run_id": st.sampled_from(["", "a/b", "x" * 200]) | json_values,
    }
    keys = draw(st.lists(st.sampled_from(sorted(pick)), unique=True, max_size=5))
    return {k: draw(pick[k]) for k in keys}


@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["plan", "progress", "validate"]), http_args(),
       st.sampled_from(["json", "query", "junk"]))
def test_http_functions_answer_4xx_never_5xx_to_bad_requests(
        home: Services, target: str, args: dict[str, Any], how: str) -> None:
    client = function_client(target, "http")
    if how == "json":
        reply = client.post("/", json=args)
    elif how == "query":
        reply = client.get("/", query_string={k: json.dumps(v) if not isinstance(v, str) else v
                                              for k, v in args.items()})
    else:
        reply = client.post("/", data=json.dumps(args)[:-1] or "{",
                            content_type="application/json")
    assert reply.status_code < 500, (target, args, how, reply.get_data(as_text=True)[:300])
    if reply.status_code >= 400:
        assert json.loads(reply.get_data())["error"]


@pytest.mark.parametrize("target, body", [
    ("plan", {"phase": "3", "season": "9999-00"}),
    ("progress", {"phase": "3", "season": "9999-00"}),
    ("validate", {"phase": "3", "season": "9999-00"}),
    ("progress", {"phase": "3", "start": "0001-01-01", "end": "0001-01-02"}),
    ("validate", {"phase": "4", "start": "9999-12-30", "end": "9999-12-31"}),
])
def test_out_of_range_season_or_dates_answer_400_naming_it(home: Services, target: str,
                                                          body: dict[str, Any]) -> None:
    """Issue 14 #5: these answered 500 (``ValueError: year 10000 is out of range``)."""
    reply = function_client(target, "http").post("/", json=body)
    assert reply.status_code == 400, reply.get_data(as_text=True)
    error = json.loads(reply.get_data())["error"]
    assert "supported" in error and (body.get("season") or body["start"]) in error, error


def test_status_page_answers_400_for_an_out_of_range_season(home: Services) -> None:
    reply = function_client("status", "http").get("/", query_string={"season": "9999-00"})
    assert reply.status_code == 400 and "9999-00" in reply.get_data(as_text=True)


@pytest.mark.parametrize("start, end, phase, procs", [
    ("0001-01-01", "0001-01-01", "4", ["player_daily_cache"]),
    ("9999-12-31", "9999-12-31", "3", ["upcoming_player_game_context"]),
    ("1946-07-01", "1946-07-01", "4", ["player_daily_cache"]),
    ("2023-11-01", "2023-11-03", "4", ["ml_feature_store", "player_composite_factors"]),
    ("2025-11-01", "2025-11-01", "4", ["player_shot_zone_analysis"]),
])
def test_valid_looking_messages_at_the_edges_are_acked(home: Services, start: str, end: str,
                                                       phase: str, procs: list[str]) -> None:
    """Issue 14 #5: 0001-01-01 raised OverflowError out of ``process`` (a 5xx and a
    redelivery loop); a phase-4 message for a season without a schedule must end recorded
    or processed, never raise."""
    main = functions_main()
    body = {"run_id": "edge", "phase": phase, "processors": procs, "start_date": start,
            "end_date": end, "mode": "backfill", "attempt": 0}
    event_id = f"edge-{start}-{phase}"
    main.process(_event(event_id, _pubsub(json.dumps(body).encode()),
                        attempt=protocol.MAX_DELIVERIES))
    malformed = home.status.get_run(f"malformed-{event_id}")
    if start[:4] in ("0001", "9999"):
        assert malformed is not None and "supported dates" in malformed.summary["error"]
    else:
        assert malformed is None


@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(SEASONS) | st.text(max_size=10), max_size=3),
       st.sampled_from(["GET", "POST", "HEAD", "DELETE"]))
def test_status_page_answers_4xx_never_5xx_to_bad_seasons(home: Services, seasons: list[str],
                                                          method: str) -> None:
    reply = function_client("status", "http").open(
        "/", method=method, query_string=[("season", s) for s in seasons])
    assert reply.status_code < 500, (seasons, method, reply.get_data(as_text=True)[:300])
