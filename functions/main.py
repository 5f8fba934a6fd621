"""Cloud Functions entry points (functions-framework): thin — decode, one service call, ack/raise.

* ``process``   Pub/Sub CloudEvent carrying one work message. A malformed message or a terminal
                error is recorded in the status store and acknowledged (return); a transient
                error is raised so Pub/Sub redelivers with backoff.
* ``plan``, ``progress``, ``validate``  HTTP, JSON in and out, called by Workflows; bad input
                answers 400 with the error.
* ``status``    HTTP GET ``?season=2024-25``: the HTML status report (``backcourt report``).
* ``start_daily`` Pub/Sub CloudEvent from the scheduler topic: resolves the America/New_York
                dates once and starts one execution of the daily workflow
                (``BACKCOURT_DAILY_WORKFLOW``) per tick with explicit dates; a redelivered or
                republished tick finds the execution labelled with its dates and starts none.

Module scope defines functions only: adapters are built on first use through
``backcourt.bootstrap.RUNTIME`` (``build(load_settings())``, cached per process). This file
reaches the adapters only through ``backcourt.bootstrap`` (tests/unit/test_layering.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent
from flask import Request

from backcourt.bootstrap import RUNTIME
from backcourt.config import load_settings
from backcourt.domain.dates import parse_date
from backcourt.domain.errors import BadInput, TerminalError
from backcourt.domain.ids import season_bounds
from backcourt.domain.messages import parse_message
from backcourt.domain.status import RunRecord
from backcourt.logs import configure_logging
from backcourt.ports import Services
from backcourt.services import daily_tick, protocol

configure_logging(logging.INFO)  # JSON lines for Cloud Logging when K_SERVICE is set
log = logging.getLogger("backcourt.functions")

MAX_RECORDED_PAYLOAD = 4096
"""Bytes of a malformed message's raw payload kept in its dead-letter record."""



def set_services(services: Services | None) -> None:
    """Use these adapters instead of building them (tests); None goes back to building."""
    RUNTIME.overrides.pop("services", None)
    if services is not None:
        RUNTIME.overrides["services"] = services


def set_executions_client(client: Any | None) -> None:
    """Use this Workflows ExecutionsClient (tests); None creates the real one on each tick."""
    RUNTIME.overrides.pop("executions", None)
    if client is not None:
        RUNTIME.overrides["executions"] = client


def get_services() -> Services:
    """The adapters of this process, built once per settings (tables ensured once)."""
    return RUNTIME.services(load_settings())


def close_all() -> None:
    """Close every cached set of adapters (tests, shutdown)."""
    RUNTIME.close_all()


def _record_failure(command: str, run_id: str, error: str, payload: bytes,
                    execution_id: str) -> None:
    """A dead-letter record in the status store: the error and the raw payload (≤ 4 KB)."""
    services = get_services()
    now = services.clock.now()
    text = payload[:MAX_RECORDED_PAYLOAD].decode("utf-8", errors="replace")
    services.status.record_run(RunRecord(
        run_id=run_id, command=command, started_at=now, who=protocol.owner_id(execution_id),
        scope=error[:500], state="failed", finished_at=now,
        summary={"error": error, "payload": text, "payload_bytes": len(payload),
                 "truncated": len(payload) > MAX_RECORDED_PAYLOAD}))
    log.error("%s %s: %s", command, run_id, error,
              extra={"run_id": run_id, "execution_id": execution_id})


def _pubsub_data(event: CloudEvent) -> bytes:
    """The message body of a Pub/Sub CloudEvent, base64-decoded (BadInput when absent)."""
    data = event.data
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError:
            raise BadInput("CloudEvent data is not JSON") from None
    message = data.get("message") if isinstance(data, dict) else None
    raw = message.get("data") if isinstance(message, dict) else None
    if not isinstance(raw, str):
        raise BadInput("CloudEvent has no Pub/Sub message data")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("Pub/Sub message data is not base64") from None


def _delivery(event: CloudEvent, started: datetime) -> protocol.Delivery:
    """The delivery count Pub/Sub puts in the push body (``deliveryAttempt``, set when the
    subscription has a dead-letter policy; 1 when absent), the dead-letter limit
    (``BACKCOURT_MAX_DELIVERIES``, the subscription's ``max_delivery_attempts``), and the
    instant the function is killed: ``started`` plus its timeout (``BACKCOURT_FUNCTION_TIMEOUT_S``,
    unset: no deadline), so no lease this delivery takes outlives it.

    functions-framework turns a raw push body into a CloudEvent and drops ``deliveryAttempt``,
    so it is read from the request body itself, or from the event data when it carries it."""
    data = event.data if isinstance(event.data, dict) else {}
    raw = flask.request.get_json(silent=True) if flask.has_request_context() else None
    attempt = (raw.get("deliveryAttempt") if isinstance(raw, dict) else None) \
        or data.get("deliveryAttempt")
    limit = os.environ.get("BACKCOURT_MAX_DELIVERIES", "")
    timeout_s = load_settings().function_timeout_s
    return protocol.Delivery(attempt if isinstance(attempt, int) and attempt > 0 else 1,
                             int(limit) if limit.isdigit() and int(limit) > 0
                             else protocol.MAX_DELIVERIES,
                             started + timedelta(seconds=timeout_s) if timeout_s else None)


def _event_id(event: CloudEvent) -> str:
    return str(event["id"]) if "id" in event else "unknown"


@functions_framework.cloud_event
def process(event: CloudEvent) -> None:
    """One work message. Returns (ack) on success, malformed input and terminal errors;
    raises TransientError so Pub/Sub redelivers.

    Every delivery of a message runs as the same lease owner (the CloudEvent id is the Pub/Sub
    message id), so a redelivery after this handler was killed reclaims the dates it held."""
    execution_id = _event_id(event)
    payload = b""
    try:
        payload = _pubsub_data(event)
        msg = parse_message(payload)
    except BadInput as exc:
        _record_failure("malformed-message", f"malformed-{execution_id}", str(exc),
                        payload or json.dumps(event.data, default=str).encode(), execution_id)
        return
    try:
        services = get_services()
        result = protocol.process_message(services, msg, execution_id=execution_id,
                                          delivery=_delivery(event, services.clock.now()))
    except TerminalError as exc:
        _record_failure("process-terminal-error", f"{msg.run_id}-terminal-{execution_id}",
                        str(exc), payload, execution_id)
        return
    log.info("processed %s", json.dumps(result, default=str),
             extra={"run_id": msg.run_id, "phase": msg.phase.value,
                    "start_date": msg.start_date, "end_date": msg.end_date,
                    "execution_id": execution_id})


def _args(request: Request) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    return {**request.args.to_dict(), **body}


def _date(args: dict[str, Any], name: str) -> date | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"bad {name} {value!r}: expected YYYY-MM-DD")
    return parse_date(value, what=name)


def _required(args: dict[str, Any], name: str) -> Any:
    if args.get(name) in (None, ""):
        raise BadInput(f"missing {name!r}")
    return args[name]


def _respond(fn: Any, request: Request) -> tuple[str, int, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    try:
        body = fn(_args(request))
    except BadInput as exc:
        return json.dumps({"error": str(exc)}), 400, headers
    except TerminalError as exc:
        return json.dumps({"error": str(exc), "kind": "terminal"}), 422, headers
    return json.dumps(body, default=str), 200, headers


def _plan(args: dict[str, Any]) -> dict[str, Any]:
    seasons = args.get("seasons") or ([args["season"]] if args.get("season") else None)
    if seasons is not None and not (isinstance(seasons, list)
                                    and all(isinstance(s, str) for s in seasons)):
        raise BadInput("seasons must be a list of names like \"2024-25\"")
    force = args.get("force", False)
    if isinstance(force, str):
        force = force.lower() in ("1", "true", "yes")
    return protocol.plan_phase(get_services(), str(_required(args, "phase")), seasons=seasons,
                               start=_date(args, "start"), end=_date(args, "end"),
                               force=bool(force), run_id=str(args.get("run_id") or "manual"),
                               processors=_processors(args))


def _processors(args: dict[str, Any]) -> list[str] | None:
    """The optional ``processors`` filter (the daily pre-game chain's); null means all."""
    value = args.get("processors")
    if value is None:
        return None
    if not (isinstance(value, list) and all(isinstance(p, str) for p in value)):
        raise BadInput("processors must be a list of processor names")
    return value


def _range(args: dict[str, Any]) -> tuple[str, date, date]:
    start, end = _date(args, "start"), _date(args, "end")
    if (start is None or end is None) and isinstance(args.get("season"), str):
        start, end = season_bounds(args["season"])  # the whole season
    if start is None or end is None:
        raise BadInput("give start and end (YYYY-MM-DD), or a season like \"2024-25\"")
    return str(_required(args, "phase")), start, end


@functions_framework.http
def plan(request: Request) -> tuple[str, int, dict[str, str]]:
    """HTTP: ``{"phase", "season"|"seasons"|"start"+"end", "force"}`` → the units to publish."""
    return _respond(_plan, request)


@functions_framework.http
def progress(request: Request) -> tuple[str, int, dict[str, str]]:
    """HTTP: ``{"phase", "start", "end", "processors"?}`` → counts by state and whether all
    are finished."""
    return _respond(lambda a: protocol.progress(get_services(), *_range(a),
                                                processors=_processors(a)), request)


@functions_framework.http
def validate(request: Request) -> tuple[str, int, dict[str, str]]:
    """HTTP: ``{"phase", "start", "end", "run_id"?, "processors"?}`` → the gate verdict
    summary."""
    return _respond(lambda a: protocol.validate(get_services(), *_range(a),
                                                run_id=a.get("run_id"),
                                                processors=_processors(a)), request)


@functions_framework.http
def status(request: Request) -> tuple[str, int, dict[str, str]]:
    """HTTP GET ``?season=2024-25`` (repeatable or comma-separated) → the HTML status report
    built from the status store and the warehouse (Firestore + BigQuery in the cloud), the same
    page as ``backcourt report``. A missing or bad season answers 400 with the error."""
    from backcourt.services import html_report

    if request.method not in ("GET", "HEAD"):
        return (json.dumps({"error": f"{request.method} not allowed: use GET"}), 405,
                {"Content-Type": "application/json", "Allow": "GET, HEAD"})
    try:
        seasons = html_report.parse_seasons(request.args.getlist("season"))
        page = html_report.build_report(get_services(), seasons)
    except BadInput as exc:
        return json.dumps({"error": str(exc)}), 400, {"Content-Type": "application/json"}
    return page, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _workflow_path() -> str:
    """The daily workflow's full id, ``BACKCOURT_DAILY_WORKFLOW`` (Terraform sets it from the
    workflow resource: one source for its name and region, no fallback to guess them)."""
    explicit = os.environ.get("BACKCOURT_DAILY_WORKFLOW")
    if not explicit:
        raise TerminalError("set BACKCOURT_DAILY_WORKFLOW to the daily workflow's id "
                            "(projects/P/locations/L/workflows/W)")
    return explicit


TICK_LABEL = "backcourt_tick"
"""Label of a daily execution: its tick's dates, ``<post_game_date>_<pre_game_date>``."""


def _tick_labels(dates: dict[str, str]) -> dict[str, str]:
    """The labels that identify one tick's execution (lowercase, digits, ``-`` and ``_``)."""
    return {TICK_LABEL: daily_tick.tick_id(dates)}


def _tick_time(event: CloudEvent) -> datetime:
    """When the tick was published (the CloudEvent ``time``), so a redelivery after midnight
    still resolves the tick's dates; now when the event carries no usable time."""
    try:
        moment = datetime.fromisoformat(str(event["time"])) if "time" in event else None
    except ValueError:
        moment = None
    return moment if moment is not None and moment.tzinfo is not None else datetime.now(UTC)


@functions_framework.cloud_event
def start_daily(event: CloudEvent) -> None:
    """Scheduler tick: resolve the dates once (from the tick's publish time), start the daily
    workflow with them, at most once per tick: Pub/Sub and Eventarc deliver at least once, and a
    second delivery (same or another event id, same dates) finds the tick claimed in the status
    store (``services.daily_tick``) or the labelled execution."""
    dates = protocol.resolve_daily(_tick_time(event))
    argument = {**dates, "trigger_event": _event_id(event)}
    starter = RUNTIME.workflow_starter(_workflow_path())
    name, started = daily_tick.start_once(
        get_services(), dates, _event_id(event),
        lambda: starter.start_once(argument, _tick_labels(dates)))
    if started:
        log.info("started daily workflow %s with %s", name, json.dumps(argument))
    else:
        log.warning("daily tick %s already started %s: not starting another",
                    _event_id(event), name, extra={"execution_id": _event_id(event)})
