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
from datetime import date
from pathlib import Path

import pytest
from faults import BrokenQueries, FaultyWarehouse, faulty_on, rows

from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.backfill import Runner
from backcourt.services.gate import Gate
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1, D2 = date(2025, 1, 14), date(2025, 1, 15)
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
    runner = Runner(s)
    broken = BrokenQueries(s.warehouse, error)
    runner.gate = Gate(broken, s.status, s.settings.thresholds)
    result = runner.backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)

    assert broken.queries >= 1
    assert result.stopped_at is Phase.RAW
    # Phase 3 is visited only to record its dates as blocked: no unit runs, no gate.
    assert [p.phase for p in result.phases] == [Phase.RAW, Phase.ANALYTICS]
    assert result.phases[1].units_run == 0 and not result.phases[1].verdicts
    for day in (D1, D2):
        st = s.status.get("player_game_summary", day)
        assert st is not None and st.state is State.BLOCKED, st
    raw = result.phases[0].verdicts
    assert set(raw) == {D1, D2}
    for day in (D1, D2):
        assert raw[day].verdict is Verdict.BLOCK
        assert any("validator error" in r for r in raw[day].reasons), raw[day].reasons
    stored = {v.game_date: v for v in s.status.verdicts(Phase.RAW.value, D1, D2)}
    assert {d: v.verdict for d, v in stored.items()} == {D1: Verdict.BLOCK, D2: Verdict.BLOCK}
    # Phase 3 wrote nothing and holds no rows.
    assert not any(wh.calls[t] for t in PHASE3)
    for t in PHASE3:
        assert rows(wh, f"nba_analytics.{t}", D1) == 0

    # Asking for phase 3 alone: every date is blocked by the upstream verdict, nothing runs.
    alone = Runner(s).backfill([SEASON], [Phase.ANALYTICS], WINDOW)
    assert not alone.did_work
    assert not any(wh.calls[t] for t in PHASE3)
    for proc in registry.of_phase(Phase.ANALYTICS):
        for day in (D1, D2):
            st = s.status.get(proc.name, day)
            assert st is not None and st.state is State.BLOCKED, (proc.name, day, st)
            assert st.reason and "upstream gate" in st.reason and "validator error" in st.reason


def test_a_validator_error_does_not_block_forever_once_the_warehouse_is_back(
        faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    runner = Runner(s)
    runner.gate = Gate(BrokenQueries(s.warehouse), s.status, s.settings.thresholds)
    assert runner.backfill([SEASON], [Phase.RAW], WINDOW).stopped_at is Phase.RAW
    # The outage is over: the same command with a working gate validates again and goes on.
    result = Runner(s).backfill([SEASON], [Phase.RAW, Phase.ANALYTICS], WINDOW)
    assert result.stopped_at is None
    assert {v.verdict for v in result.phases[0].verdicts.values()} <= {Verdict.PASS,
                                                                        Verdict.WARN}
    st = s.status.get("player_game_summary", D1)
    assert st is not None and st.state is State.SUCCEEDED
