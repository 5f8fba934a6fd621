"""Map Google Cloud SDK errors to backcourt's error tree (shared by every GCP adapter).

Retry is a property of the error type, so the mapping decides it:

* TransientError: 5xx answers, 429, rate limits, timeouts and dropped connections, BigQuery's
  "too many DML statements outstanding" and concurrent-update aborts (both arrive as 400),
  and anything we do not recognise (retrying an unknown failure is the safer default).
* TerminalError: every other 4xx (bad SQL, missing table, permission denied, ...).

``is_concurrent_abort`` singles out BigQuery's cancellation of a transaction that overlapped
another one on the same table: the BigQuery warehouse retries those itself, inside one write.
"""

from __future__ import annotations

import concurrent.futures
import socket

from google.api_core import exceptions as gexc

from backcourt.domain.errors import BackcourtError, TerminalError, TransientError

_TRANSIENT_MESSAGES = (
    "too many dml statements outstanding",
    "concurrent update",
    "could not serialize access",
    "transaction is aborted",
    "rate limit",
)
_ABORT_MESSAGES = (
    "transaction is aborted due to concurrent update",
    "could not serialize access to table",
)
_TRANSIENT_REASONS = {"rateLimitExceeded", "backendError", "internalError", "jobBackendError"}


def _reasons(exc: gexc.GoogleAPICallError) -> set[str]:
    return {str(e.get("reason", "")) for e in (exc.errors or []) if isinstance(e, dict)}


def is_concurrent_abort(exc: BaseException) -> bool:
    """Whether BigQuery cancelled a transaction or DML job because another one mutated the same
    table at the same time ("Transaction is aborted due to concurrent update against table …",
    "Could not serialize access to table … due to concurrent update"; both arrive as 400)."""
    if isinstance(exc, BackcourtError):
        return False
    text = str(exc).lower()
    return any(m in text for m in _ABORT_MESSAGES)


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may succeed when retried."""
    if isinstance(exc, BackcourtError):
        return isinstance(exc, TransientError)
    text = str(exc).lower()
    if any(m in text for m in _TRANSIENT_MESSAGES):
        return True
    if isinstance(exc, gexc.GoogleAPICallError):
        if isinstance(exc, gexc.TooManyRequests | gexc.ServerError | gexc.Aborted):
            return True
        if _reasons(exc) & _TRANSIENT_REASONS:
            return True
        return not isinstance(exc, gexc.ClientError)
    if isinstance(exc, gexc.RetryError):
        return True
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError | socket.timeout):
        return True
    if isinstance(exc, ConnectionError):
        return True
    return not isinstance(exc, ValueError | TypeError | KeyError)


def map_gcp_error(exc: BaseException, what: str) -> BackcourtError:
    """The backcourt error for an SDK failure; ``what`` names the operation in the message.

    Args:
        exc: the exception the SDK raised.
        what: what was being done (``"replace nba_raw.x"``, ``"load"``...).
    Returns:
        ``exc`` itself when it already is a BackcourtError, else a TransientError or
        TerminalError whose message names ``what``, the SDK error class and its text.
    """
    if isinstance(exc, BackcourtError):
        return exc
    message = f"{what}: {type(exc).__name__}: {exc}"
    return TransientError(message) if is_transient(exc) else TerminalError(message)
