"""The per-(processor, game_date) status model, gate verdicts and run records.

State machine (ARCHITECTURE.md)::

    not_expected                      no games / the processor does not apply that day
    pending ─lease→ running ─→ succeeded | degraded | blocked
                         ├─→ failed(transient) with attempts < 3 ─→ pending
                         ├─→ failed(terminal) or attempts = 3       (stays failed)
                         └─ lease expired ─→ pending (the attempt is already counted)
    pending ─cancel→ cancelled ─next plan→ pending

Attempts are counted in one place, when the lease is taken. Only an explicit operator reset
(``backcourt retry-failed``) re-arms a failed partition. ``cancelled`` marks work a cancelled run
had planned but not started: no worker takes it (a queued message for it does nothing), and the
next plan re-arms it, so a rerun resumes where the cancelled run stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

MAX_ATTEMPTS = 3


class State(StrEnum):
    """Where one (processor, game_date) partition stands."""

    NOT_EXPECTED = "not_expected"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEGRADED = "degraded"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"


DONE = frozenset({State.SUCCEEDED, State.DEGRADED})
TERMINAL = frozenset({State.SUCCEEDED, State.DEGRADED, State.FAILED, State.NOT_EXPECTED})


class Verdict(StrEnum):
    """The gate's answer for one (phase, game_date)."""

    PASS = "PASS"
    WARN = "WARN"
    BLOCK = "BLOCK"


@dataclass(frozen=True)
class PartitionStatus:
    """The status document of one (processor, game_date)."""

    processor: str
    game_date: date
    state: State
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows_written: int | None = None
    expected_rows: int | None = None
    error_kind: str | None = None
    error: str | None = None
    reason: str | None = None
    code_version: str | None = None
    verdict: str | None = None

    @property
    def doc_id(self) -> str:
        """Firestore document id ``{processor}__{game_date}``."""
        return f"{self.processor}__{self.game_date.isoformat()}"


@dataclass(frozen=True)
class Outcome:
    """What a processor reports for one date when it finishes (or fails)."""

    state: State
    rows_written: int | None = None
    expected_rows: int | None = None
    error_kind: str | None = None  # "transient" | "terminal" for failed
    error: str | None = None
    reason: str | None = None  # e.g. shrink_refused, bootstrap, lookback_incomplete


@dataclass(frozen=True)
class GateVerdict:
    """A persisted gate decision for one (phase, game_date), or for one (processor, game_date):
    ``phase`` holds a phase value ("3") for a phase's verdict (the summary of its processors)
    and a processor name for one processor's check (what readiness reads). Phase values and
    processor names never collide, so one history holds both."""

    phase: str
    game_date: date
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    decided_at: datetime | None = None


RUN_CANCELLING = "cancelling"
"""Run state set by ``backcourt cancel``: the runner stops after the units in flight."""
RUN_CANCELLED = "cancelled"
"""Run state of a run that stopped because it was cancelled."""
RUN_FINISHED = frozenset({"succeeded", "blocked", "failed", RUN_CANCELLED})
"""Run states after which nothing of the run is running any more."""


@dataclass(frozen=True)
class RunRecord:
    """One backfill or daily run: who started it, what it covered and how it ended."""

    run_id: str
    command: str
    started_at: datetime
    who: str
    scope: str
    state: str = "running"  # running | cancelling | succeeded | blocked | failed | cancelled
    finished_at: datetime | None = None
    summary: dict[str, Any] = field(default_factory=dict)
