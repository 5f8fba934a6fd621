"""The error tree. Retry is a property of the error type.

::

    BackcourtError                      every error we raise on purpose
    ├── TransientError                  retry with backoff (timeouts, 5xx/429, lock conflicts)
    │   └── WarehouseTimeout            a query ran past its deadline and was cancelled
    └── TerminalError                   record and stop: retrying cannot help
        ├── BadInput                    a bad date, season, processor name, message or argument
        │   ├── ScheduleMissing         a season whose schedule file is not in the bucket
        │   └── ScheduleRefused         a schedule file ingest refused (kept in quarantine/)
        ├── MalformedRawFile            a raw file that no parser accepts
        │   └── InconsistentRawFile     a box score whose own numbers disagree
        └── ShrinkRefused               a write that would shrink a date's rows past the guard

Every error carries ``processor``, ``game_date`` and ``run_id`` when they are known, so logs and
the status store can say exactly which unit of work failed.
"""

from __future__ import annotations

from datetime import date
from typing import Any


class BackcourtError(Exception):
    """Root of every error backcourt raises on purpose."""

    kind = "terminal"

    def __init__(
        self,
        message: str,
        *,
        processor: str | None = None,
        game_date: date | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.processor = processor
        self.game_date = game_date
        self.run_id = run_id

    def __str__(self) -> str:
        where = [p for p in (self.processor, self.game_date and self.game_date.isoformat()) if p]
        return f"{self.message} [{' '.join(where)}]" if where else self.message


class TransientError(BackcourtError):
    """May succeed if retried: timeouts, rate limits, lock conflicts, 5xx answers."""

    kind = "transient"


class TerminalError(BackcourtError):
    """Cannot succeed if retried as is: record it and move on."""

    kind = "terminal"


class WarehouseTimeout(TransientError):
    """A warehouse query ran past its deadline and was cancelled."""


class BadInput(TerminalError):
    """A bad date, season, processor name, message or command-line argument."""


class MalformedRawFile(TerminalError):
    """A raw file that no parser accepts; it names the file and the problem."""

    def __init__(self, path: str, problem: str, **kw: object) -> None:
        super().__init__(f"{path}: {problem}", **kw)  # type: ignore[arg-type]
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by (path, problem) and the fields: a parse-pool worker process sends bad
        files back to the runner (the default would call ``cls(message)`` and fail)."""
        return (type(self), (self.path, self.problem), self.__dict__)


class InconsistentRawFile(MalformedRawFile):
    """A box-score file whose own numbers disagree (team points ≠ its players' points, made >
    attempted; ``domain.reconcile``). ``dest``: where it would have been stored."""

    def __init__(self, path: str, problem: str, dest: str = "", **kw: object) -> None:
        super().__init__(path, problem, **kw)
        self.dest = dest


class ShrinkRefused(TerminalError):
    """A write that would shrink a date's rows by more than the configured fraction."""


SCHEDULE_FILE = "raw/nbacom_schedule/{season}/scheduleLeagueV2.json"
"""Where a season's schedule lives in the bucket (``sources.layout.schedule_path``)."""


class ScheduleMissing(BadInput):
    """A season whose schedule is not in the bucket: its dates are unknown, nothing can be
    planned for it (never ``not_expected``). The message names the file and how to load it."""

    def __init__(self, season: str, sample: bool = False) -> None:
        """``sample``: the sample generator supports the season (so it is advised too)."""
        path = SCHEDULE_FILE.format(season=season)
        synthetic = (f" (or, for synthetic data, `backcourt sample-data --season {season}`)"
                     if sample else "")
        super().__init__(
            f"no schedule for {season}: {path} is not in the bucket, so its game dates are "
            f"unknown. Load it with `backcourt ingest <NBA.com scheduleLeagueV2 file of "
            f"{season}>`{synthetic}, then run `backcourt backfill --season {season} "
            "--phase 2`")
        self.season = season
        self.path = path
        self.sample = sample

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by season (a parse-pool worker sends it back to the runner)."""
        return (type(self), (self.season, self.sample))


class ScheduleRefused(BadInput):
    """A schedule file ``ingest`` refused; ``reason`` names the rule it broke."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by (message, reason)."""
        return (type(self), (self.message, self.reason))
