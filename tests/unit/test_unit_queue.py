"""UnitQueue: one unit per processor out at a time, per-processor date order, the processor with
the most units left first, ``drain`` for cancel (``backcourt.services.unit_queue``).

No assertion depends on thread timing: a thread "is blocked" when it has been seen entering the
queue's condition wait (``Watched``), and threads "run side by side" when they meet at a
barrier; the timeouts below only keep a broken queue from hanging the test.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

from backcourt.domain import registry
from backcourt.services.plan import Unit
from backcourt.services.unit_queue import UnitQueue

START = date(2025, 1, 6)
RAW = [p for p in registry.PROCESSORS if p.phase is registry.Phase.RAW]


def chain(name: str, n: int, size: int = 2) -> list[Unit]:
    """``n`` consecutive units of ``size`` dates of processor ``name``, in date order."""
    proc = registry.get(name)
    return [Unit(proc, tuple(START + timedelta(days=i * size + k) for k in range(size)))
            for i in range(n)]


def names(units: list[Unit | None]) -> list[str | None]:
    return [None if u is None else u.processor.name for u in units]


GUARD_S = 10.0
"""How long a broken queue may keep a test waiting before it fails (never reached when the
queue works: every wait below ends on an event)."""


class Watched(threading.Condition):
    """The queue's condition, counting the waits threads enter (a thread in ``wait`` is blocked
    in ``take``: it found nothing it may run)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0
        self._seen = threading.Condition()

    def wait(self, timeout: float | None = None) -> bool:
        with self._seen:
            self.waits += 1
            self._seen.notify_all()
        return super().wait(timeout)

    def until(self, waits: int) -> bool:
        """Whether ``waits`` waits have been entered (False after ``GUARD_S``)."""
        with self._seen:
            return self._seen.wait_for(lambda: self.waits >= waits, GUARD_S)


def watched(units: list[Unit]) -> tuple[UnitQueue, Watched]:
    """A queue of ``units`` whose condition is watched."""
    queue = UnitQueue(units)
    cond = Watched()
    queue._cond = cond  # noqa: SLF001 - the test observes the queue's own waits
    return queue, cond


def test_threads_never_hold_two_units_of_one_processor_and_keep_date_order() -> None:
    sizes = [7, 5, 5, 3, 1, 9]
    chains = [chain(p.name, n) for p, n in zip(RAW, sizes, strict=False)]
    units = [c[i] for i in range(max(sizes)) for c in chains if i < len(c)]  # interleaved
    queue, cond = watched(units)
    lock = threading.Lock()
    out: set[str] = set()
    overlaps: list[str] = []
    taken: dict[str, list[Unit]] = {}
    errors: list[BaseException] = []
    most_out = 0
    firsts = {c[0] for c in chains}
    # every processor's first unit runs until all six are out at once AND the six other
    # threads are blocked in take(): the queue must hand out one unit of each processor side by
    # side, and none of a busy processor
    def all_out() -> None:
        if not cond.until(len(threads) - len(chains)):
            raise AssertionError("the other threads were not all blocked in take()")

    meet = threading.Barrier(len(chains), action=all_out)

    def worker() -> None:
        nonlocal most_out
        try:
            while (unit := queue.take()) is not None:
                name = unit.processor.name
                with lock:
                    if name in out:
                        overlaps.append(name)
                    out.add(name)
                    most_out = max(most_out, len(out))
                    taken.setdefault(name, []).append(unit)
                if unit in firsts:
                    meet.wait(GUARD_S)  # the unit "runs" until the others are out too
                with lock:
                    out.discard(name)
                queue.done(unit)
        except BaseException as exc:  # a broken barrier: the units were not out side by side
            errors.append(exc)
            queue.drain()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(GUARD_S * 3 / len(threads))
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert overlaps == []
    assert most_out == len(chains)  # one unit of every processor out at once, no more
    assert Counter(u.processor.name for us in taken.values() for u in us) == Counter(
        u.processor.name for u in units)
    for name, got in taken.items():
        assert got == [u for u in units if u.processor.name == name]
        assert [u.days for u in got] == sorted(u.days for u in got)


def test_the_processor_with_the_most_units_left_goes_first() -> None:
    a, b, c = (p.name for p in RAW[:3])
    queue = UnitQueue([*chain(a, 3), *chain(b, 5), *chain(c, 1)])
    assert queue.lanes() == 3
    first = [queue.take(), queue.take(), queue.take()]  # each processor busy after its take
    assert names(first) == [b, a, c]
    assert first[0] is not None
    queue.done(first[0])  # b has 4 left, a has 2: b again
    second = queue.take()
    assert second is not None and second.processor.name == b
    assert second.days[0] > first[0].days[-1]


def test_counts_left_decide_not_the_input_order() -> None:
    a, b = RAW[0].name, RAW[1].name
    queue = UnitQueue([*chain(a, 2), *chain(b, 3)])
    one = queue.take()
    assert one is not None and one.processor.name == b
    two = queue.take()
    assert two is not None and two.processor.name == a
    queue.done(one)
    queue.done(two)
    three = queue.take()  # b has 2 left, a has 1
    assert three is not None and three.processor.name == b


def test_take_returns_none_when_nothing_is_left() -> None:
    assert UnitQueue([]).take() is None
    assert UnitQueue([]).lanes() == 0
    queue = UnitQueue(chain(RAW[0].name, 1) + chain(RAW[1].name, 1))
    one, two = queue.take(), queue.take()
    assert one is not None and two is not None
    assert queue.take() is None  # both still out, but nothing is left to hand out: no wait
    queue.done(one)
    queue.done(two)
    assert queue.take() is None


def test_done_lets_the_next_unit_of_that_processor_go() -> None:
    units = chain(RAW[0].name, 2)
    queue, cond = watched(units)
    first = queue.take()
    assert first == units[0]
    got: list[Unit | None] = []
    waiter = threading.Thread(target=lambda: got.append(queue.take()), daemon=True)
    waiter.start()
    assert cond.until(1)  # the processor is busy: the next unit waits
    assert got == []
    queue.done(first)
    waiter.join(5)
    assert not waiter.is_alive()
    assert got == [units[1]]


def test_done_of_another_processor_does_not_release_a_busy_one() -> None:
    a, b = chain(RAW[0].name, 3), chain(RAW[1].name, 1)
    queue, cond = watched([*a, *b])
    first, other = queue.take(), queue.take()
    assert (first, other) == (a[0], b[0])
    got: list[Unit | None] = []
    waiter = threading.Thread(target=lambda: got.append(queue.take()), daemon=True)
    waiter.start()
    assert cond.until(1)
    queue.done(b[0])  # b is finished and has nothing left; a is still out
    assert cond.until(2)  # woken by done(b), it looked again and waits again
    assert got == []
    queue.done(a[0])
    waiter.join(5)
    assert got == [a[1]]


def test_drain_returns_the_rest_and_wakes_waiters() -> None:
    units = chain(RAW[0].name, 4)
    queue, cond = watched(units)
    first = queue.take()
    assert first == units[0]
    got: list[Unit | None] = []
    waiters = [threading.Thread(target=lambda: got.append(queue.take()), daemon=True)
               for _ in range(3)]
    for w in waiters:
        w.start()
    assert cond.until(3)  # all three blocked
    assert got == []
    assert queue.drain() == units[1:]
    for w in waiters:
        w.join(5)
    assert not any(w.is_alive() for w in waiters)
    assert got == [None, None, None]
    assert queue.drain() == []
    queue.done(first)
    assert queue.take() is None


def test_measured_unit_times_put_the_longest_chain_first() -> None:
    """Once units have finished, work left = units left x mean unit time: a processor with few
    but slow units goes before one with many quick ones; one not measured yet counts at the
    mean of the measured ones."""
    a, b, c = (p.name for p in RAW[:3])
    now = [0.0]
    queue = UnitQueue([*chain(a, 3), *chain(b, 6), *chain(c, 4)], clock=lambda: now[0])
    first = [queue.take(), queue.take(), queue.take()]
    assert names(first) == [b, c, a]  # nothing measured yet: most units left first
    assert first[0] is not None and first[1] is not None and first[2] is not None
    now[0] = 1.0
    queue.done(first[0])  # b: 1 s a unit, 5 left → 5 s
    now[0] = 10.0
    queue.done(first[2])  # a: 10 s a unit, 2 left → 20 s
    # c (3 left, busy) is not measured; a before b although b has more units left
    assert names([queue.take(), queue.take()]) == [a, b]
    queue.done(first[1])  # c: 10 s for its unit, 3 left → 30 s
    assert names([queue.take()]) == [c]
