"""Run records and cancelling: ids, who owns a local run, closing runs whose process died,
asking a local run to stop, and cancelling a workflow execution."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import PROCESSORS, Phase
from backcourt.domain.status import RUN_CANCELLED, RUN_CANCELLING, RUN_FINISHED, RunRecord, State
from backcourt.ports import Services

log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, unique run id."""
    return f"run-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def dead_local_owners(services: Services, seasons: Sequence[str]) -> list[str]:
    """Lease owners (``host:pid``) of this host whose process is gone: their leases can be
    released at once instead of waiting for them to expire."""
    host = socket.gethostname()
    dead = set()
    for season in seasons:
        start, end = season_bounds(season)
        for st in services.status.list(None, start, end):
            if st.state is State.RUNNING and st.lease_owner:
                owner_host, _, pid = st.lease_owner.rpartition(":")
                if owner_host == host and pid.isdigit() and not _alive(int(pid)):
                    dead.add(st.lease_owner)
    return sorted(dead)


def _alive(pid: int) -> bool:
    """Whether a process of this host is alive."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def close_dead_runs(services: Services) -> None:
    """Runs still recorded as running whose local process is gone (killed, crashed) are
    recorded ``failed`` with a note, so run history never shows a dead run as running."""
    for run in services.status.runs(200):
        if run.state in RUN_FINISHED or not owner_gone(str(run.summary.get("owner") or "")):
            continue
        note = "the run's process died (killed or crashed) before it finished"
        services.status.record_run(replace(run, state="failed", finished_at=services.clock.now(),
                                           summary={**run.summary, "note": note}))
        log.warning("run %s: %s", run.run_id, note, extra={"run_id": run.run_id})


def request_cancel(services: Services, run_id: str, who: str) -> RunRecord:
    """Ask a local run to stop: its record becomes ``cancelling``; the runner (in any process)
    sees it before its next unit. A run whose process is gone (same host, dead pid) is marked
    ``cancelled`` at once. Asking twice is harmless.

    Raises:
        BadInput: no such run (the message lists the running ones), or it already finished.
    """
    run = services.status.get_run(run_id)
    if run is None:
        running = [r.run_id for r in services.status.runs(20) if r.state not in RUN_FINISHED]
        raise BadInput(f"no run {run_id!r}" + (f"; running: {', '.join(running)}" if running
                                               else "; no run is running"))
    if run.state in RUN_FINISHED:
        raise BadInput(f"run {run_id} already finished ({run.state}); nothing to cancel")
    now = services.clock.now()
    summary = {**run.summary, "cancel_requested_by": who, "cancel_requested_at": now.isoformat()}
    if run.state == RUN_CANCELLING:
        return run
    state, finished = RUN_CANCELLING, None
    if owner_gone(str(run.summary.get("owner") or "")):
        state, finished = RUN_CANCELLED, now
        summary["cancelled_by"] = who
        summary["note"] = "the run's process was gone; nothing was running"
    new = replace(run, state=state, finished_at=finished, summary=summary)
    services.status.record_run(new)
    log.warning("run %s: cancel requested by %s", run_id, who, extra={"run_id": run_id})
    return new


def owner_gone(owner: str) -> bool:
    """Whether a local owner ``host:pid`` is of this host and its process is gone."""
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def wait_finished(services: Services, run_id: str, timeout_s: float,
                  poll_s: float = 0.2) -> RunRecord | None:
    """The run's record once it finished, or None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = services.status.get_run(run_id)
        if run is not None and run.state in RUN_FINISHED:
            return run
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)


@dataclass(frozen=True)
class CloudCancel:
    """What cancelling a workflow execution did."""

    execution: str
    state_before: str
    state_after: str
    cancelled: dict[str, int]
    """Pending partitions marked cancelled, per processor."""


def cancel_execution(services: Services, executions: Any, execution: str,
                     who: str) -> CloudCancel:
    """Cancel a ``backfill`` workflow execution and mark its pending tasks ``cancelled``.

    The execution's argument gives the scope (``season``/``seasons`` or ``start``+``end``, and
    ``phases``); pending partitions there that are not another run's are cancelled, so work
    messages already queued for them do nothing. Running tasks finish; the next plan re-arms
    the cancelled dates.

    Args:
        executions: a ``WorkflowStarter`` of the backfill workflow (get/cancel).
        execution: the execution id (the run id) or its full name.
    """
    info = executions.get(execution)
    after = executions.cancel(execution).state if info.running else info.state
    run_id = info.execution_id
    arg = info.argument
    seasons = arg.get("seasons") or ([arg["season"]] if arg.get("season") else [])
    spans = [season_bounds(s) for s in seasons]
    if arg.get("start") and arg.get("end"):
        spans.append((date.fromisoformat(arg["start"]), date.fromisoformat(arg["end"])))
    names = [p.name for p in PROCESSORS
             if p.phase.value in (arg.get("phases") or [ph.value for ph in Phase])]
    why = f"cancelled by {who} (run {run_id})"
    cancelled: dict[str, int] = {}
    if info.running:
        for start, end in spans:
            pending: dict[str, list[date]] = {}
            for doc in services.status.list(names, start, end):
                if doc.state is State.PENDING and doc.run_id in (None, run_id):
                    pending.setdefault(doc.processor, []).append(doc.game_date)
            for name, days in pending.items():
                n = services.status.cancel(name, days, why)
                cancelled[name] = cancelled.get(name, 0) + n
        now = services.clock.now()
        services.status.record_run(RunRecord(
            run_id, "backfill-workflow", now, who, json.dumps(arg, sort_keys=True),
            RUN_CANCELLED, now, {"cancelled_by": who, "execution": info.name,
                                 "partitions_cancelled": sum(cancelled.values())}))
    log.warning("execution %s: %s → %s, %d pending task(s) cancelled", info.name, info.state,
                after, sum(cancelled.values()), extra={"run_id": run_id})
    return CloudCancel(info.name, info.state, after, cancelled)
