"""Operations on runs and dates: ``retry-failed``, ``cancel`` and ``invalidate``.

* ``retry-failed`` re-arms failed dates only (attempts back to 0), optionally one phase or one
  processor; the next backfill retries exactly those (``services.ops.retry_failed``).
* ``cancel RUN`` — embedded default: the run's record becomes ``cancelling``; the runner (any
  process) stops after the units in flight, marks the units it did not start ``cancelled`` and
  records the run ``cancelled``. Google Cloud: cancels the backfill workflow's execution RUN
  (``BACKCOURT_GCP__BACKFILL_WORKFLOW`` in ``BACKCOURT_GCP__REGION``, as Terraform's
  ``runtime_env`` output sets them) and marks its pending tasks ``cancelled`` (queued work
  messages for them then do nothing).
  Either way the next backfill re-arms the cancelled dates and resumes.
* ``invalidate PROCESSOR --start D --end D`` marks those dates, and every downstream
  processor's dates the change reaches through its lookback, stale (pending) so the next
  backfill recomputes them (``services.ops.invalidate``).

No ``from __future__ import annotations``: typer reads the commands' annotations.
"""

import getpass
import socket
from datetime import date
from typing import Annotated, Any

import typer

from backcourt.commands.common import (
    SeasonsOpt,
    console,
    err,
    home_settings,
    open_services,
    parse_seasons,
)
from backcourt.config import GcpConfig
from backcourt.domain.dates import parse_date, runs
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_of
from backcourt.ports import Services
from backcourt.services.ops import invalidate, retry_failed


def operator() -> str:
    """Who is running this command: ``user@host``."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _spans(days: list[date]) -> str:
    spans = runs(days)
    text = [a.isoformat() if a == b else f"{a.isoformat()}…{b.isoformat()}"
            for a, b in spans[:4]]
    return ", ".join(text) + (f" (+{len(spans) - 4} more)" if len(spans) > 4 else "")


def workflow_path(cfg: GcpConfig, workflow: str | None = None) -> str:
    """The full name of a workflow: ``workflow`` (default: the settings' backfill workflow) in
    the settings' project and region."""
    if not cfg.project:
        raise BadInput("set BACKCOURT_GCP__PROJECT (see `terraform output runtime_env`)")
    name = workflow or cfg.backfill_workflow
    return f"projects/{cfg.project}/locations/{cfg.region}/workflows/{name}"


def _cloud_cancel(services: Services, cfg: GcpConfig, run: str, workflow: str | None) -> Any:
    """Cancel a workflow execution with the real Executions client (or the test override)."""
    from backcourt.bootstrap import RUNTIME
    from backcourt.services.runs import cancel_execution

    starter = RUNTIME.workflow_starter(workflow_path(cfg, workflow))
    return cancel_execution(services, starter, run, operator())


def register(app: typer.Typer) -> None:
    """Add ``retry-failed``, ``cancel`` and ``invalidate`` to the CLI."""

    @app.command("retry-failed")
    def retry_failed_cmd(
            season: SeasonsOpt,
            phase: Annotated[str | None, typer.Option("--phase", help="Only this phase.")] = None,
            processor: Annotated[str | None, typer.Option(
                "--processor", help="Only this processor.")] = None) -> None:
        """Re-arm failed dates (attempts back to 0); the next backfill retries only those."""
        with open_services() as s:
            total = retry_failed(s, parse_seasons(season), phase, processor)
        console.print(f"re-armed {total} failed date(s); run `backcourt backfill` to retry them")

    @app.command()
    def cancel(
            run: Annotated[str, typer.Argument(metavar="RUN", help="The run id (printed when a "
                                               "backfill starts; the execution id in GCP).")],
            wait: Annotated[bool, typer.Option(help="Wait until a local run has stopped.")]
            = False,
            timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 600,
            workflow: Annotated[str | None, typer.Option(
                help="GCP: the workflow of the execution (default: BACKCOURT_GCP__BACKFILL_WORKFLOW"
                ", in BACKCOURT_GCP__REGION).")] = None) -> None:
        """Stop a run: local — after the units in flight; GCP — cancel the workflow execution.
        Work it planned but did not start is marked cancelled; the next backfill resumes it."""
        from backcourt.services import runs as bf

        settings = home_settings()
        with open_services(settings) as s:
            if settings.backend == "gcp":
                done = _cloud_cancel(s, settings.gcp, run, workflow)
                console.print(f"execution {done.execution}: {done.state_before} → "
                              f"{done.state_after}; {sum(done.cancelled.values())} pending "
                              "task(s) marked cancelled", highlight=False)
                return
            record = bf.request_cancel(s, run, operator())
            if record.state == "cancelled":
                console.print(f"run {run} marked cancelled: its process is gone",
                              highlight=False)
                return
            console.print(f"run {run}: cancel requested; it stops after the units in flight",
                          highlight=False)
            if wait:
                final = bf.wait_finished(s, run, timeout)
                if final is None:
                    err.print(f"run {run} has not stopped after {timeout:g} s", highlight=False)
                    raise typer.Exit(1)
                console.print(f"run {run} {final.state}", highlight=False)

    @app.command("invalidate")
    def invalidate_cmd(
            processor: Annotated[str, typer.Argument(metavar="PROCESSOR")],
            start: Annotated[str, typer.Option(help="First date (YYYY-MM-DD).")],
            end: Annotated[str, typer.Option(help="Last date (YYYY-MM-DD).")]) -> None:
        """Mark a processor's dates and everything downstream within lookback stale, so the
        next backfill recomputes them."""
        first, last = parse_date(start, what="--start"), parse_date(end, what="--end")
        if first > last:
            raise BadInput(f"--start {first} is after --end {last}")
        season_of(first)
        with open_services() as s:
            marked = invalidate(s, processor, first, last)
        if not marked:
            console.print(f"nothing to invalidate: {processor} has no finished date in "
                          f"{first}…{last}", highlight=False)
            return
        for name, days in marked.items():
            console.print(f"{name}: {len(days)} date(s) marked stale: {_spans(days)}",
                          highlight=False)
        console.print(f"{sum(len(d) for d in marked.values())} processor-date(s) will be "
                      "recomputed by the next `backcourt backfill`", highlight=False)
