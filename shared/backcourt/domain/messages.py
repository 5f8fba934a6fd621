"""The work message: one Pub/Sub message per (phase, processors, game_date range).

JSON body, validated at the function entry (ARCHITECTURE.md "Work messages")::

    {"run_id": "...", "phase": "3", "processors": ["player_game_summary"],
     "start_date": "2025-01-15", "end_date": "2025-01-16", "mode": "backfill", "attempt": 0}

Unknown fields, bad dates (or dates outside 1946-07-01 … 2099-06-30), unknown processors,
processors of another phase, a reversed or too long range, or a body over the size limit are all
``BadInput``: recorded, acknowledged, never retried.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backcourt.domain.dates import FIRST_DAY, LAST_DAY, date_range
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_of
from backcourt.domain.registry import BY_NAME, Phase

MAX_MESSAGE_BYTES = 16 * 1024
"""Largest accepted body (real messages are a few hundred bytes)."""
MAX_RANGE_DAYS = 62
"""Largest date range of one message, both ends included."""
SCHEDULE_ONLY = ("schedule",)
"""A message of the schedule alone covers up to one whole season (both ends in the same season):
the schedule is one file per season, loaded whole (``services.plan._schedule_plan``), in one
transaction, so a crash cannot leave a season's calendar half loaded."""
MAX_ATTEMPT = 100
"""Largest accepted ``attempt`` counter."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RUN_ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"


class WorkMessage(BaseModel):
    """One unit of work for the ``process`` function (frozen; extra fields forbidden)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    run_id: str = Field(pattern=_RUN_ID)
    """The run this unit belongs to (letters, digits and ``._:-``, at most 128 characters)."""
    phase: Phase
    """The phase of every processor in ``processors``."""
    processors: tuple[str, ...] = Field(min_length=1, max_length=len(BY_NAME))
    """Processor names of ``phase``; run in level order."""
    start_date: date
    """First game_date, inclusive (ISO ``YYYY-MM-DD``)."""
    end_date: date
    """Last game_date, inclusive (ISO ``YYYY-MM-DD``)."""
    mode: Literal["backfill", "daily"]
    """Why the unit runs: a backfill or the daily schedule."""
    attempt: int = Field(ge=0, le=MAX_ATTEMPT)
    """How many times the publisher has sent this unit before (0 the first time)."""

    @field_validator("phase", mode="before")
    @classmethod
    def _phase(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("phase must be a string such as \"2\" or \"5A\"")
        try:
            return Phase(value.strip().upper())
        except ValueError:
            known = ", ".join(p.value for p in Phase)
            raise ValueError(f"unknown phase {value!r}; known: {known}") from None

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(f"bad date {value!r}: expected YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad date {value!r}: not a calendar date") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError(f"bad date {value!r}: outside the supported dates "
                             f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
        return day

    @field_validator("processors", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> WorkMessage:
        unknown = [p for p in self.processors if p not in BY_NAME]
        if unknown:
            known = ", ".join(sorted(BY_NAME))
            raise ValueError(f"unknown processor(s) {', '.join(map(repr, unknown))}; "
                             f"known: {known}")
        other = [p for p in self.processors if BY_NAME[p].phase is not self.phase]
        if other:
            raise ValueError(f"processor(s) {', '.join(other)} do not belong to phase "
                             f"{self.phase.value}")
        if len(set(self.processors)) != len(self.processors):
            raise ValueError("processors must not repeat")
        if self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        span = (self.end_date - self.start_date).days + 1
        if span <= MAX_RANGE_DAYS:
            return self
        if self.processors != SCHEDULE_ONLY:
            raise ValueError(f"date range of {span} days is longer than {MAX_RANGE_DAYS}")
        if season_of(self.start_date) != season_of(self.end_date):
            raise ValueError(f"a schedule message longer than {MAX_RANGE_DAYS} days must stay "
                             f"in one season: {self.start_date} and {self.end_date} are in "
                             f"{season_of(self.start_date)} and {season_of(self.end_date)}")
        return self

    def dates(self) -> list[date]:
        """Every date from start_date to end_date, inclusive."""
        return list(date_range(self.start_date, self.end_date))

    def to_json(self) -> bytes:
        """The message body (compact JSON, dates as ISO strings)."""
        return self.model_dump_json().encode()

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes: run_id and phase (for filtering and the dead-letter topic)."""
        return {"run_id": self.run_id, "phase": self.phase.value}


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ())) or "message"
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{where}: {msg.removeprefix('Value error, ')}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


def parse_message(data: bytes) -> WorkMessage:
    """Validate a message body.

    Args:
        data: the raw JSON body (already base64-decoded).
    Returns:
        The work message.
    Raises:
        BadInput: the body is too large, not JSON, or not a valid work message; the error names
            the problem.
    """
    if not isinstance(data, bytes | bytearray):
        raise BadInput(f"bad work message: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise BadInput(f"bad work message: {len(data)} bytes is over the "
                       f"{MAX_MESSAGE_BYTES}-byte limit")
    try:
        return WorkMessage.model_validate_json(bytes(data))
    except ValidationError as exc:
        raise BadInput(f"bad work message: {_describe(exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise BadInput(f"bad work message: {type(exc).__name__}: {exc}") from None


def make_message(run_id: str, phase: Phase | str, processors: list[str], start: date, end: date,
                 *, mode: Literal["backfill", "daily"] = "backfill",
                 attempt: int = 0) -> WorkMessage:
    """Build a validated message from Python values (BadInput when they are invalid)."""
    try:
        return WorkMessage.model_validate({
            "run_id": run_id, "phase": str(phase), "processors": processors,
            "start_date": start, "end_date": end, "mode": mode, "attempt": attempt,
        })
    except ValidationError as exc:
        raise BadInput(f"bad work message: {_describe(exc)}") from None
