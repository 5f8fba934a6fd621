"""Work messages: anything that is not a valid message is BadInput (never another exception);
valid messages round-trip through their JSON body."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backcourt.domain.errors import BadInput
from backcourt.domain.messages import MAX_MESSAGE_BYTES, WorkMessage, parse_message
from backcourt.domain.registry import Phase, of_phase

VALID: dict[str, Any] = {"run_id": "run-1", "phase": "3", "processors": ["player_game_summary"],
                         "start_date": "2025-01-15", "end_date": "2025-01-16",
                         "mode": "backfill", "attempt": 0}


def _bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _bad(data: bytes) -> str:
    with pytest.raises(BadInput) as info:
        parse_message(data)
    return str(info.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_bad_input(data: bytes) -> None:
    _bad(data)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_json_is_bad_input(value: Any) -> None:
    _bad(_bytes(value))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(VALID)), json_values)
def test_a_wrong_field_is_bad_input_or_still_valid(field: str, value: Any) -> None:
    body = _bytes({**VALID, field: value})
    try:
        msg = parse_message(body)
    except BadInput as exc:
        assert field in str(exc) or "processor" in str(exc) or "date" in str(exc)
        return
    # Only values a valid message may hold get through, and they survive a round trip.
    assert parse_message(msg.to_json()) == msg


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    phase = draw(st.sampled_from([p for p in Phase if of_phase(p)]))
    names = [p.name for p in of_phase(phase)]
    procs = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
    end = start + timedelta(days=draw(st.integers(0, 61)))
    return {"run_id": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True)),
            "phase": phase.value, "processors": procs, "start_date": start.isoformat(),
            "end_date": end.isoformat(), "mode": draw(st.sampled_from(["backfill", "daily"])),
            "attempt": draw(st.integers(0, 100))}


@settings(max_examples=200, deadline=None)
@given(valid_messages())
def test_valid_messages_round_trip(body: dict[str, Any]) -> None:
    msg = parse_message(_bytes(body))
    assert json.loads(msg.to_json()) == body
    assert msg.attributes() == {"run_id": body["run_id"], "phase": body["phase"]}
    assert len(msg.dates()) == (msg.end_date - msg.start_date).days + 1


@settings(max_examples=30, deadline=None)
@given(st.integers(MAX_MESSAGE_BYTES + 1, 5 * MAX_MESSAGE_BYTES))
def test_huge_payloads_are_bad_input(size: int) -> None:
    padded = _bytes({**VALID, "run_id": "r" + "x" * size})
    assert "limit" in _bad(padded)


@pytest.mark.parametrize("change, needle", [
    ({"processors": ["nope"]}, "unknown processor"),
    ({"processors": ["schedule"]}, "do not belong to phase 3"),
    ({"processors": []}, "processors"),
    ({"start_date": "2025-02-30"}, "not a calendar date"),
    ({"start_date": "15/01/2025"}, "expected YYYY-MM-DD"),
    ({"start_date": "2025-01-17"}, "after end_date"),
    ({"end_date": "2025-03-18"}, "longer than 62"),
    ({"mode": "weekly"}, "mode"),
    ({"attempt": -1}, "attempt"),
    ({"attempt": "0"}, "attempt"),
    ({"phase": "7"}, "unknown phase"),
    ({"extra": True}, "extra"),
])
def test_each_problem_is_named(change: dict[str, Any], needle: str) -> None:
    assert needle in _bad(_bytes({**VALID, **change}))


def test_missing_field_is_named() -> None:
    body = {k: v for k, v in VALID.items() if k != "run_id"}
    assert "run_id" in _bad(_bytes(body))


def test_a_62_day_range_is_accepted_and_frozen() -> None:
    msg = parse_message(_bytes({**VALID, "end_date": "2025-03-17"}))
    assert len(msg.dates()) == 62
    with pytest.raises(Exception):  # noqa: B017 (pydantic raises ValidationError on frozen)
        msg.attempt = 1  # type: ignore[misc]
    assert isinstance(msg, WorkMessage)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1946-06-30", "2099-07-01",
                                 "٢٠٢٥-٠١-١٦"])
def test_a_date_outside_the_supported_range_is_bad_input(day: str) -> None:
    """Issue 14 #5: a well-formed 0001-01-01 message passed validation and then raised
    OverflowError in ``process`` (its lookback went below ``date.min``)."""
    error = _bad(_bytes({**VALID, "start_date": day, "end_date": day}))
    assert "start_date" in error and day in error


@pytest.mark.parametrize("day", ["1946-07-01", "2099-06-30"])
def test_the_supported_bounds_are_valid(day: str) -> None:
    assert parse_message(_bytes({**VALID, "start_date": day, "end_date": day})).dates() == [
        date.fromisoformat(day)]


@pytest.mark.parametrize("season", ["9999-00", "0000-01", "1945-46", "2099-00", "2024-25\n",
                                    "٢٠٢٤-٢٥"])
def test_a_season_outside_the_supported_range_is_bad_input(season: str) -> None:
    """Issue 14 #5: ``season=9999-00`` passed the name check and ``season_bounds`` raised
    ``ValueError: year 10000 is out of range`` (a 500 from plan, progress, validate)."""
    from backcourt.domain.ids import season_bounds

    with pytest.raises(BadInput, match="bad season"):
        season_bounds(season)


def test_parse_date_refuses_dates_outside_the_supported_range() -> None:
    from backcourt.domain.dates import parse_date

    with pytest.raises(BadInput, match="outside the supported dates"):
        parse_date("0001-01-01", what="--start")
    assert parse_date(" 2025-01-16 ") == date(2025, 1, 16)


def test_an_empty_calendar_names_its_season_instead_of_indexerror() -> None:
    from backcourt.domain.calendar import SeasonCalendar

    with pytest.raises(BadInput, match="2023-24 has no schedule loaded"):
        _ = SeasonCalendar("2023-24", ()).start


SCHEDULE_SEASON = {**VALID, "phase": "2", "processors": ["schedule"],
                   "start_date": "2024-07-01", "end_date": "2025-06-30"}


def test_a_schedule_message_covers_one_whole_season() -> None:
    """The schedule is one file per season, loaded whole in one unit; every other message stays
    within 62 days."""
    msg = parse_message(_bytes(SCHEDULE_SEASON))
    assert len(msg.dates()) == 365
    assert "longer than 62" in _bad(_bytes({**SCHEDULE_SEASON,
                                            "processors": ["schedule", "player_boxscores"]}))


def test_a_long_schedule_message_may_not_cross_seasons() -> None:
    problem = _bad(_bytes({**SCHEDULE_SEASON, "start_date": "2024-06-01"}))
    assert "one season" in problem and "2023-24" in problem and "2024-25" in problem
