"""Incident: validation gates that failed open (LESSONS #10, R10.1/R10.2; lesson 7).

    "The Phase 3→4 blocking gate raises, but a broad `except` swallows the raise. The caller
    then marks the trigger as succeeded and latches it, so no retry ever happens."
    R10.2: "Gates on phase promotion fail **closed** when the validator itself errors: the date
    becomes BLOCKED, not "pass"."  Acceptance (§5): "A validator exception → the date is
    BLOCKED, not promoted."

Guarded here: a validator that raises (the warehouse unreachable, or a bug in the validator)
yields BLOCK for every date, the verdict is persisted, the next phase does not start (its dates
are recorded blocked, nothing is written) — and nothing latches: once the validator works again
the same command validates and goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from faults import BrokenGate, FaultyWarehouse, faulty_on, rows

from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1, D2 = date(2024, 10, 22), date(2024, 10, 23)  # opening week: no earlier history to read
WINDOW = Window(D1, D2)
PHASE3 = [p.table.name for p in registry.of_phase(Phase.ANALYTICS)]


@pytest.fixture
def faulty(make_home: Callable[..., Path]) -> Iterator[tuple[Services, FaultyWarehouse]]:
    s, wh = faulty_on(make_home([D1, D2]))
    yield s, wh
    s.close()


@pytest.mark.parametrize("error", [TransientError("injected: warehouse unreachable"),
                                   KeyError("injected: a bug in the validator")],
                         ids=["warehouse-down", "validator-bug"])
def test_validator_error_blocks_every_date_and_phase_3_never_runs(
        faulty: tuple[Services, FaultyWarehouse], error: Exception) -> None:
    s, wh = faulty
    broken = BrokenGate(s.warehouse, error)
    result = Runner(replace(s, warehouse=broken)).backfill(
        [SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)

    assert broken.queries >= 1
    assert result.stopped_at is Phase.RAW
    # The schedule's own check failed closed, so nothing that reads the schedule ran: phase 2
    # loaded only the schedule, phase 3 wrote nothing.
    assert [p.phase for p in result.phases] == [Phase.RAW, Phase.ANALYTICS]
    assert result.phases[1].dates_processed == 0
    raw = result.phases[0].verdicts
    assert set(raw) == {D1, D2}
    for day in (D1, D2):
        assert raw[day].verdict is Verdict.BLOCK
        assert any("validator error" in r for r in raw[day].reasons), raw[day].reasons
    stored = {v.game_date: v for v in s.status.verdicts(Phase.RAW.value, D1, D2)}
    assert {d: v.verdict for d, v in stored.items()} == {D1: Verdict.BLOCK, D2: Verdict.BLOCK}
    assert not any(wh.calls[t] for t in PHASE3)
    for t in PHASE3:
        assert rows(wh, f"nba_analytics.{t}", D1) == 0
    for proc in registry.of_phase(Phase.ANALYTICS):
        for day in (D1, D2):
            st = s.status.get(proc.name, day)
            assert st is not None and st.state is State.BLOCKED, (proc.name, day, st)
            assert st.reason and st.reason.startswith(("upstream_incomplete:",
                                                       "lookback_incomplete:")), st
    pgs = s.status.get("player_game_summary", D1)  # it reads the schedule itself
    assert pgs is not None and pgs.reason and "schedule" in pgs.reason
    assert "gate BLOCK (validator error" in pgs.reason, pgs.reason


def test_a_validator_error_does_not_block_forever_once_the_warehouse_is_back(
        faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    broken = Runner(replace(s, warehouse=BrokenGate(s.warehouse)))
    assert broken.backfill([SEASON], [Phase.RAW], WINDOW).stopped_at is Phase.RAW
    # The outage is over: the same command measures again what failed closed and goes on.
    result = Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)
    assert result.stopped_at is None, [p.verdicts for p in result.phases]
    assert {v.verdict for v in result.phases[0].verdicts.values()} <= {Verdict.PASS,
                                                                        Verdict.WARN}
    st = s.status.get("player_game_summary", D1)
    assert st is not None and st.state is State.SUCCEEDED
