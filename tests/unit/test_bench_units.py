"""``bench/units.py``'s choice of each processor's largest cloud unit, on small synthetic date
lists: the spans are the cloud plan's (``protocol._spans``, ≤ 62 days each), the largest unit
is the span with the most rows (ties: the most dates, then the latest), and the latest full span
(≥ 90 % of those rows) is measured too when it is another one. No timings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from backcourt.services import protocol
from bench_modules import bench_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def units() -> Iterator[ModuleType]:
    with bench_module("units") as module:
        yield module


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def test_the_span_with_the_most_rows_is_the_largest_unit(units: ModuleType) -> None:
    days = _days(date(2024, 10, 22), 150)  # three cloud spans: 62 + 62 + 26 days
    spans = protocol._spans(days, 62)
    assert [(b - a).days + 1 for a, b in spans] == [62, 62, 26]
    rows = {d: 100 if spans[1][0] <= d <= spans[1][1] else 10 for d in days}
    expected = days[::2]  # the processor runs every other day

    found = units.unit_spans(spans, expected, rows)

    assert [(u.start, u.end, u.dates) for u in found] == [
        (a, b, sum(1 for d in expected if a <= d <= b)) for a, b in spans]
    assert found[1].rows == 100 * found[1].dates
    assert units.largest(found) == [("most rows", found[1])]


def test_ties_go_to_the_latest_span_and_a_late_full_span_is_measured_too(
        units: ModuleType) -> None:
    span = units.Span
    early = span(date(2021, 10, 19), date(2021, 12, 19), 61, 1000)
    middle = span(date(2021, 12, 20), date(2022, 2, 17), 60, 1000)
    late = span(date(2024, 10, 22), date(2024, 12, 22), 62, 950)  # ≥ 90 %: full
    tail = span(date(2025, 4, 26), date(2025, 6, 22), 58, 100)  # the playoffs: not full

    assert units.largest([early, middle]) == [("most rows", early),  # more dates
                                              ("most history", middle)]  # later, full
    assert units.largest([early, span(middle.start, middle.end, 61, 1000)]) == [
        ("most rows", span(middle.start, middle.end, 61, 1000))]  # a tie: the latest
    assert units.largest([early, middle, late, tail]) == [("most rows", early),
                                                          ("most history", late)]
    assert units.largest([]) == []
