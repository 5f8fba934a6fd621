"""Incident: writes that were not idempotent under redelivery (LESSONS #5, R3.1; lesson 5).

    "Problems included DELETE+INSERT races (34,728 duplicate rows), retry decorators that
    inserted twice, blind WRITE_APPEND with Pub/Sub redelivery (up to 115× row amplification)."
    Acceptance (§5): "Redeliver the same message 5× → the row count is unchanged."
    R3.1: "There is one authoritative run record per (date, step, attempt) … Never insert a
    second row."

Guarded here, through the real ``process`` function (functions-framework, CloudEvents as
Eventarc delivers them) on the embedded adapters: the same work message delivered five times
in a row and five times at once — including the first, never-processed delivery — leaves the
row counts of a single delivery, leases (and so writes) each (processor, date) exactly once,
and counts attempts exactly: one per lease, a transient failure and its redelivery are two.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faults import FaultyWarehouse, deliver, faulty_on, functions_main, pubsub_event, rows

from backcourt.bootstrap import RUNTIME
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import State
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window

pytestmark = pytest.mark.local

SEASON = "2024-25"
START, END = date(2024, 10, 22), date(2024, 10, 23)  # processed before the redeliveries
FRESH = (date(2024, 10, 24), date(2024, 10, 25))  # phase 2 only: phase 3 never delivered
PHASE3 = [p.name for p in of_phase(Phase.ANALYTICS)]


def _message(processors: list[str], start: date, end: date) -> dict[str, Any]:
    return {"run_id": "r1", "phase": "3", "processors": processors,
            "start_date": start.isoformat(), "end_date": end.isoformat(), "mode": "backfill",
            "attempt": 0}


def _body(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode()


def _counts(services: Services, start: date = START, end: date = END) -> dict[str, int]:
    return {p.name: int(services.warehouse.query(
        f"SELECT COUNT(*) AS n FROM {p.table.fqn} WHERE game_date BETWEEN @s AND @e",
        {"s": start, "e": end})[0]["n"]) for p in of_phase(Phase.ANALYTICS)}


@pytest.fixture(scope="module")
def loaded(sample_bucket: Path, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[Services, FaultyWarehouse]]:
    """The functions on a home where phase 2 ran for four opening-week dates and phase 3 ran
    through plan → process for the first two."""
    from faults import new_home

    home = new_home(sample_bucket, tmp_path_factory.mktemp("dup") / "home", [START, END, *FRESH])
    s, wh = faulty_on(home)
    main = functions_main()
    main.set_services(s)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(START, FRESH[-1]))
        plan = protocol.plan_phase(s, "3", start=START, end=END, run_id="r1")
        for i, unit in enumerate(u for wave in plan["waves"] for u in wave):
            assert deliver(_body(unit), f"plan-3-{i}") == 200
        yield s, wh
    finally:
        main.set_services(None)
        s.close()


def test_redelivery_five_times_and_concurrently_changes_nothing(
        loaded: tuple[Services, FaultyWarehouse]) -> None:
    s, wh = loaded
    before = _counts(s)
    assert all(n > 0 for n in before.values()), before
    attempts = {(p, d): s.status.get(p, d).attempts  # type: ignore[union-attr]
                for p in PHASE3 for d in (START, END)}
    writes = len(wh.writes)
    msg = _message(PHASE3, START, END)
    for i in range(5):
        assert deliver(_body(msg), f"again-{i}") == 200

    with ThreadPoolExecutor(max_workers=5) as pool:
        codes = list(pool.map(lambda i: deliver(_body(msg), f"thread-{i}"), range(5)))
    assert codes == [200] * 5
    assert _counts(s) == before
    assert len(wh.writes) == writes  # nothing was even rewritten
    for (proc, day), n in attempts.items():
        st = s.status.get(proc, day)
        assert st is not None and st.state is State.SUCCEEDED and st.attempts == n


def test_five_concurrent_first_deliveries_write_each_date_once(
        loaded: tuple[Services, FaultyWarehouse]) -> None:
    """The first delivery and four duplicates arrive together (Pub/Sub at-least-once): one
    lease per (processor, date), so one write and one attempt; the rows equal the expected."""
    s, wh = loaded
    wh.delay_s = 0.05  # every write takes a moment, so the deliveries overlap
    first = len(wh.writes)
    (msg,), = protocol.plan_phase(s, "3", start=FRESH[0], end=FRESH[-1], run_id="r2")["waves"]
    assert msg["processors"] == PHASE3
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            codes = list(pool.map(lambda i: deliver(_body(msg), f"fresh-{i}"), range(5)))
    finally:
        wh.delay_s = 0.0
    # A copy that finds an input still being written by another copy asks to be redelivered
    # (5xx, no ack); Pub/Sub redelivers it, and by then there is nothing left to do.
    assert set(codes) <= {200, 500} and 200 in codes, codes
    redelivered = [deliver(_body(msg), f"fresh-again-{i}") for i, c in enumerate(codes)
                   if c != 200]
    assert redelivered == [200] * codes.count(500)
    written = Counter((w.table, d) for w in wh.writes[first:] for d in w.days)
    tables = {p.name: p.table.name for p in of_phase(Phase.ANALYTICS)}
    assert written == Counter({(tables[p], d): 1 for p in PHASE3 for d in FRESH}), written
    for proc in PHASE3:
        for day in FRESH:
            st = s.status.get(proc, day)
            assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 1), st
    # The same rows as one clean delivery: two team rows per game, no duplicate key.
    gate = protocol.validate(s, "3", *FRESH)
    assert gate["counts"]["BLOCK"] == 0, gate
    # and once more, now that they are done: nothing moves
    once = _counts(s, *FRESH)
    assert deliver(_body(msg), "fresh-late") == 200
    assert _counts(s, *FRESH) == once


def test_a_failed_delivery_and_its_redeliveries_count_two_attempts(
        make_home: Callable[..., Path]) -> None:
    """Delivery 1 fails transiently (the function raises: no ack); Pub/Sub redelivers it and
    four more copies arrive: the retry is attempt 2, the copies change nothing."""
    day = START  # the opener: its phase 3 reads no earlier dates
    home = make_home([day], "flaky")
    s, wh = faulty_on(home)
    main = functions_main()
    previous = RUNTIME.overrides.get("services")
    main.set_services(s)
    try:
        Runner(s).backfill([SEASON], [Phase.RAW], Window(day, day))
        (unit,), = protocol.plan_phase(s, "3", start=day, end=day)["waves"]
        team = "team_offense_game_summary"
        wh.fail_table, wh.failures_left = team, 1
        headers, body = pubsub_event(_body(unit), "flaky-1")
        assert function_status(headers, body) >= 500  # nack: redelivered
        st = s.status.get(team, day)
        assert st is not None and (st.state, st.attempts) == (State.PENDING, 1)
        assert [deliver(_body(unit), f"flaky-{i}") for i in range(2, 7)] == [200] * 5
        st = s.status.get(team, day)
        assert st is not None and (st.state, st.attempts) == (State.SUCCEEDED, 2)
        assert len([w for w in wh.writes if w.table == team]) == 1  # the one that succeeded
        assert wh.calls[team] == 2  # the failed call and the retry, nothing else
        for proc in PHASE3:
            if proc != team:
                other = s.status.get(proc, day)
                assert other is not None and (other.state, other.attempts) == (
                    State.SUCCEEDED, 1), (proc, other)
        assert rows(wh, team, day) > 0
    finally:
        main.set_services(previous)
        s.close()


def function_status(headers: dict[str, str], body: bytes) -> int:
    """Deliver a prepared CloudEvent to ``process``; its HTTP status."""
    from faults import function_client

    return int(function_client("process", "cloudevent").post("/", headers=headers,
                                                             data=body).status_code)
