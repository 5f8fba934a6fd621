"""At most one daily execution per scheduler tick.

Pub/Sub and Eventarc deliver a tick at least once, and Cloud Scheduler retrying its publish sends
the same tick again under another message id. The tick is identified by its resolved dates
(``<post_game_date>_<pre_game_date>``) and claimed in the status store with a create-if-absent
run record (``daily-<tick>``) before anything starts: of two deliveries at the same instant
exactly one claims it. The claim's life:

* ``starting``: claimed, the execution not yet started. Another delivery seeing a fresh one
  raises TransientError (nack), so if the claimer dies before starting, a later redelivery finds
  the claim stale (older than ``STALE_AFTER``) and takes it over;
* ``started``: the execution exists (its name in the summary); any later delivery acks;
* ``failed``: starting raised; the error is kept and the next delivery takes the claim over.

The start itself still checks the execution labels (``WorkflowStarter.start_once``), so a
claim taken over after a claimer that did start but died before recording it starts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from backcourt.domain.errors import TransientError
from backcourt.domain.status import RunRecord
from backcourt.ports import Services

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
"""How old a ``starting`` claim must be before another delivery takes it over: well past the
start_daily function's timeout (120 s), so its claimer is certainly gone."""

Start = Callable[[], tuple[str, bool]]
"""Starts the labelled execution unless it exists: ``(its name, whether this call started it)``."""


def tick_id(dates: dict[str, str]) -> str:
    """The tick's identity: its two resolved dates."""
    return f"{dates['post_game_date']}_{dates['pre_game_date']}"


def start_once(services: Services, dates: dict[str, str], event_id: str,
               start: Start) -> tuple[str, bool]:
    """Claim the tick of ``dates`` and start its execution, or find it already started.

    Returns:
        ``(execution name, whether this delivery started it)``.
    Raises:
        TransientError: another delivery holds a fresh ``starting`` claim (Pub/Sub redelivers
            this one later), or starting failed.
    """
    now = services.clock.now()
    claim = RunRecord(run_id=f"daily-{tick_id(dates)}", command="start-daily", started_at=now,
                      who=event_id, scope=tick_id(dates), state="starting")
    if not services.status.claim_run(claim):
        held = services.status.get_run(claim.run_id)
        if held is not None and held.state == "started":
            return str(held.summary.get("execution", "")), False
        if held is not None and held.state == "starting" and now - held.started_at < STALE_AFTER:
            raise TransientError(f"daily tick {claim.scope} is being started by delivery "
                                 f"{held.who}; retry later")
        log.warning("daily tick %s: taking over the %s claim of %s", claim.scope,
                    held.state if held else "vanished", held.who if held else "?")
        services.status.record_run(claim)
    try:
        name, started = start()
    except Exception as exc:
        services.status.record_run(replace(claim, state="failed", finished_at=services.clock.now(),
                                           summary={"error": f"{type(exc).__name__}: {exc}"}))
        raise
    services.status.record_run(replace(claim, state="started", finished_at=services.clock.now(),
                                       summary={"execution": name, "started_here": started}))
    return name, started
