"""Incident: retry loops that did not terminate (LESSONS #6, R6; lesson 9 of the top ten).

    "The `failed_processor_queue` recycle resets `retry_count`, so "failed_permanent" is not
    terminal. It ran 433 `/process-date` calls/day on dead dates and reprocessed one March date
    8×/day for months."  "OUT players were retried forever."

Guarded here: a date failing transiently on every attempt ends ``failed`` after 3 attempts, and
is retried again only after an explicit ``backcourt retry-failed``; a terminal error fails at
once; a transient blip is retried until it succeeds. Both the local runner and the cloud path
(the ``process`` function under Pub/Sub redelivery) stop after 3 attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from faults import FaultyWarehouse, deliver, faulty_on, functions_main, rows, services_on
from typer.testing import CliRunner

from backcourt import cli
from backcourt.domain.errors import TerminalError
from backcourt.domain.messages import parse_message
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import MAX_ATTEMPTS, State
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
D1, D2 = date(2024, 10, 22), date(2024, 10, 23)  # opening week: no earlier history to read
WINDOW = Window(D1, D2)
TARGET = "player_props"  # best effort: a failed date there WARNs, it does not block phase 2


@pytest.fixture
def home(make_home: Callable[..., Path]) -> Path:
    return make_home([D1, D2])


@pytest.fixture
def faulty(home: Path) -> Iterator[tuple[Services, FaultyWarehouse]]:
    s, wh = faulty_on(home)
    yield s, wh
    s.close()


@pytest.mark.parametrize("failures", [1, 2])
def test_transient_write_fault_is_retried_until_it_succeeds(
        faulty: tuple[Services, FaultyWarehouse], failures: int) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left = TARGET, failures
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == failures + 1  # both dates are one unit: one write per round
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error) == (State.SUCCEEDED, failures + 1, None)
        assert rows(wh, TARGET, day) > 0
        other = s.status.get("player_boxscores", day)
        assert other is not None and (other.state, other.attempts) == (State.SUCCEEDED, 1)


def test_persistent_transient_fault_fails_after_three_attempts_until_retry_failed(
        faulty: tuple[Services, FaultyWarehouse], home: Path) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left = TARGET, -1
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == MAX_ATTEMPTS == 3
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error_kind) == (State.FAILED, 3, "transient")
        assert st.error and "injected fault" in st.error
        assert rows(wh, TARGET, day) == 0
    # A later backfill leaves failed dates alone: no new write, no new attempt.
    again = Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == 3
    assert not again.did_work
    st = s.status.get(TARGET, D1)
    assert st is not None and (st.state, st.attempts) == (State.FAILED, 3)
    s.close()

    out = CliRunner().invoke(cli.app, ["--home", str(home), "retry-failed", "--season", SEASON,
                                       "--processor", TARGET])
    assert out.exit_code == 0, out.output
    assert "re-armed 2 failed date(s)" in " ".join(out.output.split())

    s2, healthy = faulty_on(home)
    try:
        st = s2.status.get(TARGET, D1)
        assert st is not None and (st.state, st.attempts) == (State.PENDING, 0)
        Runner(s2).backfill([SEASON], [Phase.RAW], WINDOW)
        assert healthy.calls[TARGET] == 1  # only the re-armed processor ran
        assert healthy.calls["player_boxscores"] == 0
        for day in (D1, D2):
            st = s2.status.get(TARGET, day)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 1)
            assert rows(healthy, TARGET, day) > 0
    finally:
        s2.close()


def test_terminal_write_fault_fails_at_once(faulty: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = faulty
    wh.fail_table, wh.failures_left, wh.error = TARGET, -1, TerminalError
    Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    assert wh.calls[TARGET] == 1
    for day in (D1, D2):
        st = s.status.get(TARGET, day)
        assert st is not None
        assert (st.state, st.attempts, st.error_kind) == (State.FAILED, 1, "terminal")


# -- the cloud path: Pub/Sub redelivers while the function raises -----------------------------

TEAM = "team_offense_game_summary"


def test_redelivery_stops_after_three_attempts_until_retry_failed(home: Path) -> None:
    """Pub/Sub redelivers a message as long as ``process`` fails; the 4th and 5th deliveries of
    a date that failed 3 times are acknowledged without touching the warehouse."""
    loader = services_on(home)
    try:
        Runner(loader).backfill([SEASON], [Phase.RAW], Window(D1, D1))
    finally:
        loader.close()
    s, wh = faulty_on(home)
    wh.fail_table, wh.failures_left = TEAM, -1
    main = functions_main()
    main.set_services(s)
    try:
        plan = protocol.plan_phase(s, "3", start=D1, end=D1, run_id="storm")
        (unit,), = plan["waves"]
        body = parse_message(_json(unit)).to_json()
        codes = [deliver(body, f"storm-{i}") for i in range(5)]
        # Attempts 1 and 2 leave the date pending: the function raises, Pub/Sub redelivers.
        # Attempt 3 fails it for good: acknowledged, and so are the deliveries after it.
        assert [c >= 500 for c in codes] == [True, True, False, False, False], codes
        assert wh.calls[TEAM] == MAX_ATTEMPTS
        st = s.status.get(TEAM, D1)
        assert st is not None and (st.state, st.attempts, st.error_kind) == (
            State.FAILED, 3, "transient")
        pgs = s.status.get("player_game_summary", D1)
        assert pgs is not None and pgs.state is State.BLOCKED, pgs
        assert rows(wh, TEAM, D1) == 0

        # Only the operator re-arms it; the next plan then covers the date again.
        out = CliRunner().invoke(cli.app, ["--home", str(home), "retry-failed", "--season",
                                           SEASON, "--processor", TEAM])
        assert out.exit_code == 0 and "re-armed 1 failed" in " ".join(out.output.split())
        wh.failures_left = 0
        again = protocol.plan_phase(s, "3", start=D1, end=D1, run_id="after-retry")
        (unit,), = again["waves"]
        assert deliver(parse_message(_json(unit)).to_json(), "healed") == 200
        assert wh.calls[TEAM] == MAX_ATTEMPTS + 1
        for proc in of_phase(Phase.ANALYTICS):
            st = s.status.get(proc.name, D1)
            assert st is not None and st.state is State.SUCCEEDED, (proc.name, st)
        assert rows(wh, TEAM, D1) > 0
    finally:
        main.set_services(None)
        s.close()


def _json(unit: dict[str, object]) -> bytes:
    import json

    return json.dumps(unit).encode()
