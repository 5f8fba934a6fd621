"""Logging setup: JSON lines in the Cloud Logging format in the cloud, rich on a terminal.

In the cloud (``K_SERVICE`` is set, as on Cloud Functions and Cloud Run) or with
``BACKCOURT_LOG_FORMAT=json``, every record is one JSON object on stderr, which Cloud Logging
parses into a structured entry (https://cloud.google.com/logging/docs/structured-logging):
``severity``, ``message``, ``time``, ``logger``, the source location, and the correlation fields
a call passes with ``extra=`` (``run_id``, ``processor``, ``game_date``, ``phase`` …) both as
top-level fields (``jsonPayload``) and as ``logging.googleapis.com/labels`` so a backfill can
be filtered by run. On a terminal the records go through rich; elsewhere (a pipe, CI) as
plain text. Logs never go to stdout: that is where ``--json`` output goes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import IO, Any, Literal

Format = Literal["auto", "json", "rich", "text"]

FIELDS = ("run_id", "phase", "processor", "game_date", "start_date", "end_date", "attempt",
          "execution_id", "duplicates_collapsed")
"""Correlation fields copied from a record's ``extra=`` into the JSON entry and its labels."""
LABELS = "logging.googleapis.com/labels"
SOURCE = "logging.googleapis.com/sourceLocation"
_SEVERITY = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARNING",
             logging.ERROR: "ERROR", logging.CRITICAL: "CRITICAL"}
_TAG = "_backcourt_handler"


def _text(value: Any) -> Any:
    """A field value as JSON: dates as ISO text, numbers and strings as they are."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per record, in the shape Cloud Logging parses."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (no newline)."""
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": message,
            "time": stamp.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "logger": record.name,
            SOURCE: {"file": record.pathname, "line": str(record.lineno),
                     "function": record.funcName},
        }
        labels: dict[str, str] = {}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = _text(value)
                labels[name] = str(_text(value))
        if labels:
            entry[LABELS] = labels
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stderr`` is when a record is emitted (the
    CLI test runner swaps it per invocation)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to the current ``sys.stderr``."""
        self.stream = sys.stderr
        super().emit(record)


def choose_format(env: Mapping[str, str], stream: IO[str]) -> Format:
    """``json`` in the cloud or when asked, ``rich`` on a terminal, ``text`` otherwise.

    ``BACKCOURT_LOG_FORMAT`` (json, rich or text) wins over the detection.
    """
    asked = env.get("BACKCOURT_LOG_FORMAT", "").strip().lower()
    if asked in ("json", "rich", "text"):
        return asked  # type: ignore[return-value]
    if env.get("K_SERVICE"):
        return "json"
    isatty = getattr(stream, "isatty", None)
    return "rich" if callable(isatty) and isatty() else "text"


def configure_logging(level: int = logging.WARNING, *, fmt: Format = "auto",
                      stream: IO[str] | None = None,
                      env: Mapping[str, str] | None = None) -> Format:
    """Install backcourt's one handler on the root logger (replacing the one a previous call
    installed; other handlers, e.g. pytest's, are left alone) and set the root level.

    Args:
        level: the root level; ``BACKCOURT_LOG_LEVEL`` (e.g. DEBUG) overrides it.
        fmt: ``auto`` chooses with ``choose_format``.
        stream: where records go (stderr by default).
        env: the environment (``os.environ`` by default).
    Returns:
        The format chosen.
    """
    env = os.environ if env is None else env
    chosen = choose_format(env, stream or sys.stderr) if fmt == "auto" else fmt
    handler: logging.Handler
    if chosen == "rich":
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(file=stream) if stream else Console(stderr=True)
        handler = RichHandler(console=console, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(stream) if stream else _StderrHandler()
        handler.setFormatter(CloudLoggingFormatter() if chosen == "json" else
                             logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    setattr(handler, _TAG, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _TAG, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    named = env.get("BACKCOURT_LOG_LEVEL", "").strip().upper()
    root.setLevel(logging.getLevelName(named) if named in _SEVERITY.values() else level)
    return chosen
