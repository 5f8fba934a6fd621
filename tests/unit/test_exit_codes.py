"""``backfill``'s exit code says how the run's scope stands: 0 every expected processor-date
done (WARN allowed), 1 any not done or a gate-BLOCKed date, 3 cancelled (2, bad input, is the
CLI's for every BadInput: tests/local/test_cli.py)."""

from __future__ import annotations

import pytest

from backcourt.commands.common import EXIT_CANCELLED, EXIT_DONE, EXIT_NOT_DONE, report_run
from backcourt.domain.registry import Phase
from backcourt.services.backfill import BackfillResult, PhaseResult, ScopeOutcome

CLEAN = ScopeOutcome(expected=10, done=10, open={}, gate_blocked={"3": 0}, reasons=())


def _run(outcome: ScopeOutcome | None, cancelled_by: str | None = None,
         cancelled_units: int = 0) -> BackfillResult:
    phase = PhaseResult(Phase.ANALYTICS, units_run=1, dates_processed=3)
    return BackfillResult("run-x", [phase], cancelled_by, cancelled_units, outcome)


@pytest.mark.parametrize(("outcome", "code"), [
    (CLEAN, EXIT_DONE),
    (ScopeOutcome(10, 9, {"blocked": 1}, {"3": 0}, ("pgs 2025-01-15 blocked: …",)),
     EXIT_NOT_DONE),
    (ScopeOutcome(10, 9, {"failed": 1}, {"3": 0}, ()), EXIT_NOT_DONE),
    (ScopeOutcome(10, 9, {"absent": 1}, {"3": 0}, ()), EXIT_NOT_DONE),
    (ScopeOutcome(10, 10, {}, {"2": 1}, ()), EXIT_NOT_DONE),  # done, but the gate BLOCKed
])
def test_the_exit_code_follows_the_scope(outcome: ScopeOutcome, code: int) -> None:
    assert report_run(_run(outcome)) == code
    assert outcome.clean is (code == EXIT_DONE)


def test_a_cancelled_run_exits_3() -> None:
    result = _run(None, cancelled_by="me@host", cancelled_units=4)
    assert report_run(result) == EXIT_CANCELLED == 3
    assert (EXIT_DONE, EXIT_NOT_DONE) == (0, 1)
