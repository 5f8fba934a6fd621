"""One scenario suite, several drivers (issue item 8): the pieces the scenario tests share.

A *driver* runs the backfill protocol (plan → process each unit → progress → validate, phase
after phase) on a set of adapters and returns an :class:`Outcome`; every driver must leave the
status store in the same final state for the same home:

* ``local``      ``Runner(services).backfill(...)``: the local queue stands in for Pub/Sub;
* ``functions``  the steps of ``workflows/backfill.workflows.yaml`` driven through the Cloud
                 Functions entry points of ``functions/main.py`` in process (functions-framework
                 test clients) on the same local adapters: ``POST /plan`` → each message of
                 each wave delivered to ``process`` as a Pub/Sub CloudEvent, redelivered while
                 it raises (``deliveryAttempt`` in the event data, as Pub/Sub's push envelope
                 carries it, at most ``protocol.MAX_DELIVERIES`` times) → plan again while the
                 plan says ``replan`` → ``POST /progress`` until finished → ``POST /validate``.
                 Unlike the workflow (``stop_on_block``), it runs every requested phase: gating
                 is per input, so a phase BLOCK stops only what reads the blocked input;
* ``emulators``  (``tests/cloud/test_scenarios_cloud.py``) the real workflow on
                 workflows-emulator, Pub/Sub and Firestore emulators.

:func:`final_map` is what the scenarios compare: ``{(processor, date): (state, reason)}`` of the
status store over the scenario's window.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path.insert(0, str(TESTS / "incidents"))  # faults.py: homes, fault-injecting warehouse

from faults import function_client, functions_main, shared_sample_bucket  # noqa: E402

from backcourt.domain import registry  # noqa: E402
from backcourt.domain.registry import Phase  # noqa: E402
from backcourt.ports import Services  # noqa: E402
from backcourt.services import protocol  # noqa: E402
from backcourt.services.backfill import Runner  # noqa: E402
from backcourt.services.plan import Window  # noqa: E402

SEASON = "2024-25"
StateMap = dict[tuple[str, str], tuple[str, str | None]]
"""``{(processor, "YYYY-MM-DD"): (state, reason)}``."""


def sample_bucket(tmp_path_factory: Any) -> Path:
    """The 2024-25 sample season, generated once per test run and shared with
    ``tests/incidents`` (``faults.shared_sample_bucket``)."""
    return shared_sample_bucket(tmp_path_factory, SEASON)


# -- outcome ---------------------------------------------------------------------------------


@dataclass
class PhaseReport:
    """One phase as the driver saw it (the workflow's per-phase ``outcome``)."""

    phase: str
    verdict: str
    """The worst verdict of the phase's dates (``validate``'s answer)."""
    published: int = 0
    """Messages (cloud) or units (local) handed out, over every plan of the phase."""
    deliveries: int = 0
    redeliveries: int = 0
    dead_lettered: int = 0
    """Messages still raising on their last delivery (Pub/Sub's dead-letter topic)."""
    in_flight_at_gate: int = 0


@dataclass
class Outcome:
    """What a driver returns: per phase, as it ran. Final states come from the store
    (:func:`final_map`), the same way for every driver."""

    driver: str
    phases: list[PhaseReport] = field(default_factory=list)
    raw: Any = None

    @property
    def verdicts(self) -> dict[str, str]:
        """Phase → worst verdict."""
        return {p.phase: p.verdict for p in self.phases}


Scope = Window | Sequence[str]
"""What a run covers: a window (start and end dates), or season names."""


def _window(scope: Scope) -> tuple[list[str], Window]:
    if isinstance(scope, Window):
        assert scope.start is not None and scope.end is not None, scope
        return protocol.seasons_between(scope.start, scope.end), scope
    return list(scope), Window()


def _body(scope: Scope) -> dict[str, Any]:
    """The workflow's ``scope`` variable: ``season`` or ``start``/``end`` (the others null)."""
    if isinstance(scope, Window):
        assert scope.start is not None and scope.end is not None
        return {"season": None, "start": scope.start.isoformat(), "end": scope.end.isoformat()}
    (season,) = scope  # the workflow takes one season
    return {"season": season, "start": None, "end": None}


# -- drivers ---------------------------------------------------------------------------------


class LocalDriver:
    """``Runner(services).backfill(...)``."""

    name = "local"

    def run(self, services: Services, scope: Scope, phases: Sequence[Phase | str],
            force: bool = False) -> Outcome:
        seasons, window = _window(scope)
        ph = [p if isinstance(p, Phase) else registry.parse_phase(p) for p in phases]
        result = Runner(services).backfill(seasons, ph, window, force=force)
        out = Outcome(self.name, raw=result)
        for pr in result.phases:
            worst = next((v for v in ("BLOCK", "WARN") if any(
                g.verdict.value == v for g in pr.verdicts.values())), "PASS")
            out.phases.append(PhaseReport(pr.phase.value, worst, published=pr.units_run,
                                          deliveries=pr.units_run + pr.redeliveries,
                                          redeliveries=pr.redeliveries))
        return out


def pubsub_event(data: bytes, message_id: str, attempt: int,
                 attributes: dict[str, str] | None = None) -> tuple[dict[str, str], bytes]:
    """Headers and body of the CloudEvent for one delivery of a Pub/Sub message, with the
    delivery count Pub/Sub's push envelope carries (``deliveryAttempt``)."""
    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    ce = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                     "source": "//pubsub.googleapis.com/projects/demo/topics/work",
                     "id": message_id, "time": stamp},
                    {"message": {"data": base64.b64encode(data).decode(),
                                 "messageId": message_id, "publishTime": stamp,
                                 "attributes": attributes or {}},
                     "subscription": "projects/demo/subscriptions/work-push",
                     "deliveryAttempt": attempt})
    headers, body = to_structured(ce)
    return dict(headers), body


def pubsub_push(data: bytes, message_id: str, attempt: int,
                attributes: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON body a Pub/Sub push subscription with a dead-letter policy POSTs."""
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"message": {"data": base64.b64encode(data).decode(), "messageId": message_id,
                        "publishTime": stamp, "attributes": attributes or {}},
            "subscription": "projects/demo/subscriptions/work-push",
            "deliveryAttempt": attempt}


class FunctionsDriver:
    """The workflow's steps through the Cloud Functions entry points, in process."""

    name = "functions"
    MAX_POLLS = 3
    """Progress polls after the last delivery (nothing else runs in process: a phase that is
    not finished then is validated as the workflow does at its deadline)."""

    def __init__(self, envelope: str = "cloudevent") -> None:
        """``envelope``: ``cloudevent`` (what Eventarc delivers, the existing tests' envelope)
        or ``push`` (the raw body a Pub/Sub push subscription POSTs, as the work subscription
        does in production: ``{message, subscription, deliveryAttempt}``)."""
        assert envelope in ("cloudevent", "push"), envelope
        self.envelope = envelope
        self.run_id = ""
        self.deliveries: list[tuple[str, int, int]] = []
        """(message id, deliveryAttempt, HTTP status) of every delivery, in order."""

    def run(self, services: Services, scope: Scope, phases: Sequence[Phase | str],
            force: bool = False) -> Outcome:
        main = functions_main()
        main.set_services(services)
        self.run_id = f"functions-{uuid.uuid4().hex[:8]}"  # the workflow's execution id
        clients = {"plan": function_client("plan", "http"),
                   "progress": function_client("progress", "http"),
                   "validate": function_client("validate", "http"),
                   "process": function_client("process", "cloudevent")}
        out = Outcome(self.name)
        try:
            for phase in phases:
                value = phase.value if isinstance(phase, Phase) else str(phase)
                out.phases.append(self._phase(clients, value, _body(scope), force))
        finally:
            main.set_services(None)
        return out

    def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        reply = client.post("/", json=body)
        assert reply.status_code == 200, (body, reply.status_code, reply.get_data(as_text=True))
        answer: dict[str, Any] = reply.get_json()
        return answer

    def _phase(self, clients: dict[str, Any], phase: str, scope: dict[str, Any],
               force: bool) -> PhaseReport:
        report = PhaseReport(phase, verdict="")
        ask = {"run_id": self.run_id, "phase": phase, **scope}
        while True:  # plan (again while the plan says replan)
            planned = self._post(clients["plan"], {**ask, "force": force})
            queue = deque((m, f"{self.run_id}-{phase}-{report.published + i}", 1)
                          for i, m in enumerate(u for wave in planned["waves"] for u in wave))
            report.published += len(queue)
            while queue:  # Pub/Sub: redeliver while the function raises, bounded
                msg, message_id, attempt = queue.popleft()
                data, attributes = json.dumps(msg).encode(), {"run_id": self.run_id,
                                                              "phase": phase}
                if self.envelope == "push":
                    reply = clients["process"].post("/", json=pubsub_push(
                        data, message_id, attempt, attributes))
                else:
                    headers, body = pubsub_event(data, message_id, attempt, attributes)
                    reply = clients["process"].post("/", headers=headers, data=body)
                status = reply.status_code
                self.deliveries.append((message_id, attempt, status))
                report.deliveries += 1
                if status < 300:
                    continue
                assert status >= 500, (msg, status)  # raised: nack
                if attempt < protocol.MAX_DELIVERIES:
                    report.redeliveries += 1
                    queue.append((msg, message_id, attempt + 1))
                else:
                    report.dead_lettered += 1
            for _ in range(self.MAX_POLLS):
                progress = self._post(clients["progress"], ask)
                if progress["finished"]:
                    break
            report.in_flight_at_gate = progress["in_flight"]
            if not (progress["finished"] and planned["replan"]):
                break
        gate = self._post(clients["validate"], ask)
        report.verdict = gate["verdict"]
        return report


DRIVERS: dict[str, Callable[[], Any]] = {"local": LocalDriver, "functions": FunctionsDriver}


# -- what the scenarios compare --------------------------------------------------------------


def names(*phases: Phase) -> list[str]:
    """The processors of these phases, in registry order."""
    return [p.name for ph in phases for p in registry.of_phase(ph)]


def final_map(services: Services, phases: Sequence[Phase], start: date, end: date) -> StateMap:
    """``{(processor, date): (state, reason)}`` of every status document of the phases'
    processors in [start, end]."""
    docs = services.status.list(names(*phases), start, end)
    return {(d.processor, d.game_date.isoformat()): (d.state.value, d.reason) for d in docs}


def attempts_map(services: Services, phases: Sequence[Phase], start: date,
                 end: date) -> dict[tuple[str, str], int]:
    """``{(processor, date): attempts}`` over the same documents."""
    docs = services.status.list(names(*phases), start, end)
    return {(d.processor, d.game_date.isoformat()): d.attempts for d in docs}


def phase_verdicts(services: Services, phases: Sequence[Phase], start: date,
                   end: date) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    """The newest persisted phase verdict per (phase, date), with its reasons."""
    out: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    for ph in phases:
        for v in services.status.verdicts(ph.value, start, end):
            out[(ph.value, v.game_date.isoformat())] = (v.verdict.value, tuple(v.reasons))
    return out


def processor_verdicts(services: Services, processor: str, start: date,
                       end: date) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The newest gate verdict of one processor per date, with its problems."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for v in services.status.verdicts(processor, start, end):
        out[v.game_date.isoformat()] = (v.verdict.value, tuple(v.reasons))
    return out


def row_counts(services: Services, processors: Sequence[str], start: date,
               end: date) -> dict[tuple[str, str], int]:
    """Rows per (processor, date) of their tables in [start, end]."""
    out: dict[tuple[str, str], int] = {}
    for name in processors:
        fqn = registry.get(name).table.fqn
        for r in services.warehouse.query(
                f"SELECT game_date, COUNT(*) AS n FROM {fqn} WHERE game_date BETWEEN @s AND @e "
                "GROUP BY game_date", {"s": start, "e": end}):
            out[(name, r["game_date"].isoformat())] = int(r["n"])
    return out


def table_rows(services: Services, processor: str, start: date,
               end: date) -> list[tuple[Any, ...]]:
    """Every row of a processor's table in [start, end], sorted, floats rounded."""
    t = registry.get(processor).table
    got = services.warehouse.query(f"SELECT * FROM {t.fqn} WHERE game_date BETWEEN @s AND @e",
                                   {"s": start, "e": end})
    rows = [tuple(round(v, 6) if isinstance(v, float) else v for v in r.values()) for r in got]
    return sorted(rows, key=repr)


def diff(got: Mapping[Any, Any], want: Mapping[Any, Any]) -> list[str]:
    """The keys whose values differ, readable (empty when equal)."""
    keys = sorted(set(got) | set(want))
    return [f"{k}: {got.get(k)} != {want.get(k)}" for k in keys if got.get(k) != want.get(k)]


def same_as_local(reference: dict[str, Any], scenario: str, driver_name: str, got: Any,
                  local: Callable[[], Any]) -> None:
    """Record the ``local`` driver's result of ``scenario``; for any other driver assert that
    every map of ``got.compare`` equals the local one (``local()`` computes it on a home of its
    own when the local run of the scenario did not happen in this session)."""
    if driver_name == "local":
        reference[scenario] = got
        return
    want = reference.get(scenario) or local()
    assert sorted(got.compare) == sorted(want.compare)
    for part in want.compare:
        mismatch = diff(got.compare[part], want.compare[part])
        assert not mismatch, f"{scenario}: {driver_name} differs from local in {part}:\n" + (
            "\n".join(mismatch[:30]))
