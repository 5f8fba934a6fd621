"""Readiness: may one processor run on one game date? Decided from exactly what it reads.

Each processor declares its inputs (``registry.Input``: a processor and a span). For a
(processor, date) the dates each input is read on come from the calendar (:class:`Reads`), and
the answer comes from the status and the gate verdict of the input on each of those dates
(:func:`decide`), nothing else:

* ``not_expected`` — the processor does not apply that day (no games, wrong date type);
* ``block`` — an input it reads failed, is blocked, was BLOCKed by the gate, or was never
  computed (and nothing will compute it: an earlier phase, or no status document at all);
* ``wait`` — an input it reads is being written (running), or is pending in the same phase
  (this run computes it: a parallel span, a redelivery), or was written but not measured yet;
* ``run`` — every input it reads passed the gate (or warned) on every date it reads.

Only what a processor reads can stop it: a missing shot chart blocks only what reads shot
charts; a missing point-in-time source (props, lines, injury report) WARNs at the gate and
blocks nothing. Every reason text is made here. Both drivers — the local backfill and the
cloud ``process`` function — decide only through :func:`decide`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.registry import BY_NAME, Input, Processor
from backcourt.domain.status import DONE, State, Verdict

MAX_ITEMS_PER_INPUT = 3
"""Dates named per input in a reason; the rest are counted."""
MAX_PROBLEM_CHARS = 160
"""Characters of a gate problem quoted in a reason."""


class Decision(StrEnum):
    """What a driver does with one (processor, date)."""

    RUN = "run"
    WAIT = "wait"
    BLOCK = "block"
    NOT_EXPECTED = "not_expected"


@dataclass(frozen=True)
class Readiness:
    """The decision and, unless it is ``run``, why."""

    decision: Decision
    reason: str | None = None


@dataclass(frozen=True)
class InputDoc:
    """What readiness knows of one input (processor, date).

    Attributes:
        state: its status (None: no status document — never planned).
        verdict: the gate's newest verdict for that processor and date, measured after its
            last write (None: not measured since).
        problem: the gate's first problem when the verdict is not PASS.
    """

    state: State | None
    verdict: Verdict | None = None
    problem: str | None = None
    reason: str | None = None
    """The status document's reason (why it is degraded, …)."""


READABLE_DEGRADED = frozenset({"bootstrap", "empty_output"})
"""Degraded reasons whose output is still read, as the gate judged it: too little history
(WARN by rule), or no rows from a point-in-time source (WARN). Any other degraded output (a
write refused by the shrink guard, a date the gate found incomplete) is not read."""

NOT_PLANNED = InputDoc(None)


class Reads:
    """The dates each input of a processor is read on, from the season calendars."""

    def __init__(self, cals: Sequence[SeasonCalendar]) -> None:
        self.cals = [c for c in cals if c.days]
        self._expected: dict[str, list[date]] = {}
        self._team_dates: dict[str, dict[str, list[date]]] = {}

    def _cal(self, day: date) -> SeasonCalendar | None:
        return next((c for c in self.cals if c.start <= day <= c.end), None)

    def expected(self, processor: str) -> list[date]:
        """Every expected date of ``processor`` over the calendars, sorted."""
        if processor not in self._expected:
            proc = BY_NAME[processor]
            self._expected[processor] = sorted(d for c in self.cals
                                               for d in c.expected_dates(proc))
        return self._expected[processor]

    def is_expected(self, proc: Processor, day: date) -> bool:
        """Whether ``proc`` applies on ``day``."""
        cal = self._cal(day)
        return cal is not None and cal.day(day).date_type in proc.applies_to

    def _teams(self, cal: SeasonCalendar) -> dict[str, list[date]]:
        if cal.season not in self._team_dates:
            out: dict[str, list[date]] = {}
            for d in cal.days:
                for g in d.games:
                    for team in (g.home, g.away):
                        out.setdefault(team, []).append(d.game_date)
            self._team_dates[cal.season] = out
        return self._team_dates[cal.season]

    def dates(self, inp: Input, day: date) -> list[date]:
        """The dates ``inp`` is read on for a processor running on ``day`` (sorted; only dates
        the input processor is expected on)."""
        expected = self.expected(inp.processor)
        if inp.same_date:
            return [day] if _contains(expected, day) else []
        cal = self._cal(day)
        if inp.days:
            return _between(expected, day - timedelta(days=inp.days), day)
        if cal is None:
            return []
        if inp.season:
            return _between(expected, cal.start, day)
        wanted: set[date] = set()
        teams = self._teams(cal)
        for game in cal.day(day).games:
            for team in (game.home, game.away):
                before = [d for d in teams.get(team, ()) if d < day and _contains(expected, d)]
                wanted.update(before[-inp.games:])
        return sorted(wanted)

    def needed(self, proc: Processor, day: date) -> dict[Input, list[date]]:
        """Every input of ``proc`` with the dates it reads on ``day``."""
        return {inp: self.dates(inp, day) for inp in proc.inputs}


def _between(sorted_days: list[date], lo: date, hi: date) -> list[date]:
    """The dates ``lo <= d < hi`` of a sorted list."""
    return sorted_days[bisect_left(sorted_days, lo):bisect_left(sorted_days, hi)]


def _contains(sorted_days: list[date], day: date) -> bool:
    i = bisect_left(sorted_days, day)
    return i < len(sorted_days) and sorted_days[i] == day


@dataclass(frozen=True)
class _Problem:
    processor: str
    day: date
    what: str
    blocks: bool


def _problem(proc: Processor, inp: str, day: date, doc: InputDoc) -> _Problem | None:
    """What is wrong with reading ``inp`` on ``day`` (None: it can be read)."""
    same_phase = BY_NAME[inp].phase is proc.phase
    state = doc.state
    if state is State.NOT_EXPECTED:
        return None
    if state is None:
        return _Problem(inp, day, "not computed", True)
    if state is State.RUNNING:
        return _Problem(inp, day, "running", False)
    if state in (State.PENDING, State.CANCELLED):
        return _Problem(inp, day, state.value, not same_phase or state is State.CANCELLED)
    if state not in DONE:  # failed, blocked
        return _Problem(inp, day, state.value, True)
    if state is State.DEGRADED and doc.reason not in READABLE_DEGRADED:
        return _Problem(inp, day, f"degraded ({doc.reason or 'no reason recorded'})", True)
    if doc.verdict is None:
        return _Problem(inp, day, "not validated", not same_phase)
    if doc.verdict is Verdict.BLOCK:
        text = (doc.problem or "no reason recorded")[:MAX_PROBLEM_CHARS]
        return _Problem(inp, day, f"gate BLOCK ({text})", True)
    return None


def decide(proc: Processor, day: date, reads: Reads,
           docs: Mapping[tuple[str, date], InputDoc],
           readable: dict[str, set[date]] | None = None) -> Readiness:
    """Whether ``proc`` may run on ``day``.

    Args:
        proc: the processor.
        day: the game date.
        reads: the calendars' view of what each input is read on.
        docs: the status and verdict of every (input processor, date) it reads; a missing
            entry means no status document.
        readable: per input processor, the dates already found readable for ``proc`` in
            ``docs`` (filled in here): give the same dict when deciding many dates of one
            processor against the same ``docs``, so a date read by all of them is checked
            once.
    Returns:
        ``run``, ``wait`` or ``block`` with the reason, or ``not_expected``.
    """
    if proc.inputs and not reads.is_expected(proc, day):
        return Readiness(Decision.NOT_EXPECTED, "not expected: the processor does not apply "
                                                f"on {day.isoformat()}")
    known = readable if readable is not None else {}
    problems: list[_Problem] = []
    seen: set[tuple[str, date]] = set()
    for inp, days in reads.needed(proc, day).items():
        ok = known.setdefault(inp.processor, set())
        for d in [d for d in days if d not in ok]:  # a readable date adds no problem
            if (inp.processor, d) in seen:
                continue
            seen.add((inp.processor, d))
            found = _problem(proc, inp.processor, d, docs.get((inp.processor, d), NOT_PLANNED))
            if found is None:
                ok.add(d)
            else:
                problems.append(found)
    blocking = [p for p in problems if p.blocks]
    if blocking:
        kind = "lookback_incomplete" if any(p.day < day for p in blocking) else \
            "upstream_incomplete"
        return Readiness(Decision.BLOCK, f"{kind}: {_describe(blocking)}")
    if problems:
        return Readiness(Decision.WAIT, f"waiting for {_describe(problems)}")
    return Readiness(Decision.RUN)


def _describe(problems: Sequence[_Problem]) -> str:
    """``shot_chart 2025-06-20 not computed, shot_chart 2025-06-18 not computed (+13 more);
    upcoming_player_game_context 2025-06-22 blocked`` — every input named, newest dates
    first, at most a few dates each."""
    by_input: dict[str, list[_Problem]] = {}
    for p in problems:
        by_input.setdefault(p.processor, []).append(p)
    parts = []
    for name, items in by_input.items():
        items = sorted(items, key=lambda p: p.day, reverse=True)
        shown = ", ".join(f"{name} {p.day.isoformat()} {p.what}"
                          for p in items[:MAX_ITEMS_PER_INPUT])
        more = len(items) - MAX_ITEMS_PER_INPUT
        parts.append(shown + (f" (+{more} more)" if more > 0 else ""))
    return "; ".join(parts)


def waited_too_long(reason: str | None, deliveries: int) -> str:
    """The reason a date is blocked with when its message was delivered ``deliveries`` times
    and it still waits (a bounded wait, as Pub/Sub's dead-letter limit bounds redelivery)."""
    return f"upstream_incomplete: still {reason or 'waiting'} after {deliveries} deliveries"
